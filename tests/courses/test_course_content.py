"""Static checks of the shipped curriculum: structure, nbgrader metadata, Vietnamese text, no network use."""

from __future__ import annotations

import ast
import json
import re
import unicodedata
from pathlib import Path

import pytest

from graders.curriculum import Course, default_courses_root, load_courses, notebook_points

COURSES = load_courses(default_courses_root())
NOTEBOOKS = [(c, a.id, c.source_dir / a.id / nb) for c in COURSES for a in c.assignments for nb in a.notebooks]
NB_IDS = [f"{c.id}/{nb.parent.name}/{nb.name}" for c, _, nb in NOTEBOOKS]

# Letters only Vietnamese uses among Latin scripts (breve, circumflex/horn vowels, đ, hook above, dot below) ...
VI_SPECIFIC = set(
    "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹĂÂĐÊÔƠƯẠẢẤẦẨẪẬẮẰẲẴẶẸẺẼẾỀỂỄỆỈỊỌỎỐỒỔỖỘỚỜỞỠỢỤỦỨỪỬỮỰỲỴỶỸ"
)
# ... and the five Vietnamese tone marks, which other languages share on some vowels (à, é, ó…).
TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def _vietnamese_letters(text: str) -> tuple[int, int]:
    """(letters with a Vietnamese diacritic, of which Vietnamese-only letters)."""
    marked = sum(1 for ch in text if ch in VI_SPECIFIC or TONE_MARKS & set(unicodedata.normalize("NFD", ch)))
    return marked, sum(ch in VI_SPECIFIC for ch in text)


MOJIBAKE = re.compile(
    "Ã[\u0080-\u00bf\u2018-\u203a\u0152\u0153\u0160\u0161\u0178\u017d\u017e]|Ä[\u0080-\u00bf‘’]|Æ[°¡]"
    "|á[º»][\u0080-\u00bf\u2018-\u203a]|Â[»«°·]|â€"
)
NETWORK = re.compile(r"https?://|ftp://|\burllib\b|\brequests\b|\bsocket\b|\bhttp\.client\b|\bpip install\b")


def vietnamese_problem(text: str, *, min_letters: int = 2) -> str | None:
    """None if `text` is clean Vietnamese, else what is wrong with it."""
    if "\ufffd" in text:
        return "contains U+FFFD (a decoding error)"
    if MOJIBAKE.search(text):
        return f"contains mojibake {MOJIBAKE.search(text).group()!r}"
    for enc in ("cp1252", "latin-1"):
        try:
            if text.encode(enc).decode("utf-8") != text:
                return f"looks like UTF-8 read as {enc}"
        except UnicodeError:
            pass
    if not unicodedata.is_normalized("NFC", text):
        return "is not NFC-normalised"
    marked, specific = _vietnamese_letters(text)
    if marked < min_letters or specific < 1:
        return "has no Vietnamese (too few Vietnamese letters with diacritics)"
    return None


def load_nb(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def nbgrader_meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def test_vietnamese_check_catches_problems() -> None:
    assert vietnamese_problem("Phân tích dữ liệu với Python") is None
    assert vietnamese_problem("Data analysis with Python") is not None
    assert vietnamese_problem("Café crème à la française") is not None  # accents, but not Vietnamese
    assert vietnamese_problem("Nhóm, ghép và xoay bảng") is None
    assert vietnamese_problem("PhÃ¢n tÃ­ch dá»¯ liá»‡u") is not None  # UTF-8 bytes read as cp1252
    assert vietnamese_problem(unicodedata.normalize("NFD", "Phân tích dữ liệu")) is not None
    assert vietnamese_problem("Ph\ufffdn t\u00edch") is not None
    assert vietnamese_problem("Ä‘Æ°á»ng") is not None


def test_both_courses_are_shipped() -> None:
    by_id = {c.id: c for c in COURSES}
    assert set(by_id) >= {"phan-tich-du-lieu", "ky-nang-so"}
    assert len(by_id["phan-tich-du-lieu"].assignments) >= 7
    assert len(by_id["ky-nang-so"].assignments) >= 4


@pytest.mark.parametrize("course", COURSES, ids=[c.id for c in COURSES])
def test_course_yaml_texts_are_vietnamese(course: Course) -> None:
    texts = {"title": course.title, "description": course.description}
    texts.update({f"{a.id}.title": a.title for a in course.assignments})
    for where, text in texts.items():
        problem = vietnamese_problem(text.vi)
        assert problem is None, f"{course.id} {where}.vi {problem}: {text.vi!r}"
        assert text.en, f"{course.id} {where} has no English text"


@pytest.mark.parametrize(("course", "assignment", "path"), NOTEBOOKS, ids=NB_IDS)
def test_notebook_structure(course: Course, assignment: str, path: Path) -> None:
    nb = load_nb(path)
    assert nb["nbformat"] == 4 and nb["nbformat_minor"] >= 5, "notebooks must carry cell ids (nbformat 4.5+)"
    ids = [c.get("id") for c in nb["cells"]]
    assert all(ids) and len(set(ids)) == len(ids), "every cell needs a unique, stable id"
    grade_ids: list[str] = []
    kinds = {"answer": 0, "test": 0, "manual": 0, "hidden": 0}
    for cell in nb["cells"]:
        assert not cell.get("outputs"), f"cell {cell['id']} has stored outputs: clear them"
        meta = nbgrader_meta(cell)
        if not meta:
            continue
        assert meta.get("schema_version") == 3, f"cell {cell['id']}: nbgrader schema_version must be 3"
        grade_ids.append(meta["grade_id"])
        src = "".join(cell["source"])
        if meta.get("solution") and cell["cell_type"] == "code":
            kinds["answer"] += 1
            assert "### BEGIN SOLUTION" in src and "### END SOLUTION" in src, f"{cell['id']}: no solution region"
        if meta.get("grade") and cell["cell_type"] == "code":
            kinds["test"] += 1
            assert meta.get("locked") and meta.get("points", 0) > 0, f"{cell['id']}: tests must be locked, with points"
            assert "assert" in src or "raise AssertionError" in src, f"{cell['id']}: a test cell without assertions"
            kinds["hidden"] += "### BEGIN HIDDEN TESTS" in src
        if meta.get("grade") and meta.get("solution") and cell["cell_type"] == "markdown":
            kinds["manual"] += 1
            assert meta.get("points", 0) > 0, f"{cell['id']}: a manually graded answer needs points"
    assert len(set(grade_ids)) == len(grade_ids), "grade_ids must be unique within a notebook"
    assert kinds["answer"] >= 4 and kinds["test"] >= 4, f"too few exercises: {kinds}"
    assert kinds["hidden"] >= 2, f"each assignment needs hidden tests: {kinds}"
    assert kinds["manual"] >= 1, f"each assignment needs a manually graded written answer: {kinds}"
    header = re.search(r"\*\*Điểm:\*\* (\d+)", "".join(nb["cells"][0]["source"]))
    assert header, "the first cell should state the points (**Điểm:** N)"
    assert int(header.group(1)) == notebook_points(path), "the points announced in the first cell are wrong"
    for cell in nb["cells"]:  # "Bài tập N (k điểm)" headings announce the points of the test that follows
        text = "".join(cell["source"]) if cell["cell_type"] == "markdown" else ""
        for number, points in re.findall(r"Bài tập (\d+) \((\d+) điểm", text):
            prefix = f"kt{number}-"
            tests = [nbgrader_meta(c) for c in nb["cells"] if nbgrader_meta(c).get("grade_id", "").startswith(prefix)]
            assert tests and tests[0].get("points") == int(points), f"Bài tập {number} announces {points} points"


@pytest.mark.parametrize(("course", "assignment", "path"), NOTEBOOKS, ids=NB_IDS)
def test_instructions_are_vietnamese_first_with_english(course: Course, assignment: str, path: Path) -> None:
    for cell in load_nb(path)["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"])
        meta = nbgrader_meta(cell)
        if meta.get("solution"):  # a model answer to a written question: Vietnamese, no translation needed
            problem = vietnamese_problem(text)
            assert problem is None, f"model answer {cell['id']} {problem}"
            continue
        vi, sep, en = text.partition("> *English:*")
        assert sep and en.strip(), f"instruction cell {cell['id']} has no '> *English:*' block after the Vietnamese"
        problem = vietnamese_problem(vi)
        assert problem is None, f"instruction cell {cell['id']}: Vietnamese part {problem}"


def _assert_messages(tree: ast.AST) -> list[tuple[int, ast.expr | None]]:
    found: list[tuple[int, ast.expr | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            found.append((node.lineno, node.msg))
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            func = node.exc.func
            if isinstance(func, ast.Name) and func.id == "AssertionError":
                found.append((node.lineno, node.exc.args[0] if node.exc.args else None))
    return found


def _literal_text(expr: ast.expr) -> str:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, ast.JoinedStr):
        return "".join(_literal_text(v) for v in expr.values if isinstance(v, ast.Constant))
    if isinstance(expr, ast.BinOp):
        return _literal_text(expr.left) + _literal_text(expr.right)
    return ""


@pytest.mark.parametrize(("course", "assignment", "path"), NOTEBOOKS, ids=NB_IDS)
def test_assert_messages_are_vietnamese(course: Course, assignment: str, path: Path) -> None:
    checked = 0
    for cell in load_nb(path)["cells"]:
        meta = nbgrader_meta(cell)
        if cell["cell_type"] != "code" or not meta.get("grade"):
            continue
        tree = ast.parse("".join(cell["source"]))
        for lineno, msg in _assert_messages(tree):
            assert msg is not None, f"{cell['id']} line {lineno}: assertion without a message for the learner"
            problem = vietnamese_problem(_literal_text(msg))
            assert problem is None, f"{cell['id']} line {lineno}: failure message {problem}"
            checked += 1
    assert checked >= 5


@pytest.mark.parametrize(("course", "assignment", "path"), NOTEBOOKS, ids=NB_IDS)
def test_notebooks_use_only_local_files(course: Course, assignment: str, path: Path) -> None:
    folder = path.parent
    for cell in load_nb(path)["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        assert not NETWORK.search(src), f"{cell['id']} looks like network use: {NETWORK.search(src).group()!r}"
        for rel in re.findall(r"[\"'](data/[^\"']+)[\"']", src):
            assert (folder / rel).is_file(), f"{cell['id']} reads {rel}, which is not shipped in {folder}"


def test_every_data_file_is_used_and_small() -> None:
    root = default_courses_root()
    total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert total < 10 * 1024 * 1024, f"courses/ weighs {total / 1e6:.1f} MB; the limit is 10 MB"
    for course in COURSES:
        for a in course.assignments:
            sources = " ".join((course.source_dir / a.id / nb).read_text(encoding="utf-8") for nb in a.notebooks)
            for data in sorted((course.source_dir / a.id).glob("data/*")):
                assert f"data/{data.name}" in sources or data.name in sources, f"{data} is shipped but never used"
