"""Write the hostile and broken test submissions in tests/grading/submissions/ (committed).

Every case is a learner's hand-in of the real lesson 01-python-co-ban (phan-tich-du-lieu): the released
notebook, the solution or the committed typical-mistakes submission, with one bad thing done to it. After
the lesson's source notebook changes, regenerate them and commit:

    .venv/bin/python tests/grading/make_submissions.py

The 50 MB notebook is not committed: the test inflates ``huge-notebook`` (the solution plus a marker) when it
runs. ``invalid-json`` is a truncated file.
"""

from __future__ import annotations

import copy
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.nbgrader_run import prepare_course_dir, run_nbgrader, solution_submission  # noqa: E402

COURSE, ASSIGNMENT, NOTEBOOK = "phan-tich-du-lieu", "01-python-co-ban", "python-co-ban"
OUT = HERE / "submissions"
ESCAPE_TOKEN = "truongso-escape-7f3a9c"  # what the escape attempts leave behind, looked for on the host


def _find(nb: nbformat.NotebookNode, key: str) -> int:
    for i, cell in enumerate(nb.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == key or cell.get("id") == key:
            return i
    raise KeyError(key)


def answer(nb: nbformat.NotebookNode, gid: str, source: str) -> None:
    nb.cells[_find(nb, gid)].source = source


def insert_after(nb: nbformat.NotebookNode, key: str, source: str, cell_id: str) -> None:
    cell = new_code_cell(source)
    cell["id"] = cell_id
    nb.cells.insert(_find(nb, key) + 1 if key else 0, cell)


SNOOP = f'''# Tò mò: tìm lời giải, sổ điểm, bài của người khác và đường ra ngoài
import glob, json, os, subprocess
found = {{"uid": os.getuid(), "net": sorted(os.listdir("/sys/class/net")), "cwd": sorted(os.listdir("."))}}
found["routes"] = open("/proc/net/route").read().splitlines()[1:]
hits, secrets = [], []
for top in ("/", ):
    for root, dirs, files in os.walk(top):
        skip = ("/proc", "/sys", "/dev", "/opt/truongso/venv", "/usr")
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in skip]
        for name in dirs + files:
            path = os.path.join(root, name)
            low = name.lower()
            words = ("gradebook", "nbgrader_config", "submitted", "autograded", "solution")
            if any(k in low for k in words):
                hits.append(path)
            small = os.path.isfile(path) and os.path.getsize(path) < 2**22
            if name.endswith((".ipynb", ".db", ".json", ".py")) and small:
                try:
                    text = open(path, errors="replace").read()
                except OSError:
                    continue
                if "BEGIN SOLUTION" in text or "BEGIN HIDDEN TESTS" in text or "HIDDEN" in text and "assert" in text:
                    secrets.append(path)
found["hits"], found["secrets"] = hits, secrets
for probe in ("/proc/1/environ", "/proc/1/fd/0", "/proc/1/fd/1", "/proc/1/mem"):
    try:
        open(probe, "rb").read(1)
        found[probe] = "readable"
    except OSError as exc:
        found[probe] = type(exc).__name__
try:
    os.listdir("/proc/1/fd")
    found["/proc/1/fd"] = "listable"
except OSError as exc:
    found["/proc/1/fd"] = type(exc).__name__
for target in ("/tmp/{ESCAPE_TOKEN}", os.path.expanduser("~/{ESCAPE_TOKEN}"), "/{ESCAPE_TOKEN}"):
    try:
        open(target, "w").write("escaped")
        found[target] = "written"
    except OSError as exc:
        found[target] = type(exc).__name__
subprocess.Popen(["python", "-c", "import time; time.sleep(4242)", "{ESCAPE_TOKEN}"], start_new_session=True)
print("SNOOP:" + json.dumps(found))
'''

FORGE = """# Giả mạo kết quả chấm: ghi vào mọi kênh có thể
import json, os
fake = b"\\nTRUONGSO-RESULT " + b"0" * 64 + b" 2\\n{}\\n"
report = {}
for target in ("/proc/1/fd/1", "/proc/1/fd/2", "/proc/1/fd/0", "/dev/stdout"):
    try:
        with open(target, "wb") as fh:
            fh.write(fake)
        report[target] = "written"
    except OSError as exc:
        report[target] = type(exc).__name__
os.write(1, fake)
print(fake.decode())
for name in ("result.json", "results.json", "/tmp/grading_results.pkl"):
    open(name, "w").write(json.dumps({"score": 20, "points": 20, "passed": True}))
print("FORGE:" + json.dumps(report))
"""

XSS = """# Nội dung chạy trong trình duyệt của giảng viên
from IPython.display import HTML, SVG, Javascript, Markdown, display
display(HTML('<b>Kết quả</b><script>alert("xss")</script><img src=x onerror="alert(1)">'
             '<a href="javascript:alert(2)">xem</a><iframe src="https://example.com"></iframe>'))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(3)"><script>alert(4)</script></svg>'))
display(Javascript('alert(5)'))
display(Markdown('[bấm](javascript:alert(6)) <img src=y onerror=alert(7)>'))
display({"application/vnd.jupyter.widget-view+json": {"model_id": "x"}, "text/plain": "w"}, raw=True)
"""


TAMPER = {
    # the guard's check replaced and test cells turned into `pass` by an input transformer (issue 10's example)
    "replace-guard": """import sys
_g = [m for n, m in sys.modules.items() if n.startswith("_ts_")]
for _m in _g:
    _m.check = lambda pos: (_ for _ in ()).throw(AssertionError("truongso-canary"))
get_ipython().input_transformers_post.append(
    lambda lines: ["pass\\n"] if lines and "Kiểm tra tự động" in lines[0] else lines)""",
    "ast-transformer": """import ast
class _BoQuaAssert(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.copy_location(ast.Pass(), node)
get_ipython().ast_transformers.append(_BoQuaAssert())""",
    "settrace": """import sys
def _vet(frame, event, arg):
    if event == "exception" and arg[0] is AssertionError:
        frame.f_trace_lines = False
    return _vet
sys.settrace(_vet)
import threading
threading.settrace(_vet)""",
    "stdout-write": """import sys
_ghi = sys.stdout.write
sys.stdout.write = lambda text: _ghi(text.replace("Error", "OK"))
sys.stderr.write = lambda text: 0
get_ipython().showtraceback = lambda *a, **k: None""",
    "assertion-error": """import builtins
class AssertionError(Exception):
    pass
builtins.AssertionError = AssertionError
builtins.NotImplementedError = type("NotImplementedError", (Exception,), {})""",
    "edit-builtins": """__builtins__.__dict__["sum"] = lambda *a, **k: 749
__builtins__.__dict__["round"] = lambda x, n=None: 10.2
__builtins__.__dict__["sorted"] = lambda x, **k: list(x)""",
    "shadow-builtin": """def isinstance(obj, kind):
    return True
def round(x, n=None):
    return 10.2
ty_le_ngan_sach = "mười phẩy hai"
""",
    # the values sent to the checker replaced by a pickle that would run a command if it were trusted
    "forge-pickle": """import pickle
class _Gia:
    def __init__(self, *a, **k):
        self.buf = a[0]
    def dump(self, obj):
        self.buf.write(b"cos\\nsystem\\n(S'touch /tmp/truongso-forged-pickle'\\ntR.")
pickle.Pickler = _Gia""",
    # every cell first kills any other Python process (the checker among them)
    "kill-checker": """import os, signal
def _giet(*args):
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) not in (1, os.getpid()):
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
_giet()
get_ipython().events.register("pre_run_cell", _giet)""",
}


def case_notebooks(release: nbformat.NotebookNode, solution: nbformat.NotebookNode,
                   typical: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode | str]:  # fmt: skip
    cases: dict[str, nbformat.NotebookNode | str] = {}

    def make(name: str, base: nbformat.NotebookNode, change: Callable[[nbformat.NotebookNode], None]) -> None:
        nb = copy.deepcopy(base)
        change(nb)
        cases[name] = nb

    make("solution", solution, lambda nb: None)
    make("blank", release, lambda nb: None)
    make("typical", typical, lambda nb: None)
    make(
        "infinite-loop",
        solution,
        lambda nb: answer(
            nb,
            "bt3-tu-dien",
            "def dem_theo_vung(danh_sach_tinh, bang_vung):\n    while True:  # quên điều kiện dừng\n"
            '        pass\n\ndem_theo_vung(["Hà Nội"], vung_cua_tinh)',
        ),
    )
    make(
        "infinite-loop-uninterruptible",
        solution,
        lambda nb: insert_after(
            nb,
            "kt2-danh-sach",
            "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass",
            "vong-lap-khong-ngat",
        ),
    )
    make(
        "sleep",
        solution,
        lambda nb: answer(
            nb, "bt2-danh-sach", "import time\ntime.sleep(10**6)\n" + nb.cells[_find(nb, "bt2-danh-sach")].source
        ),
    )
    make(
        "memory-bomb",
        solution,
        lambda nb: insert_after(
            nb, "kt3-tu-dien", '_bo_nho = []\nwhile True:\n    _bo_nho.append(b"x" * (64 << 20))', "bom-bo-nho"
        ),
    )
    make(
        "fork-bomb",
        solution,
        lambda nb: insert_after(nb, "kt5-ten-dang-nhap", "import os\nwhile True:\n    os.fork()", "bom-tien-trinh"),
    )

    def huge_output(nb: nbformat.NotebookNode) -> None:
        insert_after(
            nb,
            "kt2-danh-sach",
            'import sys\n_dong = "Trường Số " * 100 + "\\n"\n'
            "for _ in range(1_000_000):  # ~1 GB, line by line\n    sys.stdout.write(_dong)",
            "dau-ra-1gb",
        )
        insert_after(nb, "dau-ra-1gb", 'print("y" * (80 << 20))  # 80 MB in one message', "dau-ra-80mb")

    make("huge-output", solution, huge_output)
    make(
        "endless-output",
        solution,
        lambda nb: insert_after(
            nb,
            "kt2-danh-sach",
            'import sys\n_dong = "Trường Số " * 100 + "\\n"\nwhile True:  # output until the time limit\n'
            "    sys.stdout.write(_dong)",
            "dau-ra-vo-tan",
        ),
    )
    make(
        "non-utf8-output",
        solution,
        lambda nb: insert_after(
            nb,
            "kt1-ty-le",
            'import os, sys\nos.write(1, b"\\xff\\xfe hong \\xc3\\x28\\n")\n'
            'sys.stdout.write("lone \\udcff surrogate\\n")\nprint(b"\\x80abc".decode("utf-8", "surrogateescape"))',
            "khong-utf8",
        ),
    )
    make("snoop", solution, lambda nb: insert_after(nb, "kt6-hoc-phi", SNOOP, "to-mo"))
    make("write-results-channel", release, lambda nb: insert_after(nb, "kt6-hoc-phi", FORGE, "gia-mao"))
    make(
        "sys-exit",
        solution,
        lambda nb: answer(nb, "bt3-tu-dien", nb.cells[_find(nb, "bt3-tu-dien")].source + "\nimport sys\nsys.exit()"),
    )
    make(
        "os-exit",
        solution,
        lambda nb: answer(nb, "bt4-xep-loai", nb.cells[_find(nb, "bt4-xep-loai")].source + "\nimport os\nos._exit(0)"),
    )
    make(
        "showtraceback",
        release,
        lambda nb: insert_after(
            nb,
            None,
            "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
            "ip._showtraceback = lambda *a, **k: None\nip.showsyntaxerror = lambda *a, **k: None",
            "giau-loi",
        ),
    )
    make(
        "swallow-errors",
        release,
        lambda nb: insert_after(
            nb,
            None,
            'def _nuot_loi(lines):\n    return ["try:\\n"] + ["    " + l for l in lines] + '
            '["\\nexcept BaseException:\\n    pass\\n"]\n\nget_ipython().input_transformers_post.append(_nuot_loi)',
            "nuot-loi",
        ),
    )

    def always_equal(nb: nbformat.NotebookNode) -> None:
        answer(
            nb,
            "bt2-danh-sach",
            "class LuonDung(int):\n    def __eq__(self, other):\n        return True\n\n"
            "    __hash__ = int.__hash__\n\n\nclass DanhSach(list):\n"
            "    def __eq__(self, other):\n        return True\n\n"
            "tong_hoc_vien = lop_dong_nhat = trung_binh_lop = LuonDung(0)\nba_lop_dong_nhat = DanhSach()",
        )
        answer(
            nb,
            "bt3-tu-dien",
            "class TuDien(dict):\n    def __eq__(self, other):\n        return True\n\n"
            "    def get(self, key, default=None):\n        return 1\n\n\n"
            "def dem_theo_vung(danh_sach_tinh, bang_vung):\n    return TuDien()",
        )

    make("always-equal", release, always_equal)

    def monkeypatch(nb: nbformat.NotebookNode) -> None:
        insert_after(
            nb,
            None,
            "import builtins\n_that = builtins.isinstance\n\n\ndef _isinstance(obj, kind):\n"
            "    if type(obj) is float and kind is int:  # 749.0 'là' số nguyên\n        return True\n"
            "    return _that(obj, kind)\n\n\nbuiltins.isinstance = _isinstance",
            "va-ham",
        )
        answer(
            nb,
            "bt2-danh-sach",
            "tong_hoc_vien = 749.0\nlop_dong_nhat = 100\ntrung_binh_lop = 62.4\nba_lop_dong_nhat = [100, 93, 88]",
        )

    make("monkeypatch", release, monkeypatch)
    make("deleted-grade-cell", typical, lambda nb: nb.cells.pop(_find(nb, "kt3-tu-dien")))

    def retype(nb: nbformat.NotebookNode) -> None:
        i = _find(nb, "kt4-xep-loai")
        cell = new_markdown_cell(nb.cells[i].source, metadata=copy.deepcopy(nb.cells[i].metadata))
        cell["id"] = nb.cells[i]["id"]
        nb.cells[i] = cell

    make("retyped-grade-cell", typical, retype)

    def duplicate(nb: nbformat.NotebookNode) -> None:
        i = _find(nb, "kt2-danh-sach")
        copy_ = copy.deepcopy(nb.cells[i])
        copy_["id"] = "kt2-ban-sao"
        copy_.source = "# đã kiểm tra\npass"
        nb.cells.insert(i + 1, copy_)

    make("duplicated-grade-cell", typical, duplicate)

    def checksum(nb: nbformat.NotebookNode) -> None:
        from nbgrader.utils import compute_checksum

        cell = nb.cells[_find(nb, "kt2-danh-sach")]
        cell.source = "# Kiểm tra tự động bài tập 2\npass"
        cell.metadata.nbgrader["checksum"] = compute_checksum(cell)

    make("edited-checksum", typical, checksum)
    make("huge-notebook", solution, lambda nb: nb.metadata.update({"truongso_test": "inflated to 50 MB by the test"}))

    def xss(nb: nbformat.NotebookNode) -> None:
        insert_after(nb, "kt6-hoc-phi", XSS, "trinh-duyet")
        answer(
            nb,
            "tl7-tu-dong-hoa",
            "Tôi tổng hợp báo cáo.<img src=x onerror=\"alert('md')\"> "
            "[xem](javascript:alert('md2'))<script>alert('md3')</script>",
        )

    make("xss", solution, xss)

    # Forged passes: each cell below tries to make the blank hand-in's failing tests pass (SECURITY.md).
    for name, source in TAMPER.items():
        make(name, release, lambda nb, source=source: insert_after(nb, None, source, "gian-lan"))
    text = nbformat.writes(solution)
    cases["invalid-json"] = text[: len(text) // 2]
    return cases


def main() -> None:
    src = REPO / "courses" / COURSE
    with tempfile.TemporaryDirectory() as tmp:
        root = prepare_course_dir(src, COURSE, Path(tmp))
        run = run_nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
        if run.returncode:
            sys.exit(run.stdout + run.stderr)
        release = nbformat.read(root / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    solution = nbformat.from_dict(copy.deepcopy(release))
    answers = solution_submission(src / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in answers.cells}
    for cell in solution.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = by_id[meta["grade_id"]]
    typical = nbformat.read(src / "test-submissions" / ASSIGNMENT / "typical" / f"{NOTEBOOK}.ipynb", as_version=4)
    for name, nb in case_notebooks(release, solution, typical).items():
        path = OUT / name / f"{NOTEBOOK}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(nb if isinstance(nb, str) else nbformat.writes(nb), encoding="utf-8")
    (OUT / "README.md").write_text(
        "Hostile and broken hand-ins of lesson 01-python-co-ban, written by `make_submissions.py` "
        "(see its docstring). Graded together by `test_adversarial.py`.\n",
        encoding="utf-8",
    )
    print(json.dumps(sorted(p.name for p in OUT.iterdir() if p.is_dir())))


if __name__ == "__main__":
    main()
