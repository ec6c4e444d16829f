"""nbgrader's formgrader in Vietnamese (hub/services/formgrader/vietnamese.py, applied by translation.py): every
file with words on screen is translated, nothing English is left on the pages, the scripts still parse and
still compare and send what nbgrader's server expects, and a changed nbgrader is named instead of half-shown."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import jinja2
import pytest

from hub.services.formgrader import translation
from hub.services.formgrader.translation import TranslationOutOfDate, formgrader_root, problems, translate
from hub.services.formgrader.vietnamese import FRAGMENTS, HIDE_ALL_NAMES, SHOW_ALL_NAMES, UPSTREAM_SHA256

ROOT = formgrader_root()
# Files of the formgrader with nothing on screen, so not in the table, and why.
LEFT_OUT = {
    "static/js/backbone_xsrf.js": "no words shown: it only adds the XSRF token to Backbone's and jQuery's requests",
}
# Words that stay as they are on a Vietnamese page: product names and words Vietnamese uses as they are.
ALLOWED_WORDS = {
    "nbgrader",
    "jupyterhub",
    "jupyter",
    "windows",
    "notebook",
    "email",
    "markdown",
    "mathjax",
    "utc",
    "tb",  # TB: trung bình (average)
}
# English words that a syllable-shape test alone would take for Vietnamese.
ENGLISH_SHORT = {
    "to", "the", "on", "in", "an", "at", "no", "by", "of", "or", "is", "it", "if", "as", "be", "do", "go", "up",
    "we", "he", "she", "not", "can", "may", "you", "all", "one", "set", "see", "run", "get", "per", "then",
}  # fmt: skip
# A Vietnamese syllable written without its marks (e.g. "cho", "xin", "thu"); English words mostly are not.
VIETNAMESE_SHAPE = re.compile(r"(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?[aeiouy]{1,3}(ng|nh|ch|[cmnpt])?")


def upstream(relpath: str) -> str:
    return (ROOT / relpath).read_text(encoding="utf-8")


def translated(relpath: str) -> str:
    return translate(relpath, upstream(relpath))


def english_words(text: str) -> set[str]:
    words = set()
    for word in re.findall(r"[^\W\d_]+", text):
        low = word.lower()
        if not word.isascii() or low in ALLOWED_WORDS or len(low) < 2:
            continue
        if low in ENGLISH_SHORT or not VIETNAMESE_SHAPE.fullmatch(low):
            words.add(word)
    return words


def shown_in_template(text: str) -> str:
    """The words a template puts on screen: its text and its titles, without Jinja, code, scripts or markup."""
    text = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", " ", text, flags=re.S)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"<(script|style|svg|pre|code)\b[^>]*>.*?</\1>", " ", text, flags=re.S | re.I)
    attributes = re.findall(r'\b(?:title|placeholder|aria-label|alt)="([^"]*)"', text)
    return " ".join([re.sub(r"<[^>]*>", " ", text), *attributes]).replace("&larr;", " ").replace("&rarr;", " ")


JS_LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"|\'((?:[^\'\\\n]|\\.)*)\'')
# Where a script puts a literal on screen (or into DataTables' search text).
JS_SHOWN = [
    re.compile(r'\.(?:text|append)\(\s*(?:name \+ )?"([^"]*)"'),
    re.compile(r'\btitle:\s*"([^"]*)"'),
    re.compile(r'"help":\s*"([^"]*)"'),
    re.compile(r'innerHTML\s*=+\s*"([^"]*)"'),
    re.compile(r'\.attr\("(?:placeholder|title|aria-label|data-search)",\s*"([^"]*)"'),
    re.compile(r'createModal\(\s*"[^"]*",\s*"([^"]*)"'),
    re.compile(r'createLogModal\(\s*"[^"]*",\s*"([^"]*)",\s*"([^"]*)"'),
    re.compile(r'createModal\(\s*"[^"]*",\s*"([^"]*)",\s*"([^"]*)"'),
    re.compile(r'\b(?:default_msg|display_duedate|display_timestamp|last_name|first_name|email)\s*=\s*"([^"]*)"'),
]


def without_comments(script: str) -> str:
    return re.sub(r"^\s*//.*$", "", re.sub(r"/\*.*?\*/", "", script, flags=re.S), flags=re.M)


SELECTORS = {"body, html"}  # literals of several words that are not text: jQuery selectors
# The message line of a result dialog: every literal in it is text ("Successfully released '" + name + "'.").
JS_MESSAGE_LINE = re.compile(
    r'createLogModal\(\s*"[^"]*",\s*"[^"]*",\s*([^\n]*)|createModal\(\s*"[^"]*",\s*"[^"]*",\s*([^\n]*)'
)


def shown_in_script(script: str) -> set[str]:
    # thrown at a programmer who registers a shortcut wrongly (keyboard manager), never shown: left in English
    script = re.sub(r'throw new Error\("[^"]*"\)', "", without_comments(script))
    shown = {s for pattern in JS_SHOWN for m in pattern.finditer(script) for s in m.groups() if s}
    for m in JS_MESSAGE_LINE.finditer(script):
        shown |= literals(re.sub(r'\.get\("\w+"\)', "", m.group(1) or m.group(2)))  # not the model's keys
    # any other literal of several plain words is a sentence (class lists have a hyphenated name in them)
    for m in JS_LITERAL.finditer(script):
        literal = m.group(1) if m.group(1) is not None else m.group(2)
        tokens = literal.split()
        if len(tokens) >= 2 and literal not in SELECTORS and not any(re.search(r"[-_#.$]\w", t) for t in tokens):
            shown.add(literal)
    return shown


def literals(script: str) -> set[str]:
    return {m.group(1) if m.group(1) is not None else m.group(2) for m in JS_LITERAL.finditer(without_comments(script))}


def formgrader_files() -> set[str]:
    found = [*ROOT.glob("templates/*.tpl"), *ROOT.glob("templates/formgrade/*.j2"), *ROOT.glob("static/js/*.js")]
    return {str(path.relative_to(ROOT)) for path in found}


TEMPLATES = sorted(p for p in FRAGMENTS if p.startswith("templates/"))
SCRIPTS = sorted(p for p in FRAGMENTS if p.endswith(".js"))


def test_every_fragment_is_found_in_the_pinned_nbgrader() -> None:
    assert problems() == []
    assert set(UPSTREAM_SHA256) == set(FRAGMENTS)
    for relpath, digest in UPSTREAM_SHA256.items():
        assert hashlib.sha256((ROOT / relpath).read_bytes()).hexdigest() == digest, relpath


def test_every_file_with_words_on_screen_is_in_the_table() -> None:
    assert formgrader_files() - set(LEFT_OUT) == set(FRAGMENTS)
    for relpath in LEFT_OUT:
        script = upstream(relpath)
        assert not shown_in_script(script) and ".text(" not in script, relpath


def test_the_vietnamese_is_composed_as_the_browser_compares_it() -> None:
    """NFC throughout: the gradebook's button label is compared as a string, and typed words are searched."""
    for relpath, pairs in FRAGMENTS.items():
        for english, vietnamese in pairs:
            assert english != vietnamese, (relpath, english)
            assert unicodedata.normalize("NFC", vietnamese) == vietnamese, (relpath, vietnamese)


DROPPED = {'href="{{ base_url }}/terminals/1"'}  # the formgrader has no terminal: the note says where grading is


@pytest.mark.parametrize("relpath", TEMPLATES)
def test_template_is_vietnamese_and_still_jinja(relpath: str) -> None:
    assert english_words(shown_in_template(upstream(relpath))), f"{relpath}: the check sees no English upstream"
    text = translated(relpath)
    jinja2.Environment().parse(text)
    assert english_words(shown_in_template(text)) == set(), relpath
    # ids, classes, links and handlers are as nbgrader wrote them
    attributes = re.compile(r'\b(?:id|class|href|src|name|onclick|onClick|role|data-[a-z-]+)="[^"]*"')
    assert set(attributes.findall(upstream(relpath))) - DROPPED <= set(attributes.findall(text)), relpath


def test_pages_are_marked_vietnamese_and_titled_cham_bai() -> None:
    base = translated("templates/base.tpl")
    assert '<html lang="vi">' in base and "<h1>Chấm bài</h1>" in base and "<title>Chấm bài (nbgrader)</title>" in base
    for relpath in ("templates/formgrade/index.html.j2", "templates/formgrade_404.tpl"):
        assert '<html lang="vi">' in translated(relpath)


@pytest.mark.parametrize("relpath", SCRIPTS)
def test_script_shows_no_english(relpath: str) -> None:
    before = {s for s in shown_in_script(upstream(relpath)) if english_words(s)}
    assert before, f"{relpath}: the check sees no English upstream"
    after = {s for s in shown_in_script(translated(relpath)) if english_words(s)}
    assert after == set(), relpath


@pytest.mark.parametrize("relpath", SCRIPTS)
def test_script_keeps_every_value_the_code_uses(relpath: str) -> None:
    """Only literals put on screen change: keys, statuses, classes, URLs, events stay as nbgrader wrote them."""
    source, text = upstream(relpath), translated(relpath)
    kept = literals(source) - shown_in_script(source)
    assert kept - literals(text) == set(), relpath
    # every comparison with a string, as written (the one label compared is checked below)
    comparison = re.compile(r"""[!=]==?\s*(?:"[^"\n]*"|'[^'\n]*')|(?:"[^"\n]*"|'[^'\n]*')\s*[!=]==?""")
    compared = set(comparison.findall(source)) - {'=== "Show All Names"'}
    missing = {c for c in compared if c not in text}
    assert missing == set(), (relpath, missing)


def test_the_names_button_compares_the_label_it_shows() -> None:
    """The gradebook's show/hide-all-names button: its script reads the state from its own label."""
    script = translated("static/js/gradebook_notebook_submissions.js")
    page = translated("templates/gradebook_notebook_submissions.tpl")
    assert f'onclick="toggleAllNames()">{SHOW_ALL_NAMES}</button>' in page
    assert f'button.innerHTML = "{SHOW_ALL_NAMES}";' in script and f'button.innerHTML = "{HIDE_ALL_NAMES}";' in script
    assert f'(button.innerHTML === "{SHOW_ALL_NAMES}")' in script
    assert "All Names" not in script


@pytest.mark.skipif(not shutil.which("node"), reason="node is installed by make (the proxy needs it)")
@pytest.mark.parametrize("relpath", SCRIPTS)
def test_script_still_parses(relpath: str, tmp_path: Path) -> None:
    script = tmp_path / Path(relpath).name
    script.write_text(translated(relpath), encoding="utf-8")
    parsed = subprocess.run(["node", "--check", str(script)], capture_output=True, text=True)
    assert parsed.returncode == 0, parsed.stderr


@pytest.mark.skipif(not shutil.which("node"), reason="node is installed by make (the proxy needs it)")
def test_times_are_shown_in_vietnam_time(tmp_path: Path) -> None:
    utils = tmp_path / "utils.js"
    utils.write_text(translated("static/js/utils.js"), encoding="utf-8")
    cases = ["2026-12-04T14:57:06.296852", "2026-12-04 14:57:06.296852 UTC", "2026-12-31T17:00:00",
             "2026-12-04T21:57:00+07:00", "2026-02-30T00:00:00", "not a time", "", None]  # fmt: skip
    script = tmp_path / "times.js"
    script.write_text(
        "const vm = require('vm'), fs = require('fs'); const c = {}; vm.createContext(c);\n"
        f"vm.runInContext(fs.readFileSync({json.dumps(str(utils))}, 'utf8'), c);\n"
        f"for (const t of {json.dumps(cases)}) console.log(JSON.stringify(c.formatVietnamTime(t)));\n",
        encoding="utf-8",
    )
    shown = subprocess.run(["node", str(script)], capture_output=True, text=True, check=True).stdout.splitlines()
    assert shown == [
        '"04/12/2026 21:57 (giờ Việt Nam)"', '"04/12/2026 21:57 (giờ Việt Nam)"', '"01/01/2027 00:00 (giờ Việt Nam)"',
        '"04/12/2026 21:57 (giờ Việt Nam)"', '"2026-02-30T00:00:00"', '"not a time"', '""', "null",
    ]  # fmt: skip


def test_times_are_converted_where_shown_only() -> None:
    for relpath, value in [("static/js/manage_assignments.js", "duedate"), ("static/js/gradebook_assignments.js",
                           "duedate"), ("static/js/manage_submissions.js", "timestamp")]:  # fmt: skip
        text = translated(relpath)
        assert f"display_{value} = formatVietnamTime({value});" in text, relpath
        assert (
            f'this.$timestamp.attr("data-order", {value});' in text or f'$duedate.attr("data-order", {value});' in text
        )
    # the due date the instructor edits goes back to the server as it came, in the timezone labelled below it
    assignments = translated("static/js/manage_assignments.js")
    assert 'this.$modal_duedate.val(this.model.get("duedate_notimezone"));' in assignments
    assert '"duedate_notimezone": duedate, "duedate_timezone": timezone' in assignments
    assert "múi giờ ở dòng dưới" in assignments and "+0700 là giờ Việt Nam" in assignments


def test_datatables_speak_vietnamese_on_every_list_page() -> None:
    utils = translated("static/js/utils.js")
    words = ['search: "Tìm kiếm:"', 'emptyTable: "Không có dữ liệu"', 'zeroRecords: "Không tìm thấy', 'next: "Tiếp"',
             'previous: "Trước"', 'lengthMenu: "Hiện _MENU_ dòng"', 'loadingRecords: "Đang tải']  # fmt: skip
    assert [w for w in words if w not in utils] == []
    assert "jQuery.extend(true, jQuery.fn.dataTable.defaults" in utils
    assert 'typeof jQuery !== "undefined" && jQuery.fn && jQuery.fn.dataTable' in utils  # manual grading: none
    base = upstream("templates/base.tpl")
    assert base.index("jquery.dataTables.js") < base.index("js/utils.js")
    templates = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "templates").glob("*.tpl")}

    def extends_base(name: str) -> bool:
        parent = re.search(r"extends '([^']+)'", templates[name])
        return name == "base.tpl" or (parent is not None and extends_base(parent.group(1)))

    for relpath in SCRIPTS:
        if "insertDataTable(" not in upstream(relpath) or relpath.endswith("utils.js"):
            continue
        pages = [name for name, text in templates.items() if f"static/{relpath.removeprefix('static/')}" in text]
        assert pages and all(extends_base(name) for name in pages), relpath


def test_a_changed_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    relpath = "static/js/manage_assignments.js"
    changed = upstream(relpath).replace('.text("draft")', '.text("Draft")')
    with pytest.raises(TranslationOutOfDate, match=r"static/js/manage_assignments\.js changed"):
        translate(relpath, changed)
    # and the check the formgrader's start runs says the same
    for path in FRAGMENTS:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / path, tmp_path / path)
    (tmp_path / relpath).write_text(changed, encoding="utf-8")
    monkeypatch.setattr(translation, "formgrader_root", lambda: tmp_path)
    found = problems()
    assert len(found) == 1 and "manage_assignments.js changed" in found[0]


def test_a_missing_fragment_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    relpath = "static/js/manage_assignments.js"
    changed = upstream(relpath).replace('.text("released")', '.text("published")')
    monkeypatch.setitem(UPSTREAM_SHA256, relpath, hashlib.sha256(changed.encode()).hexdigest())
    with pytest.raises(TranslationOutOfDate, match=r"manage_assignments\.js no longer holds.*text\(\"released\"\)"):
        translate(relpath, changed)
