"""Gradebooks with every kind of cell and every kind of score, built with nbgrader's own API.

The course is `ky-nang-so` (its four assignment ids and points, so the certificate rules apply). Each
assignment has master notebooks with autograded test cells, manually graded answers (grade + solution
cells), task cells and plain solution cells; one assignment has two notebooks. The learners in SITUATIONS
each stand for a case the score formula must get right: manual overrides of autograded scores, extra credit
(also above the maximum, and on a grade nobody scored, which nbgrader ignores), late penalties (on two
notebooks of one submission, and one larger than what a regrade left), answers still waiting for a person,
a submission added but not graded, a missing assignment.

`add_crowd` adds many more learners with the same structure in bulk (nbgrader's tables, one transaction) so
that tests and benchmarks can check that reading a few learners does not read everybody.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from support.gradebooks import alembic_on_path

COURSE_ID = "ky-nang-so"
DUE = datetime(2026, 6, 1, 10, 0)  # naive UTC, as nbgrader stores it


@dataclass(frozen=True)
class Cell:
    name: str
    kind: str  # "auto" (code grade cell with tests), "manual" (markdown answer), "task", "solution"
    points: float = 0.0


# assignment id -> notebook name -> cells; every assignment's points equal course.yaml's
LAYOUT: dict[str, dict[str, list[Cell]]] = {
    "01-tep-va-dinh-dang": {
        "bai-1": [Cell("giai-1", "solution"), Cell("kiem-tra-1", "auto", 10), Cell("tra-loi-1", "manual", 5),
                  Cell("nhiem-vu-1", "task", 5)],
    },
    "02-tu-bang-tinh-den-pandas": {
        "phan-a": [Cell("giai-a", "solution"), Cell("kiem-tra-a1", "auto", 6), Cell("kiem-tra-a2", "auto", 4)],
        "phan-b": [Cell("tra-loi-b", "manual", 10)],
    },
    "03-bao-ve-du-lieu-ca-nhan": {
        "bai-3": [Cell("giai-3", "solution"), Cell("kiem-tra-3", "auto", 15), Cell("nhiem-vu-3", "task", 10)],
    },
    "04-chat-luong-du-lieu": {
        "bai-4": [Cell("giai-4", "solution"), Cell("kiem-tra-4", "auto", 10), Cell("tra-loi-4", "manual", 15)],
    },
}  # fmt: skip


@dataclass(frozen=True)
class Mark:
    """What happened to one grade: nbgrader's four fields (None = not set)."""

    auto: float | None = None
    manual: float | None = None
    extra: float | None = None
    pending: bool = False


def full_marks(assignment: str, layout: dict = LAYOUT) -> dict[str, Mark]:
    """Everything right: tests pass, answers and tasks graded by a person with full points."""
    marks = {}
    for cells in layout[assignment].values():
        for c in cells:
            if c.kind == "auto":
                marks[c.name] = Mark(auto=c.points)
            elif c.kind in ("manual", "task"):
                marks[c.name] = Mark(manual=c.points)
    return marks


A1, A2, A3, A4 = LAYOUT
# username -> assignment -> (marks overriding full marks, {notebook: late penalty}, hours late)
SITUATIONS: dict[str, dict[str, tuple[dict[str, Mark], dict[str, float], float]]] = {
    "an": {a: ({}, {}, 0) for a in LAYOUT},  # 100%
    "binh": {  # manual overrides of test scores, extra credit on a task, a late penalty
        A1: ({"kiem-tra-1": Mark(auto=10, manual=7), "nhiem-vu-1": Mark(manual=4, extra=2)}, {"bai-1": 3.0}, 49),
        A2: ({"kiem-tra-a1": Mark(auto=0, manual=4.5)}, {}, 0),
        A3: ({"kiem-tra-3": Mark(auto=15, manual=12.25)}, {}, 0),
        A4: ({}, {}, 0),
    },
    "chi": {  # a written answer still waits for a person (auto part known)
        A1: ({}, {}, 0),
        A2: ({}, {}, 0),
        A3: ({}, {}, 0),
        A4: ({"kiem-tra-4": Mark(auto=6), "tra-loi-4": Mark(pending=True)}, {}, 0),
    },
    "dung": {  # a penalty larger than what a regrade left; extra credit on a grade nobody scored
        A1: ({"tra-loi-1": Mark(extra=3, pending=True)}, {}, 0),
        A2: ({}, {}, 0),
        A3: ({"kiem-tra-3": Mark(auto=15, manual=1), "nhiem-vu-3": Mark(manual=2)}, {"bai-3": 5.0}, 30),
        A4: ({}, {}, 0),
    },
    "em": {  # extra credit above the maximum
        A1: ({"kiem-tra-1": Mark(auto=10, extra=3), "tra-loi-1": Mark(manual=5, extra=1.5)}, {}, 0),
        A2: ({}, {}, 0),
        A3: ({"nhiem-vu-3": Mark(manual=6)}, {}, 0),
        A4: ({"tra-loi-4": Mark(manual=9.5)}, {}, 0),
    },
    "giang": {  # late penalties on both notebooks of one submission; assignment 4 missing
        A1: ({}, {}, 0),
        A2: ({"kiem-tra-a2": Mark(auto=2)}, {"phan-a": 1.5, "phan-b": 2.0}, 5),
        A3: ({"kiem-tra-3": Mark(auto=9)}, {}, 0),
    },
    "khoa": {  # assignment 1 added to the gradebook, nothing graded yet (every grade waits)
        A1: ({name: Mark(pending=True) for name in full_marks(A1)}, {}, 0),
    },
    "lan": {  # failed tests (0), late with a late-policy penalty, under the bar
        A1: ({"kiem-tra-1": Mark(auto=0)}, {"bai-1": 1.0}, 2),
        A2: ({"kiem-tra-a1": Mark(auto=0), "kiem-tra-a2": Mark(auto=0)}, {}, 0),
        A3: ({"nhiem-vu-3": Mark(manual=0)}, {}, 0),
        A4: ({"tra-loi-4": Mark(manual=3)}, {}, 0),
    },
}
LEARNERS = list(SITUATIONS)
CROWD = [f"hv{i:04d}" for i in range(1000)]  # other learners of a big course (add_crowd)


def build_gradebook(url: str, situations: dict = SITUATIONS, layout: dict = LAYOUT, course_id: str = COURSE_ID) -> str:
    """Master assignments, notebooks and cells, then each learner's submissions, all with nbgrader's
    Gradebook API (add_assignment, add_grade_cell, add_task_cell, add_submission, find_grade…)."""
    alembic_on_path()
    from nbgrader.api import Gradebook

    with Gradebook(url, course_id=course_id) as gb:
        for assignment, notebooks in layout.items():
            gb.add_assignment(assignment, duedate=DUE)
            for notebook, cells in notebooks.items():
                gb.add_notebook(notebook, assignment)
                for c in cells:
                    if c.kind == "auto":
                        gb.add_grade_cell(c.name, notebook, assignment, max_score=c.points, cell_type="code")
                    elif c.kind == "manual":
                        gb.add_grade_cell(c.name, notebook, assignment, max_score=c.points, cell_type="markdown")
                        gb.add_solution_cell(c.name, notebook, assignment)
                    elif c.kind == "task":
                        gb.add_task_cell(c.name, notebook, assignment, max_score=c.points, cell_type="markdown")
                    else:
                        gb.add_solution_cell(c.name, notebook, assignment)
        for username, plan in situations.items():
            gb.add_student(username, first_name=username.title(), last_name="Nguyễn")
            for assignment, (changes, penalties, hours_late) in plan.items():
                gb.add_submission(assignment, username, timestamp=DUE + timedelta(hours=hours_late or -1))
                marks = {**full_marks(assignment, layout), **changes}
                for notebook, cells in layout[assignment].items():
                    for c in cells:
                        if c.name not in marks:
                            continue
                        grade = gb.find_grade(c.name, notebook, assignment, username)
                        m = marks[c.name]
                        grade.auto_score, grade.manual_score, grade.extra_credit = m.auto, m.manual, m.extra
                        grade.needs_manual_grade = m.pending
                    if notebook in penalties:  # what nbgrader's AssignLatePenalties writes
                        gb.find_submission_notebook(notebook, assignment, username).late_submission_penalty = penalties[
                            notebook
                        ]
                gb.db.commit()
    return url


def add_crowd(url: str, usernames: Iterable[str], seed: int = 1, course_id: str = COURSE_ID) -> None:
    """Many more learners, each with a submission of every assignment and a grade for every graded cell
    (random scores, some late, some waiting), inserted in bulk into nbgrader's tables."""
    alembic_on_path()
    from nbgrader.api import Grade, Gradebook, Student, SubmittedAssignment, SubmittedNotebook
    from sqlalchemy import insert

    rng = random.Random(seed)
    with Gradebook(url, course_id=course_id) as gb:
        structure = []
        for assignment in gb.assignments:
            notebooks = [(nb.id, [(c.id, c.max_score) for c in (*nb.grade_cells, *nb.task_cells)])
                         for nb in assignment.notebooks]  # fmt: skip
            structure.append((assignment.id, notebooks))
        students, subs, nbs, grades = [], [], [], []
        for username in usernames:
            students.append({"id": username, "first_name": username, "last_name": ""})
            for assignment_id, notebooks in structure:
                sub_id = uuid.uuid4().hex
                late = rng.random() < 0.2
                hours = rng.randint(1, 72) * (1 if late else -1)
                subs.append({"id": sub_id, "assignment_id": assignment_id, "student_id": username,
                             "timestamp": DUE + timedelta(hours=hours)})  # fmt: skip
                for notebook_id, cells in notebooks:
                    nb_id = uuid.uuid4().hex
                    nbs.append({"id": nb_id, "notebook_id": notebook_id, "assignment_id": sub_id,
                                "late_submission_penalty": round(rng.random() * 3, 2) if late else None})  # fmt: skip
                    for cell_id, points in cells:
                        grades.append({"id": uuid.uuid4().hex, "cell_id": cell_id, "notebook_id": nb_id,
                                       "auto_score": round(rng.random() * points, 2), "manual_score": None,
                                       "extra_credit": None, "needs_manual_grade": rng.random() < 0.05})  # fmt: skip
        db = gb.db
        for table, rows in (
            (Student, students),
            (SubmittedAssignment, subs),
            (SubmittedNotebook, nbs),
            (Grade, grades),
        ):
            for start in range(0, len(rows), 5000):
                db.execute(insert(table.__table__), rows[start : start + 5000])
        db.commit()


def nbgrader_truth(url: str, usernames: Iterable[str]) -> dict[str, dict[str, dict]]:
    """What nbgrader's own API says about each submission: username -> assignment -> numbers."""
    from nbgrader.api import Gradebook, MissingEntry

    truth: dict[str, dict[str, dict]] = {}
    with Gradebook(url, course_id=COURSE_ID) as gb:
        for username in usernames:
            for assignment in gb.assignments:
                try:
                    sub = gb.find_submission(assignment.name, username)
                except MissingEntry:
                    continue
                truth.setdefault(username, {})[assignment.name] = {
                    "raw": sub.score,
                    "penalty": sub.late_submission_penalty,
                    "score": max(0.0, sub.score - sub.late_submission_penalty),  # nbgrader's CsvExportPlugin
                    "max": sub.max_score,
                    "pending": bool(sub.needs_manual_grade),
                    "timestamp": sub.timestamp,
                }
    return truth


def nbgrader_export(url: str, path: Path) -> dict[tuple[str, str], dict[str, str]]:
    """nbgrader's own CSV export (`nbgrader export`'s plug-in) of the gradebook: (student, assignment) -> row."""
    import csv

    from nbgrader.api import Gradebook
    from nbgrader.plugins.export import CsvExportPlugin

    with Gradebook(url, course_id=COURSE_ID) as gb:
        CsvExportPlugin(to=str(path)).export(gb)
    with path.open(encoding="utf-8") as fh:
        return {(r["student_id"], r["assignment"]): r for r in csv.DictReader(fh)}
