"""Creating, editing, closing and archiving classes, and their sessions: one set of rules for the admin console
and `truongso classes`, each change written with its audit row in the same transaction.

Closing or archiving a class changes its status only: learners, enrolments, work and grades all stay."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, event
from sqlalchemy.orm import Session

from graders.text import UserError
from graders.timeutil import utcnow
from hub.directory.audit import record_action, snapshot
from hub.directory.db import Directory
from hub.directory.models import ClassStatus, Funding, SchoolClass
from hub.roster.validate import CLASS_CODE_RE, normalize_class_code
from hub.timetable.display import SessionLine
from hub.timetable.importer import TimetableReport, add_session, remove_session

YEARS = (2000, 2100)
MAX_TEXT = {"title": 300, "funding_name": 300, "unit": 300, "province": 100}


@dataclass
class ClassFields:
    """What a person types about a class (the form's or the CLI's fields), before checking."""

    name: str
    title: str = ""
    course_id: str | None = None
    year: int | str | None = None
    funding: str | None = None
    funding_name: str = ""
    unit: str = ""
    province: str = ""


@dataclass
class ClassFilter:
    year: int | None = None
    status: ClassStatus | None = None
    course_id: str | None = None


def check_code(raw: str) -> str:
    name = normalize_class_code(raw)
    if not CLASS_CODE_RE.match(name):
        raise UserError(
            f"mã lớp {raw[:80]!r} không hợp lệ: chữ cái không dấu, số, . _ - (tối đa 63)",
            f"invalid class code {raw[:80]!r}: ASCII letters, digits, . _ - (at most 63)",
        )
    return name


def checked_values(fields: ClassFields, known_courses: set[str]) -> dict[str, Any]:
    """The columns of a class from `fields`, by the CLI's rules; UserError names the first wrong field."""
    values: dict[str, Any] = {"name": check_code(fields.name)}
    year = fields.year
    if isinstance(year, str):
        year = year.strip()
        if year and not (year.isascii() and year.isdigit() and len(year) <= 4):
            raise UserError(f"năm {year[:20]!r} không hợp lệ", f"invalid year {year[:20]!r}")
        year = int(year) if year else None
    if year is not None and not YEARS[0] <= year <= YEARS[1]:
        raise UserError(f"năm {year} không hợp lệ ({YEARS[0]}–{YEARS[1]})", f"invalid year {year}")
    values["year"] = year
    course_id = (fields.course_id or "").strip() or None
    if course_id is not None and course_id not in known_courses:
        known = ", ".join(sorted(known_courses))
        raise UserError(f"không có khoá học {course_id[:80]!r} (có: {known})", f"no course {course_id[:80]!r} "
                        f"(known: {known})")  # fmt: skip
    values["course_id"] = course_id
    funding = (fields.funding or "").strip() or None
    if funding is not None and funding not in {f.value for f in Funding}:
        raise UserError(f"nguồn kinh phí {funding[:40]!r} không hợp lệ", f"invalid funding source {funding[:40]!r}")
    values["funding"] = Funding(funding) if funding else None
    for key, limit in MAX_TEXT.items():
        text = " ".join(unicodedata.normalize("NFC", getattr(fields, key) or "").split())
        if len(text) > limit or any(unicodedata.category(c) == "Cc" for c in text):
            raise UserError(f"trường {key} quá dài (tối đa {limit}) hoặc có ký tự điều khiển",
                            f"field {key} is too long (at most {limit}) or has control characters")  # fmt: skip
        values[key] = text
    return values


def create_class(session: Session, actor: str, fields: ClassFields, known_courses: set[str]) -> SchoolClass:
    values = checked_values(fields, known_courses)
    if session.get(SchoolClass, values["name"]) is not None:
        raise UserError(f"lớp {values['name']} đã có", f"class {values['name']} already exists", 409)
    record = SchoolClass(**values, status=ClassStatus.open)
    session.add(record)
    session.flush()
    record_action(session, actor, "class.create", record.name, None, snapshot(record))
    return record


def get_class(session: Session, name: str) -> SchoolClass:
    record = session.get(SchoolClass, normalize_class_code(name)[:64])
    if record is None:
        raise UserError(f"không có lớp {name[:80]!r}", f"no class {name[:80]!r}", 404)
    return record


def update_class(session: Session, actor: str, fields: ClassFields, known_courses: set[str]) -> SchoolClass:
    """Change everything but the code (the hub's group name, and every submission's class, follow the code)."""
    record = get_class(session, fields.name)
    values = checked_values(fields, known_courses)
    if values["course_id"] != record.course_id and record.course_id is not None and record.enrolments:
        # the class's assignments, submissions and grades are the course's: they would be left behind
        raise UserError(
            f"lớp {record.name} đã có người ghi danh: không đổi khoá học của lớp",
            f"class {record.name} has enrolments: its course cannot change",
            409,
        )
    before = snapshot(record)
    for key, value in values.items():
        if key != "name":
            setattr(record, key, value)
    session.flush()
    after = snapshot(record)
    if after != before:
        record_action(session, actor, "class.update", record.name, before, after)
    return record


STATUS_ACTIONS = {"close": ClassStatus.closed, "archive": ClassStatus.archived, "reopen": ClassStatus.open}


def set_status(session: Session, actor: str, name: str, action: str) -> SchoolClass:
    """close (no new enrolments), archive (out of the everyday lists) or reopen; nothing else changes."""
    if action not in STATUS_ACTIONS:
        raise UserError(f"thao tác {action[:40]!r} không có", f"unknown action {action[:40]!r}", 400)
    record = get_class(session, name)
    target = STATUS_ACTIONS[action]
    if record.status == target:
        return record
    before = snapshot(record)
    record.status = target
    if target == ClassStatus.open:
        record.closed_at = None
    elif record.closed_at is None:
        record.closed_at = utcnow()
    session.flush()
    record_action(session, actor, f"class.{action}", record.name, before, snapshot(record))
    return record


def list_classes(session: Session, filters: ClassFilter) -> list[SchoolClass]:
    """Open classes first, then closed, then archived; newest year first, then by code."""
    query = session.query(SchoolClass)
    if filters.year is not None:
        query = query.filter(SchoolClass.year == filters.year)
    if filters.status is not None:
        query = query.filter(SchoolClass.status == filters.status)
    if filters.course_id:
        query = query.filter(SchoolClass.course_id == filters.course_id)
    order = case({ClassStatus.open.value: 0, ClassStatus.closed.value: 1}, value=SchoolClass.status, else_=2)
    return query.order_by(order, SchoolClass.year.desc(), SchoolClass.name).all()


# -- sessions: the timetable's own functions, their transaction carrying the audit row -------------------------


@dataclass
class Changes:
    """What the flushes of one transaction wrote."""

    new: list[Any] = field(default_factory=list)
    dirty: list[Any] = field(default_factory=list)
    deleted: list[Any] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.new or self.dirty or self.deleted)


class AuditedDirectory:
    """A Directory whose transactions end by calling `audit(session, changes)` just before the commit (not when
    the block raised), so a function that opens its own transaction (the timetable's, the roster importer's)
    still gets our audit row written inside it."""

    def __init__(self, directory: Directory, audit: Callable[[Session, Changes], None]) -> None:
        self.directory = directory
        self.audit = audit

    @contextmanager
    def session(self) -> Iterator[Session]:
        changes = Changes()

        def collect(session: Session, *_: Any) -> None:
            changes.new.extend(session.new)
            changes.dirty.extend(o for o in session.dirty if session.is_modified(o))
            changes.deleted.extend(session.deleted)

        with self.directory.session() as s:
            event.listen(s, "before_flush", collect)
            try:
                yield s
                s.flush()
                self.audit(s, changes)
            finally:
                event.remove(s, "before_flush", collect)


def add_class_session(
    directory: Directory, actor: str, class_name: str, day: str, start: str, end: str, zone: str, room: str
) -> TimetableReport:
    """One session by the timetable's rules (report.errors say why not); audited when it added or changed one.
    A closed or archived class keeps its timetable as it was."""
    _open_class(directory, class_name)

    def audit(s: Session, changes: Changes) -> None:
        if changes:
            after = {"class": normalize_class_code(class_name), "date": day, "start": start, "end": end, "room": room}
            record_action(s, actor, "class.session_add", normalize_class_code(class_name), None, after)

    return add_session(AuditedDirectory(directory, audit), class_name, day, start, end, zone, room)  # type: ignore[arg-type]


def remove_class_session(
    directory: Directory, actor: str, class_name: str, day: str, start: str, zone: str
) -> SessionLine:
    _open_class(directory, class_name)

    def audit(s: Session, changes: Changes) -> None:
        if changes:
            record_action(s, actor, "class.session_remove", normalize_class_code(class_name),
                          {"class": normalize_class_code(class_name), "date": day, "start": start}, None)  # fmt: skip

    return remove_session(AuditedDirectory(directory, audit), class_name, day, start, zone)  # type: ignore[arg-type]


def _open_class(directory: Directory, class_name: str) -> None:
    with directory.session() as s:
        record = get_class(s, class_name)
        if record.status != ClassStatus.open:
            raise UserError(f"lớp {record.name} đã đóng: không sửa thời khoá biểu",
                            f"class {record.name} is closed: its timetable is not changed", 409)  # fmt: skip
