"""Drive real nbgrader (generate_assignment, autograde) on a throw-away course directory.

Shared by the curriculum and grading tests; kept free of pytest so it can also be used from a shell.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

VENV_BIN = Path(sys.executable).parent
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def nbgrader_env() -> dict[str, str]:
    """nbgrader's gradebook runs `alembic` by name and the kernel must be this interpreter's."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["MPLBACKEND"] = "Agg"
    env.pop("JUPYTER_CONFIG_DIR", None)
    return env


@dataclass
class CellScore:
    notebook: str
    grade_id: str
    auto_score: float | None
    max_score: float
    cell_type: str


def prepare_course_dir(course_src: Path, course_id: str, workdir: Path) -> Path:
    """Copy <course>/source into workdir and write a minimal nbgrader_config.py there."""
    root = workdir / course_id
    shutil.copytree(
        course_src / "source",
        root / "source",
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "ket_qua", "__pycache__"),
    )
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.course_id = {course_id!r}\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{root / 'gradebook.db'}'\n"
        "c.ExecutePreprocessor.timeout = 120\n"
        "c.ExecutePreprocessor.startup_timeout = 180\n"
        # Courses are graded in parallel: a kernel's "free" TCP ports, picked before the kernel binds them, can be
        # taken by another run's kernel meanwhile. Unix sockets under the course folder cannot collide (the path
        # is absolute: the kernel runs in the notebook's folder, the client in the course's).
        "c.KernelManager.transport = 'ipc'\n"
        f"c.KernelManager.ip = {str(root / 'kernel')!r}\n",
        encoding="utf-8",
    )
    return root


def failure_excerpt(log: str, tail: int = 3000) -> str:
    """The first traceback in an nbgrader log (nbgrader prints it well before its closing ERROR line) and the tail."""
    start = log.find("Traceback")
    head = log[start : start + 4000] + "\n[...]\n" if start >= 0 else ""
    return head + log[-tail:]


def run_nbgrader(root: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    cmd = [str(VENV_BIN / "nbgrader"), *args]
    return subprocess.run(
        cmd, cwd=root, env=nbgrader_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


def start_nbgrader(root: Path, *args: str) -> subprocess.Popen[str]:
    cmd = [str(VENV_BIN / "nbgrader"), *args]
    return subprocess.Popen(
        cmd, cwd=root, env=nbgrader_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def solution_submission(source_nb: Path) -> nbformat.NotebookNode:
    """The source notebook as a learner who solved everything would hand it in (markers removed)."""
    nb = nbformat.read(source_nb, as_version=4)
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            cell.source = "\n".join(line for line in cell.source.splitlines() if line.strip() not in SOLUTION_MARKERS)
    return nb


def place_submission(
    root: Path,
    student: str,
    assignment: str,
    notebooks: dict[str, nbformat.NotebookNode],
    extra_from: Path | None = None,
) -> None:
    """Write notebooks under submitted/<student>/<assignment>/ (plus the assignment's data files)."""
    dest = root / "submitted" / student / assignment
    if extra_from is not None:
        shutil.copytree(extra_from, dest, ignore=shutil.ignore_patterns("*.ipynb", "ket_qua"), dirs_exist_ok=True)
    dest.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, dest / name)


def read_scores(root: Path, course_id: str, assignment: str, student: str) -> list[CellScore]:
    from nbgrader.api import Gradebook

    out: list[CellScore] = []
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id=course_id) as gb:
        submission = gb.find_submission(assignment, student)
        for nb in submission.notebooks:
            for grade in nb.grades:
                out.append(CellScore(nb.name, grade.name, grade.auto_score, grade.max_score, grade.cell_type))
    return out


def autograded(scores: list[CellScore]) -> list[CellScore]:
    """Only the cells the autograder scores (code test cells)."""
    return [s for s in scores if s.cell_type == "code"]
