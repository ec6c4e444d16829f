"""The yearly report in Chromium against a hub from `truongso up --demo`, with a small demo year loaded
(`truongso demo year --scale 0.05`): the admin opens the report, the page's figures are those of `truongso report`
on the same data directory, the XLSX link downloads the same figures; the page is screenshotted."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from openpyxl import load_workbook
from support.hub import ADMIN_PASSWORD, Hub, truongso

YEAR = "2023"


def test_the_admin_opens_the_demo_years_report_and_downloads_it(demo_hub: Hub, page) -> None:
    loaded = truongso("demo", "year", "--data-dir", str(demo_hub.data_dir), "--year", YEAR, "--scale", "0.05")
    assert loaded.returncode == 0, loaded.stderr
    cli = truongso("report", "--data-dir", str(demo_hub.data_dir), "--year", YEAR, "--format", "csv")
    assert cli.returncode == 0, cli.stderr
    rows = list(csv.reader(io.StringIO(cli.stdout.lstrip("\ufeff"))))
    start = next(i for i, r in enumerate(rows) if r and r[0] == "Tổng hợp / Totals")
    end = next(i for i in range(start, len(rows)) if not rows[i])
    totals = {r[0]: r[1] for r in rows[start + 1 : end]}
    assert int(totals["Số lớp / Classes"]) > 0 and int(totals["Lượt học viên / Enrolments"]) > 0

    page.goto(f"{demo_hub.url}/hub/login")
    page.fill("#username_input", "admin")
    page.fill("#password_input", ADMIN_PASSWORD)
    page.click("#login_submit")
    page.wait_for_url(re.compile(r".*/services/portal/admin/$"), timeout=60_000)
    page.goto(f"{demo_hub.url}/services/portal/admin/reports?year={YEAR}")
    assert f"Báo cáo đào tạo năm {YEAR}" in page.inner_text("h1") and "Yearly training report" in page.inner_text("h1")
    by_name = {
        name: page.locator(f'[data-figure="{name}"] strong').inner_text()
        for name in ("classes", "enrolments", "certificates_issued")
    }
    assert by_name["classes"].replace(".", "") == totals["Số lớp / Classes"]
    assert by_name["enrolments"].replace(".", "") == totals["Lượt học viên / Enrolments"]
    assert by_name["certificates_issued"].replace(".", "") == totals["Giấy chứng nhận đã cấp / Certificates issued"]
    assert page.locator("svg.chart").count() == 5 and page.locator("#chart-months svg").is_visible()
    assert page.locator("#split-funding").get_by_text("Ngoài ngân sách").count() >= 1

    with page.expect_download() as download:
        page.click("#download-xlsx")
    assert download.value.suggested_filename == f"bao-cao-{YEAR}.xlsx"
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))  # the saved file has no .xlsx
    cells = {r[0]: r[1] for r in book.active.iter_rows(values_only=True) if r[0] and len(r) > 1}
    assert str(cells["Lượt học viên / Enrolments"]) == totals["Lượt học viên / Enrolments"]
    page.locator("#totals").scroll_into_view_if_needed()  # the screenshot: the report with its charts
