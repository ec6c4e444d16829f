"""The audit log page in this process: newest first, paged, filtered by actor / action / target / the school's
day, each row's before → after; the CSV (UTF-8 with BOM) and XLSX exports carry the query and the time of the
export, with formulas neutralised; bad filters are refused in both languages."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from test_portal_handlers import Portal, refused, shared_portal  # noqa: F401

from hub.directory.models import AdminAction
from hub.services.portal.admin_audit import PAGE_SIZE, changes

ADMIN = "quantri"
HOSTILE_TARGET = '=HYPERLINK("http://x","bấm")'


@pytest.fixture
def portal(shared_portal: Portal) -> Iterator[Portal]:  # noqa: F811
    """Rows at known moments: 23:30 on 20/12 in Hanoi is 16:30 UTC (the school's day, not UTC's, filters)."""
    base = datetime(2026, 12, 20, 16, 30, tzinfo=UTC)
    with shared_portal.app.directory.session() as s:
        s.query(AdminAction).delete()
        before, after = json.dumps({"unit": "Sở A", "year": 2026}), json.dumps({"unit": "Sở B", "year": 2026})
        s.add(AdminAction(at=base, actor="quantri", action="class.update", target="PTDL-K01", before=before,
                          after=after))  # fmt: skip
        s.add(AdminAction(at=base + timedelta(hours=1), actor="cli:root", action="class.create", target=HOSTILE_TARGET,
                          before="", after=json.dumps({"name": "K9"})))  # fmt: skip
        for i in range(PAGE_SIZE + 5):
            s.add(AdminAction(at=base - timedelta(days=3, minutes=i), actor="quantri2", action="person.reset_password",
                              target=f"hv{i:03d}", before="", after=""))  # fmt: skip
    yield shared_portal
    with shared_portal.app.directory.session() as s:
        s.query(AdminAction).delete()


def targets(text: str) -> list[str]:
    return re.findall(
        r'<tr class="audit-entry" data-action="[^"]*"><td>[^<]*</td><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>', text
    )


def test_newest_first_with_a_readable_diff_and_pages(portal: Portal) -> None:
    r = portal.get(ADMIN, "admin/audit")
    assert r.status_code == 200
    shown = targets(r.text)
    assert (
        len(shown) == PAGE_SIZE
        and shown[0] == "=HYPERLINK(&#34;http://x&#34;,&#34;bấm&#34;)"
        and shown[1] == "PTDL-K01"
    )
    assert "21/12/2026 00:30 (UTC+7)" in r.text  # the school's time
    assert (
        "<del>Sở A</del> → <ins>Sở B</ins>" in r.text and "<code>year</code>" not in r.text.split("PTDL-K01")[1][:400]
    )
    assert f"{PAGE_SIZE + 7} dòng" in r.text and 'Trang <span class="en">Page</span> 1 / 2' in r.text
    second = portal.get(ADMIN, "admin/audit?page=2")
    assert len(targets(second.text)) == 7 and targets(second.text)[-1] == f"hv{PAGE_SIZE + 4:03d}"
    assert portal.get(ADMIN, "admin/audit?page=99999").status_code == 200
    assert portal.get(ADMIN, "admin/audit?page=-1&page=x").status_code == 200


def test_filters(portal: Portal) -> None:
    assert targets(portal.get(ADMIN, "admin/audit?actor=cli:root").text) == [
        "=HYPERLINK(&#34;http://x&#34;,&#34;bấm&#34;)"
    ]
    assert targets(portal.get(ADMIN, "admin/audit?action=class.").text)[1] == "PTDL-K01"
    assert len(targets(portal.get(ADMIN, "admin/audit?action=class.").text)) == 2
    assert targets(portal.get(ADMIN, "admin/audit?target=K01").text) == ["PTDL-K01"]
    # 16:30 UTC on the 20th is 23:30 on the 20th in Hanoi; 17:30 UTC is already the 21st there
    assert targets(portal.get(ADMIN, "admin/audit?from=2026-12-20&to=2026-12-20").text) == ["PTDL-K01"]
    assert len(targets(portal.get(ADMIN, "admin/audit?from=2026-12-21").text)) == 1
    assert targets(portal.get(ADMIN, "admin/audit?target=%25").text) == []  # a LIKE wildcard is a character here
    refused(portal.get(ADMIN, "admin/audit?from=20/12/2026"), 400, "ngày không hợp lệ", "invalid date")
    refused(portal.get(ADMIN, "admin/audit?format=pdf"), 400, "định dạng", "unsupported format")


def test_csv_export_has_the_query_the_time_and_no_formulas(portal: Portal) -> None:
    r = portal.get(ADMIN, "admin/audit?action=class.&format=csv")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf") and "attachment" in r.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert lines[1] == ["Truy vấn / Query", "action=class."]
    assert lines[2][0] == "Tạo lúc / Generated at" and "(UTC+7)" in lines[2][1]
    header = lines.index(next(c for c in lines if c and c[0] == "Thời điểm / When"))
    data = lines[header + 1 :]
    assert len(data) == 2 and data[0][3] == "'" + HOSTILE_TARGET and data[1][3] == "PTDL-K01"
    assert json.loads(data[1][4]) == {"unit": "Sở A", "year": 2026}


def test_xlsx_export_matches(portal: Portal) -> None:
    r = portal.get(ADMIN, "admin/audit?actor=cli:root&format=xlsx")
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1][:2] == ["Truy vấn / Query", "actor=cli:root"]
    assert values[-1][1:4] == ["cli:root", "class.create", "'" + HOSTILE_TARGET]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_changes_of_odd_snapshots() -> None:
    assert [c.field for c in changes("", '{"a": 1}')] == ["a"]
    assert changes('{"a": 1}', '{"a": 1}') == []
    assert changes("not json", "")[0].before == "not json"
    assert changes("[1, 2]", "")[0].before == "[1, 2]"
