"""The instructor dashboard in this process: the portal's tornado app as app.py builds it, the hub's answers
stubbed (support.hub_stubs), a real nbgrader gradebook (support.gradebooks) and the exchange's own records.

Every figure on the page and in the export is checked against a count made here independently, straight
from the database rows (sqlite3) and nbgrader's own Gradebook API; learners and instructors of other classes
are kept out; hostile paths answer 404, never 500; every action needs the session's XSRF token.
"""

from __future__ import annotations

import html
import io
import json
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from support.gradebooks import Sub, make_gradebook
from support.hub_stubs import FakeHub, add_class, add_people
from support.portal_server import PREFIX, SCOPE, PortalClient, fake_grade, running_portal, utf8

from hub.directory.db import Directory

COURSE, A1, A2 = "phan-tich-du-lieu", "01-python-co-ban", "02-lam-sach-du-lieu"
OTHER_COURSE = "ky-nang-so"
K01, K02, KNS = "PTDL-K01", "PTDL-K02", "KNS-K01"
K01_PEOPLE = {"an": "Nguyễn Văn An", "binh": "Trần Thị Bình", "em": "Lê Văn Em", "gia": "=HYPERLINK(1) Giá"}
K02_PEOPLE = {"chi": "Phạm Thị Chi", "hoa": "Đỗ Thị Hoa"}
DUE_K01 = datetime(2026, 12, 20, 10, 0, tzinfo=UTC)
DUE_K02 = datetime(2026, 12, 21, 10, 0, tzinfo=UTC)
DUE_A2 = datetime(2026, 12, 27, 10, 0, tzinfo=UTC)
# learner -> assignment -> (hours before (+) / after (-) their class's deadline) of each attempt
ATTEMPTS = {
    "an": {A1: [5, 2], A2: [1]},
    "binh": {A1: [-3]},  # late
    "em": {A1: [4, -1]},  # the latest attempt late
    "chi": {A1: [1]},
}
GRADES = {  # what the gradebook holds (fraction of the points; pending manual grading)
    "an": [Sub(A1, 0.85), Sub(A2, 0.3)],
    "binh": [Sub(A1, 0.5)],
    "em": [Sub(A1, 0.72, pending_manual=True)],
    "chi": [Sub(A1, 1.0)],
}


@dataclass
class Portal(PortalClient):
    timeout: float = 60

    @property
    def db(self) -> Path:
        return self.app.settings.data_path / "truongso.sqlite"

    @property
    def gradebook(self) -> Path:
        return self.app.settings.data_path / "courses" / COURSE / "gradebook.db"

    def post(self, who: str, path: str, xsrf: bool = True) -> requests.Response:
        if xsrf:
            return self.post_form(who, path, {}, xsrf_from=f"courses/{COURSE}")  # the course page has forms
        return utf8(self.browser(who).post(self.url + path, timeout=self.timeout, allow_redirects=False))


def submit_all(app: Any) -> None:
    from hub.coursework.store import SubmitPolicy

    dues = {K01: DUE_K01, K02: DUE_K02}
    for username, mine in ATTEMPTS.items():
        class_name = K01 if username in K01_PEOPLE else K02
        for assignment, hours in mine.items():
            due = dues[class_name] if assignment == A1 else DUE_A2
            for h in hours:
                app.store.submit(COURSE, assignment, username, class_name, b"work", ["bai.ipynb"], SubmitPolicy(),
                                 now=due - timedelta(hours=h))  # fmt: skip


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    from graders.curriculum import load_courses

    data_dir = tmp_path_factory.mktemp("dashboard") / "data"
    data_dir.mkdir(parents=True)
    db = data_dir / "truongso.sqlite"
    directory = Directory(f"sqlite:///{db}")
    directory.ensure_schema()
    add_class(directory, K01, COURSE, K01_PEOPLE, {"gv-mot": "Lê Giảng Một"})
    add_class(directory, K02, COURSE, K02_PEOPLE, {"gv-hai": "Vũ Giảng Hai"})
    add_class(directory, KNS, OTHER_COURSE, {"dung": "Hồ Văn Dũng"}, {"gv-kns": "Hồ Giảng Kns"})
    directory.dispose()
    hub = FakeHub()
    tokens = add_people(hub, SCOPE, (K01, K02, KNS))
    course = next(c for c in load_courses() if c.id == COURSE)
    make_gradebook(data_dir / "courses" / COURSE / "gradebook.db", course, GRADES, released=[A1, A2])
    with running_portal(data_dir, hub, tokens, grade=fake_grade, prepare=record_coursework, client=Portal) as portal:
        yield portal


def record_coursework(app: Any) -> None:
    """Releases, deadlines, every attempt of ATTEMPTS, feedback for an, and an autograde report flagging binh."""
    app.store.release(COURSE, A1, b"release", ["bai.ipynb"], "gv-mot", False, None)
    app.store.release(COURSE, A2, b"release", ["bai.ipynb"], "gv-mot", False, DUE_A2)
    app.store.set_deadline(COURSE, A1, K01, DUE_K01, "gv-mot")
    app.store.set_deadline(COURSE, A1, K02, DUE_K02, "gv-hai")
    submit_all(app)
    latest_an = app.store.submissions(COURSE, A1, student="an")[-1][0]
    app.store.put_feedback(latest_an.id, {"bai.html": b"<p>feedback</p>"}, "gv-mot")
    reports = app.settings.data_path / "courses" / COURSE / "autograde-reports"
    reports.mkdir(parents=True, exist_ok=True)
    flag = {"kind": "always_equal", "notebook": "bai", "cell": "cau-1", "detail": ""}
    (reports / f"{A1}.json").write_text(json.dumps({"submissions": {
        "binh": {"status": "graded", "score": 10, "max_score": 20, "findings": [flag]},
        "an": {"status": "graded", "score": 17, "max_score": 20, "findings": []},
    }}), encoding="utf-8")  # fmt: skip


# -- independent counts ------------------------------------------------------------------------------------


def learners_of(p: Portal, classes: list[str]) -> dict[str, str]:
    with sqlite3.connect(p.db) as c:
        marks = ",".join("?" * len(classes))
        rows = c.execute(f"SELECT e.username, p.full_name FROM enrolments e JOIN people p ON p.username = e.username "
                         f"WHERE e.role = 'learner' AND e.class_name IN ({marks})", classes).fetchall()  # fmt: skip
    return dict(rows)


def latest_attempts(p: Portal, assignment: str) -> dict[str, int]:
    """learner -> seconds late of their latest attempt."""
    with sqlite3.connect(p.db) as c:
        query = ("SELECT student, seconds_late, submitted_at FROM exchange_submissions "
                 "WHERE course_id = ? AND assignment_id = ? ORDER BY submitted_at")  # fmt: skip
        rows = c.execute(query, (COURSE, assignment))
        return {student: late for student, late, _ in rows}


def nbgrader_percents(p: Portal, assignment: str, learners: list[str]) -> dict[str, tuple[float, bool]]:
    from nbgrader.api import Gradebook, MissingEntry

    found = {}
    with Gradebook(f"sqlite:///{p.gradebook}", COURSE) as gb:
        for username in learners:
            try:
                sub = gb.find_submission(assignment, username)
            except MissingEntry:
                continue
            found[username] = (100.0 * sub.score / sub.max_score, sub.needs_manual_grade)
    return found


def section(page: str, assignment: str) -> str:
    start = page.index(f'id="a-{assignment}"')
    end = page.find('<section class="board"', start + 1)
    return page[start : end if end > 0 else len(page)]


def figure(part: str, name: str) -> int:
    return int(re.search(rf'class="{name}">(\d+)<', part).group(1))


def refused(r: requests.Response, status: int) -> None:
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert f"Lỗi {status}" in r.text and f"Error {status}" in r.text
    assert "Traceback" not in r.text


# -- tests -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "classes"), [("gv-mot", [K01]), ("gv-hai", [K02]), ("quantri", [K01, K02])])
def test_every_figure_equals_an_independent_count(portal: Portal, who: str, classes: list[str]) -> None:
    r = portal.get(who, f"courses/{COURSE}/dashboard")
    assert r.status_code == 200, r.text[:500]
    assert r.headers["Content-Security-Policy"].startswith("default-src 'self'") and "<script" not in r.text
    people = learners_of(portal, classes)
    for assignment in (A1, A2):
        part = section(r.text, assignment)
        latest = {u: late for u, late in latest_attempts(portal, assignment).items() if u in people}
        graded = nbgrader_percents(portal, assignment, list(people))
        assert figure(part, "n-learners") == len(people)
        assert figure(part, "n-submitted") == len(latest)
        assert figure(part, "n-late") == sum(1 for late in latest.values() if late > 0)
        assert figure(part, "n-missing") == len(people) - len(latest)
        assert figure(part, "n-graded") == len(graded)
        assert figure(part, "n-pending") == sum(1 for _, pending in graded.values() if pending)
        missing = sorted(re.findall(r'<li data-student="([^"]+)">', part.split('class="names not-submitted"')[1]
                                    .split("</ul>")[0])) if len(people) > len(latest) else []  # fmt: skip
        assert missing == sorted(set(people) - set(latest))
        bins = [int(n) for n in re.findall(r'<td class="bin">(\d+)</td>', part)]
        expected = [0] * 10
        for percent, _ in graded.values():
            expected[min(9, int(percent // 10))] += 1
        assert bins == expected, (assignment, bins, graded)
        assert part.count('<svg class="chart"') == 1 + len(classes)  # the histogram, a timeline per class
        assert "Điểm đạt / Pass mark" in part  # the course's completion rule: 70 %
    a1 = section(r.text, A1)
    assert figure(a1, "n-flagged") == (1 if K01 in classes else 0)  # binh's tampered checksum
    assert figure(a1, "n-feedback") == (1 if K01 in classes else 0)  # an's latest attempt
    if K01 in classes:  # em waits for manual grading: a deep link to the notebook in the formgrader
        assert re.search(rf'href="/services/{COURSE}/formgrader/submissions/[0-9a-f]{{32}}"', a1), a1


def test_the_home_page_leads_instructors_to_their_dashboards(portal: Portal) -> None:
    r = portal.get("gv-mot")
    assert r.status_code == 200
    assert f'href="{PREFIX}courses/{COURSE}/dashboard"' in r.text
    row = re.search(rf'data-class="{K01}">.*?class="n-learners">(\d+)<.*?class="n-submitted">(\d+)<', r.text, re.S)
    with sqlite3.connect(portal.db) as c:
        submitted = c.execute("SELECT COUNT(*) FROM (SELECT DISTINCT student, assignment_id FROM exchange_submissions "
                              "WHERE class_name = ?)", (K01,)).fetchone()[0]  # fmt: skip
    assert (int(row.group(1)), int(row.group(2))) == (len(K01_PEOPLE), submitted)
    assert K02 not in r.text  # not their class
    learner = portal.get("an")  # a learner's home is as it was: their course, no dashboard
    assert learner.status_code == 200 and "Phân tích dữ liệu với Python" in learner.text
    assert "/dashboard" not in learner.text and "Khoá học tôi dạy" not in learner.text


ROUTES = [f"courses/{COURSE}/dashboard", f"courses/{COURSE}/learners/an", f"courses/{COURSE}/grades.xlsx",
          f"courses/{COURSE}/grades.csv", f"courses/{COURSE}/feedback-jobs/0123456789abcdef"]  # fmt: skip
ACTIONS = [f"courses/{COURSE}/assignments/{A1}/collect", f"courses/{COURSE}/assignments/{A1}/feedback"]


@pytest.mark.parametrize("who", ["an", "chi", "khach", "gv-kns"])
def test_learners_and_other_courses_instructors_get_403_on_every_route(portal: Portal, who: str) -> None:
    for path in ROUTES:
        refused(portal.get(who, path), 403)
    for path in ACTIONS:  # with their API token (no XSRF needed): the rules refuse
        r = requests.post(portal.url + path, headers={"Authorization": f"token {portal.tokens[who]}"}, timeout=30,
                          allow_redirects=False)  # fmt: skip
        assert r.status_code == 403, (path, r.status_code)
    assert portal.app.jobs.running(COURSE, A1) is None


def test_an_instructor_of_another_class_does_not_see_this_ones_learners(portal: Portal) -> None:
    page = portal.get("gv-hai", f"courses/{COURSE}/dashboard").text
    for name in K01_PEOPLE.values():
        assert html.escape(name) not in page and name not in page
    for username in K01_PEOPLE:
        refused(portal.get("gv-hai", f"courses/{COURSE}/learners/{username}"), 404)
    exported = portal.get("gv-hai", f"courses/{COURSE}/grades.csv").content.decode("utf-8-sig")
    assert "Phạm Thị Chi" in exported and not any(name in exported for name in K01_PEOPLE.values())
    assert portal.get("gv-mot", f"courses/{COURSE}/learners/chi").status_code == 404
    assert portal.get("quantri", f"courses/{COURSE}/learners/chi").status_code == 200


def test_actions_without_the_xsrf_token_are_refused(portal: Portal) -> None:
    for path in ACTIONS:
        refused(portal.post("gv-mot", path, xsrf=False), 403)
    assert portal.app.jobs.running(COURSE, A1) is None
    from hub.services.portal.dashboard import feedback_jobs

    assert feedback_jobs(portal.app).latest(COURSE, A1) is None


@pytest.mark.parametrize(
    "path",
    [
        "courses/..%2F..%2Fetc/dashboard",
        f"courses/{'x' * 10_000}/dashboard",
        "courses/khong-co/grades.xlsx",
        f"courses/{COURSE}/learners/khong-co",
        f"courses/{COURSE}/learners/..%2Fan",
        f"courses/{COURSE}/learners/{'a' * 10_000}",
        f"courses/{COURSE}/learners/dung",  # a learner of the other course
        f"courses/{COURSE}/feedback-jobs/0123456789abcdef",
    ],
)
def test_hostile_paths_are_404(portal: Portal, path: str) -> None:
    refused(portal.get("gv-mot", path), 404)


def test_actions_on_unknown_assignments_are_404(portal: Portal) -> None:
    for assignment in ("khong-co", "..%2F..%2Fetc", "z" * 10_000):
        for action in ("collect", "feedback"):
            refused(portal.post("gv-mot", f"courses/{COURSE}/assignments/{assignment}/{action}"), 404)


def test_the_grades_export_opens_and_matches(portal: Portal) -> None:
    from openpyxl import load_workbook

    r = portal.get("gv-mot", f"courses/{COURSE}/grades.xlsx")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[1][0] == "Truy vấn / Query" and f"course={COURSE}" in rows[1][1] and K01 in rows[1][1]
    assert K02 not in rows[1][1]
    generated = datetime.strptime(rows[2][1], "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - generated).total_seconds()) < 600
    header = rows[4]
    assert header[:3] == ["Họ và tên / Full name", "Tên đăng nhập / Username", "Lớp / Class"]
    body = {row[1]: row for row in rows[5:] if row[1]}
    assert set(body) == set(K01_PEOPLE)
    for assignment in (A1, A2):
        column = header.index(f"{assignment} %")
        expected = nbgrader_percents(portal, assignment, list(K01_PEOPLE))
        for username, row in body.items():
            if username in expected:
                assert row[column] == pytest.approx(expected[username][0], abs=0.05)
            else:
                assert row[column] in (None, "")
    assert body["gia"][0] == "'=HYPERLINK(1) Giá"  # a formula stays text
    assert body["an"][0] == "Nguyễn Văn An"
    csv_bytes = portal.get("gv-mot", f"courses/{COURSE}/grades.csv").content
    assert csv_bytes.startswith(b"\xef\xbb\xbf") and "Nguyễn Văn An".encode() in csv_bytes
    assert "'=HYPERLINK(1) Giá".encode() in csv_bytes


def test_the_drill_down_shows_attempts_scores_feedback_and_findings(portal: Portal) -> None:
    r = portal.get("gv-mot", f"courses/{COURSE}/learners/an")
    assert r.status_code == 200
    row = r.text.split(f'data-assignment="{A1}"')[1].split("</tr>")[0]
    assert row.count('<li class="attempt') == len(ATTEMPTS["an"][A1]) and "late-attempt" not in row
    assert "17/20" in row and "feedback-released" in row
    binh = portal.get("gv-mot", f"courses/{COURSE}/learners/binh").text.split(f'data-assignment="{A1}"')[1]
    binh = binh.split("</tr>")[0]
    assert "late-attempt" in binh and 'class="tamper"' in binh and "10/20" in binh
    em = portal.get("gv-mot", f"courses/{COURSE}/learners/em").text.split(f'data-assignment="{A1}"')[1]
    assert "chờ chấm tay" in em.split("</tr>")[0]
    assert re.search(rf'href="/services/{COURSE}/formgrader/submissions/[0-9a-f]{{32}}"', em.split("</tr>")[0])
    assert em.split("</tr>")[0].count("late-attempt") == 1  # the second attempt


def test_collect_then_grade_collects_each_learner_and_survives_a_broken_archive(portal: Portal) -> None:
    from graders.exchange.archive import pack_directory
    from hub.coursework.store import SubmitPolicy

    work = portal.app.course_dir(COURSE) / "work-an"
    work.mkdir(parents=True)
    notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (work / "bai.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    good = portal.app.store.submit(COURSE, A2, "an", K01, pack_directory(work), ["bai.ipynb"], SubmitPolicy(),
                                   now=DUE_A2 - timedelta(minutes=5))  # fmt: skip
    portal.app.store.submit(COURSE, A2, "binh", K01, b"not an archive", ["bai.ipynb"], SubmitPolicy(),
                            now=DUE_A2 - timedelta(minutes=4))  # fmt: skip
    r = portal.post("gv-mot", f"courses/{COURSE}/assignments/{A2}/collect")
    assert r.status_code == 302 and "/jobs/" in r.headers["Location"], (r.status_code, r.text[:300])
    root = portal.app.course_dir(COURSE)
    assert (root / "submitted" / "an" / A2 / "timestamp.txt").read_text() == good.timestamp
    assert json.loads((root / "submitted" / "an" / A2 / "bai.ipynb").read_text()) == notebook
    assert not (root / "submitted" / "binh" / A2).exists()
    assert not (root / "submitted" / "chi").exists()  # not a learner of gv-mot's class
    for _ in range(100):
        if portal.app.jobs.running(COURSE, A2) is None:
            break
        time.sleep(0.05)
    page = portal.get("gv-mot", f"courses/{COURSE}/dashboard").text
    result = section(page, A2).split('class="collect-result"')[1].split("</p>")[0]
    assert "1 bài mới" in result and "binh" in result
    again = portal.post("gv-mot", f"courses/{COURSE}/assignments/{A2}/collect")  # nothing new: unchanged
    assert again.status_code == 302
    result = section(portal.get("gv-mot", f"courses/{COURSE}/dashboard").text, A2).split('class="collect-result"')[1]
    assert "0 bài mới" in result.split("</p>")[0] and "1 không đổi" in result.split("</p>")[0]


def test_feedback_is_released_to_the_submission_it_was_made_from(portal: Portal) -> None:
    from hub.services.portal.dashboard import feedback_jobs

    latest = portal.app.store.submissions(COURSE, A1, student="chi")[-1][0]
    folder = portal.app.course_dir(COURSE) / "feedback" / "chi" / A1
    folder.mkdir(parents=True)
    (folder / "bai.html").write_text("<p>Tốt lắm</p>", encoding="utf-8")
    (folder / "timestamp.txt").write_text(latest.timestamp, encoding="utf-8")
    stale = portal.app.course_dir(COURSE) / "feedback" / "an" / A1  # made from an attempt that is not stored
    stale.mkdir(parents=True)
    (stale / "bai.html").write_text("<p>cũ</p>", encoding="utf-8")
    (stale / "timestamp.txt").write_text("2020-01-01 00:00:00.000000 UTC", encoding="utf-8")
    r = portal.post("gv-hai", f"courses/{COURSE}/assignments/{A1}/feedback")
    assert r.status_code == 302 and "/feedback-jobs/" in r.headers["Location"]
    job_id = r.headers["Location"].rsplit("/", 1)[-1]
    job = feedback_jobs(portal.app).get(job_id)
    for _ in range(200):
        if job.state != "running":
            break
        time.sleep(0.05)
    assert (job.state, job.released, job.skipped) == ("done", 1, []), job  # gv-hai: chi only, not an
    assert portal.app.store.submissions(COURSE, A1, student="chi")[-1][1] == ["bai"]
    shown = portal.get("gv-hai", f"courses/{COURSE}/feedback-jobs/{job_id}")
    assert shown.status_code == 200 and "1 released" in shown.text
    refused(portal.get("gv-mot", f"courses/ky-nang-so/feedback-jobs/{job_id}"), 403)
    by_admin = portal.post("quantri", f"courses/{COURSE}/assignments/{A1}/feedback")
    admin_job = feedback_jobs(portal.app).get(by_admin.headers["Location"].rsplit("/", 1)[-1])
    for _ in range(200):
        if admin_job.state != "running":
            break
        time.sleep(0.05)
    assert admin_job.skipped == ["an"]  # its feedback matches no stored attempt: named, not released


def test_feedback_is_generated_by_nbgrader_from_the_autograded_notebook(portal: Portal) -> None:
    from hub.services.portal.grading_loop import generate_feedback

    stamp = portal.app.store.submissions(COURSE, A1, student="chi")[-1][0].timestamp
    folder = portal.app.course_dir(COURSE) / "autograded" / "chi" / A1
    folder.mkdir(parents=True)
    meta = {"grade": True, "grade_id": "cau-1", "points": 20, "solution": False, "locked": False, "schema_version": 3}
    cell = {"cell_type": "code", "execution_count": 1, "id": "cau-1", "metadata": {"nbgrader": meta},
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "<script>alert(1)</script>"}],
            "source": "assert 1 + 1 == 2"}  # fmt: skip
    notebook = {"cells": [cell], "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
                "nbformat": 4, "nbformat_minor": 5}  # fmt: skip
    (folder / "bai-lam.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    (folder / "timestamp.txt").write_text(stamp, encoding="utf-8")
    assert generate_feedback(portal.app, COURSE, A1, ["chi", "hoa"]) == 1  # hoa has nothing autograded
    page = (portal.app.course_dir(COURSE) / "feedback" / "chi" / A1 / "bai-lam.html").read_text(encoding="utf-8")
    assert "Điểm: 20.0 / 20.0" in page and "<script>alert(1)</script>" not in page  # our template (graders/feedback)
    assert (portal.app.course_dir(COURSE) / "feedback" / "chi" / A1 / "timestamp.txt").read_text() == stamp


def test_one_class_of_the_callers_at_a_time(portal: Portal) -> None:
    r = portal.get("quantri", f"courses/{COURSE}/dashboard?class={K02}")
    assert r.status_code == 200
    part = section(r.text, A1)
    assert figure(part, "n-learners") == len(K02_PEOPLE) and figure(part, "n-submitted") == 1
    assert part.count('<svg class="chart"') == 2 and "Nguyễn Văn An" not in r.text
    refused(portal.get("gv-mot", f"courses/{COURSE}/dashboard?class={K02}"), 404)  # not one of theirs
    refused(portal.get("gv-mot", f"courses/{COURSE}/dashboard?class={'k' * 10_000}"), 404)


def test_many_classes_share_one_timeline(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.services.portal import dashboard, dashboard_views

    monkeypatch.setattr(dashboard_views, "MAX_CLASS_TIMELINES", 1)
    monkeypatch.setattr(dashboard, "NAMES_SHOWN", 1)
    page = portal.get("quantri", f"courses/{COURSE}/dashboard").text
    part = section(page, A1)
    assert part.count('<svg class="chart"') == 2 and "mọi lớp / every class" in part
    assert 'class="learner-link"' not in page and page.count('class="class-link"') == 2  # a link per class
    listed = part.split('class="names not-submitted"')[1].split("</ul>")[0]
    assert listed.count("<li data-student=") == 1 and figure(part, "n-missing") == 2
    assert "… và 1 người khác" in part and "and 1 more" in part


def test_a_failed_feedback_job_says_why_without_server_paths(portal: Portal) -> None:
    from hub.services.portal.grading_loop import FeedbackJobs

    def boom(app: Any, *args: Any) -> tuple[int, int, list]:
        raise PermissionError(f"[Errno 13] Permission denied: '{app.course_dir(COURSE)}/feedback/chi'")

    job = FeedbackJobs(boom).start(portal.app, COURSE, A1, ["chi"], "gv-hai")
    for _ in range(200):
        if job.state != "running":
            break
        time.sleep(0.02)
    assert job.state == "failed" and "Permission denied" in job.message.en and "Không tạo được" in job.message.vi
    assert str(portal.app.settings.data_path) not in str(job.message) and "DATA_DIR" in job.message.en
