"""A session as people read it: the date, the weekday in Vietnamese, start–end in the school's wall time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from graders.text import Text
from graders.timeutil import offset_label, school_zone, to_utc
from hub.directory.models import ClassSession
from hub.timetable.validate import WEEKDAYS_EN, WEEKDAYS_VI


@dataclass(frozen=True)
class SessionLine:
    class_name: str
    date: str  # 21/12/2026, the school's date
    weekday: Text  # Thứ Hai / Monday
    start: str  # 08:00, the school's wall time
    end: str
    offset: str  # UTC+7: the zone those times are in
    room: str
    now: bool = False  # under way at `now`
    past: bool = False  # over by `now`


def weekday(moment: datetime, zone: str) -> Text:
    day = to_utc(moment).astimezone(school_zone(zone)).weekday()
    return Text(WEEKDAYS_VI[day], WEEKDAYS_EN[day])


def session_line(session: ClassSession, zone: str, now: datetime | None = None) -> SessionLine:
    tz = school_zone(zone)
    start, end = to_utc(session.starts_at).astimezone(tz), to_utc(session.ends_at).astimezone(tz)
    under_way = now is not None and session.starts_at <= now < session.ends_at
    past = now is not None and session.ends_at <= now
    return SessionLine(
        session.class_name,
        f"{start:%d/%m/%Y}",
        weekday(start, zone),
        f"{start:%H:%M}",
        f"{end:%H:%M}",
        offset_label(start),
        session.room,
        under_way,
        past,
    )
