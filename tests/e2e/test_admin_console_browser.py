"""The admin console in Chromium: an admin lands on it after login; JupyterHub's own admin page keeps only what
only it does (its Add Users and New Group buttons are hidden, the note says where accounts are managed); a learner
who types the console's address gets a bilingual 403 page."""

from __future__ import annotations

import re

from support.browser import browser_login
from support.hub import ADMIN_PASSWORD, Hub


def admin_login(page, hub: Hub) -> None:
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", "admin")
    page.fill("#password_input", ADMIN_PASSWORD)
    page.click("#login_submit")


def test_an_admin_lands_on_the_console_and_jupyterhubs_page_hides_what_bypasses_it(demo_hub: Hub, page) -> None:
    admin_login(page, demo_hub)
    page.wait_for_url(re.compile(r".*/services/portal/admin/$"), timeout=60_000)
    assert "Quản trị trường" in page.inner_text("h1") and "School administration" in page.inner_text("h1")
    for part in ("Lớp học", "Ghi danh", "Người dùng", "Giấy chứng nhận", "Báo cáo", "Nhật ký"):
        assert page.locator("nav.admin-nav").get_by_text(part).count() == 1, part

    page.goto(f"{demo_hub.url}/hub/admin")
    page.wait_for_selector("#truongso-admin-note")
    page.get_by_text("Manage Groups").first.wait_for(state="attached", timeout=30_000)  # the React page drew
    assert not page.get_by_text("Add Users").first.is_visible()
    assert page.locator("#truongso-admin-note").is_visible()
    page.goto(f"{demo_hub.url}/services/portal/admin/")  # the screenshot: the console


def test_a_learner_gets_a_bilingual_403_page_on_the_console(demo_hub: Hub, page) -> None:
    browser_login(page, demo_hub, "hocvien2")
    page.wait_for_url(re.compile(r".*/(user/hocvien2|hub/spawn).*"), timeout=120_000)
    response = page.goto(f"{demo_hub.url}/services/portal/admin/people")
    assert response.status == 403
    text = page.inner_text("body")
    assert "Chỉ quản trị viên" in text and "only admins" in text
