"""Apply checked sessions to the directory in one transaction: everything or nothing.

A session is its class and its start: importing the same file again changes nothing, and a row whose class
and start are stored already updates that session's end or room (or leaves it "unchanged").
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import accumulate
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from graders.text import Text, UserError
from graders.timeutil import school_zone
from hub.directory.db import Directory
from hub.directory.models import ClassSession, SchoolClass
from hub.roster.reader import read_roster
from hub.roster.validate import RowError, normalize_class_code
from hub.timetable.display import SessionLine, session_line
from hub.timetable.validate import (
    COLUMN_LABELS,
    Checked,
    RawSession,
    SessionCandidate,
    check_rows,
    check_sheet,
    parse_date,
    parse_time,
    wall_to_utc,
)


@dataclass
class TimetableReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    encoding: str = ""
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def school_today(zone: str) -> date:
    return datetime.now(school_zone(zone)).date()


def import_timetable(
    directory: Directory,
    path: Path,
    zone: str,
    default_class: str | None = None,
    dry_run: bool = False,
    encoding: str | None = None,
    today: date | None = None,
) -> TimetableReport:
    """Check the file (CSV/XLSX, read as the roster is) and apply it; nothing is written when any row is wrong
    or on a dry run. `zone` is the school's (the `timezone` setting): the file's times are its wall time."""
    sheet = read_roster(path, encoding)
    if default_class is not None:
        default_class = normalize_class_code(default_class)
    report = TimetableReport(encoding=sheet.encoding, dry_run=dry_run)
    day = today or school_today(zone)
    return _apply(directory, lambda classes: check_sheet(sheet, classes, default_class, zone, day), zone, report)


def add_session(
    directory: Directory,
    class_name: str,
    day: str,
    start: str,
    end: str,
    zone: str,
    room: str | None = None,
    today: date | None = None,
) -> TimetableReport:
    """One session by the same rules as a file's row (report.errors say why not); the same class and start
    again updates its end or room."""
    raw = RawSession(0, normalize_class_code(class_name), day, start, end, room)
    report = TimetableReport()
    when = today or school_today(zone)
    return _apply(directory, lambda classes: check_rows([raw], classes, None, zone, when), zone, report)


def remove_session(directory: Directory, class_name: str, day: str, start: str, zone: str) -> SessionLine:
    """Delete the session of `class_name` starting at `day start` (school wall time); what it was, to show."""
    class_name = normalize_class_code(class_name)
    parsed_day, parsed_start = parse_date(day), parse_time(start)
    if parsed_day is None:
        raise UserError(f"ngày không hợp lệ: {day!r} (dd/mm/yyyy)", f"invalid date {day!r} (dd/mm/yyyy)")
    if parsed_start is None:
        raise UserError(f"giờ không hợp lệ: {start!r} (HH:MM)", f"invalid time {start!r} (HH:MM)")
    starts_at = wall_to_utc(parsed_day, parsed_start, zone)
    with directory.session() as s:
        found = (
            s.query(ClassSession)
            .filter(ClassSession.class_name == class_name, ClassSession.starts_at == starts_at)
            .one_or_none()
            if starts_at is not None
            else None
        )
        if found is None:
            raise UserError(
                f"lớp {class_name} không có buổi học bắt đầu {parsed_start:%H:%M} ngày {parsed_day:%d/%m/%Y}",
                f"class {class_name} has no session starting {parsed_start:%H:%M} on {parsed_day:%d/%m/%Y}",
            )
        line = session_line(found, zone)
        s.delete(found)
    return line


class _DryRun(Exception):
    """Raised inside the transaction to roll back everything a dry run planned."""


def _apply(
    directory: Directory,
    check: Callable[[Mapping[str, int | None]], Checked],
    zone: str,
    report: TimetableReport,
) -> TimetableReport:
    try:
        with directory.session() as s:
            classes = {name: year for name, year in s.query(SchoolClass.name, SchoolClass.year)}
            checked = check(classes)
            report.rows = len(checked.candidates)
            clashes = _clashes_with_database(s, checked.candidates, zone)  # listed beside the rows' own errors
            report.errors = sorted(checked.errors + clashes, key=lambda e: e.row)
            if report.errors:
                return report
            _plan(s, checked.candidates, report)
            if report.dry_run:
                raise _DryRun
    except _DryRun:
        pass  # the transaction was rolled back: nothing written
    except IntegrityError:  # another import added the same session between our check and our commit
        raise UserError(
            "thời khoá biểu vừa bị thay đổi cùng lúc; không nhập gì, hãy chạy lại",
            "the timetable was changed at the same time; nothing imported, run it again",
        ) from None
    return report


def _clashes_with_database(s: Session, candidates: list[SessionCandidate], zone: str) -> list[RowError]:
    """A row overlapping a stored session of its class (one the file does not itself replace)."""
    replaced = {(c.class_name, c.starts_at) for c in candidates}
    stored: dict[str, list[ClassSession]] = {}
    class_names = sorted({c.class_name for c in candidates})
    for chunk in range(0, len(class_names), 500):  # bound the IN list
        for session in s.query(ClassSession).filter(ClassSession.class_name.in_(class_names[chunk : chunk + 500])):
            if (session.class_name, session.starts_at) not in replaced:
                stored.setdefault(session.class_name, []).append(session)
    starts: dict[str, list[datetime]] = {}
    latest_end: dict[str, list[datetime]] = {}  # the latest end among the first i+1 sessions
    for name, sessions in stored.items():
        sessions.sort(key=lambda x: x.starts_at)
        starts[name] = [x.starts_at for x in sessions]
        latest_end[name] = list(accumulate((x.ends_at for x in sessions), max))
    errors = []
    for c in candidates:
        before = bisect_left(starts.get(c.class_name, []), c.ends_at)  # the stored ones starting before c ends
        if before == 0 or latest_end[c.class_name][before - 1] <= c.starts_at:
            continue
        sessions = stored[c.class_name]
        clash = next(sessions[i] for i in range(before - 1, -1, -1) if sessions[i].ends_at > c.starts_at)
        line = session_line(clash, zone)
        errors.append(
            RowError(
                c.row,
                COLUMN_LABELS["start"],
                Text(
                    f"trùng giờ với buổi đã có của lớp {c.class_name}: {line.date} {line.start}–{line.end}",
                    f"overlaps a stored session of class {c.class_name}: {line.date} {line.start}–{line.end}",
                ),
            )
        )
    return errors


def _plan(s: Session, candidates: list[SessionCandidate], report: TimetableReport) -> None:
    class_names = {c.class_name for c in candidates}
    existing = {
        (x.class_name, x.starts_at): x
        for x in s.query(ClassSession).filter(ClassSession.class_name.in_(sorted(class_names)))
    }
    for c in candidates:
        found = existing.get((c.class_name, c.starts_at))
        if found is None:
            s.add(ClassSession(class_name=c.class_name, starts_at=c.starts_at, ends_at=c.ends_at, room=c.room or ""))
            report.created += 1
        elif found.ends_at != c.ends_at or (c.room is not None and found.room != c.room):
            found.ends_at = c.ends_at
            if c.room is not None:
                found.room = c.room
            report.updated += 1
        else:
            report.unchanged += 1
    s.flush()
