"""A course folder and gradebook as a year of teaching leaves them, for the formgrader's pages.

`build_world` makes what nbgrader's formgrader reads: `source/<assignment>/<notebook>.ipynb`, the gradebook
(master assignments, notebooks and cells through nbgrader's own Gradebook API; learners, submissions, grades
and comments inserted in bulk into nbgrader's tables, one transaction), and the collected and autograded
folders (`submitted/<learner>/<assignment>/timestamp.txt`, `autograded/<learner>/<assignment>/…`).

The past assignments are submitted by every learner; the current one (the last) by `submissions` learners,
with the cases the pages must show right: manual scores over automatic ones, extra credit, answers still
waiting for a person, failed tests, late penalties, flagged notebooks, learners collected but not graded yet,
graded learners whose autograded folder is gone, learners with no gradebook record (no name) and learners in
the gradebook who submitted nothing. Scores are multiples of 0.5, so sums are exact in any order (the
parity tests compare floats with ==).
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from support.gradebooks import alembic_on_path

COURSE_ID = "nam-hoc"
DUE = datetime(2026, 6, 1, 10, 0)  # naive UTC, as nbgrader stores it
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hương", "Khoa", "Lan", "Minh", "Ngọc", "Thắng", "Yến"]


@dataclass(frozen=True)
class Cell:
    name: str
    kind: str  # "auto" (code grade cell), "manual" (markdown grade + solution), "task", "solution"
    points: float = 0.0


# every assignment has these notebooks; the second notebook makes notebook-level pages differ from assignment ones
NOTEBOOKS: dict[str, list[Cell]] = {
    "bai-tap": [Cell("giai", "solution"), Cell("kt-1", "auto", 4), Cell("kt-2", "auto", 4), Cell("kt-3", "auto", 2),
                Cell("tra-loi", "manual", 5), Cell("nhiem-vu", "task", 3)],
    "mo-rong": [Cell("kt-4", "auto", 2), Cell("nhan-xet", "manual", 2)],
}  # fmt: skip


@dataclass
class World:
    root: Path
    db_url: str
    assignments: list[str]
    current: str  # the assignment with `submissions` submissions
    learners: list[str]
    submitted: list[str] = field(default_factory=list)  # of the current assignment, in the gradebook
    submission_ids: list[str] = field(default_factory=list)  # current assignment, first notebook, autograded


def assignment_names(count: int) -> list[str]:
    return [f"bai-{i:02d}" for i in range(1, count + 1)]


def notebook_json(cells: list[Cell], student: str, filler: int) -> dict:
    """An autograded notebook: nbgrader's cell metadata, some text and outputs (`filler` extra cells)."""
    out = []
    for c in cells:
        grade = c.kind in ("auto", "manual", "task")
        meta = {"nbgrader": {"grade_id": c.name, "grade": c.kind != "task" and grade, "locked": c.kind == "auto",
                             "solution": c.kind in ("solution", "manual"), "task": c.kind == "task",
                             "points": c.points, "schema_version": 3}}  # fmt: skip
        if c.kind in ("manual", "task"):
            out.append({"cell_type": "markdown", "metadata": meta, "source": f"Trả lời của {student}: …"})
        else:
            out.append({"cell_type": "code", "metadata": meta, "execution_count": 1, "source": "x = 1\nassert x == 1",
                        "outputs": [{"output_type": "stream", "name": "stdout", "text": "ok\n"}]})  # fmt: skip
    for i in range(filler):
        out.append({"cell_type": "code", "metadata": {}, "execution_count": i + 2,
                    "source": f"import pandas as pd\ndf = pd.DataFrame({{'a': range({i})}})\ndf.describe()",
                    "outputs": [{"output_type": "execute_result", "execution_count": i + 2, "metadata": {},
                                 "data": {"text/plain": f"count {i}\nmean  {i / 2}"}}]})  # fmt: skip
        out.append({"cell_type": "markdown", "metadata": {}, "source": f"## Phần {i}\nPhân tích dữ liệu *bước {i}*."})
    return {"cells": out, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
            "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}  # fmt: skip


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") + " UTC"


def build_world(
    root: Path,
    learners: int = 30,
    assignments: int = 3,
    submissions: int = 20,
    seed: int = 1,
    filler_cells: int = 20,
    log=None,
) -> World:
    """The course folder `root` and its SQLite gradebook; see the module's docstring."""
    alembic_on_path()
    from nbgrader.api import Comment, Grade, Gradebook, Student, SubmittedAssignment, SubmittedNotebook
    from sqlalchemy import insert

    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    names = assignment_names(assignments)
    current = names[-1]
    db_url = f"sqlite:///{root / 'gradebook.db'}"
    people = [f"hv{i:05d}" for i in range(learners)]
    world = World(root, db_url, names, current, people)
    for a in names:
        for nb, cells in NOTEBOOKS.items():
            path = root / "source" / a / f"{nb}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(notebook_json(cells, "", 0)), encoding="utf-8")

    with Gradebook(db_url, course_id=COURSE_ID) as gb:
        masters: dict[str, list[tuple[str, str, list[tuple[str, Cell]]]]] = {}
        for i, a in enumerate(names):
            gb.add_assignment(a, duedate=DUE + timedelta(days=14 * i))
            for nb, cells in NOTEBOOKS.items():
                gb.add_notebook(nb, a)
                for c in cells:
                    if c.kind == "auto":
                        gb.add_grade_cell(c.name, nb, a, max_score=c.points, cell_type="code")
                    elif c.kind == "manual":
                        gb.add_grade_cell(c.name, nb, a, max_score=c.points, cell_type="markdown")
                        gb.add_solution_cell(c.name, nb, a)
                    elif c.kind == "task":
                        gb.add_task_cell(c.name, nb, a, max_score=c.points, cell_type="markdown")
                    else:
                        gb.add_solution_cell(c.name, nb, a)
        for assignment in gb.assignments:
            for nb in assignment.notebooks:
                spec = {c.name: c for c in NOTEBOOKS[nb.name]}
                graded = [(cell.id, spec[cell.name]) for cell in (*nb.grade_cells, *nb.task_cells)]
                # a written answer is a grade cell and a solution cell (two rows): comments go to the latter
                commented = [(cell.id, Cell(cell.name, "solution")) for cell in nb.solution_cells]
                masters.setdefault(assignment.name, []).append((assignment.id, nb.id, graded + commented))

        rows: dict[type, list[dict]] = {Student: [], SubmittedAssignment: [], SubmittedNotebook: [], Grade: [],
                                        Comment: []}  # fmt: skip
        on_disk: list[tuple[str, str, datetime, bool]] = []  # (learner, assignment, timestamp, autograded folder)
        for k, username in enumerate(people):
            if k % 97 != 5:  # a few learners are only folders in submitted/: nbgrader knows no name for them
                rows[Student].append({"id": username, "first_name": GIVEN[k % len(GIVEN)],
                                      "last_name": FAMILY[k % len(FAMILY)] if k % 13 else None, "email": None,
                                      "lms_user_id": None})  # fmt: skip
        current_takers = people[:submissions]
        for i, a in enumerate(names):
            takers = current_takers if a == current else people
            due = DUE + timedelta(days=14 * i)
            for k, username in enumerate(takers):
                if k % 97 == 5:  # no gradebook record: collected, never graded
                    on_disk.append((username, a, due - timedelta(hours=1), False))
                    continue
                if a == current and k % 41 == 7:  # collected, not autograded yet
                    on_disk.append((username, a, due - timedelta(hours=2), False))
                    continue
                late = rng.random() < 0.15
                moment = due + timedelta(hours=rng.randint(1, 48) * (1 if late else -1), microseconds=k)
                sub_id = uuid.uuid4().hex
                rows[SubmittedAssignment].append({"id": sub_id, "assignment_id": masters[a][0][0],
                                                  "student_id": username, "timestamp": moment})  # fmt: skip
                # a graded learner whose autograded folder was removed: the formgrader shows it as not graded
                on_disk.append((username, a, moment, not (a == current and k % 53 == 11)))
                if a == current:
                    world.submitted.append(username)
                for n, (_, nb_id, cells) in enumerate(masters[a]):
                    if a == current and n == 1 and k % 29 == 3:
                        continue  # a notebook not submitted (renamed by the learner)
                    sn_id = uuid.uuid4().hex
                    rows[SubmittedNotebook].append({"id": sn_id, "assignment_id": sub_id, "notebook_id": nb_id,
                                                    "flagged": k % 17 == 2 or rng.random() < 0.02,
                                                    "late_submission_penalty": 1.0 if late else None})  # fmt: skip
                    for cell_id, c in cells:
                        if c.kind == "solution":
                            rows[Comment].append({"id": uuid.uuid4().hex, "cell_id": cell_id, "notebook_id": sn_id,
                                                  "auto_comment": "Không có nhận xét" if rng.random() < 0.5 else None,
                                                  "manual_comment": "Tốt" if rng.random() < 0.2 else None})  # fmt: skip
                            continue
                        auto = manual = extra = None
                        pending = False
                        if c.kind == "auto":
                            auto = rng.randint(0, int(c.points * 2)) / 2  # below max: a failed test
                            if rng.random() < 0.05:
                                manual = rng.randint(0, int(c.points * 2)) / 2
                        else:
                            pending = rng.random() < 0.2
                            manual = None if pending else rng.randint(0, int(c.points * 2)) / 2
                        if rng.random() < 0.03:
                            extra = 0.5
                        rows[Grade].append({"id": uuid.uuid4().hex, "cell_id": cell_id, "notebook_id": sn_id,
                                            "auto_score": auto, "manual_score": manual, "extra_credit": extra,
                                            "needs_manual_grade": pending})  # fmt: skip
        db = gb.db
        for table, values in rows.items():
            for start in range(0, len(values), 20000):
                db.execute(insert(table.__table__), values[start : start + 20000])
        db.commit()
        world.submission_ids = sorted(
            sn.id for sn in gb.notebook_submissions(next(iter(NOTEBOOKS)), current)
            if sn.student.id in world.submitted
        )  # fmt: skip
    if log:
        log(f"gradebook: {len(rows[Student])} learners, {len(rows[SubmittedAssignment])} submissions, "
            f"{len(rows[Grade])} grades, {len(rows[Comment])} comments")  # fmt: skip

    texts = {nb: json.dumps(notebook_json(cells, "học viên", filler_cells), ensure_ascii=False)
             for nb, cells in NOTEBOOKS.items()}  # fmt: skip
    for username, a, moment, autograded in on_disk:
        folder = root / "submitted" / username / a
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "timestamp.txt").write_text(_timestamp(moment), encoding="utf-8")
        if not autograded:
            continue
        graded = root / "autograded" / username / a
        graded.mkdir(parents=True, exist_ok=True)
        (graded / "timestamp.txt").write_text(_timestamp(moment), encoding="utf-8")
        if a == current:  # the past assignments' notebooks are not opened by any page measured
            for nb, text in texts.items():
                (graded / f"{nb}.ipynb").write_text(text, encoding="utf-8")
    return world


def nbgrader_config(world: World, exchange_root: Path) -> str:
    """The formgrader's nbgrader_config.py for `world`: nbgrader's own file exchange in `exchange_root`
    (stock and ours alike: the hub exchange needs a running hub)."""
    return "\n".join([
        "c = get_config()  # noqa: F821",
        f"c.CourseDirectory.root = {str(world.root)!r}",
        f"c.CourseDirectory.course_id = {COURSE_ID!r}",
        f"c.CourseDirectory.db_url = {world.db_url!r}",
        f"c.Exchange.root = {str(exchange_root)!r}",
        "c.Exchange.path_includes_course = True",
        "",
    ])  # fmt: skip
