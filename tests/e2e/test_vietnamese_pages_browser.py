"""A Chromium crawl as a learner, an instructor and an admin over the pages each reaches: hub pages (home, token,
404, logout), the portal, its admin console, the certificates service, the workspace's one-click page and the
formgrader's views (assignments, submissions, gradebook by assignment and notebook, students, a student's
assignments and notebooks, its 404). A page fails when it shows any of JupyterHub's or the formgrader's own
English interface strings (tests/support/english_ui.py) outside the English helper spans, or lacks the common
top bar. A screenshot of every page is kept in test-artifacts/crawl/.

Crawled elsewhere: the formgrader's manual grading view (test_formgrader_xss_browser.py, which has a graded
submission) and JupyterLab's nbgrader Assignments tab (test_assignment_loop_browser.py clicks its Vietnamese
buttons). JupyterHub's React admin page stays English: school admins are sent to the portal's console."""

from __future__ import annotations

import re

import pytest
from support.browser import ARTIFACTS, browser_login
from support.english_ui import VISIBLE_TEXT, english_left, formgrader_strings, jupyterhub_strings
from support.hub import ADMIN_PASSWORD, Hub

COURSE = "phan-tich-du-lieu"
ASSIGNMENT = "01-python-co-ban"
FORMGRADER = f"/services/{COURSE}/formgrader"
TOP_BAR = ("services/portal/", "services/certificates/me", "logout")  # my courses, certificates, log out
PUBLIC = {"/services/certificates/", "/hub/khong-co-trang-nay"}

PAGES = {
    "hocvien1": [
        "/hub/home",
        "/hub/token",
        "/hub/khong-co-trang-nay",
        "/hub/admin",  # 403: "requires any of [admin-ui]" explained
        "/services/portal/admin/",  # the portal's own 403
        "/services/portal/",
        "/services/certificates/me",
        "/services/certificates/",
        f"/hub/user-redirect/truongso/nop-bai?course={COURSE}&assignment=khong-co-bai",
    ],
    "giangvien": [
        "/hub/home",
        "/services/portal/",
        f"/services/portal/courses/{COURSE}",
        f"/services/portal/courses/{COURSE}/dashboard",
        f"{FORMGRADER}/manage_assignments",
        f"{FORMGRADER}/manage_submissions/{ASSIGNMENT}",
        f"{FORMGRADER}/gradebook",
        f"{FORMGRADER}/gradebook/{ASSIGNMENT}",
        f"{FORMGRADER}/gradebook/{ASSIGNMENT}/python-co-ban",
        f"{FORMGRADER}/manage_students",
        f"{FORMGRADER}/manage_students/hocvien1",
        f"{FORMGRADER}/manage_students/hocvien1/{ASSIGNMENT}",
        f"{FORMGRADER}/khong-co-trang-nay",
    ],
    "admin": [
        "/services/portal/admin/",
        "/services/portal/admin/classes",
        "/services/portal/admin/people",
        "/services/portal/admin/reports",
        "/services/portal/admin/certificates",
        "/services/portal/admin/audit",
        "/services/certificates/admin",
        "/hub/home",
    ],
}


def visit(page, hub: Hub, who: str, path: str) -> list[str]:
    """Open `path`, keep a screenshot, and say what is wrong with it (English left, top bar missing)."""
    page.goto(f"{hub.url}{path}", wait_until="load", timeout=180_000)
    page.wait_for_load_state("networkidle", timeout=60_000)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-") or "root"
    (ARTIFACTS / "crawl").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "crawl" / f"{who}-{slug}.png"), full_page=True)
    reference = jupyterhub_strings() + (formgrader_strings() if "/formgrader" in path else ())
    problems = [f"{who} {path}: English {s!r}" for s in english_left(page.evaluate(VISIBLE_TEXT), reference)]
    hrefs = page.eval_on_selector_all("header a, nav a, #login_widget a", "els => els.map(e => e.href)")
    # the certificates' verification page is public (it does not ask who is looking), and JupyterHub's 404 page
    # is rendered without the user: both still lead home and to the courses, logged-in links aside
    needed = TOP_BAR if path not in PUBLIC else ()
    for target in needed:
        if not any(target in href for href in hrefs):
            problems.append(f"{who} {path}: no top-bar link to {target}")
    return problems


@pytest.mark.parametrize("who", list(PAGES))
def test_every_page_is_vietnamese_with_one_top_bar(demo_hub: Hub, browser, who: str) -> None:
    demo_hub.accounts.setdefault("admin", ADMIN_PASSWORD)
    page = browser.new_context(locale="vi-VN").new_page()
    browser_login(page, demo_hub, who)
    page.wait_for_url(lambda url: "/hub/login" not in url, timeout=120_000)
    problems = [problem for path in PAGES[who] for problem in visit(page, demo_hub, who, path)]
    # logging out last: the page JupyterHub shows afterwards is translated too (no top bar: nobody is logged in)
    page.goto(f"{demo_hub.url}/hub/logout", wait_until="load")
    page.screenshot(path=str(ARTIFACTS / "crawl" / f"{who}-logout.png"), full_page=True)
    problems += [f"{who} logout: English {s!r}" for s in english_left(page.evaluate(VISIBLE_TEXT))]
    assert not problems, "\n".join(problems)
