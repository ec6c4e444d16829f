"""Helpers of the grading tests: real nbgrader course directories, hand-ins, gradebook reads.

A plain module (not conftest) so that `from grading_support import …` is unambiguous in a full test run.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

import nbformat
from traitlets.config import Config

REPO = Path(__file__).resolve().parents[2]
SUBMISSIONS = Path(__file__).resolve().parent / "submissions"
COURSE, ASSIGNMENT, NOTEBOOK = "phan-tich-du-lieu", "01-python-co-ban", "python-co-ban"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


# The curriculum tests' helpers for driving real nbgrader (kept free of pytest there).
nbgrader_run = _load("grading_nbgrader_run", REPO / "tests" / "support" / "nbgrader_run.py")


def make_course(workdir: Path, course_id: str, assignment: str = "*", extra_config: str = "") -> Path:
    """A throw-away nbgrader course directory with `assignment` generated (its gradebook included)."""
    root = nbgrader_run.prepare_course_dir(REPO / "courses" / course_id, course_id, workdir)
    if extra_config:
        with open(root / "nbgrader_config.py", "a", encoding="utf-8") as fh:
            fh.write(extra_config)
    run = nbgrader_run.run_nbgrader(root, "generate_assignment", assignment, "--force")
    assert run.returncode == 0, run.stdout + run.stderr
    return root


def submit(root: Path, student: str, notebook: Path | str | nbformat.NotebookNode, assignment: str = ASSIGNMENT,
           name: str = NOTEBOOK, timestamp: str | None = None) -> Path:  # fmt: skip
    """Put one notebook where nbgrader's collect step would: submitted/<student>/<assignment>/."""
    dest = root / "submitted" / student / assignment
    dest.mkdir(parents=True, exist_ok=True)
    if isinstance(notebook, nbformat.NotebookNode):
        nbformat.write(notebook, dest / f"{name}.ipynb")
    else:
        shutil.copy(notebook, dest / f"{name}.ipynb")
    if timestamp:
        (dest / "timestamp.txt").write_text(timestamp, encoding="utf-8")
    return dest


def case_path(case: str) -> Path:
    return SUBMISSIONS / case / f"{NOTEBOOK}.ipynb"


def inflate(path: Path, megabytes: int = 50) -> None:
    """A notebook of `megabytes` MB: a learner who saved a giant image output with it."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    cell["outputs"] = [{"output_type": "display_data", "metadata": {},
                        "data": {"image/png": "A" * (megabytes << 20), "text/plain": "<Figure>"}}]  # fmt: skip
    path.write_text(json.dumps(nb), encoding="utf-8")


def fast_config(cell_timeout: int = 5, wall: float = 60) -> Config:
    """Short limits, so hanging submissions cost the suite seconds, not minutes."""
    c = Config()
    c.Execute.timeout = cell_timeout
    c.SandboxGrader.wall_timeout = wall
    return c


def scores(db_url: str, course_id: str, assignment: str) -> dict[tuple[str, ...], tuple]:
    """Every grade of an assignment: (student, notebook, cell) -> (auto, manual, needs manual, max)."""
    from nbgrader.api import Gradebook

    out: dict[tuple[str, ...], tuple] = {}
    with Gradebook(db_url, course_id=course_id) as gb:
        for sub in gb.assignment_submissions(assignment):
            for nb in sub.notebooks:
                for g in nb.grades:
                    out[(sub.student.id, nb.name, g.name)] = (g.auto_score, g.manual_score, g.needs_manual_grade,
                                                              g.max_score)  # fmt: skip
            out[(sub.student.id, "total")] = (sub.score, sub.max_score, sub.late_submission_penalty)
    return out
