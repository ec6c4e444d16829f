"""Fixtures for the curriculum tests: one real nbgrader run per course, shared by the whole session."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from nbgrader_run import (
    CellScore,
    place_submission,
    prepare_course_dir,
    read_scores,
    run_nbgrader,
    solution_submission,
)

from graders.curriculum import Course, default_courses_root, load_courses

STUDENTS = ("loi-giai", "ban-phat", "dien-hinh")  # solution, released student version, typical mistakes


@dataclass
class CourseRun:
    course: Course
    root: Path
    generate_log: str = ""
    generate_rc: int = 0
    autograde_log: str = ""
    autograde_rc: int = 0
    scores: dict[tuple[str, str], list[CellScore]] = field(default_factory=dict)


@pytest.fixture(scope="session")
def courses() -> list[Course]:
    return load_courses(default_courses_root())


def _typical_path(course: Course, assignment: str, notebook: str) -> Path:
    return course.path / "test-submissions" / assignment / "typical" / notebook


def _grade_course(course: Course, workdir: Path) -> CourseRun:
    root = prepare_course_dir(course.path, course.id, workdir)
    run = CourseRun(course, root)
    gen = run_nbgrader(root, "generate_assignment", "*", "--force")
    run.generate_rc, run.generate_log = gen.returncode, gen.stdout + gen.stderr
    if gen.returncode:
        return run
    for a in course.assignments:
        src = root / "source" / a.id
        release = root / "release" / a.id
        place_submission(root, STUDENTS[0], a.id, {nb: solution_submission(src / nb) for nb in a.notebooks}, src)
        place_submission(
            root, STUDENTS[1], a.id, {nb: nbformat.read(release / nb, as_version=4) for nb in a.notebooks}, src
        )
        typical = {}
        for nb in a.notebooks:
            path = _typical_path(course, a.id, nb)
            if path.is_file():
                typical[nb] = nbformat.read(path, as_version=4)
        place_submission(root, STUDENTS[2], a.id, typical, src)
    auto = run_nbgrader(root, "autograde", "*", "--force", timeout=1500)
    run.autograde_rc, run.autograde_log = auto.returncode, auto.stdout + auto.stderr
    for a in course.assignments:
        for student in STUDENTS:
            try:
                run.scores[(a.id, student)] = read_scores(root, course.id, a.id, student)
            except Exception:  # a missing submission shows up as an empty score list in the tests
                run.scores[(a.id, student)] = []
    return run


@pytest.fixture(scope="session")
def graded(courses: list[Course], tmp_path_factory: pytest.TempPathFactory) -> dict[str, CourseRun]:
    """Generate, submit (3 learners) and autograde every course, the courses in parallel."""
    workdir = tmp_path_factory.mktemp("nbgrader")
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda c: _grade_course(c, workdir), courses))
    yield {r.course.id: r for r in runs}
    shutil.rmtree(workdir, ignore_errors=True)
