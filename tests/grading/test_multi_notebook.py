"""An assignment of two notebooks, built here with cell factories: graded as stock grades it, each notebook
in a fresh kernel of the same sandbox, with nothing left running from the first into the second."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import nbformat
import pytest
from grading_support import nbgrader_run, scores
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from graders.autograde import grade_assignment

pytestmark = pytest.mark.docker
COURSE, PS = "tong-hop", "ps1"


def answer(grade_id: str, source: str) -> nbformat.NotebookNode:
    meta = {"grade": False, "solution": True, "locked": False, "grade_id": grade_id, "schema_version": 3}
    return new_code_cell(source, metadata={"nbgrader": meta})


def graded_cell(grade_id: str, source: str, points: int) -> nbformat.NotebookNode:
    meta = {"grade": True, "solution": False, "locked": True, "points": points, "grade_id": grade_id,
            "schema_version": 3}  # fmt: skip
    return new_code_cell(source, metadata={"nbgrader": meta})


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_markdown_cell("# Bài tập / Exercise"), *cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    return nb


SOURCE = {
    "phan-a": notebook(
        answer("a-tong", "def tong(xs):\n    ### BEGIN SOLUTION\n    return sum(xs)\n    ### END SOLUTION"),
        graded_cell(
            "a-kiem-tra",
            "assert tong([1, 2, 3]) == 6\n### BEGIN HIDDEN TESTS\nassert tong([]) == 0\n### END HIDDEN TESTS",
            2,
        ),
    ),
    "phan-b": notebook(
        answer(
            "b-trung-binh",
            "def trung_binh(xs):\n    ### BEGIN SOLUTION\n    return sum(xs) / len(xs)\n    ### END SOLUTION",
        ),
        graded_cell("b-kiem-tra", "assert trung_binh([2, 4]) == 3", 3),
    ),
}


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("multi") / COURSE
    for name, nb in SOURCE.items():
        (root / "source" / PS).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, root / "source" / PS / f"{name}.ipynb")
    (root / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.course_id = {COURSE!r}\nc.CourseDirectory.root = {str(root)!r}\n",
        encoding="utf-8",
    )
    run = nbgrader_run.run_nbgrader(root, "generate_assignment", PS)
    assert run.returncode == 0, run.stdout + run.stderr
    release = {n: nbformat.read(root / "release" / PS / f"{n}.ipynb", as_version=4) for n in SOURCE}
    solved = {n: nbgrader_run.solution_submission(root / "source" / PS / f"{n}.ipynb") for n in SOURCE}
    # The first notebook leaves a process and a file behind; the second reports what it finds.
    leaky = nbformat.from_dict(solved["phan-a"])
    leaky.cells.append(new_code_cell("import subprocess\nsubprocess.Popen(['sleep', '300'])\n"
                                     "open('de-lai.txt', 'w').write('a')"))  # fmt: skip
    looks = nbformat.from_dict(solved["phan-b"])
    looks.cells.append(
        new_code_cell(
            "import os\nprocs = [open(f'/proc/{p}/comm').read().strip() for p in os.listdir('/proc') if p.isdigit()]\n"
            "print('PROCS', sorted(procs))\nprint('FILE', os.path.exists('de-lai.txt'))"
        )
    )
    # The first notebook plants what would steer the second one's kernel; the second is honest and looks.
    planting = nbformat.from_dict(solved["phan-a"])
    planting.cells.append(new_code_cell(PLANT))
    looking = nbformat.from_dict(solved["phan-b"])
    looking.cells.insert(1, new_code_cell(LOOK))
    hand_ins = {
        "loi-giai": {"phan-a": leaky, "phan-b": looks},
        "ban-phat": release,
        "thieu-b": {"phan-a": solved["phan-a"]},  # forgot the second notebook
        "cai-bay": {"phan-a": planting, "phan-b": looking},
    }
    for student, notebooks in hand_ins.items():
        nbgrader_run.place_submission(root, student, PS, {f"{n}.ipynb": nb for n, nb in notebooks.items()})
    return root


PLANT = """import json, os, sys
startup = os.environ["IPYTHONDIR"] + "/profile_default/startup"
os.makedirs(startup, exist_ok=True)
open(startup + "/00-bay.py", "w").write("BAY = 1\\nimport builtins\\nbuiltins.trung_binh = lambda xs: 0\\n")
for folder in os.environ["JUPYTER_PATH"].split(os.pathsep):
    os.makedirs(folder + "/kernels/python3", exist_ok=True)
    json.dump({"argv": [sys.executable, "-c", "raise SystemExit(3)"], "language": "python", "display_name": "x"},
              open(folder + "/kernels/python3/kernel.json", "w"))
open("numpy.py", "w").write("raise ImportError('bay')\\n")
open("sitecustomize.py", "w").write("raise SystemExit('bay')\\n")
open(os.environ["MPLCONFIGDIR"] + "/matplotlibrc", "w").write("backend: module://bay\\n")
open("/dev/shm/bay", "w").write("x")
"""
LOOK = """import os
left = [p for p in ("numpy.py", "sitecustomize.py", "/dev/shm/bay", os.environ["MPLCONFIGDIR"] + "/matplotlibrc",
                    os.environ["IPYTHONDIR"] + "/profile_default/startup/00-bay.py") if os.path.exists(p)]
print("LEFT", left, "BAY" in globals())
"""


def test_two_notebooks_graded_like_stock(course: Path, tmp_path: Path, grader_image: str, sandbox_prefix: str) -> None:
    stock = tmp_path / COURSE
    shutil.copytree(course, stock)
    config = stock / "nbgrader_config.py"
    config.write_text(config.read_text(encoding="utf-8").replace(str(course), str(stock)), encoding="utf-8")
    shutil.rmtree(stock / "submitted" / "cai-bay")  # stock runs hand-ins on this host: never a hostile one
    run = nbgrader_run.run_nbgrader(stock, "autograde", PS)
    assert run.returncode == 0, run.stderr[-3000:]

    report = grade_assignment(course, PS, image=grader_image, name_prefix=sandbox_prefix)
    assert [r.status for r in report.results] == ["graded"] * 4
    ours = scores(f"sqlite:///{course / 'gradebook.db'}", COURSE, PS)
    theirs = scores(f"sqlite:///{stock / 'gradebook.db'}", COURSE, PS)
    assert {k: v for k, v in ours.items() if k[0] != "cai-bay"} == theirs
    assert report.result("loi-giai").score == 5 and report.result("thieu-b").score == 2
    assert "missing_notebook" in {f.kind for f in report.result("thieu-b").findings}

    graded = nbformat.read(course / "autograded" / "loi-giai" / PS / "phan-b.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.outputs)
    procs = ast.literal_eval(text.split("PROCS ", 1)[1].splitlines()[0])
    # the runner, this kernel and this notebook's checker: nothing of the first notebook
    assert "sleep" not in procs and len(procs) == 3, procs
    assert "FILE False" in text  # each notebook starts from the hand-in's files only

    # Planted start-up file, kernelspec, modules and settings: the second notebook is graded as if they were not.
    assert report.result("cai-bay").score == 5, [f.line() for f in report.result("cai-bay").findings]
    assert not [f.line() for f in report.result("cai-bay").findings if f.flags]
    graded = nbformat.read(course / "autograded" / "cai-bay" / PS / "phan-b.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.outputs)
    assert "LEFT [] False" in text, text
