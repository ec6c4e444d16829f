"""Every assignment, graded by real nbgrader: solution full marks, student version zero, typical mistakes in between."""

from __future__ import annotations

import re

import nbformat
import pytest
from support.courses_run import STUDENTS, CourseRun, typical_path
from support.nbgrader_run import autograded, failure_excerpt

from graders.curriculum import default_courses_root, load_courses

ASSIGNMENTS = [(c.id, a.id) for c in load_courses(default_courses_root()) for a in c.assignments]
SOLUTION, RELEASED, TYPICAL = STUDENTS
# Logged now and then by jupyter_client's ZMQ streams while stock nbgrader shuts a kernel down on a busy
# machine: about the kernel's sockets, not the notebook (scores are checked by the tests below).
UPSTREAM_NOISE = ("Uncaught exception in ZMQStream callback",)


def _run(graded: dict[str, CourseRun], course_id: str) -> CourseRun:
    run = graded[course_id]
    assert run.generate_rc == 0, f"generate_assignment failed for {course_id}:\n{failure_excerpt(run.generate_log)}"
    return run


@pytest.mark.parametrize("course_id", sorted({c for c, _ in ASSIGNMENTS}))
def test_generate_assignment_without_warnings(graded: dict[str, CourseRun], course_id: str) -> None:
    run = _run(graded, course_id)
    bad = [line for line in run.generate_log.splitlines() if re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line)]
    assert not bad, "nbgrader generate_assignment logged problems:\n" + "\n".join(bad)


@pytest.mark.parametrize("course_id", sorted({c for c, _ in ASSIGNMENTS}))
def test_autograde_ran_cleanly(graded: dict[str, CourseRun], course_id: str) -> None:
    run = _run(graded, course_id)
    assert run.autograde_rc == 0, f"nbgrader autograde failed:\n{failure_excerpt(run.autograde_log)}"
    bad = [
        line
        for line in run.autograde_log.splitlines()
        if re.search(r"\b(ERROR|CRITICAL)\b", line) and not any(noise in line for noise in UPSTREAM_NOISE)
    ]
    assert not bad, "nbgrader autograde logged errors:\n" + "\n".join(bad[:20]) + "\n" + run.autograde_log[-3000:]


@pytest.mark.parametrize(("course_id", "assignment"), ASSIGNMENTS)
def test_solution_scores_full_marks(graded: dict[str, CourseRun], course_id: str, assignment: str) -> None:
    cells = autograded(_run(graded, course_id).scores[(assignment, SOLUTION)])
    assert cells, "no autograded cells were recorded for the solution"
    wrong = [f"{c.notebook}:{c.grade_id} {c.auto_score}/{c.max_score}" for c in cells if c.auto_score != c.max_score]
    assert not wrong, f"solution lost points in {wrong}"


@pytest.mark.parametrize(("course_id", "assignment"), ASSIGNMENTS)
def test_released_version_scores_zero(graded: dict[str, CourseRun], course_id: str, assignment: str) -> None:
    cells = autograded(_run(graded, course_id).scores[(assignment, RELEASED)])
    assert cells, "no autograded cells were recorded for the released version"
    scored = [f"{c.notebook}:{c.grade_id} {c.auto_score}/{c.max_score}" for c in cells if c.auto_score != 0]
    assert not scored, f"an empty submission earns points in {scored}"


@pytest.mark.parametrize(("course_id", "assignment"), ASSIGNMENTS)
def test_typical_mistakes_score_in_between(graded: dict[str, CourseRun], course_id: str, assignment: str) -> None:
    cells = autograded(_run(graded, course_id).scores[(assignment, TYPICAL)])
    assert cells, "no autograded cells were recorded for the typical submission (is it committed?)"
    total = sum(c.auto_score or 0 for c in cells)
    maximum = sum(c.max_score for c in cells)
    assert 0 < total < maximum, f"typical-mistakes submission scored {total}/{maximum}; it must be strictly between"


@pytest.mark.parametrize(("course_id", "assignment"), ASSIGNMENTS)
def test_typical_submission_is_the_student_version_answered(
    graded: dict[str, CourseRun], course_id: str, assignment: str
) -> None:
    run = _run(graded, course_id)
    a = run.course.assignment(assignment)
    for name in a.notebooks:
        path = typical_path(run.course, assignment, name)
        assert path.is_file(), f"missing typical-mistakes submission {path}"
        typical = nbformat.read(path, as_version=4)
        release = nbformat.read(run.root / "release" / assignment / name, as_version=4)
        assert [c.get("id") for c in typical.cells] == [c.get("id") for c in release.cells], (
            f"{path}: cells differ from the released notebook (ids/order)"
        )
        answered = 0
        for t, r in zip(typical.cells, release.cells, strict=True):
            meta = r.get("metadata", {}).get("nbgrader", {})
            if meta.get("solution"):
                answered += t.source != r.source
            else:
                assert t.source == r.source, f"{path}: non-answer cell {r.get('id')} was changed"
        assert answered, f"{path}: no answer was filled in"


def _refresh_tool():
    import importlib.util

    spec = importlib.util.spec_from_file_location("refresh_typical", default_courses_root() / "refresh_typical.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("course_id", "assignment"), ASSIGNMENTS)
def test_refresh_tool_is_a_no_op_on_current_submissions(
    graded: dict[str, CourseRun], course_id: str, assignment: str
) -> None:
    run = _run(graded, course_id)
    tool = _refresh_tool()
    for name in run.course.assignment(assignment).notebooks:
        typical = nbformat.read(typical_path(run.course, assignment, name), as_version=4)
        release = nbformat.read(run.root / "release" / assignment / name, as_version=4)
        fresh, stubs = tool.refresh_notebook(release, typical)
        assert not stubs
        assert [c.source for c in fresh.cells] == [c.source for c in typical.cells]
        _, all_stubs = tool.refresh_notebook(release, None)
        assert len(all_stubs) == len(tool.answers_by_grade_id(release)) > 0
