"""In Chromium against a demo hub from `truongso up`: the instructor logs in and lands on the portal, opens
the course's dashboard with its charts, and walks the grading loop from there — collect and autograde (the
sandboxes need the grader image; without Docker the job says why it failed), then generate and release
feedback — and opens a learner's drill-down. Screenshots go to test-artifacts/."""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path

import requests
from support.browser import ARTIFACTS, browser_login
from support.hub import Hub, exchange_token, exchange_url

REPO = Path(__file__).resolve().parents[2]
COURSE = "phan-tich-du-lieu"
ASSIGNMENT = "01-python-co-ban"
NOTEBOOK = "python-co-ban.ipynb"
TYPICAL = REPO / "courses" / COURSE / "test-submissions" / ASSIGNMENT / "typical" / NOTEBOOK


def submit(hub: Hub, learner: str) -> dict:
    """What the learner's Submit button sends: the notebook as an archive, with their own token."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        content = TYPICAL.read_bytes()
        info = tarfile.TarInfo(NOTEBOOK)
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    url = f"{exchange_url(hub)}api/courses/{COURSE}/assignments/{ASSIGNMENT}/submissions"
    answer = requests.post(url, data=buffer.getvalue(), timeout=60,
                           headers={"Authorization": f"token {exchange_token(hub, learner)}"})  # fmt: skip
    assert answer.status_code == 201, answer.text
    return answer.json()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def test_instructor_runs_the_grading_loop_from_the_dashboard(demo_hub: Hub, page) -> None:
    submitted = submit(demo_hub, "hocvien1")
    browser_login(page, demo_hub, "giangvien")
    page.wait_for_url(re.compile(r".*/services/portal/$"), timeout=60_000)  # instructors land on the portal
    page.locator(f"#teach-{COURSE} a.dashboard-link").click()
    page.wait_for_url(re.compile(rf".*/services/portal/courses/{COURSE}/dashboard$"))
    board = page.locator(f"#a-{ASSIGNMENT}")
    assert board.locator(".n-submitted").inner_text() == "1"
    assert board.locator("svg.chart").count() >= 2  # the score distribution and a timeline per class
    assert board.locator("svg.chart").first.is_visible()
    missing = board.locator("ul.not-submitted li").evaluate_all("items => items.map(i => i.dataset.student)")
    assert "hocvien1" not in missing and {"hocvien2", "hocvien3"} <= set(missing)
    shot(page, "before-grading")

    with page.expect_navigation():
        board.locator("button.collect").click()
    assert "/services/portal/jobs/" in page.url
    page.wait_for_selector('#job[data-state="done"], #job[data-state="failed"]', timeout=600_000)
    shot(page, "grading-job")
    stamp = demo_hub.data_dir / "courses" / COURSE / "submitted" / "hocvien1" / ASSIGNMENT / "timestamp.txt"
    assert stamp.read_text(encoding="utf-8") == submitted["timestamp"]  # collected from the portal
    graded = page.locator("#job").get_attribute("data-state") == "done"

    page.goto(f"{demo_hub.url}/services/portal/courses/{COURSE}/dashboard")
    board = page.locator(f"#a-{ASSIGNMENT}")
    assert "1 bài mới" in board.locator(".collect-result").inner_text()
    if graded:
        assert board.locator(".n-graded").inner_text() == "1"
    with page.expect_navigation():
        board.locator("button.feedback").click()
    page.wait_for_selector('#job[data-state="done"], #job[data-state="failed"]', timeout=300_000)
    shot(page, "feedback-job")
    assert page.locator("#job").get_attribute("data-state") == "done", page.locator("#job").inner_text()
    assert ("1 released" if graded else "0 released") in page.locator("#job .result").inner_text()

    page.goto(f"{demo_hub.url}/services/portal/courses/{COURSE}/dashboard")
    board = page.locator(f"#a-{ASSIGNMENT}")
    shot(page, "after-loop")
    if graded:
        assert board.locator(".n-feedback").inner_text() == "1"
        assert int(board.locator(".n-pending").inner_text()) == board.locator("ul.waiting li").count()
        links = board.locator("a.grade-link")
        if links.count():  # a written answer waits for the instructor: the link opens that notebook to grade
            href = links.first.get_attribute("href")
            assert re.fullmatch(rf"/services/{COURSE}/formgrader/submissions/[0-9a-f]{{32}}", href), href
            grading = page.context.new_page()
            opened = grading.goto(demo_hub.url + href)
            assert opened.status == 200 and "/formgrader/submissions/" in grading.url
            grading.wait_for_selector("#notebook, .cell, body", timeout=60_000)
            grading.screenshot(path=str(ARTIFACTS / "dashboard-formgrader-submission.png"), full_page=True)
            grading.close()
    with page.expect_navigation():
        page.locator('a.learner-link[href$="/learners/hocvien1"]').click()
    assert page.url.endswith(f"/courses/{COURSE}/learners/hocvien1")
    row = page.locator(f'tr[data-assignment="{ASSIGNMENT}"]')
    assert row.locator("li.attempt").count() == 1
    if graded:
        assert row.locator(".feedback-released").count() == 1
    shot(page, "learner")
