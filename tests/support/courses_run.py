"""One real nbgrader run of a course (generate, submit three learners, autograde), as the curriculum tests
read it. The session fixture that runs every course is in tests/courses/conftest.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from graders.curriculum import Course
from support.nbgrader_run import (
    CellScore,
    place_submission,
    prepare_course_dir,
    read_scores,
    run_nbgrader,
    solution_submission,
)

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


def typical_path(course: Course, assignment: str, notebook: str) -> Path:
    return course.path / "test-submissions" / assignment / "typical" / notebook


def grade_course(course: Course, workdir: Path) -> CourseRun:
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
            path = typical_path(course, a.id, nb)
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
