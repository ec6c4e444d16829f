"""Learners' scores, read from a course's nbgrader gradebook: the one formula for the portal, the
certificate rules, reports and exports.

The score of a submitted assignment is the one nbgrader's own CSV export (`nbgrader export`) reports:

    raw score   = sum of `Grade.score` over every grade of every notebook of the submission, grade cells
                  and task cells alike, where `Grade.score` is the manual score if a person gave one, else
                  the autograder's score, plus the extra credit (extra credit alone, on a grade with neither
                  score, counts nothing: nbgrader's CASE)
    late penalty = sum of `SubmittedNotebook.late_submission_penalty` (what nbgrader's late-penalty plug-in
                  recorded at autograding)
    score        = max(0, raw score - late penalty)
    max score    = `Assignment.max_score`: the points of the grade and task cells of all its notebooks
    needs manual grade = some grade of the submission still waits for a person

It is computed in SQL, one statement per read (the tests prove it equal to nbgrader's `Gradebook` API and
export on SQLite and PostgreSQL). Not through nbgrader's ORM: its `column_property` scores are correlated
subqueries over tables without an index on their foreign keys (every learner would cost a scan of the grade
table), and importing `nbgrader.api` costs seconds in a service that only reads.

The statement has two shapes, the same formula in both (the SQL fragments below are shared):

- a few named learners (a portal page: one learner, one class): from the assignment to its submissions by
  those learners through nbgrader's unique index (assignment_id, student_id), to their notebooks through
  (notebook_id, assignment_id), to their grades through (cell_id, notebook_id), walking the assignment's
  master notebooks and cells, which are few. A page about 60 learners reads those 60 learners' rows, not
  the course's; the cost grows with the learners shown, not with the course.
- many or all learners (certificates of a course, exports; more than INDEXED_UP_TO named): the grade
  table is read once and summed per notebook, which costs less than one index probe per grade once a good
  part of the course is wanted.

Read-only: the formgrader and the autograder own the gradebook; nothing here creates or changes it.
Imports nothing of Trường Số's: graders/ sits under hub/.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import DateTime, Engine, Float, Integer, String, bindparam, create_engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

# Up to this many named learners, their rows are reached through indexes; beyond, one scan of the grade
# table is cheaper (measured: 1,000 learners x 10 assignments, the two cross between 200 and 300 learners).
INDEXED_UP_TO = 200

# nbgrader's Grade.score: the manual score over the automatic one, plus extra credit; extra credit on a
# grade with neither counts nothing (nbgrader's CASE has no branch for it).
_GRADE_SCORE = """CASE
    WHEN g.manual_score IS NOT NULL THEN g.manual_score + COALESCE(g.extra_credit, 0.0)
    WHEN g.auto_score IS NOT NULL THEN g.auto_score + COALESCE(g.extra_credit, 0.0)
    ELSE 0.0 END"""
_PENDING = "CASE WHEN g.needs_manual_grade THEN 1 ELSE 0 END"
# nbgrader's Notebook.max_score: the points of its grade cells and task cells (master tables: small).
_NOTEBOOK_MAX = """(SELECT mc.notebook_id AS notebook_id, SUM(COALESCE(mgc.max_score, mtc.max_score)) AS max_score
    FROM base_cell mc
    LEFT JOIN grade_cells mgc ON mgc.id = mc.id
    LEFT JOIN task_cells mtc ON mtc.id = mc.id
    GROUP BY mc.notebook_id)"""
# Both shapes give one row per (submission, master notebook); a submission's rows are added up in Python.
_SUBMISSIONS = f"""
FROM assignment a
JOIN submitted_assignment sa ON sa.assignment_id = a.id
LEFT JOIN notebook n ON n.assignment_id = a.id
LEFT JOIN {_NOTEBOOK_MAX} m ON m.notebook_id = n.id
LEFT JOIN submitted_notebook sn ON sn.notebook_id = n.id AND sn.assignment_id = sa.id"""
_HEAD = """SELECT sa.student_id AS student, a.name AS assignment, sa.timestamp AS submitted_at,
       sn.late_submission_penalty AS penalty, COALESCE(m.max_score, 0.0) AS max_score,"""

_NAMED_SQL = f"""{_HEAD}
       COALESCE(SUM({_GRADE_SCORE}), 0.0) AS raw_score,
       COALESCE(MAX({_PENDING}), 0) AS pending,
       COUNT(g.id) AS grades
{_SUBMISSIONS}
LEFT JOIN base_cell bc ON bc.notebook_id = n.id
LEFT JOIN grade g ON g.cell_id = bc.id AND g.notebook_id = sn.id
WHERE a.name IN :assignments AND sa.student_id IN :students
GROUP BY sa.id, sa.student_id, a.name, sa.timestamp, n.id, sn.id, sn.late_submission_penalty, m.max_score
"""
# (a notebook's cells each meet at most one grade of the submission: grade is unique on cell and notebook)

_EVERYONE_SQL = f"""{_HEAD}
       COALESCE(s.raw_score, 0.0) AS raw_score,
       COALESCE(s.pending, 0) AS pending,
       COALESCE(s.grades, 0) AS grades
{_SUBMISSIONS}
LEFT JOIN (SELECT g.notebook_id AS notebook_id, SUM({_GRADE_SCORE}) AS raw_score,
                  MAX({_PENDING}) AS pending, COUNT(*) AS grades
           FROM grade g GROUP BY g.notebook_id) s ON s.notebook_id = sn.id
WHERE a.name IN :assignments
"""

_COLUMNS = {
    "student": String,
    "assignment": String,
    "submitted_at": DateTime,  # nbgrader stores naive UTC; SQLite hands back text without the type
    "penalty": Float,
    "max_score": Float,
    "raw_score": Float,
    "pending": Integer,
    "grades": Integer,
}
_NAMED = (
    text(_NAMED_SQL)
    .bindparams(bindparam("students", expanding=True), bindparam("assignments", expanding=True))
    .columns(**_COLUMNS)
)
_EVERYONE = text(_EVERYONE_SQL).bindparams(bindparam("assignments", expanding=True)).columns(**_COLUMNS)

_MAXIMA = (
    text(f"""
SELECT a.name AS assignment, COALESCE(SUM(m.max_score), 0.0) AS max_score
FROM assignment a
LEFT JOIN notebook n ON n.assignment_id = a.id
LEFT JOIN {_NOTEBOOK_MAX} m ON m.notebook_id = n.id
WHERE a.name IN :assignments
GROUP BY a.id, a.name
""")
    .bindparams(bindparam("assignments", expanding=True))
    .columns(assignment=String, max_score=Float)
)


class GradebookMissing(LookupError):
    """The course has no gradebook yet (no file, or a database without nbgrader's tables): nobody is graded."""


class GradebookUnreadable(RuntimeError):
    """The gradebook exists but cannot be read (locked, damaged, unreachable); the message says why."""


@dataclass(frozen=True)
class AssignmentScore:
    """One learner's submitted assignment, scored as nbgrader's export scores it.

    The first five fields keep the order of the certificate rules' former `AssignmentResult`."""

    assignment_id: str
    score: float  # max(0, raw_score - late_penalty): what counts
    max_score: float  # nbgrader's Assignment.max_score
    submitted_at: datetime | None  # naive UTC, as nbgrader stores it
    needs_manual_grade: bool  # its points are not known yet
    raw_score: float = 0.0  # nbgrader's SubmittedAssignment.score
    late_penalty: float = 0.0  # nbgrader's SubmittedAssignment.late_submission_penalty
    graded: bool = True  # the gradebook holds grades for it (a submission is added with them, at autograding)

    def shown(self) -> str:
        """`score/max` as the portal has always written it (`%g`, so 17.5/20 and 18/20)."""
        return f"{self.score:g}/{self.max_score:g}"


@dataclass
class CourseScore:
    """One learner over a set of a course's assignments: the sum of the assignment scores against the sum of
    the assignments' maxima (submitted or not), as nbgrader's export totals them."""

    username: str
    max_score: float
    assignments: dict[str, AssignmentScore] = field(default_factory=dict)  # submitted ones only

    @property
    def score(self) -> float:
        return sum(a.score for a in self.assignments.values())

    @property
    def needs_manual_grade(self) -> bool:
        return any(a.needs_manual_grade for a in self.assignments.values())

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0


def assignment_scores(
    gradebook_url: str, usernames: Iterable[str] | None, assignment_ids: Iterable[str]
) -> dict[str, dict[str, AssignmentScore]]:
    """username -> assignment id -> score, for the submissions of `usernames` (None: every learner the
    gradebook has) to `assignment_ids`. Learners without submissions are absent.
    Raises GradebookMissing, GradebookUnreadable."""
    assignments = sorted(set(assignment_ids))
    students = None if usernames is None else sorted(set(usernames))
    if not assignments or students == []:
        return {}
    totals: dict[tuple[str, str], list] = {}  # [submitted_at, raw, penalty, max, pending, grades]
    with _reading(_engine(gradebook_url)) as conn:
        if students is not None and len(students) <= INDEXED_UP_TO:
            rows, wanted = conn.execute(_NAMED, {"students": students, "assignments": assignments}), None
        else:
            rows = conn.execute(_EVERYONE, {"assignments": assignments})
            wanted = None if students is None else set(students)
        for row in rows:
            if wanted is None or row.student in wanted:
                t = totals.setdefault((row.student, row.assignment), [row.submitted_at, 0.0, 0.0, 0.0, False, 0])
                t[1] += row.raw_score or 0.0
                t[2] += row.penalty or 0.0
                t[3] += row.max_score or 0.0
                t[4] = t[4] or bool(row.pending)
                t[5] += row.grades or 0
    result: dict[str, dict[str, AssignmentScore]] = {}
    for (student, assignment), (submitted_at, raw, penalty, maximum, pending, grades) in totals.items():
        result.setdefault(student, {})[assignment] = AssignmentScore(
            assignment_id=assignment,
            score=_finite(max(0.0, raw - penalty)),  # as nbgrader's CsvExportPlugin
            max_score=_finite(maximum),
            submitted_at=submitted_at,
            needs_manual_grade=pending,
            raw_score=_finite(raw),
            late_penalty=_finite(penalty),
            graded=grades > 0,
        )
    return result


def assignment_maxima(gradebook_url: str, assignment_ids: Iterable[str]) -> dict[str, float]:
    """nbgrader's Assignment.max_score of each of these assignments that the gradebook has."""
    assignments = sorted(set(assignment_ids))
    if not assignments:
        return {}
    with _reading(_engine(gradebook_url)) as conn:
        return {r.assignment: _finite(r.max_score) for r in conn.execute(_MAXIMA, {"assignments": assignments})}


def course_scores(
    gradebook_url: str, usernames: Iterable[str], assignment_ids: Sequence[str]
) -> dict[str, CourseScore]:
    """Each of `usernames` (with or without submissions) over the course's `assignment_ids`."""
    students = list(dict.fromkeys(usernames))
    maxima = assignment_maxima(gradebook_url, assignment_ids)
    scores = assignment_scores(gradebook_url, students, assignment_ids)
    total = sum(maxima.values())
    return {u: CourseScore(u, total, scores.get(u, {})) for u in students}


# ------------------------------------------------------------------ connections


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _engine(url: str) -> Engine:
    """One engine per gradebook URL for the life of the process (the portal asks on every page view).

    SQLite: no pool, a fresh connection per read (cheap), so a gradebook file replaced or deleted is seen at
    once and a missing one is reported, never created. PostgreSQL: a small pool, checked before use."""
    if url.startswith("sqlite:"):
        path = url.removeprefix("sqlite:///")
        if url.startswith("sqlite:///") and not Path(path).is_file():
            raise GradebookMissing(path)
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite:"):
                engine = create_engine(url, poolclass=NullPool)
            else:
                engine = create_engine(url, pool_size=2, max_overflow=4, pool_pre_ping=True, pool_recycle=3600)
            _engines[url] = engine
    return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests that drop databases; a process about to fork)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


class _reading:
    """A connection for reads; a database without nbgrader's tables is a missing gradebook, any other
    database error an unreadable one (the caller decides whether a page still renders)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self):
        try:
            self.conn = self.engine.connect()
        except SQLAlchemyError as exc:
            raise GradebookUnreadable(_why(exc)) from None
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.conn.close()
        if exc is None or not isinstance(exc, SQLAlchemyError):
            return False
        try:
            empty = not inspect(self.engine).has_table("submitted_assignment")
        except SQLAlchemyError:
            empty = False
        if empty:
            raise GradebookMissing(f"{self.engine.url!r} has no gradebook tables") from None
        raise GradebookUnreadable(_why(exc)) from None


def _why(exc: SQLAlchemyError) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]


def _finite(value: float) -> float:
    """A NaN or infinity typed into the formgrader must not poison sums and comparisons downstream."""
    value = float(value)
    return value if math.isfinite(value) else 0.0


__all__ = [
    "AssignmentScore",
    "CourseScore",
    "GradebookMissing",
    "GradebookUnreadable",
    "assignment_maxima",
    "assignment_scores",
    "course_scores",
    "dispose_engines",
]
