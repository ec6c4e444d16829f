"""Learner content that would run in the instructor's browser is neutralised in what nbconvert renders.

Each hostile variant goes through the autograder's last step (SanitizeActiveContent) in a markdown cell, a
`text/markdown` output and (for HTML) a `text/html` output; the notebook is then rendered by nbconvert as the
formgrader renders it, and the HTML is checked by a parser of its own (not nh3): no script-capable tag,
attribute or URL is left, and the `active_content` finding is recorded. Honest content is neither changed
nor flagged. Vectors: the ones reported in issue 10 and OWASP's XSS filter evasion cheat sheet.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from types import SimpleNamespace

import nbformat
import pytest
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell
from traitlets.config import Config

from graders.autograde.sanitize import (
    SanitizeActiveContent,
    SanitizeForDisplay,
    sanitize_html,
    sanitize_markdown,
)

# Markdown syntax that nbconvert turns into a live javascript:/vbscript:/data: link or image.
MARKDOWN_LINKS = [
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x](&#X6a;&#X61;vascript:alert(1))",
    "[x](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))",
    "[x](  javascript:alert(1))",
    "[x](javascript://%0Aalert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](VBScript:msgbox(1))",
    "[x](livescript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](data:text/html,<script>alert(1)</script>)",
    "[x](<javascript:alert(1)>)",
    '[x](javascript:alert(1) "title")',
    "<javascript:alert(1)>",
    "<JAVASCRIPT:alert(1)>",
    "<vbscript:msgbox(1)>",
    "[x][r]\n\n[r]: javascript:alert(1)",
    "[x][r]\n\n[r]: <javascript:alert(1)> 'title'",
    "[r]\n\n[r]: &#106;avascript:alert(1)",
    "![x](javascript:alert(1))",
    "![x](data:text/html,<script>alert(1)</script>)",
    "[![i](https://example.org/a.png)](javascript:alert(1))",
    "[a **b** `c`](javascript:alert(1))",
]
# Raw HTML, in markdown and as `text/html` output.
HTML = [
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="jav&#x0A;ascript:alert(1)">x</a>',
    '<a href="jav&#x0D;ascript:alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">x</a>',
    '<a href="java\nscript:alert(1)">x</a>',
    '<a href=" &#14;  javascript:alert(1)">x</a>',
    '<a href="\x01javascript:alert(1)">x</a>',
    '<a href="javascript&colon;alert&lpar;1&rpar;">x</a>',
    '<a href="javascript&#58;alert(1)">x</a>',
    '<a href="javas&#99;ript:alert(1)">x</a>',
    '<a href="&#x6a;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;:alert(1)">x</a>',
    '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058'
    'alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "<a href=javascript:alert(1)>x</a>",
    '<IMG SRC="javascript:alert(1);">',
    "<IMG SRC=JaVaScRiPt:alert(1)>",
    "<img src=x onerror=alert(1)>",
    '<img src="x" onerror="alert(1)"/>',
    "<img/src/onerror=alert(1)>",
    '<IMG """><SCRIPT>alert(1)</SCRIPT>">',
    '<img src="data:text/html,<script>alert(1)</script>">',
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text y="20">x</text></a></svg>',
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s></animate></svg>",
    '<math><a xlink:href="javascript:alert(1)">x</a></math>',
    "<script>alert(1)</script>",
    "<SCRIPT SRC=http://example.org/xss.js></SCRIPT>",
    "<body onload=alert(1)>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="data:text/html,<script>alert(1)</script>">',
    "<details open ontoggle=alert(1)>x</details>",
    '<div style="background:url(javascript:alert(1))" onmouseover="alert(1)">x</div>',
    '<form action="javascript:alert(1)"><button>x</button></form>',
    '<button formaction="javascript:alert(1)">x</button>',
    "<input autofocus onfocus=alert(1)>",
    '<base href="javascript:alert(1)//">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<link rel="import" href="data:text/html,<script>alert(1)</script>">',
    "<video><source onerror=alert(1)></video>",
    "<marquee onstart=alert(1)>x</marquee>",
    "<!--><img src=x onerror=alert(1)>-->",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<x-foo onclick=alert(1)>hi</x-foo>",
    "<b onclick=alert(1)>hi</b>",
    '<a href="#" onclick="alert(1)">x</a>',
    "<table background=javascript:alert(1)><tr><td>x</td></tr></table>",
    '<div data-x="1" onpointerenter=alert(1)>x</div>',
]
# mistune does not read these as HTML tags (a `/` where a space belongs): markdown shows them as text.
INERT_IN_MARKDOWN = ["<img/src/onerror=alert(1)>", "<svg/onload=alert(1)>"]
IN_MARKDOWN = MARKDOWN_LINKS + [v for v in HTML if v not in INERT_IN_MARKDOWN]
HONEST_MARKDOWN = [
    '# Bài 1: Python cơ bản\n\nChào *bạn*, đây là **bài tập** với “ngoặc kép” và "quotes" & ký hiệu.',
    "| cột A | cột B |\n|---|---|\n| 1 | 2 |",
    "Công thức $x^2 + y < 3$ và $$\\frac{a}{b}$$",
    "```python\nprint('xin chào', \"x\" < 3)\n```",
    "- một\n- hai\n\n1. ba\n2. bốn\n\n> trích dẫn",
    "[tài liệu](https://pandas.pydata.org/docs/) và [thư](mailto:gv@example.org) và [mục](#cau-1) và [tệp](data/x.csv)",
    "![biểu đồ](https://example.org/chart.png)",
    "<details><summary>Gợi ý</summary>Dùng <code>df.groupby</code></details>",
    "<font color='red'>Chú ý</font><br>H<sub>2</sub>O, x<sup>2</sup>",
]


def _scheme(value: str) -> str:
    return re.sub(r"[\x00-\x20\x7f]+", "", html.unescape(value)).lower()


class _Checker(HTMLParser):
    """Everything in rendered HTML that could run script: tags, handlers, URLs (entities decoded)."""

    BAD_TAGS = frozenset(
        "script iframe frame object embed applet svg math form button input base meta link style template noscript "
        "x-foo marquee video source".split()
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BAD_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") or name in ("srcdoc", "formaction", "action", "background", "xlink:href"):
                self.problems.append(f"{tag} {name}={value!r}")
            url = _scheme(value)
            if re.match(r"(java|vb|live)script:|data:(?!image/)", url) or "javascript:" in url:
                self.problems.append(f"{tag} {name}={value!r}")


def problems(rendered: str) -> list[str]:
    checker = _Checker()
    checker.feed(rendered)
    checker.close()
    return checker.problems


EXPORTER = HTMLExporter(template_name="basic")


def render(nb: nbformat.NotebookNode) -> str:
    """The notebook as nbconvert's HTML exporter renders cells and outputs in the formgrader (no page head)."""
    body, _ = EXPORTER.from_notebook_node(nb)
    return body


def autograde_last_step(nb: nbformat.NotebookNode) -> list[str]:
    """SanitizeActiveContent on `nb` in place, as the autograder runs it; the finding kinds it recorded."""
    ctx = SimpleNamespace(findings=[], notebook="bai-1")
    SanitizeActiveContent().preprocess(nb, {"truongso": ctx})
    return [f.kind for f in ctx.findings]


def markdown_output(text: str) -> nbformat.NotebookNode:
    return new_output("display_data", data={"text/markdown": text, "text/plain": "<IPython.core.display.Markdown>"})


def html_output(text: str) -> nbformat.NotebookNode:
    return new_output("display_data", data={"text/html": text, "text/plain": "<IPython.core.display.HTML>"})


def test_hostile_content_renders_script_capable_without_us() -> None:
    """The test's own checker sees the attacks in nbconvert's unsanitised rendering (it can fail)."""
    nb = new_notebook(cells=[new_markdown_cell(v) for v in MARKDOWN_LINKS + HTML])
    found = problems(render(nb))
    assert len(found) >= len(MARKDOWN_LINKS + HTML) - 5, found  # a few render inert on their own


@pytest.mark.parametrize("vector", IN_MARKDOWN)
def test_markdown_cell_is_neutralised_and_flagged(vector: str) -> None:
    nb = new_notebook(cells=[new_markdown_cell(f"Câu trả lời:\n\n{vector}\n\nhết.")])
    assert autograde_last_step(nb) == ["active_content"]
    rendered = render(nb)
    assert problems(rendered) == [], rendered
    assert "hết." in rendered  # the learner's text is still there


@pytest.mark.parametrize("vector", IN_MARKDOWN)
def test_markdown_output_is_neutralised_and_flagged(vector: str) -> None:
    nb = new_notebook(cells=[new_code_cell("display(Markdown(x))", outputs=[markdown_output(vector)])])
    assert autograde_last_step(nb) == ["active_content"]
    assert problems(render(nb)) == []


@pytest.mark.parametrize("vector", HTML)
def test_html_output_is_neutralised_and_flagged(vector: str) -> None:
    nb = new_notebook(cells=[new_code_cell("display(HTML(x))", outputs=[html_output(vector)])])
    assert autograde_last_step(nb) == ["active_content"]
    assert problems(render(nb)) == []


@pytest.mark.parametrize("vector", HTML)
def test_raw_html_cell_is_neutralised_and_flagged(vector: str) -> None:
    nb = new_notebook(cells=[new_raw_cell(vector, metadata={"raw_mimetype": "text/html"})])
    assert autograde_last_step(nb) == ["active_content"]
    assert problems(render(nb)) == []


@pytest.mark.parametrize(
    "inert",
    [
        "[x](java\tscript:alert(1))",
        "[x](<java\tscript:alert(1)>)",
        "[x](jav&#x09;ascript:alert(1))",
        "[x](jav&#x0A;ascript:alert(1))",
        *INERT_IN_MARKDOWN,
        "`<script>alert(1)</script>`",
        "    <img src=x onerror=alert(1)>",
        "x &lt;script&gt; y",
    ],
)
def test_markup_nbconvert_shows_as_text_is_left_alone(inert: str) -> None:
    """What the renderer already makes inert (a tab breaks a link or is percent-encoded in it, code spans,
    escaped markup) is not active:
    nothing is removed, nothing is flagged, and the rendering is still clean."""
    nb = new_notebook(cells=[new_markdown_cell(inert)])
    assert autograde_last_step(nb) == []
    assert nb.cells[0].source == inert
    assert problems(render(nb)) == []


@pytest.mark.parametrize("text", HONEST_MARKDOWN)
def test_honest_markdown_is_kept_and_not_flagged(text: str) -> None:
    nb = new_notebook(cells=[new_markdown_cell(text)])
    assert autograde_last_step(nb) == []
    assert nb.cells[0].source == text  # still markdown, exactly as written


def test_honest_outputs_are_kept_and_not_flagged() -> None:
    import pandas as pd

    frame = pd.DataFrame({"tỉnh": ["Hà Nội", "Huế"], "số hồ sơ": [12, 7]})
    table = frame._repr_html_()
    outputs = [html_output(table), markdown_output("**Tổng**: 19 hồ sơ, xem [nguồn](https://example.org)"),
               new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}),
               new_output("stream", name="stdout", text="<script>alert(1)</script>\n")]  # fmt: skip
    nb = new_notebook(cells=[new_code_cell("frame", outputs=outputs)])
    assert autograde_last_step(nb) == []
    kept = nb.cells[0].outputs
    assert "<table" in kept[0].data["text/html"] and "Huế" in kept[0].data["text/html"]
    assert "<style" not in kept[0].data["text/html"]  # pandas' scoped style block: styling, removed quietly
    assert kept[1].data["text/markdown"].startswith("**Tổng**")
    assert kept[2].data["image/png"] == "iVBORw0KGgo="
    rendered = render(nb)
    assert problems(rendered) == [] and "&lt;script&gt;" in rendered  # streams are shown as text


def test_styling_alone_is_removed_but_not_flagged() -> None:
    cleaned, active = sanitize_html('<style>body{display:none}</style><p style="position:fixed;color:red">x</p>')
    assert "<style" not in cleaned and "position" not in cleaned and 'style="color:red"' in cleaned
    assert not active


def test_cleaned_markdown_is_stable_and_passed_through_verbatim() -> None:
    """The replacement is one HTML block: nbconvert renders it as it is, and cleaning it again changes nothing
    (no blank line lets markdown read a link back into it)."""
    source = (
        '<a href="javascript:alert(1)">a</a>\n\n<pre>\n[x](javascript:alert(1))\n\n*y*\n</pre>\n\n`[z](javascript:1)`'
    )
    cleaned, active = sanitize_markdown(source)
    assert active and "\n" not in cleaned
    again, active_again = sanitize_markdown(cleaned)
    assert (again, active_again) == (cleaned, False)
    nb = new_notebook(cells=[new_markdown_cell(cleaned)])
    rendered = render(nb)
    assert problems(rendered) == [] and "[x](javascript:alert(1))" in html.unescape(rendered)


def test_attachments_and_broken_references() -> None:
    png = {"image/png": "iVBORw0KGgo="}
    ok = new_markdown_cell("![hình](attachment:a.png)")
    ok.attachments = {"a.png": png}
    svg = new_markdown_cell("![v](attachment:v.svg)")
    svg.attachments = {"v.svg": {"image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'}}
    missing = new_markdown_cell("![mất](attachment:khong-co.png)")  # nbconvert would refuse the whole page
    nb = new_notebook(cells=[ok, svg, missing])
    ctx = SimpleNamespace(findings=[], notebook="bai-1")
    SanitizeActiveContent().preprocess(nb, {"truongso": ctx})
    assert [f.cell for f in ctx.findings] == ["cell 1"]  # the SVG with a handler
    assert nb.cells[0].source == "![hình](attachment:a.png)" and nb.cells[1].attachments["v.svg"] == {}
    assert "attachment:" not in nb.cells[2].source
    assert problems(render(nb)) == []


def test_grade_ids_typed_by_a_learner_cannot_break_out_of_attributes() -> None:
    cell = new_markdown_cell("trả lời", metadata={"nbgrader": {"grade_id": 'x" autofocus onfocus="alert(1)',
                                                               "grade": True, "points": 1}})  # fmt: skip
    honest = new_markdown_cell("ok", metadata={"nbgrader": {"grade_id": "cau-1.b_2", "grade": True, "points": 1}})
    nb = new_notebook(cells=[cell, honest])
    assert autograde_last_step(nb) == ["active_content"]
    assert re.fullmatch(r"[A-Za-z0-9_.\-]+", nb.cells[0].metadata.nbgrader.grade_id)
    assert nb.cells[1].metadata.nbgrader.grade_id == "cau-1.b_2"


def test_scripted_outputs_are_dropped_and_widget_state_goes() -> None:
    outputs = [
        new_output("display_data", data={"application/javascript": "alert(1)", "text/plain": "js"}),
        new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "1"}}),
        new_output("display_data", data={"image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
                                         "text/plain": "svg"}),
        new_output("display_data", data={"text/html": "<b>x</b>"}, metadata={"text/html": {"isolated": True}}),
    ]  # fmt: skip
    nb = new_notebook(cells=[new_code_cell("x", outputs=outputs)], metadata={"widgets": {"state": {}}})
    assert autograde_last_step(nb) == ["active_content"]
    data = [o.data for o in nb.cells[0].outputs]
    assert data[0] == {"text/plain": "js"} and "application/vnd.jupyter.widget-view+json" not in data[1]
    assert "image/svg+xml" not in data[2] and nb.cells[0].outputs[3].metadata == {}
    assert "widgets" not in nb.metadata
    assert problems(render(nb)) == []


def test_the_formgrader_shows_notebooks_cleaned_too() -> None:
    """Notebooks graded before this cleaning existed: the formgrader's exporter runs SanitizeForDisplay."""
    config = Config()
    config.HTMLExporter.preprocessors = ["graders.autograde.sanitize.SanitizeForDisplay"]
    nb = new_notebook(cells=[new_markdown_cell(v) for v in MARKDOWN_LINKS + HTML])
    body, _ = HTMLExporter(template_name="basic", config=config).from_notebook_node(nb)
    assert problems(body) == []
    assert SanitizeForDisplay  # the class the formgrader's configuration names
