"""The demo year's grades, written into each course's real nbgrader gradebook.

The course's assignments are added the way `nbgrader generate_assignment` adds them when the gradebook lacks
them: nbgrader's own preprocessors (LockCells, ClearSolutions, ClearOutput, CheckCellMetadata,
ComputeChecksums, SaveCells) run over the course's source notebooks, so notebooks, grade, solution and source
cells and their points are nbgrader's. Submissions are then written in bulk through nbgrader's ORM tables
(one INSERT per table and course, the shape `Gradebook.add_submission` makes: a submitted notebook per
notebook, a grade per grade cell, a comment per solution cell), which is what makes 8,700 learners load in
seconds instead of the minutes the one-object-at-a-time API takes.

Synthetic learners are nbgrader students whose e-mail is at DEMO_EMAIL_DOMAIN; `remove_students` deletes a
set of them with everything they submitted, and nothing else.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, delete, insert, select
from sqlalchemy.engine import Engine

from graders.curriculum import Course
from hub.demoyear.people import DEMO_EMAIL_DOMAIN
from hub.demoyear.plan import FLAGGED_SHARE, GRADING_TIME, LATE_SHARE, DemoClass, DemoPerson, YearPlan

CHUNK = 500  # names per IN (...) list: well under SQLite's variable limit


@dataclass(frozen=True)
class Cell:
    id: str
    name: str
    max_score: float
    manual: bool  # a person grades it (written answer); otherwise the autograder's tests do


@dataclass(frozen=True)
class NotebookShape:
    id: str
    name: str
    cells: tuple[Cell, ...]
    comment_cells: tuple[str, ...]  # solution and task cells: nbgrader keeps a comment for each


def _alembic_on_path() -> None:
    """nbgrader runs the `alembic` executable by name when it makes a gradebook."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def ensure_assignments(course: Course, gradebook_url: str, source_root: Path) -> list[str]:
    """Add the course's assignments the gradebook lacks, as nbgrader's generate_assignment would; returns them."""
    _alembic_on_path()
    import nbformat
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearOutput,
        ClearSolutions,
        ComputeChecksums,
        LockCells,
        SaveCells,
    )

    if gradebook_url.startswith("sqlite:///"):
        Path(gradebook_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    with Gradebook(gradebook_url, course_id=course.id) as gb:
        have = {a.name for a in gb.assignments}
        missing = [a.id for a in course.assignments if a.id not in have]
        for assignment_id in missing:
            gb.update_or_create_assignment(assignment_id)
    for assignment_id in missing:
        folder = source_root / assignment_id
        if not folder.is_dir():  # the course folder's copy lost it: the curriculum's notebooks
            folder = course.source_dir / assignment_id
        for path in sorted(folder.glob("*.ipynb")):
            nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
            resources = {"nbgrader": {"db_url": gradebook_url, "assignment": assignment_id, "notebook": path.stem}}
            for step in (LockCells(), ClearSolutions(), ClearOutput(), CheckCellMetadata(), ComputeChecksums(),
                         SaveCells()):  # fmt: skip
                nb, resources = step.preprocess(nb, resources)
    return missing


def _shapes(engine: Engine, assignment_ids: Iterable[str]) -> dict[str, tuple[str, list[NotebookShape]]]:
    """assignment name -> (its id, its notebooks with their graded cells), in a fixed order."""
    from nbgrader.api import Assignment, GradeCell, Notebook, SolutionCell, TaskCell

    out: dict[str, tuple[str, list[NotebookShape]]] = {}
    with engine.connect() as conn:
        wanted = select(Assignment.id, Assignment.name).where(Assignment.name.in_(list(assignment_ids)))
        for a_id, a_name in conn.execute(wanted):
            shapes = []
            query = select(Notebook.id, Notebook.name).where(Notebook.assignment_id == a_id).order_by(Notebook.name)
            for nb_id, nb_name in conn.execute(query):
                grade = _cells(conn, GradeCell, nb_id)
                task = _cells(conn, TaskCell, nb_id)
                solution = _cells(conn, SolutionCell, nb_id)
                solution_names = {name for _, name, _ in solution}
                cells = [Cell(i, n, float(m), n in solution_names) for i, n, m in grade]
                cells += [Cell(i, n, float(m), True) for i, n, m in task]
                comments = sorted(i for i, _, _ in solution + task)
                shapes.append(NotebookShape(nb_id, nb_name, tuple(cells), tuple(comments)))
            out[a_name] = (a_id, shapes)
    return out


def _cells(conn, model, notebook_id: str) -> list[tuple[str, str, float | None]]:
    """(id, name, max score) of one kind of cell (nbgrader's joined-table inheritance from base_cell)."""
    from nbgrader.api import BaseCell

    base, table = BaseCell.__table__, model.__table__
    points = table.c.max_score if "max_score" in table.c else None
    query = (
        select(base.c.id, base.c.name, points if points is not None else base.c.name)
        .join(table, table.c.id == base.c.id)
        .where(base.c.notebook_id == notebook_id)
        .order_by(base.c.name)
    )
    return [(r[0], r[1], r[2] if points is not None else None) for r in conn.execute(query)]


def _uuid(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)  # nbgrader stores naive UTC


@dataclass
class Rows:
    students: list[dict]
    submissions: list[dict]
    notebooks: list[dict]
    grades: list[dict]
    comments: list[dict]

    def count(self) -> int:
        return sum(len(x) for x in (self.students, self.submissions, self.notebooks, self.grades, self.comments))


def class_rows(
    plan: YearPlan, cls: DemoClass, course: Course, shapes: dict, people: dict[str, DemoPerson], rows: Rows
) -> None:
    """Every nbgrader row of one class's learners, from the class's own seeded generator."""
    rng = random.Random(f"truongso-demo-grades:{plan.year}:{plan.seed}:{cls.code}")
    year_end = plan.year_end
    policy = course.late_policy
    late_share = LATE_SHARE if policy.penalty != "zero" else LATE_SHARE / 8  # a zero for lateness is rare
    for seat in cls.seats:
        p = people[seat.username]
        rows.students.append({"id": seat.username, "first_name": f"{p.name.middle} {p.name.given}",
                              "last_name": p.name.family, "email": p.email})  # fmt: skip
        for k, assignment_id in enumerate(cls.course.assignments):
            deadline = cls.deadlines[assignment_id]
            late = rng.random() < late_share
            when = deadline + (timedelta(hours=rng.uniform(2, 120)) if late else -timedelta(hours=rng.uniform(3, 140)))
            effort = min(1.0, max(0.0, rng.gauss(seat.ability, 0.08)))
            if (seat.outcome == "dropout" and k >= seat.stop_after) or (
                seat.outcome == "missing" and k == seat.stop_after
            ):
                continue
            if when >= year_end:
                continue  # not yet submitted when the year ends
            pending = deadline + GRADING_TIME > year_end  # the instructor has not graded it yet
            sub_id = _uuid(rng)
            a_id, notebooks = shapes[assignment_id]
            rows.submissions.append({"id": sub_id, "assignment_id": a_id, "student_id": seat.username,
                                     "timestamp": _naive(when), "extension": None})  # fmt: skip
            for nb in notebooks:
                nb_id, score = _uuid(rng), 0.0
                for cell in nb.cells:
                    if cell.manual:  # a person's score, in half points; not yet given if pending
                        share = min(1.0, max(0.0, rng.gauss(effort, 0.15)))
                        manual, auto = (None if pending else round(cell.max_score * share * 2) / 2), None
                    else:
                        auto, manual = (cell.max_score if rng.random() < effort else 0.0), None
                    score += (manual if manual is not None else auto) or 0.0
                    rows.grades.append({"id": _uuid(rng), "notebook_id": nb_id, "cell_id": cell.id, "auto_score": auto,
                                        "manual_score": manual, "extra_credit": None,
                                        "needs_manual_grade": cell.manual and pending})  # fmt: skip
                for cell_id in nb.comment_cells:
                    rows.comments.append({"id": _uuid(rng), "notebook_id": nb_id, "cell_id": cell_id,
                                          "auto_comment": None, "manual_comment": None})  # fmt: skip
                penalty = policy.penalty_points((when - deadline).total_seconds(), score) if late else 0.0
                rows.notebooks.append({"id": nb_id, "assignment_id": sub_id, "notebook_id": nb.id,
                                       "flagged": rng.random() < FLAGGED_SHARE,
                                       "late_submission_penalty": round(penalty, 4)})  # fmt: skip


def write_grades(
    plan: YearPlan,
    courses: dict[str, Course],
    gradebook_url_for: Callable[[str], str],
    source_root_for: Callable[[str], Path],
) -> dict[str, int]:
    """Each course's gradebook: its assignments ensured, then every submission of the plan's learners in one
    transaction per course. Returns rows written per course."""
    from nbgrader.api import Comment, Grade, Student, SubmittedAssignment, SubmittedNotebook

    written = {}
    for course_id in sorted({c.course.id for c in plan.classes}):
        course, url = courses[course_id], gradebook_url_for(course_id)
        ensure_assignments(course, url, source_root_for(course_id))
        engine = create_engine(url)
        try:
            shapes = _shapes(engine, [a.id for a in course.assignments])
            rows = Rows([], [], [], [], [])
            seen: set[str] = set()
            for cls in plan.classes:
                if cls.course.id == course_id:
                    class_rows(plan, cls, course, shapes, plan.people, rows)
            rows.students = [s for s in rows.students if not (s["id"] in seen or seen.add(s["id"]))]
            leftovers = sorted({s["id"] for s in rows.students} & demo_students(url))  # a crashed earlier load's
            with engine.begin() as conn:
                _delete_students(conn, leftovers)
                tables = ((Student, rows.students), (SubmittedAssignment, rows.submissions),
                          (SubmittedNotebook, rows.notebooks), (Grade, rows.grades),
                          (Comment, rows.comments))  # fmt: skip
                for table, data in tables:
                    if data:
                        conn.execute(insert(table.__table__), data)
            written[course_id] = rows.count()
        finally:
            engine.dispose()
    return written


def demo_students(gradebook_url: str) -> set[str]:
    """The synthetic students a gradebook holds (any year's)."""
    return students(gradebook_url)[1]


def remove_students(gradebook_url: str, usernames: Iterable[str]) -> int:
    """Delete these synthetic students (only those with a demo e-mail) and all they submitted; returns how many."""
    wanted = sorted(set(usernames) & demo_students(gradebook_url))
    if not wanted:
        return 0
    engine = create_engine(gradebook_url)
    try:
        with engine.begin() as conn:
            _delete_students(conn, wanted)
    finally:
        engine.dispose()
    return len(wanted)


def _delete_students(conn, usernames: list[str]) -> None:
    from nbgrader.api import Comment, Grade, Student, SubmittedAssignment, SubmittedNotebook

    for start in range(0, len(usernames), CHUNK):
        chunk = usernames[start : start + CHUNK]
        subs = select(SubmittedAssignment.id).where(SubmittedAssignment.student_id.in_(chunk))
        notebooks = select(SubmittedNotebook.id).where(SubmittedNotebook.assignment_id.in_(subs))
        conn.execute(delete(Grade.__table__).where(Grade.__table__.c.notebook_id.in_(notebooks)))
        conn.execute(delete(Comment.__table__).where(Comment.__table__.c.notebook_id.in_(notebooks)))
        conn.execute(delete(SubmittedNotebook.__table__).where(SubmittedNotebook.__table__.c.assignment_id.in_(subs)))
        conn.execute(delete(SubmittedAssignment.__table__).where(SubmittedAssignment.__table__.c.student_id.in_(chunk)))
        conn.execute(delete(Student.__table__).where(Student.__table__.c.id.in_(chunk)))


def students(gradebook_url: str) -> tuple[set[str], set[str]]:
    """(every student, the synthetic ones) of a gradebook; a gradebook not made yet has none."""
    from nbgrader.api import Student

    if gradebook_url.startswith("sqlite:///") and not Path(gradebook_url.removeprefix("sqlite:///")).is_file():
        return set(), set()  # never create a file by looking
    engine = create_engine(gradebook_url)
    try:
        with engine.connect() as conn:
            if not engine.dialect.has_table(conn, "student"):
                return set(), set()
            rows = conn.execute(select(Student.id, Student.email)).all()
    finally:
        engine.dispose()
    return {r.id for r in rows}, {r.id for r in rows if (r.email or "").endswith(f"@{DEMO_EMAIL_DOMAIN}")}
