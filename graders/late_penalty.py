"""nbgrader's late-penalty plug-in point, applying the course's `late_policy` from course.yaml.

nbgrader measures lateness against the assignment's due date plus the learner's extension; the exchange's
collect step writes each learner's class deadline as that extension, so lateness is per class.
"""

from __future__ import annotations

from functools import cache

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Unicode

from graders.curriculum import LatePolicy, default_courses_root, load_course


@cache
def course_policy(course_id: str) -> LatePolicy:
    return load_course(default_courses_root() / course_id).late_policy


class CourseLatePenalty(LateSubmissionPlugin):
    course_id = Unicode(help="The course whose course.yaml late_policy applies.").tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float:
        penalty = course_policy(self.course_id).penalty_points(total_seconds_late, score)
        if penalty:
            self.log.warning("%s nộp muộn %.0f giây / late by %.0f s: -%.2f", student_id, total_seconds_late,
                             total_seconds_late, penalty)  # fmt: skip
        return penalty
