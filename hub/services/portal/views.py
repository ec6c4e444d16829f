"""What the portal pages show, assembled from the exchange's records, the directory and the gradebooks.
Plain synchronous functions (run off the event loop by the handlers)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from graders.db import sqlite_change_mark
from hub.coursework.access import Caller
from hub.coursework.models import DEFAULT_CLASS
from hub.directory.models import Enrolment, EnrolmentRole, Person, SchoolClass

if TYPE_CHECKING:
    from graders.autograde.report import SubmissionResult
    from graders.scores import AssignmentScore

log = logging.getLogger("truongso.portal")


def when(moment: datetime | None, zone: str | None = None) -> str:
    """Dates as Vietnamese readers write them, in the school's time zone (`zone`, the hub's `timezone` setting),
    labelled: "20/12/2026 17:00 (UTC+7)"."""
    from graders.timeutil import SCHOOL_TIMEZONE, show

    return show(moment, zone or SCHOOL_TIMEZONE)


@dataclass
class LearnerRow:
    assignment_id: str
    title: Any
    due: str
    attempts: int = 0
    last: str = ""
    late: bool = False
    feedback: bool = False
    score: str = ""
    pending: bool = False  # some of the score still waits for a person (graders.scores)


@dataclass
class ProgressCell:
    status: str  # "" (nothing), "submitted", "late", "graded"
    score: str = ""
    pending: bool = False  # graded, but some of the score still waits for a person


@dataclass
class ClassProgress:
    name: str
    title: str
    learners: list[tuple[str, str]] = field(default_factory=list)  # (username, full name)
    cells: dict[tuple[str, str], ProgressCell] = field(default_factory=dict)  # (username, assignment) -> cell
    deadlines: dict[str, str] = field(default_factory=dict)  # assignment -> due (this class's or the default)


def learner_view(app: Any, caller: Caller, course_id: str) -> list[LearnerRow]:
    course = app.courses[course_id]
    class_name = caller.learner_classes[course_id]
    released = {r.assignment_id for r in app.store.releases(course_id)}
    submissions = app.store.submissions(course_id, student=caller.name)
    scores = gradebook_scores(app.settings.gradebook_url_for(course_id), [caller.name], released)
    rows = []
    for assignment in course.assignments:
        if assignment.id not in released:
            continue
        due = app.store.due_for(course_id, assignment.id, class_name)
        row = LearnerRow(assignment.id, assignment.title, when(due, app.settings.timezone))
        attempts = [(s, fb) for s, fb in submissions if s.assignment_id == assignment.id]
        if attempts:
            last, feedback = attempts[-1]
            row.attempts, row.last, row.late, row.feedback = (
                len(attempts),
                when(last.submitted_at, app.settings.timezone),  # the server's clock, in the school's zone
                last.seconds_late > 0,
                bool(feedback),
            )
            score = scores.get((caller.name, assignment.id))
            if feedback and score is not None:
                row.score, row.pending = score.shown(), score.needs_manual_grade
        rows.append(row)
    return rows


def taught_classes(app: Any, caller: Caller, course_id: str) -> list[ClassProgress]:
    """Every class of the course this caller teaches (admins: all), with its learners; progress not filled."""
    with app.directory.session() as s:
        classes = s.query(SchoolClass).filter(SchoolClass.course_id == course_id).order_by(SchoolClass.name).all()
        if not caller.admin:
            classes = [c for c in classes if c.name in caller.instructor_classes]
        progress = []
        for school_class in classes:
            learners = (
                s.query(Person.username, Person.full_name)
                .join(Enrolment, Enrolment.username == Person.username)
                .filter(Enrolment.class_name == school_class.name, Enrolment.role == EnrolmentRole.learner)
                .order_by(Person.full_name)
                .all()
            )
            progress.append(ClassProgress(school_class.name, school_class.title, [tuple(x) for x in learners]))
    return progress


def instructor_view(app: Any, caller: Caller, course_id: str) -> tuple[list[ClassProgress], list[Any]]:
    """Every class of the course this caller teaches (admins and the course's instructors: all)."""
    course = app.courses[course_id]
    progress = taught_classes(app, caller, course_id)
    released = [r.assignment_id for r in app.store.releases(course_id)]
    usernames = [u for p in progress for u, _ in p.learners]
    late = latest_lateness(app, course_id, usernames)
    scores = gradebook_scores(app.settings.gradebook_url_for(course_id), usernames, released)
    deadlines = {assignment_id: app.store.deadlines(course_id, assignment_id) for assignment_id in released}
    for p in progress:
        for assignment_id in released:
            due = deadlines[assignment_id].get(p.name) or deadlines[assignment_id].get(DEFAULT_CLASS)
            p.deadlines[assignment_id] = when(due, app.settings.timezone)
            for username, _ in p.learners:
                seconds_late = late.get((username, assignment_id))
                score = scores.get((username, assignment_id))
                if score is not None:
                    p.cells[(username, assignment_id)] = ProgressCell("graded", score.shown(), score.needs_manual_grade)
                elif seconds_late is not None:
                    p.cells[(username, assignment_id)] = ProgressCell("late" if seconds_late else "submitted")
                else:
                    p.cells[(username, assignment_id)] = ProgressCell("")
    course_assignments = [a for a in course.assignments if a.id in released]
    return progress, course_assignments


# Up to this many learners shown, their submissions are fetched by name; beyond (an admin's view of every
# class), the course's rows are read once and filtered here.
NAMED_UP_TO = 500


def latest_lateness(app: Any, course_id: str, usernames: list[str]) -> dict[tuple[str, str], int]:
    """(learner, assignment) -> seconds late of the learner's latest attempt, for these learners only: three
    columns per row, not the course's every attempt with its feedback (one query per attempt)."""
    from hub.coursework.models import Submission

    wanted = set(usernames)
    if not wanted:
        return {}
    columns = (Submission.student, Submission.assignment_id, Submission.seconds_late)
    rows: list[Any] = []
    with app.directory.session() as s:
        query = s.query(*columns).filter(Submission.course_id == course_id)
        if len(wanted) <= NAMED_UP_TO:
            query = query.filter(Submission.student.in_(sorted(wanted)))
        rows = query.order_by(Submission.submitted_at).all()  # oldest first: the latest attempt is kept
    return {(student, assignment): late or 0 for student, assignment, late in rows if student in wanted}


# The scores of the last few (gradebook, learners, assignments) asked for about many learners, kept while an
# SQLite gradebook file is unchanged: an admin's view of every class reads every grade of the course, and
# re-reading it on each view is what makes that page slow. Any commit by the formgrader or the autograder
# changes the file's change counter (or its write-ahead log), so a new grade shows at the next view. Other
# databases are read every time.
_SCORES_KEPT = 4
_scores_cache: dict[tuple, tuple[tuple, dict]] = {}
_scores_lock = threading.Lock()


def _cached_scores(url: str, usernames: list[str], assignment_ids: Iterable[str], read: Any) -> dict:
    from graders.scores import INDEXED_UP_TO

    assignments = tuple(sorted(set(assignment_ids)))
    if len(set(usernames)) <= INDEXED_UP_TO:  # a class or a learner: their own rows, through indexes, every time
        return read(url, usernames, assignments)
    key = (url, tuple(sorted(set(usernames))), assignments)
    version = sqlite_change_mark(url)
    if version is not None:
        with _scores_lock:
            cached = _scores_cache.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
    scores = read(url, usernames, assignments)
    if version is not None and version == sqlite_change_mark(url):  # unchanged while it was read
        with _scores_lock:
            _scores_cache.pop(key, None)
            _scores_cache[key] = (version, scores)
            while len(_scores_cache) > _SCORES_KEPT:
                _scores_cache.pop(next(iter(_scores_cache)))
    return scores


def gradebook_scores(
    gradebook_url: str, usernames: list[str], assignment_ids: Iterable[str]
) -> dict[tuple[str, str], AssignmentScore]:
    """The graded submissions of these learners only, scored by graders.scores (nbgrader's formula, as the
    certificates score them); empty when there is no gradebook yet. A gradebook that cannot be read is
    logged and shown as "not graded" so that the page still opens (the formgrader owns the gradebook)."""
    from graders.scores import GradebookMissing, GradebookUnreadable, assignment_scores

    try:
        scores = _cached_scores(gradebook_url, usernames, assignment_ids, assignment_scores)
    except GradebookMissing:
        return {}
    except GradebookUnreadable as exc:
        log.warning("gradebook %s unreadable: %s", gradebook_url.rsplit("@", 1)[-1], exc)
        return {}
    return {
        (username, assignment): score
        for username, mine in scores.items()
        for assignment, score in mine.items()
        if score.graded and score.max_score  # nothing to show as "x/0"
    }


@dataclass
class ReportRow:
    username: str
    full_name: str
    class_name: str
    status: str  # graded | failed | "" (not graded yet)
    result: SubmissionResult | None = None
    graded_at: str = ""  # UTC, as the report has it

    @property
    def flagged(self) -> bool:
        return self.result is not None and self.result.flagged


def integrity_report(app: Any, caller: Caller, course_id: str, assignment_id: str) -> list[ReportRow]:
    """The autograder's per-submission record (scores, findings) for the learners of the caller's classes,
    flagged submissions first, as the grader stored it (``<course>/autograde-reports/<assignment>.json``)."""
    from graders.autograde.report import ReportStore, SubmissionResult  # the grader's heavy imports: lazily

    stored = ReportStore(app.course_dir(course_id), course_id, assignment_id).data["submissions"]
    rows = []
    for school_class in taught_classes(app, caller, course_id):
        for username, full_name in school_class.learners:
            entry = stored.get(username)
            try:
                result = SubmissionResult.from_json(username, entry)
                result.score, result.max_score = float(result.score), float(result.max_score)
            except (KeyError, TypeError, ValueError, AttributeError):  # not graded yet, or an entry we cannot read
                rows.append(ReportRow(username, full_name, school_class.name, ""))
                continue
            result.status = str(entry.get("status", ""))
            graded_at = str(entry.get("graded_at", ""))[:19]
            rows.append(ReportRow(username, full_name, school_class.name, result.status, result, graded_at))
    rows.sort(key=lambda r: (not r.flagged, r.status == "", r.class_name, r.full_name))
    return rows
