"""Fixtures for the curriculum tests: one real nbgrader run per course, shared by the whole session."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest
from support.courses_run import CourseRun, grade_course

from graders.curriculum import Course, default_courses_root, load_courses


@pytest.fixture(scope="session")
def courses() -> list[Course]:
    return load_courses(default_courses_root())


@pytest.fixture(scope="session")
def graded(courses: list[Course], tmp_path_factory: pytest.TempPathFactory) -> dict[str, CourseRun]:
    """Generate, submit (3 learners) and autograde every course, the courses in parallel."""
    workdir = tmp_path_factory.mktemp("nbgrader")
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda c: grade_course(c, workdir), courses))
    yield {r.course.id: r for r in runs}
    shutil.rmtree(workdir, ignore_errors=True)
