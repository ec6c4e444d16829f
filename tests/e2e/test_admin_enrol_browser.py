"""Enrolment in Chromium against a hub from `truongso up --demo`: the admin creates a class, uploads an XLSX with
two broken rows (both shown with their reasons, nothing imported), uploads the fixed file (30 learners
enrolled), downloads their initial passwords once (a second time is refused), and one of the learners logs in
with hers and is asked to choose a new password."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
from support.browser import ARTIFACTS
from support.hub import ADMIN_PASSWORD, Hub

CLASS = "E2E-ENROL-01"
DOMAIN = "enrol.e2e.gov.vn"
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hà", "Hương", "Khánh", "Lâm", "Minh", "Ngọc"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(broken: bool) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Họ và tên", "Email", "Đơn vị"])  # no class column: the class chosen on the form
    for i in range(30):
        name, email = f"Trần {GIVEN[i % 10]} {GIVEN[i // 10]}", f"hv{i:02d}@{DOMAIN}"
        if broken and i == 4:
            email = "khong-phai-email"  # row 6
        if broken and i == 11:
            name = ""  # row 13
        sheet.append([name, email, "UBND tỉnh Quảng Nam"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(page, hub: Hub, data: bytes) -> None:
    page.goto(f"{hub.url}/services/portal/admin/enrol")
    page.set_input_files("input[name=file]", {"name": "danh-sach-lop.xlsx", "mimeType": XLSX, "buffer": data})
    page.select_option("select[name=class_name]", CLASS)
    page.click("#admin-enrol button[type=submit]")
    page.wait_for_selector("#admin-enrol-preview")


def test_admin_enrols_a_class_from_a_spreadsheet_and_a_learner_must_change_her_password(
    demo_hub: Hub, page, browser
) -> None:
    page.goto(f"{demo_hub.url}/hub/login")
    page.fill("#username_input", "admin")
    page.fill("#password_input", demo_hub.accounts.get("admin", ADMIN_PASSWORD))
    page.click("#login_submit")
    page.wait_for_url(re.compile(r".*/services/portal/admin/$"), timeout=60_000)

    page.goto(f"{demo_hub.url}/services/portal/admin/classes/new")
    page.fill("input[name=name]", CLASS)
    page.fill("input[name=title]", "Kỹ năng số cho cán bộ xã")
    page.fill("input[name=year]", "2026")
    page.check("input[name=funding][value=non_budget]")
    page.fill("input[name=unit]", "Sở Nội vụ Quảng Nam")
    page.fill("input[name=province]", "Quảng Nam")
    page.click("#admin-class-new button[type=submit]")
    page.wait_for_url(re.compile(rf".*/admin/classes/{CLASS}.*"))
    assert "Sở Nội vụ Quảng Nam" in page.content()

    upload(page, demo_hub, workbook(broken=True))
    rows = page.locator("tr.row-error")
    assert rows.count() == 2
    assert rows.nth(0).get_attribute("data-row") == "6" and "email không hợp lệ" in rows.nth(0).inner_text()
    assert rows.nth(1).get_attribute("data-row") == "13" and "thiếu họ và tên" in rows.nth(1).inner_text()
    assert page.locator("#confirm").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin_enrol_preview_with_bad_rows.png"), full_page=True)

    page.goto(f"{demo_hub.url}/services/portal/admin/classes/{CLASS}")
    assert "0 học viên" in page.inner_text("#admin-class")  # nothing imported

    upload(page, demo_hub, workbook(broken=False))
    assert page.inner_text("#count-created") == "30"
    page.click("#confirm")
    page.wait_for_selector("#done")
    assert page.inner_text("#count-enrolled") == "30"

    with page.expect_download() as download_info:
        page.click("#download-passwords")
    download = download_info.value
    with open(download.path(), encoding="utf-8-sig") as handle:
        lines = list(csv.reader(handle))
    assert len(lines) == 31 and lines[1][0] == f"hv00@{DOMAIN}" and lines[1][2] == CLASS
    password = lines[1][3]

    page.click("#download-passwords")  # the page still shows the button; the server says no
    page.wait_for_selector("text=chỉ tải được một lần")
    assert "can be downloaded once" in page.inner_text("body")

    page.goto(f"{demo_hub.url}/services/portal/admin/classes/{CLASS}")
    assert "30 học viên" in page.inner_text("#admin-class")

    learner = browser.new_context(locale="vi-VN")
    try:
        other = learner.new_page()
        other.goto(f"{demo_hub.url}/hub/login")
        other.fill("#username_input", f"hv00@{DOMAIN}")
        other.fill("#password_input", password)
        other.click("#login_submit")
        other.wait_for_url(re.compile(r".*/hub/change-password.*"), timeout=60_000)
        assert other.locator("#new_password_input").count() == 1
        assert "Đổi mật khẩu" in other.inner_text("h1")
    finally:
        learner.close()
    page.goto(f"{demo_hub.url}/services/portal/admin/audit?action=roster.")  # the screenshot: the audit log
    assert page.locator("tr.audit-entry").count() == 2
