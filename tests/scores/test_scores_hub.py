"""Through a real hub: the instructor's progress page shows, for each learner, the score nbgrader's API gives,
on the gradebook nbgrader made when demo mode generated the course's first assignment (its real cells), with
a task cell, manual overrides, extra credit, a waiting answer and a late penalty added by nbgrader's API."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from support.hub import Hub, HubSession

from graders.coursedir import course_dir

COURSE = "phan-tich-du-lieu"
ASSIGNMENT = "01-python-co-ban"  # released by demo mode
LEARNERS = ("hocvien1", "hocvien2", "hocvien3")


@pytest.fixture(scope="module")
def graded(demo_hub: Hub) -> dict[str, dict]:
    """Grades for the demo learners, written with nbgrader's Gradebook API; returns what nbgrader says."""
    from nbgrader.api import Gradebook

    url = f"sqlite:///{course_dir(demo_hub.data_dir, COURSE) / 'gradebook.db'}"
    with Gradebook(url, course_id=COURSE) as gb:
        notebook = gb.find_assignment(ASSIGNMENT).notebooks[0]
        gb.add_task_cell("nhiem-vu-them", notebook.name, ASSIGNMENT, max_score=3, cell_type="markdown")
        for n, username in enumerate(LEARNERS):
            gb.update_or_create_student(username)
            sub = gb.add_submission(ASSIGNMENT, username, timestamp=datetime(2026, 6, 1, 9, n))
            [nb] = sub.notebooks
            autos = [g for g in nb.grades if g.cell_type == "code"]
            manuals = [g for g in nb.grades if g.cell_type == "markdown" and g.name != "nhiem-vu-them"]
            task = next(g for g in nb.grades if g.name == "nhiem-vu-them")
            assert autos and manuals  # the course's notebook has autograded tests and written answers
            for g in nb.grades:
                g.auto_score, g.needs_manual_grade = (g.max_score, False) if g in autos else (None, True)
            if username == "hocvien1":  # everything graded; one test overridden; extra credit on an answer
                autos[0].manual_score = autos[0].max_score / 2
                for g in [*manuals, task]:
                    g.manual_score, g.needs_manual_grade = g.max_score, False
                manuals[0].extra_credit = 1.5
            elif username == "hocvien2":  # the written answers still wait; the task is graded
                task.manual_score, task.needs_manual_grade = 2, False
            else:  # a failed test, everything graded, late: nbgrader's late-penalty plug-in took 2 points
                autos[-1].auto_score = 0
                for g in [*manuals, task]:
                    g.manual_score, g.needs_manual_grade = 1, False
                nb.late_submission_penalty = 2.0
            gb.db.commit()
        truth = {}
        for username in LEARNERS:
            sub = gb.find_submission(ASSIGNMENT, username)
            truth[username] = {"score": max(0.0, sub.score - sub.late_submission_penalty), "max": sub.max_score,
                               "pending": bool(sub.needs_manual_grade), "raw": sub.score}  # fmt: skip
    return truth


def test_progress_page_shows_nbgrader_numbers(demo_hub: Hub, graded: dict[str, dict]) -> None:
    instructor = HubSession(demo_hub.url)
    assert instructor.login("giangvien", demo_hub.accounts["giangvien"]).status_code == 200
    page = instructor.http.get(f"{demo_hub.url}/services/portal/courses/{COURSE}", timeout=120)
    assert page.status_code == 200, page.text
    for username, t in graded.items():
        row = re.search(rf'<span class="en">{username}</span></td>(.*?)</tr>', page.text, re.S)
        assert row is not None, username
        shown = re.search(r'<span class="ok score">([^<]*)</span>', row.group(1))
        assert shown is not None and shown.group(1) == f"{t['score']:g}/{t['max']:g}", (username, row.group(1))
        assert ("chưa chấm xong" in row.group(1)) is t["pending"], username
    # the cases are really different: override + extra credit, waiting answers, a late penalty
    assert graded["hocvien2"]["pending"] and not graded["hocvien1"]["pending"]
    assert graded["hocvien3"]["raw"] - graded["hocvien3"]["score"] == 2.0
