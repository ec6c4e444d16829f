"""The timetable on the portal (hub/services/portal/timetable.py): a learner sees the next sessions of their
own class only, in the school's wall time with the weekday in Vietnamese; an instructor sees the whole
timetable of each class they are shown on the course page (admins: every class of the course).

The portal is built as in test_portal_handlers (real tornado app, HubOAuth cookie, only the hub's answers
stubbed); its sessions are real rows of the directory database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from test_portal_handlers import COURSE, K01, K02, KNS, Portal, shared_portal  # noqa: F401 (a fixture)

from graders.timeutil import utcnow
from hub.directory.models import ClassSession

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
THU = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]  # written here, not imported
ROOMS = {K01: "Phòng máy K01-A", K02: "Phòng máy K02-B", KNS: "Hội trường KNS-C"}


def shown(moment: datetime) -> tuple[str, str, str]:
    """How a page must write a session's start: its Hanoi date, weekday and time."""
    local = moment.astimezone(HANOI)
    return local.strftime("%d/%m/%Y"), THU[local.weekday()], local.strftime("%H:%M")


@pytest.fixture
def sessions(shared_portal: Portal) -> Iterator[dict[str, list[ClassSession]]]:  # noqa: F811
    """K01: one session over, one under way, 12 ahead (daily, 3 h); K02 and KNS: one ahead each."""
    now = utcnow().replace(second=0, microsecond=0)
    ahead = now.replace(minute=0) + timedelta(days=1)
    rows: dict[str, list[ClassSession]] = {K01: [], K02: [], KNS: []}
    spans = {K01: [(now - timedelta(days=2), timedelta(hours=3)), (now - timedelta(minutes=30), timedelta(hours=2))]}
    spans[K01] += [(ahead + timedelta(days=day), timedelta(hours=3)) for day in range(12)]
    spans[K02] = spans[KNS] = [(ahead + timedelta(hours=5), timedelta(hours=2))]
    for name, starts in spans.items():
        for start, length in starts:
            rows[name].append(ClassSession(class_name=name, starts_at=start, ends_at=start + length, room=ROOMS[name]))
    with shared_portal.app.directory.session() as s:
        s.add_all([x for group in rows.values() for x in group])
    with shared_portal.app.directory.session() as s:
        found = {name: s.query(ClassSession).filter_by(class_name=name).order_by(ClassSession.starts_at).all()
                 for name in rows}  # fmt: skip
        s.expunge_all()
    try:
        yield found
    finally:
        with shared_portal.app.directory.session() as s:
            s.query(ClassSession).delete()


def session_rows(html: str) -> list[str]:
    return re.findall(r'<tr class="session[^"]*">.*?</tr>', html, flags=re.S)


def section(html: str, element_id: str) -> str:
    found = re.search(rf'<section[^>]*id="{element_id}">(.*?)</section>', html, flags=re.S)
    assert found, element_id
    return found.group(1)


def test_a_learner_sees_the_next_sessions_of_their_own_class_only(shared_portal: Portal, sessions) -> None:  # noqa: F811
    r = shared_portal.get("an")
    assert r.status_code == 200
    mine = section(r.text, f"learn-{COURSE}")
    assert "Lịch học sắp tới" in mine and "Upcoming sessions" in mine
    rows = session_rows(mine)
    k01 = sessions[K01]
    assert len(rows) == 10  # the one under way and the next nine; not the one over, not the 11th ahead
    for row, session in zip(rows, k01[1:11], strict=True):
        day, weekday, start = shown(session.starts_at)
        end = session.ends_at.astimezone(HANOI).strftime("%H:%M")
        assert f"{weekday}, {day}" in row and f"{start}–{end}" in row and "(UTC+7)" in row and ROOMS[K01] in row
    assert "đang học" in rows[0] and 'class="session now"' in rows[0]  # under way
    assert all("đang học" not in row for row in rows[1:])
    assert shown(k01[0].starts_at)[0] not in mine  # over two days ago
    assert shown(k01[11].starts_at)[0] not in mine  # the 11th session ahead waits for a later visit
    assert ROOMS[K02] not in r.text and ROOMS[KNS] not in r.text  # other classes' timetables are not theirs

    chi = shared_portal.get("chi").text
    assert ROOMS[K02] in chi and ROOMS[K01] not in chi and len(session_rows(chi)) == 1
    dung = shared_portal.get("dung").text
    assert ROOMS[KNS] in dung and ROOMS[K01] not in dung and ROOMS[K02] not in dung
    khach = shared_portal.get("khach").text
    assert not session_rows(khach) and "Lịch học" not in khach


def test_a_learner_without_sessions_is_told_so(shared_portal: Portal) -> None:  # noqa: F811
    r = shared_portal.get("an")
    assert r.status_code == 200 and "Chưa có lịch học sắp tới" in r.text and not session_rows(r.text)


def test_instructors_see_the_whole_timetable_of_their_classes(shared_portal: Portal, sessions) -> None:  # noqa: F811
    r = shared_portal.get("gv-mot", f"courses/{COURSE}")
    assert r.status_code == 200
    timetable = section(r.text, f"timetable-{K01}")
    rows = session_rows(timetable)
    assert len(rows) == 14  # every session, the one over included
    assert 'class="session past"' in rows[0] and "đã qua" in rows[0]
    assert 'class="session now"' in rows[1] and "đang học" in rows[1]
    assert f"{shown(sessions[K01][-1].starts_at)[1]}, {shown(sessions[K01][-1].starts_at)[0]}" in rows[-1]
    assert f'id="timetable-{K02}"' not in r.text and ROOMS[K02] not in r.text  # not their class
    admin = shared_portal.get("quantri", f"courses/{COURSE}").text
    assert (
        ROOMS[K02] in section(admin, f"timetable-{K02}") and len(session_rows(section(admin, f"timetable-{K01}"))) == 14
    )
    assert ROOMS[KNS] not in admin  # another course's class


def test_room_text_is_escaped(shared_portal: Portal, sessions) -> None:  # noqa: F811
    with shared_portal.app.directory.session() as s:  # straight into the database, past the importer's checks
        s.get(ClassSession, sessions[K01][2].id).room = '<img src=x onerror="alert(1)">'
    r = shared_portal.get("an")
    assert "<img src=x" not in r.text and "&lt;img src=x" in r.text
