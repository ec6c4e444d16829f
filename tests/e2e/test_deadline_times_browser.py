"""A 17:00 deadline typed in the portal is 17:00 Vietnam time everywhere: stored, shown, and measured against.

A real hub (demo, local spawner), the instructor and learners in a real Chromium, the real exchange service,
stock nbgrader (collect, autograde) with the course's late-penalty plug-in. One thing is not real: the
submissions' clock. The exchange stamps each submission with the server's time, and waiting for 16:59 and
17:01 on some day is not a test; so a second exchange app runs in this process on the hub's database, with
the store's `clock` set to those minutes. Everything else it does (hub tokens, access rules, archive checks,
storage) is the service's own code.
"""

from __future__ import annotations

import io
import os
import re
import sqlite3
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from nbgrader.api import Gradebook
from support.browser import browser_login
from support.hub import Hub, exchange_token, exchange_url
from support.hub_stubs import serve

from graders.coursedir import ensure_course_dir
from graders.curriculum import load_course
from graders.timeutil import school_wall_time

REPO = Path(__file__).resolve().parents[2]
COURSE = "phan-tich-du-lieu"
ASSIGNMENT = "01-python-co-ban"
NOTEBOOK = "python-co-ban.ipynb"
TYPICAL = REPO / "courses" / COURSE / "test-submissions" / ASSIGNMENT / "typical" / NOTEBOOK
VENV_BIN = str(Path(sys.executable).parent)
TYPED = "2026-12-20T17:00"  # what the instructor types, in Vietnam time
SHOWN = "20/12/2026 17:00 (UTC+7)"
DUE_UTC = datetime(2026, 12, 20, 10, 0)  # naive UTC, as nbgrader's gradebook keeps it
# learner -> the Vietnam minute the server's clock says when they submit, and how late that is
SUBMITTED = {"hocvien1": ("2026-12-20T16:59", 0), "hocvien2": ("2026-12-20T17:01", 60),
             "hocvien3": ("2026-12-20T18:00", 3600)}  # fmt: skip
FULL_NAMES = {"hocvien1": "Nguyễn Văn An", "hocvien2": "Lê Thị Bích Ngọc", "hocvien3": "Phạm Đức Thắng"}


def api(base: str, token: str, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, base + "api/" + path, headers={"Authorization": f"token {token}"}, timeout=60,
                            **kwargs)  # fmt: skip


def submission_archive() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        content = TYPICAL.read_bytes()
        info = tarfile.TarInfo(NOTEBOOK)
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def nbgrader(cwd: Path, token: str, hub: Hub, *args: str) -> str:
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", "HOME": str(cwd),
           "TRUONGSO_EXCHANGE_URL": exchange_url(hub), "JUPYTERHUB_API_TOKEN": token}  # fmt: skip
    done = subprocess.run([f"{VENV_BIN}/nbgrader", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def clocked_exchange(demo_hub: Hub) -> Iterator[tuple[str, object]]:
    """The exchange app in this process on the hub's database, its store's clock in the test's hands."""
    from tornado.httpserver import HTTPServer

    from hub.services.exchange.app import ExchangeApp
    from hub.settings import HubSettings

    run = demo_hub.settings()
    api_url = f"http://{run['hub_ip']}:{run['hub_port']}{run['base_url']}hub/api"
    # the CLI service's token (admin:users) reads users' groups and roles as the exchange's own token does
    service_token = (demo_hub.data_dir / "secrets" / "truongso_api_token").read_text().strip()
    app = ExchangeApp(HubSettings.from_run_file(demo_hub.data_dir), api_url, service_token)
    app.hub_auth.access_scopes = {"access:services!service=exchange"}  # what the service itself requires
    with serve(lambda: HTTPServer(app.web_app("/services/exchange/"))) as port:
        yield f"http://127.0.0.1:{port}/services/exchange/", app
    app.directory.dispose()


@pytest.fixture(scope="module")
def deadline_typed(demo_hub: Hub, browser) -> None:
    """The instructor types 17:00 in the portal's form, in a browser whose own zone is not Vietnam's."""
    context = browser.new_context(locale="vi-VN", timezone_id="Europe/Paris")
    page = context.new_page()
    browser_login(page, demo_hub, "giangvien")
    page.wait_for_url(re.compile(r".*/hub/.*|.*/user/.*|.*/services/portal/.*"), timeout=60_000)
    page.goto(f"{demo_hub.url}/services/portal/courses/{COURSE}")
    form = page.locator(f"#a-{ASSIGNMENT} form", has=page.locator('input[name="class_name"][value="DEMO"]'))
    form.locator('input[name="due"]').fill(TYPED)
    with page.expect_navigation():
        form.get_by_role("button").click()
    assert f"/services/portal/courses/{COURSE}?saved=DEMO&assignment={ASSIGNMENT}" in page.url
    # the success message, in Vietnam time although the browser's own zone is Paris
    assert "Đã lưu hạn nộp bài" in page.locator(".message").inner_text() and "17:00 (UTC+7)" in page.content()
    context.close()


def portal_page(browser, hub: Hub, username: str, path: str = "") -> object:
    page = browser.new_context(locale="vi-VN", timezone_id="UTC").new_page()
    browser_login(page, hub, username)
    page.wait_for_url(re.compile(r".*/hub/.*|.*/user/.*|.*/services/portal/.*"), timeout=60_000)
    page.goto(f"{hub.url}/services/portal/{path}")
    return page


def test_deadline_typed_at_17_is_stored_as_10_utc_and_shown_as_17(demo_hub: Hub, browser, deadline_typed) -> None:
    with sqlite3.connect(demo_hub.data_dir / "truongso.sqlite") as db:
        stored = db.execute(
            "SELECT due_at FROM exchange_deadlines WHERE course_id = ? AND assignment_id = ? AND class_name = 'DEMO'",
            (COURSE, ASSIGNMENT),
        ).fetchone()
    assert stored == ("2026-12-20 10:00:00.000000",)  # UTC in the database
    learner_token = exchange_token(demo_hub, "hocvien1")
    listed = api(exchange_url(demo_hub), learner_token, "GET", f"courses/{COURSE}/assignments").json()
    assert next(a for a in listed if a["assignment_id"] == ASSIGNMENT)["due"] == "2026-12-20T10:00:00+00:00"

    instructor = portal_page(browser, demo_hub, "giangvien", f"courses/{COURSE}")
    heading = instructor.locator(f"#a-{ASSIGNMENT} h3", has_text="DEMO")
    assert heading.locator(".due").inner_text().strip() == SHOWN
    instructor.context.close()
    learner = portal_page(browser, demo_hub, "hocvien1")
    row = learner.locator(f"#learn-{COURSE} tr", has_text="Python cơ bản")
    assert SHOWN in row.inner_text()
    learner.context.close()


def test_api_deadline_without_a_zone_is_refused(demo_hub: Hub, deadline_typed) -> None:
    token = exchange_token(demo_hub, "giangvien")
    path = f"courses/{COURSE}/assignments/{ASSIGNMENT}/deadlines/DEMO"
    refused = api(exchange_url(demo_hub), token, "PUT", path, json={"due": "2026-12-20T17:00"})
    assert refused.status_code == 400
    assert "no time zone" in refused.json()["en"] and "múi giờ" in refused.json()["vi"]
    moved = api(exchange_url(demo_hub), token, "PUT", path, json={"due": "2026-12-20T17:00:00+07:00"})
    assert moved.status_code == 200
    assert datetime.fromisoformat(moved.json()["due"]) == DUE_UTC.replace(tzinfo=UTC)  # the same moment


@pytest.fixture(scope="module")
def submitted(demo_hub: Hub, deadline_typed, clocked_exchange) -> dict[str, dict]:
    url, app = clocked_exchange
    results = {}
    for learner, (minute, _) in SUBMITTED.items():
        app.store.clock = lambda minute=minute: school_wall_time(minute)
        response = api(url, exchange_token(demo_hub, learner), "POST",
                       f"courses/{COURSE}/assignments/{ASSIGNMENT}/submissions", data=submission_archive())  # fmt: skip
        assert response.status_code == 201, response.text
        results[learner] = response.json()
    return results


def test_exchange_16_59_is_on_time_17_01_is_late(demo_hub: Hub, submitted: dict[str, dict]) -> None:
    assert {k: v["seconds_late"] for k, v in submitted.items()} == {k: late for k, (_, late) in SUBMITTED.items()}
    assert [submitted[k]["late"] for k in SUBMITTED] == [False, True, True]
    # what the real service tells the instructor, read back from the database
    records = api(exchange_url(demo_hub), exchange_token(demo_hub, "giangvien"), "GET",
                  f"courses/{COURSE}/assignments/{ASSIGNMENT}/submissions", params={"latest": "1"}).json()  # fmt: skip
    assert {r["student"]: (r["seconds_late"], r["due"]) for r in records} == {
        k: (late, "2026-12-20T10:00:00+00:00") for k, (_, late) in SUBMITTED.items()
    }
    assert records[0]["timestamp"].endswith(" UTC")


def test_portal_shows_late_and_on_time_in_vietnam_time(demo_hub: Hub, browser, submitted) -> None:
    instructor = portal_page(browser, demo_hub, "giangvien", f"courses/{COURSE}")
    table = instructor.locator("#class-DEMO")
    cells = {
        name: table.locator("tr", has_text=full).locator("td").nth(1).get_attribute("class")
        for name, full in FULL_NAMES.items()
    }
    assert cells == {"hocvien1": "cell-submitted", "hocvien2": "cell-late", "hocvien3": "cell-late"}
    instructor.context.close()
    for learner, (minute, late) in SUBMITTED.items():
        page = portal_page(browser, demo_hub, learner)
        row = page.locator(f"#learn-{COURSE} tr", has_text="Python cơ bản").inner_text()
        shown_minute = datetime.fromisoformat(minute).strftime("%d/%m/%Y %H:%M")
        assert f"{shown_minute} (UTC+7)" in row and SHOWN in row
        assert ("muộn" in row) == bool(late), row
        page.context.close()


def test_gradebook_lateness_and_late_penalty_after_collect(
    demo_hub: Hub, submitted, tmp_path_factory: pytest.TempPathFactory
) -> None:
    course = load_course(REPO / "courses" / COURSE)
    course_dir = ensure_course_dir(tmp_path_factory.mktemp("deadline") / "course", course)
    instructor = exchange_token(demo_hub, "giangvien")
    nbgrader(course_dir, instructor, demo_hub, "generate_assignment", ASSIGNMENT, "--force")
    nbgrader(course_dir, instructor, demo_hub, "collect", ASSIGNMENT)
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}", COURSE) as gb:
        assert gb.find_assignment(ASSIGNMENT).duedate == DUE_UTC
        for learner in SUBMITTED:  # the class deadline as nbgrader's due date plus extension
            assert gb.find_submission(ASSIGNMENT, learner).duedate == DUE_UTC
    for learner, (minute, _) in SUBMITTED.items():
        stamp = (course_dir / "submitted" / learner / ASSIGNMENT / "timestamp.txt").read_text()
        assert stamp == school_wall_time(minute).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    nbgrader(course_dir, instructor, demo_hub, "autograde", ASSIGNMENT)
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}", COURSE) as gb:
        for learner, (_, late) in SUBMITTED.items():
            submission = gb.find_submission(ASSIGNMENT, learner)
            assert submission.total_seconds_late == late, learner
            assert submission.score > 0
            expected = course.late_policy.penalty_points(late, submission.score)
            assert submission.late_submission_penalty == pytest.approx(expected), learner
        one_hour = gb.find_submission(ASSIGNMENT, "hocvien3")
        # course.yaml: 10 % of the earned score per started day late
        assert course.late_policy.percent_per_day == 10
        assert one_hour.late_submission_penalty == pytest.approx(0.10 * one_hour.score)
        assert gb.find_submission(ASSIGNMENT, "hocvien1").late_submission_penalty == 0
