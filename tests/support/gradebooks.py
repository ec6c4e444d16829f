"""Build what certificates are made from, in code: directory people and classes, nbgrader gradebooks.

Gradebooks are made with nbgrader's own API and ORM (assignments, notebooks, grade cells, submissions,
grades): no grading run is needed to test the rules on them. Bulk helpers commit once, so the benchmark can
build a year of learners in seconds.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from graders.curriculum import Course

NOTEBOOK = "bai-lam"
CELL = "cau-1"


def alembic_on_path() -> None:
    """nbgrader runs the `alembic` executable by name when it creates a gradebook."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


@dataclass(frozen=True)
class Sub:
    """One learner's submission of one assignment: a fraction of its points, graded or waiting."""

    assignment: str
    fraction: float
    pending_manual: bool = False


def make_gradebook(path: Path, course: Course, submissions: dict[str, Iterable[Sub]], released: Iterable[str] = ()):
    """A gradebook at `path` for `course`: every assignment (or `released` only) with one notebook of one
    grade cell worth the assignment's points, and the given submissions (username -> subs)."""
    alembic_on_path()
    from nbgrader.api import (
        Assignment as NbAssignment,
    )
    from nbgrader.api import (
        Grade,
        Gradebook,
        GradeCell,
        Notebook,
        Student,
        SubmittedAssignment,
        SubmittedNotebook,
    )

    path.parent.mkdir(parents=True, exist_ok=True)
    wanted = set(released) or {a.id for a in course.assignments}
    base = datetime(2026, 5, 20, 3, 0)
    with Gradebook(f"sqlite:///{path}", course_id=course.id) as gb:
        db = gb.db
        cells: dict[str, GradeCell] = {}
        assignments: dict[str, NbAssignment] = {}
        existing = {a.name: a for a in db.query(NbAssignment)}
        for a in course.assignments:
            if a.id not in wanted:
                continue
            assignment = existing.get(a.id) or NbAssignment(name=a.id, course_id=course.id)
            notebook = next((nb for nb in assignment.notebooks if nb.name == NOTEBOOK), None)
            notebook = notebook or Notebook(name=NOTEBOOK, assignment=assignment)
            cell = next((c for c in notebook.grade_cells if c.name == CELL), None)
            cells[a.id] = cell or GradeCell(name=CELL, notebook=notebook, max_score=a.points, cell_type="code")
            assignments[a.id] = assignment
            db.add(assignment)
        db.flush()
        for n, (username, subs) in enumerate(submissions.items()):
            student = Student(id=username, first_name="", last_name="")
            db.add(student)
            for i, sub in enumerate(subs):
                points = next(a.points for a in course.assignments if a.id == sub.assignment)
                submitted = SubmittedAssignment(
                    assignment=assignments[sub.assignment],
                    student=student,
                    timestamp=base + timedelta(days=i, minutes=n % 600),
                )
                nb = SubmittedNotebook(notebook=cells[sub.assignment].notebook, assignment=submitted)
                Grade(
                    cell=cells[sub.assignment],
                    notebook=nb,
                    auto_score=round(points * sub.fraction, 2),
                    needs_manual_grade=sub.pending_manual,
                )
                db.add(submitted)
            if n % 2000 == 1999:
                db.flush()
        db.commit()
    return path


def all_passed(course: Course, fraction: float = 0.9) -> list[Sub]:
    return [Sub(a.id, fraction) for a in course.assignments]


def add_people(db_url: str, class_name: str, course_id: str, people: Iterable[tuple[str, str, str]], year=2026):
    """Directory rows: one class of `course_id` and its learners (username, full name, organisation)."""
    from hub.directory.db import Directory
    from hub.directory.models import Enrolment, EnrolmentRole, Person, SchoolClass

    directory = Directory(db_url)
    directory.ensure_schema()
    with directory.session() as s:
        if s.get(SchoolClass, class_name) is None:
            s.add(SchoolClass(name=class_name, title=class_name, course_id=course_id, year=year))
        s.flush()
        for username, full_name, organisation in people:
            if s.get(Person, username) is None:
                s.add(Person(username=username, full_name=full_name, organisation=organisation, email=None))
            s.add(Enrolment(class_name=class_name, username=username, role=EnrolmentRole.learner))
    directory.dispose()
