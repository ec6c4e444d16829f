"""The console's classes page in this process (the portal's app as test_portal_handlers builds it): create, edit,
list and filter, close / archive / reopen (enrolments kept), the timetable; every change audited with before and
after; bad input refused in both languages with nothing changed; `truongso classes add` by the same rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from test_portal_handlers import COURSE, K01, Portal, page, refused, shared_portal, xsrf_of  # noqa: F401

from hub.directory.models import AdminAction, ClassSession, ClassStatus, Enrolment, Funding, SchoolClass

ADMIN = "quantri"


@pytest.fixture
def portal(shared_portal: Portal) -> Iterator[Portal]:  # noqa: F811
    """The shared portal with the classes and audit rows a test made removed again (the fixture's classes stay)."""
    yield shared_portal
    with shared_portal.app.directory.session() as s:
        s.query(ClassSession).delete()
        s.query(AdminAction).delete()
        s.query(SchoolClass).filter(SchoolClass.name.like("T-%")).delete(synchronize_session=False)
        record = s.get(SchoolClass, K01)
        record.status, record.closed_at = ClassStatus.open, None


def send(portal: Portal, path: str, form: dict[str, str], who: str = ADMIN, page_path: str = "admin/classes/new"):
    """As the admin's browser: open a page with a form (its XSRF token), then post `form` to `path`."""
    browser = portal.browser(who)
    opened = page(browser.get(portal.url + page_path, timeout=30, allow_redirects=False))
    assert opened.status_code == 200, opened.status_code
    form = {**form, "_xsrf": xsrf_of(opened) or ""}
    return page(browser.post(portal.url + path, data=form, timeout=30, allow_redirects=False))


def audit(portal: Portal) -> list[AdminAction]:
    with portal.app.directory.session() as s:
        rows = s.query(AdminAction).order_by(AdminAction.id).all()
        s.expunge_all()
        return rows


def a_class(portal: Portal, name: str) -> SchoolClass | None:
    with portal.app.directory.session() as s:
        record = s.get(SchoolClass, name)
        if record is not None:
            s.expunge(record)
        return record


GOOD = {"name": "t-ptdl-01", "title": "Phân tích dữ liệu cho cán bộ", "course_id": COURSE, "year": "2026",
        "funding": "non_budget", "funding_name": "Dự án Chuyển đổi số tỉnh", "unit": "Sở Nội vụ Hà Nội",
        "province": "Hà Nội"}  # fmt: skip


def test_an_admin_creates_a_class_and_the_audit_log_has_it(portal: Portal) -> None:
    r = send(portal, "admin/classes", GOOD)
    assert r.status_code == 302 and r.headers["Location"].endswith("admin/classes/T-PTDL-01")
    record = a_class(portal, "T-PTDL-01")
    assert record is not None and record.status == ClassStatus.open and record.funding == Funding.non_budget
    assert (record.title, record.year, record.unit, record.province, record.funding_name, record.course_id) == (
        GOOD["title"], 2026, GOOD["unit"], "Hà Nội", GOOD["funding_name"], COURSE)  # fmt: skip
    (entry,) = audit(portal)
    assert (entry.actor, entry.action, entry.target, entry.before) == (ADMIN, "class.create", "T-PTDL-01", "")
    assert json.loads(entry.after)["unit"] == "Sở Nội vụ Hà Nội"

    shown = portal.get(ADMIN, "admin/classes/T-PTDL-01")
    assert shown.status_code == 200 and "Sở Nội vụ Hà Nội" in shown.text and "Xã hội hoá" in shown.text
    assert 'name="_xsrf"' in shown.text


@pytest.mark.parametrize(
    ("change", "vi", "en"),
    [
        ({"name": "lớp một"}, "mã lớp", "invalid class code"),
        ({"name": "../etc"}, "mã lớp", "invalid class code"),
        ({"name": ""}, "mã lớp", "invalid class code"),
        ({"year": "1999"}, "năm 1999", "invalid year"),
        ({"year": "20x6"}, "năm", "invalid year"),
        ({"year": "9" * 300}, "năm", "invalid year"),
        ({"course_id": "khong-co"}, "không có khoá học", "no course"),
        ({"funding": "ngan-sach"}, "nguồn kinh phí", "invalid funding source"),
        ({"unit": "Đ" * 301}, "quá dài", "too long"),
        ({"province": "Hà\x7fNội"}, "ký tự điều khiển", "control characters"),
    ],
)
def test_bad_fields_are_refused_and_nothing_is_created(portal: Portal, change: dict, vi: str, en: str) -> None:
    r = send(portal, "admin/classes", {**GOOD, **change})
    refused(r, 400, vi, en)
    with portal.app.directory.session() as s:
        assert s.query(SchoolClass).filter(SchoolClass.name.like("T-%")).count() == 0
    assert audit(portal) == []


def test_codes_are_unique(portal: Portal) -> None:
    assert send(portal, "admin/classes", GOOD).status_code == 302
    refused(send(portal, "admin/classes", {**GOOD, "name": "T-PTDL-01", "title": "khác"}), 409, "đã có", "exists")
    assert a_class(portal, "T-PTDL-01").title == GOOD["title"] and len(audit(portal)) == 1


def test_edit_keeps_the_code_and_logs_before_and_after(portal: Portal) -> None:
    send(portal, "admin/classes", GOOD)
    r = send(portal, "admin/classes/T-PTDL-01", {**GOOD, "funding": "budget", "unit": "Học viện Hành chính"})
    assert r.status_code == 302
    record = a_class(portal, "T-PTDL-01")
    assert record.funding == Funding.budget and record.unit == "Học viện Hành chính"
    entry = audit(portal)[-1]
    assert entry.action == "class.update"
    before, after = json.loads(entry.before), json.loads(entry.after)
    assert (before["funding"], after["funding"]) == ("non_budget", "budget")
    assert (before["unit"], after["unit"]) == ("Sở Nội vụ Hà Nội", "Học viện Hành chính")
    refused(send(portal, "admin/classes/KHONG-CO", GOOD), 404, "không có lớp", "no class")
    send(portal, "admin/classes/T-PTDL-01", {**GOOD, "funding": "budget", "unit": "Học viện Hành chính"})
    assert len(audit(portal)) == 2  # saving the same values again changes nothing and logs nothing


def test_the_course_of_a_class_with_learners_stays(portal: Portal) -> None:
    r = send(portal, f"admin/classes/{K01}", {"title": "Lớp K01", "course_id": "ky-nang-so", "year": "2026"})
    refused(r, 409, "không đổi khoá học", "cannot change")
    assert a_class(portal, K01).course_id == COURSE and audit(portal) == []


def test_list_puts_open_classes_first_and_filters(portal: Portal) -> None:
    for name, year in (("T-A", "2025"), ("T-B", "2026"), ("T-C", "2026")):
        send(portal, "admin/classes", {**GOOD, "name": name, "year": year})
    send(portal, "admin/classes/T-B/status", {"action": "close"})
    r = portal.get(ADMIN, "admin/classes")
    assert r.status_code == 200
    order = [n for n in ("T-A", "T-C", "T-B") if f'id="class-{n}"' in r.text]
    assert order == ["T-A", "T-C", "T-B"]
    assert r.text.index('id="class-T-C"') < r.text.index('id="class-T-B"')  # closed after the open ones
    only_2026 = portal.get(ADMIN, "admin/classes?year=2026")
    assert 'id="class-T-B"' in only_2026.text and 'id="class-T-A"' not in only_2026.text
    closed = portal.get(ADMIN, "admin/classes?status=closed")
    assert 'id="class-T-B"' in closed.text and 'id="class-T-C"' not in closed.text
    other = portal.get(ADMIN, "admin/classes?course=ky-nang-so")
    assert 'id="class-KNS-K01"' in other.text and 'id="class-T-A"' not in other.text
    hostile = portal.get(ADMIN, "admin/classes?year=" + "9" * 500 + "&status=<x>&course=%00")
    assert hostile.status_code == 200


def test_close_archive_reopen_keep_learners_and_are_logged(portal: Portal) -> None:
    def learners() -> set[str]:
        with portal.app.directory.session() as s:
            return {e.username for e in s.query(Enrolment).filter(Enrolment.class_name == K01)}

    before = learners()
    assert before == {"an", "binh", "gv-mot"}
    assert send(portal, f"admin/classes/{K01}/status", {"action": "close"}).status_code == 302
    record = a_class(portal, K01)
    assert record.status == ClassStatus.closed and record.closed_at is not None
    closed_at = record.closed_at
    send(portal, f"admin/classes/{K01}/status", {"action": "archive"})
    record = a_class(portal, K01)
    assert record.status == ClassStatus.archived and record.closed_at == closed_at and learners() == before
    send(portal, f"admin/classes/{K01}/status", {"action": "reopen"})
    assert a_class(portal, K01).status == ClassStatus.open and a_class(portal, K01).closed_at is None
    assert [e.action for e in audit(portal)] == ["class.close", "class.archive", "class.reopen"]
    assert json.loads(audit(portal)[0].before)["status"] == "open"
    assert json.loads(audit(portal)[0].after)["status"] == "closed"
    refused(send(portal, f"admin/classes/{K01}/status", {"action": "delete"}), 400, "không có", "unknown action")
    assert learners() == before and len(audit(portal)) == 3


def test_sessions_are_added_and_removed_in_school_time_and_logged(portal: Portal) -> None:
    path = f"admin/classes/{K01}/sessions"
    r = send(portal, path, {"date": "2026-12-21", "start": "08:00", "end": "11:30", "room": "Phòng 301"})
    assert r.status_code == 302
    with portal.app.directory.session() as s:
        (session,) = s.query(ClassSession).all()
        assert session.starts_at == datetime(2026, 12, 21, 1, tzinfo=UTC)  # 08:00 in Hanoi
    shown = portal.get(ADMIN, f"admin/classes/{K01}")
    assert "21/12/2026" in shown.text and "08:00" in shown.text and "Phòng 301" in shown.text
    refused(send(portal, path, {"date": "31/02/2026", "start": "08:00", "end": "09:00"}), 400, "ngày", "date")
    refused(send(portal, path, {"date": "2026-12-21", "start": "09:00", "end": "08:00"}), 400)
    assert send(portal, path, {"date": "21/12/2026", "start": "08:00", "remove": "1"}).status_code == 302
    with portal.app.directory.session() as s:
        assert s.query(ClassSession).count() == 0
    assert [e.action for e in audit(portal)] == ["class.session_add", "class.session_remove"]
    refused(send(portal, path, {"date": "21/12/2026", "start": "08:00", "remove": "1"}), 400, "không có buổi")

    send(portal, f"admin/classes/{K01}/status", {"action": "close"})
    refused(send(portal, path, {"date": "2026-12-22", "start": "08:00", "end": "09:00"}), 409, "đã đóng", "closed")
    with portal.app.directory.session() as s:
        assert s.query(ClassSession).count() == 0


def test_cli_classes_add_takes_the_new_fields_and_is_audited(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from hub.cli import main
    from hub.directory.db import Directory

    data = tmp_path / "data"
    (data / "secrets").mkdir(parents=True)
    args = ["classes", "add", "t-cli-01", "--year", "2026", "--funding", "budget", "--funding-name", "NSNN tỉnh",
            "--unit", "Sở Nội vụ", "--province", "Huế", "--data-dir", str(data)]  # fmt: skip
    assert main(args) == 0
    assert main(args) == 0 and "không đổi" in capsys.readouterr().out
    assert main(["classes", "add", "t-cli-02", "--unit", "x" * 301, "--data-dir", str(data)]) == 1
    directory = Directory(f"sqlite:///{data.absolute() / 'truongso.sqlite'}")
    try:
        with directory.session() as s:
            record = s.get(SchoolClass, "T-CLI-01")
            assert (record.unit, record.province, record.funding_name) == ("Sở Nội vụ", "Huế", "NSNN tỉnh")
            (entry,) = s.query(AdminAction).all()
            assert entry.action == "class.create" and entry.actor.startswith("cli:") and entry.target == "T-CLI-01"
            assert s.get(SchoolClass, "T-CLI-02") is None
    finally:
        directory.dispose()


def test_forms_need_the_admins_xsrf_token(portal: Portal) -> None:
    browser = portal.browser(ADMIN)
    r = page(browser.post(portal.url + "admin/classes", data=GOOD, timeout=30, allow_redirects=False))
    refused(r, 403)
    stolen = xsrf_of(page(portal.browser("gv-mot").get(portal.url + f"courses/{COURSE}", timeout=30)))
    r = page(browser.post(portal.url + "admin/classes", data={**GOOD, "_xsrf": stolen}, timeout=30,
                          allow_redirects=False))  # fmt: skip
    refused(r, 403)
    assert a_class(portal, "T-PTDL-01") is None
    assert isinstance(r, requests.Response)
