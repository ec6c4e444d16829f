"""Sandboxed, parallel nbgrader autograding.

    from graders.autograde import grade_assignment
    report = grade_assignment("data/courses/phan-tich-du-lieu", "01-python-co-ban", workers=2)

Each submission runs in its own grader container (no network, read-only root, memory/CPU/pid/time limits,
non-root, nothing inside but that submission's code cells and the assignment's files). Scores come from
nbgrader's own preprocessors on the host's copy of the notebook, written to the gradebook in one transaction
per submission; an integrity report per assignment lands in ``<course>/autograde-reports/``.
"""

from graders.autograde.batch import grade_assignment
from graders.autograde.course import AutogradeError, SandboxGrader
from graders.autograde.findings import KINDS, Finding
from graders.autograde.report import CellScore, GradeReport, SubmissionResult

__all__ = [
    "KINDS",
    "AutogradeError",
    "CellScore",
    "Finding",
    "GradeReport",
    "SandboxGrader",
    "SubmissionResult",
    "grade_assignment",
]
