"""The admin's people pages in Chromium against a hub from `truongso up --demo`: find a learner by a name typed
without diacritics, reset their password (shown once), the learner logs in with it and must choose their own;
move a learner to a second class of the same course; the certificate pages work against the real hub's
registry (completion check, export)."""

from __future__ import annotations

import re
import sqlite3

from support.browser import browser_login
from support.hub import ADMIN_PASSWORD, Hub, truongso

PORTAL = "/services/portal/"
SECOND = "DEMO-K2"  # a second class of the demo's course phan-tich-du-lieu


def admin_page(demo_hub: Hub, page, path: str) -> None:
    """Log in as the admin (once per browser context) and open a console page."""
    demo_hub.accounts.setdefault("admin", ADMIN_PASSWORD)
    if not page.context.cookies(demo_hub.url):
        browser_login(page, demo_hub, "admin")
        page.wait_for_url(lambda url: "/hub/login" not in url, timeout=60_000)
    page.goto(f"{demo_hub.url}{PORTAL}{path}")


def enrolments(demo_hub: Hub, username: str) -> set[str]:
    db = sqlite3.connect(demo_hub.data_dir / "truongso.sqlite")
    try:
        return {row[0] for row in db.execute("select class_name from enrolments where username = ?", (username,))}
    finally:
        db.close()


def test_admin_finds_a_learner_without_diacritics_and_resets_the_password(demo_hub: Hub, page, browser) -> None:
    admin_page(demo_hub, page, "admin/people")
    page.fill("input[name=q]", "nguyen van an")
    page.click("form.search button[type=submit]")
    page.click("text=Nguyễn Văn An")
    page.wait_for_url(re.compile(r".*/admin/people/hocvien1$"))
    page.click("#reset-password")
    password = page.inner_text("#password").strip()
    assert re.fullmatch(r"\w{4}-\w{4}-\w{4}", password), password
    assert "trao tận tay" in page.inner_text("#new-password")
    page.goto(f"{demo_hub.url}{PORTAL}admin/people/hocvien1")
    assert password not in page.content() and "Phải đổi mật khẩu" in page.inner_text("#person-state")

    learner = browser.new_context(locale="vi-VN")
    try:
        other = learner.new_page()
        other.goto(f"{demo_hub.url}/hub/login")
        other.fill("#username_input", "hocvien1")
        other.fill("#password_input", password)
        other.click("#login_submit")
        other.wait_for_url(re.compile(r".*/hub/change-password.*"), timeout=60_000)
        assert "hãy đặt mật khẩu của riêng bạn" in other.content()
    finally:
        learner.close()


def test_admin_moves_a_learner_to_another_class_of_the_course(demo_hub: Hub, page) -> None:
    made = truongso("classes", "add", SECOND, "--course", "phan-tich-du-lieu", "--title", "Lớp hai",
                    "--data-dir", str(demo_hub.data_dir))  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    assert enrolments(demo_hub, "hocvien2") == {"DEMO", "DEMO-KNS"}
    admin_page(demo_hub, page, "admin/people/hocvien2")
    move = page.locator("form.move")
    assert move.count() == 1  # DEMO-KNS has no other class of its course
    move.locator("select[name=to_class]").select_option(SECOND)
    move.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*done=moved$"))
    assert "Đã chuyển lớp" in page.inner_text("#done")
    assert SECOND in page.inner_text("#enrolments")
    assert enrolments(demo_hub, "hocvien2") == {SECOND, "DEMO-KNS"}


def test_certificate_pages_on_the_real_registry(demo_hub: Hub, page) -> None:
    admin_page(demo_hub, page, "admin/certificates/check?course=phan-tich-du-lieu")
    plan = page.inner_text("#plan")
    assert "Chưa hoàn thành" in plan and "hocvien3" in plan  # nothing submitted in the demo
    export = page.request.get(f"{demo_hub.url}{PORTAL}admin/certificates/export?format=csv")
    assert export.status == 200 and export.body().startswith("\ufeffSố hiệu / Serial".encode())
    page.goto(f"{demo_hub.url}{PORTAL}admin/certificates")
    assert page.locator('a[href="/services/certificates/admin"]').count() == 1
