"""Completion rules of course.yaml evaluated on a course's nbgrader gradebook.

For every learner: completed or not, and exactly why not, in Vietnamese and English. The rule
(graders.curriculum.CompletionRule) is: every required assignment submitted (if asked) and the sum of the
scores over the required assignments at least `min_overall_percent` of their points. A submission that
still waits for manual grading does not count as a score yet: its points are unknown, so the learner is
"not yet", never "failed". Scores come from graders.scores, the one formula the portal shows too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from graders.curriculum import Course
from graders.scores import AssignmentScore, assignment_scores
from graders.text import Text
from graders.timeutil import SCHOOL_TIMEZONE

EPSILON = 1e-9  # 69.99999999 from float sums is 70


# The rule's input is the score every other part shows (graders.scores); the old name stays for callers.
AssignmentResult = AssignmentScore


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
    tz: str = SCHOOL_TIMEZONE,
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


def read_results(
    course: Course, gradebook_url: str, usernames: Iterable[str] | None = None
) -> dict[str, dict[str, AssignmentResult]]:
    """Scores of the course's assignments submitted by `usernames` (None: every learner in the gradebook),
    computed by graders.scores as the portal computes them. A missing gradebook raises GradebookMissing and
    is not created."""
    return assignment_scores(gradebook_url, usernames, [a.id for a in course.assignments])
