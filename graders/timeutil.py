"""Times: stored zone-aware in UTC, entered with their zone, shown in the school's zone with the zone labelled.

One place for the three rules, importable by `hub/` and `graders/` alike (graders must not import hub):
- `UTCDateTime` is the column type of every stored moment: it refuses naive datetimes, stores UTC and gives
  back aware UTC. SQLite has no zone-aware type, so there the stored text is the UTC wall time; PostgreSQL
  keeps `timestamp with time zone`. Either way the column DDL is `DateTime(timezone=True)`, as before.
- `school_wall_time` turns what a person typed in a form ("2026-12-20T17:00", Vietnam time) into an aware
  moment, once, at the edge.
- `show` writes a moment as Vietnamese readers do, in the school's zone, with the zone's offset.

nbgrader's gradebook keeps naive UTC by its own design; `naive_utc` is the one conversion into it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# The default of the school's time zone: the `timezone` setting of truongso.toml ([school]) chooses it. Every
# user of the school's zone takes it from the settings passed down; this default is only for callers without any.
SCHOOL_TIMEZONE = "Asia/Ho_Chi_Minh"
DISPLAY_FORMAT = "%d/%m/%Y %H:%M"  # 20/12/2026 17:00, as Vietnamese readers write dates


def check_timezone(name: str) -> str:
    """`name` when zoneinfo knows it (e.g. "Asia/Ho_Chi_Minh"); else ValueError with a bilingual reason."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(
            f"múi giờ không tồn tại: {name!r} (tên IANA, vd. 'Asia/Ho_Chi_Minh') / "
            f"unknown time zone {name!r} (an IANA name, e.g. 'Asia/Ho_Chi_Minh')"
        ) from None
    return name


def school_zone(name: str = SCHOOL_TIMEZONE) -> tzinfo:
    return ZoneInfo(name)


def utcnow() -> datetime:
    return datetime.now(UTC)


class NaiveDatetimeError(ValueError):
    """A datetime without a zone reached a place that must know which moment it is."""


def to_utc(moment: datetime) -> datetime:
    """The same moment in UTC; a naive datetime is refused, never guessed."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NaiveDatetimeError(
            f"thời điểm {moment.isoformat()} không có múi giờ / the datetime {moment.isoformat()} has no time zone"
        )
    return moment.astimezone(UTC)


def naive_utc(moment: datetime) -> datetime:
    """For nbgrader's gradebook, which stores naive UTC."""
    return to_utc(moment).replace(tzinfo=None)


def school_wall_time(value: str, zone: str = SCHOOL_TIMEZONE) -> datetime:
    """A wall time typed in the school's zone (an HTML `datetime-local` value, "2026-12-20T17:00") as an aware
    moment. A value that carries its own offset keeps it: it already says which moment it is."""
    moment = datetime.fromisoformat(value.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=school_zone(zone))
    return moment


def offset_label(moment: datetime) -> str:
    """ "UTC+7" for Vietnam; minutes only when a zone has them ("UTC+5:30")."""
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    hours, minutes = divmod(minutes, 60)
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


def show(moment: datetime | None, zone: str = SCHOOL_TIMEZONE) -> str:
    """ "20/12/2026 17:00 (UTC+7)": the moment in the school's zone, labelled with that zone's offset."""
    if moment is None:
        return ""
    local = to_utc(moment).astimezone(school_zone(zone))
    return f"{local.strftime(DISPLAY_FORMAT)} ({offset_label(local)})"


class UTCDateTime(TypeDecorator[datetime]):
    """A moment in time: aware in, stored as UTC, aware UTC out; naive input raises `NaiveDatetimeError`.

    Rows written naive before this type existed read back as UTC, which is what every writer but the portal's
    deadline form meant (the exchange's migration x0002 corrects the deadlines)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        moment = to_utc(value)
        # SQLite's DATETIME keeps only the wall time: make sure it is UTC's.
        return moment.replace(tzinfo=None) if dialect.name == "sqlite" else moment

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
