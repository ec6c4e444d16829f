"""Rebuild the "typical mistakes" submissions after a source notebook changed.

Each assignment ships ``test-submissions/<assignment>/typical/<notebook>.ipynb``: the released student version
with a beginner's answers filled in (some right, some plausibly wrong). The curriculum tests grade it with nbgrader
and expect a score strictly between zero and full marks. When an instructor edits a source notebook, run::

    python courses/refresh_typical.py [COURSE_ID ...]

It generates the student version with nbgrader and copies every existing answer (matched by nbgrader ``grade_id``) into
it. New answer cells keep nbgrader's stub: fill them in by hand with a realistic beginner answer.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from graders.curriculum import Course, load_courses  # noqa: E402


def answers_by_grade_id(nb: nbformat.NotebookNode) -> dict[str, str]:
    """The learner-editable (nbgrader solution) cells of a notebook, by grade_id."""
    out = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id"):
            out[meta["grade_id"]] = cell.source
    return out


def refresh_notebook(
    release: nbformat.NotebookNode, typical: nbformat.NotebookNode | None
) -> tuple[nbformat.NotebookNode, list[str]]:
    """The released notebook with the answers of `typical` filled in, and the grade_ids left as stubs."""
    answers = answers_by_grade_id(typical) if typical is not None else {}
    fresh = nbformat.from_dict(release)
    stubs = []
    for cell in fresh.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("solution"):
            continue
        if meta.get("grade_id") in answers:
            cell.source = answers[meta["grade_id"]]
        else:
            stubs.append(meta.get("grade_id", "?"))
    return fresh, stubs


def refresh_course(course: Course) -> None:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(course.source_dir, root / "source")
        (root / "nbgrader_config.py").write_text(
            f"c = get_config()\nc.CourseDirectory.course_id = {course.id!r}\nc.CourseDirectory.root = {str(root)!r}\n"
            f"c.CourseDirectory.db_url = 'sqlite:///{root / 'gradebook.db'}'\n",
            encoding="utf-8",
        )
        subprocess.run(
            [str(Path(sys.executable).parent / "nbgrader"), "generate_assignment", "*", "--force"],
            cwd=root,
            env=env,
            check=True,
            capture_output=True,
        )
        for a in course.assignments:
            for name in a.notebooks:
                release = nbformat.read(root / "release" / a.id / name, as_version=4)
                target = course.path / "test-submissions" / a.id / "typical" / name
                old = nbformat.read(target, as_version=4) if target.is_file() else None
                fresh, stubs = refresh_notebook(release, old)
                target.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(fresh, target)
                note = f"  (stubs to fill in: {', '.join(stubs)})" if stubs else ""
                print(f"{target.relative_to(HERE)}{note}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("courses", nargs="*", help="course ids (default: all)")
    args = parser.parse_args(argv)
    for course in load_courses(HERE):
        if not args.courses or course.id in args.courses:
            refresh_course(course)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
