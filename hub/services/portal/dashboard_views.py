"""What the instructor dashboard shows, per course the caller teaches: per assignment the counts, the score
distribution, the submissions against each class's deadline, who has not submitted, flagged and waiting
submissions; per learner a drill-down; the grades as a spreadsheet. Only the learners of the caller's classes
(admins: every class), read from the exchange's records, the gradebook (through the one score function,
views.gradebook_scores) and the autograder's integrity report. Plain synchronous functions."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from graders.spreadsheet import neutralise
from hub.coursework.access import Caller
from hub.coursework.models import DEFAULT_CLASS, Feedback, Submission
from hub.services.portal import views

BIN_EDGES = [float(x) for x in range(0, 101, 10)]  # percent; the last bin holds 100 too (as numpy's histogram)


@dataclass
class Learner:
    username: str
    full_name: str
    class_name: str


@dataclass
class Attempt:
    submission_id: str
    at: datetime  # the server's clock, aware UTC
    seconds_late: int
    feedback: bool  # feedback released for this attempt

    @property
    def late(self) -> bool:
        return self.seconds_late > 0


@dataclass
class Cell:
    """One learner's state on one assignment."""

    learner: Learner
    attempts: list[Attempt] = field(default_factory=list)  # oldest first
    score: Any = None  # graders.scores.AssignmentScore, when graded

    @property
    def submitted(self) -> bool:
        return bool(self.attempts)

    @property
    def late(self) -> bool:  # the latest attempt is the one collected and graded
        return bool(self.attempts) and self.attempts[-1].late

    @property
    def graded(self) -> bool:
        return self.score is not None

    @property
    def pending(self) -> bool:
        return self.score is not None and self.score.needs_manual_grade

    @property
    def feedback(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].feedback

    @property
    def percent(self) -> float | None:
        return 100.0 * self.score.score / self.score.max_score if self.score is not None else None


@dataclass
class ClassTimeline:
    class_name: str
    deadline: datetime | None
    times: list[datetime]  # each learner's latest attempt


@dataclass
class Board:
    """One assignment, over the caller's learners."""

    assignment: Any  # graders.curriculum.Assignment
    cells: list[Cell]
    timelines: list[ClassTimeline]
    flagged: list[Any]  # views.ReportRow, flagged only
    notebooks: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # learner -> [(notebook, id)]

    @property
    def submitted(self) -> int:
        return sum(c.submitted for c in self.cells)

    @property
    def late(self) -> int:
        return sum(c.late for c in self.cells)

    @property
    def graded(self) -> int:
        return sum(c.graded for c in self.cells)

    @property
    def pending(self) -> int:
        return sum(c.pending for c in self.cells)

    @property
    def feedback(self) -> int:
        return sum(c.feedback for c in self.cells)

    @property
    def not_submitted(self) -> list[Learner]:
        return [c.learner for c in self.cells if not c.submitted]

    @property
    def waiting(self) -> list[Cell]:
        """Graded but waiting for a person (manual grading)."""
        return [c for c in self.cells if c.pending]

    @property
    def percents(self) -> list[float]:
        return [c.percent for c in self.cells if c.percent is not None]

    @property
    def bins(self) -> list[int]:
        return bin_counts(self.percents)


@dataclass
class Dashboard:
    course: Any
    classes: list[views.ClassProgress]
    boards: list[Board]
    pass_mark: float | None
    generated_at: datetime
    only: str | None = None  # one class of the caller's, or all of them

    @property
    def learners(self) -> int:
        return sum(len(c.learners) for c in self.classes)


def bin_counts(values: list[float], edges: list[float] = BIN_EDGES) -> list[int]:
    """How many values fall in each [edge, next edge) — the last bin closed on the right."""
    counts = [0] * (len(edges) - 1)
    for value in values:
        for i in range(len(counts)):
            last = i == len(counts) - 1
            if edges[i] <= value < edges[i + 1] or (last and value == edges[-1]):
                counts[i] += 1
                break
    return counts


MAX_CLASS_TIMELINES = 8  # beyond (an admin's view of every class): one timeline of all, and a link per class


def learners_of(
    app: Any, caller: Caller, course_id: str, only: str | None = None
) -> tuple[list[views.ClassProgress], list[Learner]]:
    """The caller's classes of the course (admins: all; `only`: that one of them) and their learners."""
    classes = views.taught_classes(app, caller, course_id)
    if only is not None:
        classes = [c for c in classes if c.name == only]
    return classes, [Learner(u, n, c.name) for c in classes for u, n in c.learners]


def attempts_of(app: Any, course_id: str, usernames: list[str]) -> dict[tuple[str, str], list[Attempt]]:
    """(learner, assignment) -> every attempt, oldest first, with whether feedback was released for it: two
    queries of a few columns, not one per attempt."""
    wanted = set(usernames)
    if not wanted:
        return {}
    columns = (Submission.id, Submission.student, Submission.assignment_id, Submission.submitted_at,
               Submission.seconds_late)  # fmt: skip
    with app.directory.session() as s:
        query = s.query(*columns).filter(Submission.course_id == course_id)
        with_feedback = s.query(Feedback.submission_id).join(Submission).filter(Submission.course_id == course_id)
        if len(wanted) <= views.NAMED_UP_TO:
            query = query.filter(Submission.student.in_(sorted(wanted)))
            with_feedback = with_feedback.filter(Submission.student.in_(sorted(wanted)))
        rows = query.order_by(Submission.submitted_at).all()
        released = {sid for (sid,) in with_feedback.distinct()}
    found: dict[tuple[str, str], list[Attempt]] = {}
    for sid, student, assignment_id, at, late in rows:
        if student in wanted:
            at = at.replace(tzinfo=UTC) if at.tzinfo is None else at
            found.setdefault((student, assignment_id), []).append(Attempt(sid, at, late or 0, sid in released))
    return found


def submitted_notebooks(
    gradebook_url: str, assignment_id: str, student: str | None = None
) -> dict[str, list[tuple[str, str]]]:
    """learner -> [(notebook, submitted notebook id)] from the gradebook: the formgrader's page for grading one
    notebook is /formgrader/submissions/<id>. Empty when there is no gradebook (yet) or it cannot be read."""
    if gradebook_url.startswith("sqlite:///") and not Path(gradebook_url.removeprefix("sqlite:///")).is_file():
        return {}  # connecting would create an empty file where the formgrader's gradebook belongs
    engine = create_engine(gradebook_url, poolclass=NullPool)
    query = text(
        "SELECT sa.student_id, n.name, sn.id FROM submitted_notebook sn "
        "JOIN submitted_assignment sa ON sn.assignment_id = sa.id JOIN assignment a ON sa.assignment_id = a.id "
        "JOIN notebook n ON sn.notebook_id = n.id WHERE a.name = :a"
        + (" AND sa.student_id = :s" if student is not None else "")
        + " ORDER BY n.name"
    )
    found: dict[str, list[tuple[str, str]]] = {}
    try:
        with engine.connect() as connection:
            for learner, notebook, nid in connection.execute(query, {"a": assignment_id, "s": student}):
                found.setdefault(learner, []).append((notebook, nid))
    except SQLAlchemyError:
        return {}
    finally:
        engine.dispose()
    return found


def released_assignments(app: Any, course_id: str) -> list[Any]:
    released = {r.assignment_id for r in app.store.releases(course_id)}
    return [a for a in app.courses[course_id].assignments if a.id in released]


def dashboard(app: Any, caller: Caller, course_id: str, only: str | None = None) -> Dashboard:
    course = app.courses[course_id]
    classes, learners = learners_of(app, caller, course_id, only)
    assignments = released_assignments(app, course_id)
    usernames = [lr.username for lr in learners]
    attempts = attempts_of(app, course_id, usernames)
    url = app.settings.gradebook_url_for(course_id)
    scores = views.gradebook_scores(url, usernames, [a.id for a in assignments])
    boards = []
    for a in assignments:
        cells = [Cell(lr, attempts.get((lr.username, a.id), []), scores.get((lr.username, a.id))) for lr in learners]
        deadlines = app.store.deadlines(course_id, a.id)
        timelines = []
        if len(classes) <= MAX_CLASS_TIMELINES:
            for c in classes:
                due = deadlines.get(c.name) or deadlines.get(DEFAULT_CLASS)
                times = [x.attempts[-1].at for x in cells if x.learner.class_name == c.name and x.attempts]
                timelines.append(ClassTimeline(c.name, due, times))
        else:  # one line for every class; each class's own deadline is on its own dashboard (?class=)
            timelines.append(ClassTimeline("*", deadlines.get(DEFAULT_CLASS), [x.attempts[-1].at for x in cells
                                                                                if x.attempts]))  # fmt: skip
        flagged = [r for r in views.integrity_report(app, caller, course_id, a.id) if r.flagged]
        notebooks = submitted_notebooks(url, a.id) if any(x.pending for x in cells) else {}
        boards.append(Board(a, cells, timelines, flagged, notebooks))
    pass_mark = course.completion.min_overall_percent if course.completion else None
    return Dashboard(course, classes, boards, pass_mark, datetime.now(UTC), only)


@dataclass
class LearnerAssignment:
    assignment: Any
    due: datetime | None
    cell: Cell
    findings: list[Any]  # graders.autograde.findings.Finding
    status: str  # the autograder's: graded | failed | ""
    notebooks: list[tuple[str, str]]


def learner_detail(app: Any, caller: Caller, course_id: str, username: str) -> tuple[Learner, list] | None:
    """One learner of the caller's classes, every released assignment; None for anybody else."""
    from graders.autograde.report import ReportStore, SubmissionResult

    _, learners = learners_of(app, caller, course_id)
    learner = next((lr for lr in learners if lr.username == username), None)
    if learner is None:
        return None
    assignments = released_assignments(app, course_id)
    attempts = attempts_of(app, course_id, [username])
    url = app.settings.gradebook_url_for(course_id)
    scores = views.gradebook_scores(url, [username], [a.id for a in assignments])
    rows = []
    for a in assignments:
        cell = Cell(learner, attempts.get((username, a.id), []), scores.get((username, a.id)))
        entry = ReportStore(app.course_dir(course_id), course_id, a.id).data["submissions"].get(username)
        findings, status = [], ""
        try:
            findings = SubmissionResult.from_json(username, entry).findings
            status = str(entry.get("status", ""))
        except (KeyError, TypeError, ValueError, AttributeError):  # not graded yet, or a damaged entry
            pass
        deadlines = app.store.deadlines(course_id, a.id)
        due = deadlines.get(learner.class_name) or deadlines.get(DEFAULT_CLASS)
        notebooks = submitted_notebooks(url, a.id, username).get(username, []) if cell.pending else []
        rows.append(LearnerAssignment(a, due, cell, findings, status, notebooks))
    return learner, rows


# -- grades export ---------------------------------------------------------------------------------------


def grade_table(app: Any, caller: Caller, course_id: str) -> list[list[object]]:
    """What the grades export holds: the query and the time first, then learners × assignments (score and
    percent), formula-neutralised."""
    board = dashboard(app, caller, course_id)
    classes = ", ".join(c.name for c in board.classes) or "—"
    header: list[object] = ["Họ và tên / Full name", "Tên đăng nhập / Username", "Lớp / Class"]
    for b in board.boards:
        header += [f"{b.assignment.id} điểm / score", f"{b.assignment.id} tối đa / max", f"{b.assignment.id} %"]
    lines: list[list[object]] = [
        ["Bảng điểm / Grades", board.course.id, board.course.title.vi],
        ["Truy vấn / Query", f"khoá học / course={course_id}; lớp / classes={classes}; người xuất / by={caller.name}"],
        ["Lập lúc / Generated at", board.generated_at.strftime("%Y-%m-%d %H:%M:%S UTC")],
        [],
        header,
    ]
    by_learner: dict[str, dict[str, Cell]] = {}
    for b in board.boards:
        for c in b.cells:
            by_learner.setdefault(c.learner.username, {})[b.assignment.id] = c
    for cls in board.classes:
        for username, full_name in cls.learners:
            row: list[object] = [full_name, username, cls.name]
            for b in board.boards:
                c = by_learner[username][b.assignment.id]
                if c.score is None:
                    row += ["", "", ""]
                else:
                    row += [round(c.score.score, 2), round(c.score.max_score, 2), round(c.percent or 0.0, 1)]
            lines.append(row)
    return [[neutralise(v) for v in line] for line in lines]


def to_csv(table: list[list[object]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(table)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # with a BOM: Excel then reads UTF-8


def to_xlsx(table: list[list[object]], title: str = "Bảng điểm") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    for line in table:
        sheet.append(line)
    header_row = next((i for i, line in enumerate(table, 1) if line and line[0] == "Họ và tên / Full name"), None)
    if header_row:
        for cell in sheet[header_row]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = f"D{header_row + 1}"
    for column in sheet.columns:
        width = max(len(str(c.value or "")) for c in column[:200])
        sheet.column_dimensions[column[0].column_letter].width = min(40, width + 2)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- the portal's home for instructors ----------------------------------------------------------------------


@dataclass
class TaughtClass:
    name: str
    title: str
    learners: int
    submitted: int  # learners × assignments with at least one attempt


def teaching(app: Any, caller: Caller) -> list[tuple[Any, list[TaughtClass]]]:
    """Every course the caller teaches with its classes (theirs; admins: all) and a count or two per class."""
    found = []
    for course_id in sorted(app.courses):
        if not caller.teaches(course_id):
            continue
        classes = views.taught_classes(app, caller, course_id)
        names = [c.name for c in classes]
        with app.directory.session() as s:
            rows = (
                s.query(Submission.class_name, Submission.student, Submission.assignment_id)
                .filter(Submission.course_id == course_id, Submission.class_name.in_(names))
                .distinct()
                .all()
            ) if names else []  # fmt: skip
        submitted: dict[str, int] = {}
        for class_name, _student, _assignment in rows:
            submitted[class_name] = submitted.get(class_name, 0) + 1
        found.append((app.courses[course_id], [TaughtClass(c.name, c.title, len(c.learners), submitted.get(c.name, 0))
                                                for c in classes]))  # fmt: skip
    return found
