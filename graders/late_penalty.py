"""nbgrader's late-penalty plug-in point, applying the course's `late_policy` from course.yaml.

nbgrader measures lateness against the assignment's due date plus the learner's extension; the exchange's
collect step writes each learner's class deadline as that extension, so lateness is per class. Both are
naive UTC in nbgrader's gradebook, and so is the submission's timestamp: the difference is in seconds, and
no time zone enters here.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Unicode, default

from graders.curriculum import LatePolicy, default_courses_root, load_course


@cache
def course_policy(course_path: str) -> LatePolicy:
    return load_course(Path(course_path)).late_policy


class CourseLatePenalty(LateSubmissionPlugin):
    course_id = Unicode(help="The course whose course.yaml late_policy applies.").tag(config=True)
    courses_root = Unicode(
        help="Folder of the courses: the hub's `courses_root` setting (graders.coursedir writes it, the CLI and "
        "the portal pass it). Default: the repository's courses/."
    ).tag(config=True)
    course_path = Unicode(
        help="Folder of that course's course.yaml: the course that was loaded, wherever it came from. "
        "Default: <courses_root>/<course_id>."
    ).tag(config=True)

    @default("courses_root")
    def _default_courses_root(self) -> str:
        return str(default_courses_root())

    @default("course_path")
    def _default_course_path(self) -> str:
        return str(Path(self.courses_root) / self.course_id)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float:
        penalty = course_policy(self.course_path).penalty_points(total_seconds_late, score)
        if penalty:
            self.log.warning("%s nộp muộn %.0f giây / late by %.0f s: -%.2f", student_id, total_seconds_late,
                             total_seconds_late, penalty)  # fmt: skip
        return penalty
