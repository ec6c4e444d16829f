"""The console's certificate pages (admin/certificates) in this process, on the people of test_admin_people and
a real nbgrader gradebook and certificate registry: the completion check of a course or a class (as `truongso
certificates check`), the registry export (the same bytes as `truongso certificates export`), one certificate's
history, the search by serial or name; bad input is a bilingual 4xx. Non-admins: test_admin_people."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from support.gradebooks import Sub, all_passed, make_gradebook
from test_admin_people import COURSE, K01, OTHER_COURSE, Console, build_console, fill_directory, refused

REVOKED_BY = "quantri"
REASON = "Cấp nhầm người / issued to the wrong person"


def add_certificate(store, serial: str, username: str, full_name: str, course_id: str, class_name: str):
    from graders.certificates.models import Certificate
    from graders.certificates.store import add_audit

    year, seq = int(serial[3:7]), int(serial[-6:])
    with store.session() as s:
        cert = Certificate(serial=serial, year=year, seq=seq, username=username, course_id=course_id,
                           class_name=class_name, full_name=full_name, organisation="Sở Nội vụ",
                           course_title_vi="Phân tích dữ liệu", hours=40, completed_on=date(2026, 6, 1),
                           issued_on=date(2026, 6, 5), decision="Số 706/QĐ-TBDCB", issued_by="cli:giaovu",
                           credential="{}", issued_at=datetime(2026, 6, 5, 3, 0, tzinfo=UTC))  # fmt: skip
        s.add(cert)
        s.flush()
        add_audit(s, "issue", cert, "cli:giaovu", {"decision": cert.decision, "class": class_name},
                  datetime(2026, 6, 5, 3, 0, tzinfo=UTC))  # fmt: skip


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """The people of test_admin_people; a gradebook where an and chi completed, binh did not and anh submitted
    nothing; an holds a certificate, chi's was revoked, and dung (another course) has one with a name that
    looks like a formula."""
    from graders.certificates.store import open_store

    for console in build_console(tmp_path_factory.mktemp("console-certs") / "data"):
        fill_directory(console.app.directory)
        course = console.app.courses[COURSE]
        gradebook = Path(console.app.settings.gradebook_url_for(COURSE).removeprefix("sqlite:///"))
        binh = [Sub(a.id, 0.9) for a in course.assignments[:-1]]
        make_gradebook(gradebook, course, {"an": all_passed(course), "chi": all_passed(course), "binh": binh})
        store = open_store(console.app.settings.db_url)
        add_certificate(store, "TS-2026-000001", "an", "Nguyễn Văn An", COURSE, K01)
        add_certificate(store, "TS-2026-000002", "chi", "Phạm Thị Chi", COURSE, "PTDL-K02")
        add_certificate(store, "TS-2026-000003", "dung", '=HYPERLINK("http://x","Đỗ")', OTHER_COURSE, "KNS-K01")
        store.revoke("TS-2026-000002", REASON, REVOKED_BY, at=datetime(2026, 7, 1, 2, 30, tzinfo=UTC))
        store.dispose()
        yield console


def rows_of(page: str, kind: str) -> dict[str, str]:
    """username -> that row's text, for the rows of one kind (eligible, certified, revoked, incomplete)."""
    out = {}
    for row in re.findall(rf'<tr class="{kind}">(.*?)</tr>', page, re.S):
        username = re.search(r"\(([a-z0-9.-]+)\)", row).group(1)
        out[username] = re.sub(r"\s+", " ", row)
    return out


def test_front_page_links_to_the_issuing_service(console: Console) -> None:
    r = console.get("quantri", "admin/certificates")
    assert r.status_code == 200
    assert 'href="/services/certificates/admin"' in r.text
    assert f'<option value="{COURSE}">' in r.text and f'<option value="{K01}">' in r.text


def test_completion_check_of_a_class_and_of_a_course(console: Console) -> None:
    r = console.get("quantri", f"admin/certificates/check?class={K01}")
    assert r.status_code == 200, r.text[:400]
    assert set(rows_of(r.text, "certified")) == {"an"} and "TS-2026-000001" in rows_of(r.text, "certified")["an"]
    incomplete = rows_of(r.text, "incomplete")
    assert set(incomplete) == {"binh", "anh"}
    last = console.app.courses[COURSE].assignments[-1].id
    assert f"chưa nộp bài {last}" in incomplete["binh"] and f"assignment {last}" in incomplete["binh"]
    assert incomplete["anh"].count("chưa nộp bài") == len(console.app.courses[COURSE].required_assignments)
    assert "chi" not in r.text  # another class
    whole = console.get("quantri", f"admin/certificates/check?course={COURSE}")
    assert set(rows_of(whole.text, "revoked")) == {"chi"}  # completed, but their certificate was revoked
    assert set(rows_of(whole.text, "incomplete")) == {"binh", "anh"} and not rows_of(whole.text, "eligible")
    assert "dung" not in whole.text


def test_completion_check_refusals(console: Console) -> None:
    refused(console.get("quantri", "admin/certificates/check"), 400, "chọn một khoá học hoặc một lớp")
    refused(console.get("quantri", "admin/certificates/check?course=khong-co"), 404, "không có khoá học")
    refused(console.get("quantri", "admin/certificates/check?class=NOPE"), 404, "không có lớp")
    refused(console.get("quantri", "admin/certificates/check?class=" + "%25_" * 3000), 404, "không có lớp")


def test_export_is_the_registry_file_of_the_cli(console: Console, tmp_path: Path) -> None:
    from graders.certificates.export import write_exports
    from graders.certificates.store import open_store

    store = open_store(console.app.settings.db_url, create=False)
    csv_path, xlsx_path = write_exports(store.listing(year=2026), tmp_path, "cli")  # what the CLI writes
    store.dispose()
    before = len(console.audit())
    r = console.get("quantri", "admin/certificates/export?format=csv&year=2026")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert 'filename="so-cap-giay-chung-nhan-2026.csv"' in r.headers["Content-Disposition"]
    assert r.content == csv_path.read_bytes() and r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == ["TS-2026-000001", "TS-2026-000002", "TS-2026-000003"]
    assert rows[3][3].startswith("'=HYPERLINK")  # formula neutralised
    x = console.get("quantri", f"admin/certificates/export?format=xlsx&year=2026&course={COURSE}")
    assert x.status_code == 200 and x.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(x.content)).active
    assert [c.value for c in sheet["A"]][1:] == ["TS-2026-000001", "TS-2026-000002"]
    assert [c.value for c in sheet[1]] == [c.value for c in load_workbook(xlsx_path).active[1]]
    exports = console.audit()[before:]
    assert [(a.action, json.loads(a.after)["count"], json.loads(a.after)["format"]) for a in exports] == [
        ("certificates.export", 3, "csv"),
        ("certificates.export", 2, "xlsx"),
    ]
    refused(console.get("quantri", "admin/certificates/export?format=pdf"), 400, "xlsx hoặc csv")
    for year in ("-1", "abc", "1999", "20266", "2026.0"):
        refused(console.get("quantri", f"admin/certificates/export?format=csv&year={year}"), 400, "không hợp lệ")
    refused(console.get("quantri", "admin/certificates/export?format=csv&course=../x"), 404, "không có khoá học")
    assert len(console.audit()) == before + 2


def test_one_certificates_history(console: Console) -> None:
    r = console.get("quantri", "admin/certificates/TS-2026-000002")
    assert r.status_code == 200
    text = re.sub(r"\s+", " ", r.text)
    assert "Phạm Thị Chi" in text and "Đã thu hồi" in text
    issue = re.search(r'<tr class="issue">(.*?)</tr>', text).group(1)
    revoke = re.search(r'<tr class="revoke">(.*?)</tr>', text).group(1)
    assert "05/06/2026 10:00" in issue and "cli:giaovu" in issue and "Số 706/QĐ-TBDCB" in issue
    assert "01/07/2026 09:30" in revoke and REVOKED_BY in revoke and "Cấp nhầm người" in revoke
    assert "/services/certificates/verify/TS-2026-000002/" in text
    valid = console.get("quantri", "admin/certificates/TS-2026-000001")
    assert "Hợp lệ" in valid.text and 'href="/services/certificates/admin"' in valid.text
    refused(console.get("quantri", "admin/certificates/TS-2026-999999"), 404, "không có giấy chứng nhận")
    assert console.get("quantri", "admin/certificates/TS-26-1").status_code == 404


def test_search_by_serial_or_name(console: Console) -> None:
    r = console.get("quantri", "admin/certificates/find?q=ts-2026-000001")
    assert r.status_code == 302 and r.headers["Location"].endswith("admin/certificates/TS-2026-000001")
    found = console.get("quantri", "admin/certificates/find?q=pham+thi+chi")
    assert re.findall(r'href="/services/portal/admin/certificates/(TS-[0-9-]+)"', found.text) == ["TS-2026-000002"]
    both = console.get("quantri", "admin/certificates/find?q=2026-00000")
    assert len(re.findall(r'href="/services/portal/admin/certificates/TS-', both.text)) == 3
    for query in ("%", "_", "' OR 1=1 --"):
        assert "TS-2026" not in console.get("quantri", "admin/certificates/find", params={"q": query}).text
    refused(console.get("quantri", "admin/certificates/find", params={"q": "x" * 201}), 400, "từ khoá quá dài")
