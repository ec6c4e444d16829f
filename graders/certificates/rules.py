"""Completion rules of course.yaml evaluated on a course's nbgrader gradebook.

For every learner: completed or not, and exactly why not, in Vietnamese and English. The rule
(graders.curriculum.CompletionRule) is: every required assignment submitted (if asked) and the sum of the
scores over the required assignments at least `min_overall_percent` of their points. A submission that
still waits for manual grading does not count as a score yet: its points are unknown, so the learner is
"not yet", never "failed".
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from graders.curriculum import Course
from hub.i18n import Text

EPSILON = 1e-9  # 69.99999999 from float sums is 70


@dataclass(frozen=True)
class AssignmentResult:
    assignment_id: str
    score: float
    max_score: float  # not used by the rule (course.yaml's points are)
    submitted_at: datetime | None
    needs_manual_grade: bool


@dataclass
class Evaluation:
    """The verdict on one learner for one course."""

    username: str
    completed: bool
    percent: float
    reasons: list[Text] = field(default_factory=list)
    completed_on: date | None = None  # date of the last required submission, when completed

    def reasons_text(self, sep: str = "; ") -> str:
        return sep.join(str(r) for r in self.reasons)


def format_percent(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def evaluate(
    course: Course,
    results: dict[str, dict[str, AssignmentResult]],
    usernames: Iterable[str],
    tz: str = "Asia/Ho_Chi_Minh",
) -> list[Evaluation]:
    """Evaluate `usernames` given their results (username -> assignment id -> result); dates in `tz`."""
    rule = course.completion
    required = course.required_assignments
    points = course.required_points
    out = []
    for username in usernames:
        mine = results.get(username, {})
        reasons: list[Text] = []
        total = 0.0
        pending = False
        last: datetime | None = None
        for a in required:
            r = mine.get(a.id)
            label = f"{a.id} «{a.title.vi}»"
            label_en = f"{a.id} “{a.title.get('en')}”"
            if r is None:
                if rule.require_all_required_submitted:
                    reasons.append(Text(f"chưa nộp bài {label}", f"assignment {label_en} not submitted"))
                continue
            if r.needs_manual_grade:
                pending = True
                reasons.append(Text(f"bài {label} chưa chấm xong", f"assignment {label_en} is not fully graded yet"))
                continue
            total += min(r.score, a.points)  # never more than course.yaml announces, whatever the gradebook says
            if r.submitted_at and (last is None or r.submitted_at > last):
                last = r.submitted_at
        percent = 100.0 * total / points if points else 0.0
        if not pending and percent + EPSILON < rule.min_overall_percent:
            bar = format_percent(rule.min_overall_percent)
            reasons.append(
                Text(
                    f"điểm tổng {format_percent(percent)}% thấp hơn mức yêu cầu {bar}%",
                    f"overall score {format_percent(percent)}% is under the required {bar}%",
                )
            )
        completed = not reasons
        out.append(
            Evaluation(
                username=username,
                completed=completed,
                percent=round(percent, 4),
                reasons=reasons,
                completed_on=_local_date(last, tz) if completed and last else None,
            )
        )
    return out


def _local_date(moment: datetime, tz: str) -> date:
    from zoneinfo import ZoneInfo

    if moment.tzinfo is None:  # nbgrader stores naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(tz)).date()


class GradebookMissing(LookupError):
    """The course has no gradebook yet: nobody has been graded."""


def read_results(course: Course, gradebook_url: str) -> dict[str, dict[str, AssignmentResult]]:
    """Scores of every submission of the course's assignments, from nbgrader's gradebook.

    A missing SQLite file means "nobody graded yet" and is not created (nbgrader's Gradebook would create
    an empty one)."""
    if gradebook_url.startswith("sqlite:///"):
        path = Path(gradebook_url.removeprefix("sqlite:///"))
        if not path.is_file():
            raise GradebookMissing(str(path))
    _alembic_on_path()
    from nbgrader.api import Gradebook

    with Gradebook(gradebook_url, course_id=course.id) as gb:
        return _results(gb, [a.id for a in course.assignments])


def _results(gb: object, assignment_ids: list[str]) -> dict[str, dict[str, AssignmentResult]]:
    """Every submission's score (nbgrader's Grade.score: manual over auto, plus extra credit, minus the
    late penalty nbgrader records on SubmittedNotebook) and whether a grade still waits for a person.

    Four plain table scans joined here in dictionaries: nbgrader's tables have no index on their foreign
    keys, so the same join in SQL (as `Gradebook.submission_dicts` does) takes minutes at a year's size."""
    from nbgrader.api import Assignment as NbAssignment
    from nbgrader.api import Grade, SubmittedAssignment, SubmittedNotebook

    db = gb.db
    names = dict(db.query(NbAssignment.id, NbAssignment.name).filter(NbAssignment.name.in_(assignment_ids)))
    subs: dict[str, list] = {}  # submission id -> [student, assignment, timestamp, score, pending, penalty]
    for sub_id, assignment_id, student, timestamp in db.query(
        SubmittedAssignment.id,
        SubmittedAssignment.assignment_id,
        SubmittedAssignment.student_id,
        SubmittedAssignment.timestamp,
    ):
        if assignment_id in names:
            subs[sub_id] = [student, names[assignment_id], timestamp, 0.0, False, 0.0]
    notebook_sub: dict[str, str] = {}
    for nb_id, sub_id, penalty in db.query(
        SubmittedNotebook.id, SubmittedNotebook.assignment_id, SubmittedNotebook.late_submission_penalty
    ):
        if sub_id in subs:
            notebook_sub[nb_id] = sub_id
            subs[sub_id][5] += float(penalty or 0.0)
    for nb_id, score, pending in db.query(Grade.notebook_id, Grade.score, Grade.needs_manual_grade):
        sub = subs.get(notebook_sub.get(nb_id, ""))
        if sub is not None:
            sub[3] += float(score or 0.0)
            sub[4] = sub[4] or bool(pending)
    results: dict[str, dict[str, AssignmentResult]] = {}
    for student, name, timestamp, score, pending, penalty in subs.values():
        value = max(0.0, score - penalty)
        results.setdefault(student, {})[name] = AssignmentResult(
            assignment_id=name,
            score=value if math.isfinite(value) else 0.0,
            max_score=0.0,
            submitted_at=timestamp,
            needs_manual_grade=pending,
        )
    return results


def _alembic_on_path() -> None:
    """nbgrader runs the `alembic` executable by name when it creates a gradebook; make ours findable."""
    bindir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if bindir not in path.split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + path
