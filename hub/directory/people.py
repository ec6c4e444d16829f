"""Everyone in the directory, for the admin console (and the CLI): find people, and the changes an admin makes
to one person — reset a forgotten password, lift a lock-out, move a learner to another class of the same
course, deactivate or reactivate, correct the name, email or unit.

Plain functions on a directory session. Each change writes its audit row (hub.directory.audit) in the same
session, so the row and the change commit together or not at all. Refusals are UserError with an HTTP status
(the console shows it, the CLI prints it) and change nothing.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from graders.text import UserError
from hub.directory import accounts, lockout
from hub.directory.audit import record_action, snapshot
from hub.directory.models import ClassStatus, Enrolment, EnrolmentRole, Person, SchoolClass
from hub.roster.validate import _NAME_RE  # the roster's rule for a person's name, so both agree

PER_PAGE = 50
MAX_QUERY = 200  # characters of a search
MAX_PAGE = 100_000


class Role(enum.StrEnum):
    learner = "learner"
    instructor = "instructor"
    admin = "admin"


class State(enum.StrEnum):
    active = "active"
    deactivated = "deactivated"
    locked = "locked"
    must_change = "must_change"


@dataclass(frozen=True)
class Lockout:
    """The hub's lock-out thresholds (HubSettings.login_max_failures, login_lockout_seconds)."""

    max_failures: int
    seconds: int


@dataclass
class EnrolmentLine:
    class_name: str
    role: str
    course_id: str
    class_title: str = ""
    class_status: str = ""


@dataclass
class PersonLine:
    username: str
    full_name: str
    email: str
    organisation: str
    active: bool
    is_admin: bool
    must_change_password: bool
    locked_seconds: int = 0
    enrolments: list[EnrolmentLine] = field(default_factory=list)


@dataclass
class PeoplePage:
    people: list[PersonLine]
    total: int
    page: int
    pages: int


# -- finding people --------------------------------------------------------------------------------------


def _fold_table() -> dict[int, str | None]:
    """Every Latin letter with diacritics (Vietnamese's among them) to its plain letter, combining marks to
    nothing, đ/Đ to d/D: one str.translate instead of a Unicode decomposition per character (30,000 people
    are searched in a few tens of milliseconds)."""
    table: dict[int, str | None] = {c: None for c in range(0x300, 0x370)}  # combining marks (NFD input)
    for code in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
        plain = "".join(c for c in unicodedata.normalize("NFD", chr(code)) if not unicodedata.combining(c))
        if plain and plain != chr(code):
            table[code] = plain
    table[ord("đ")], table[ord("Đ")] = "d", "D"
    return table


_FOLD = _fold_table()


def fold(text: str) -> str:
    """What a search compares: lower case without diacritics (đ -> d), every other character kept as it is,
    so `nguyen van an` finds `Nguyễn Văn An` and `%` or `_` are only themselves."""
    return " ".join(text.translate(_FOLD).lower().split())


def check_username(raw: str) -> str:
    """A username from a URL or a form, exactly as stored (no case or Unicode folding: `An` is not `an`); 400
    unless it could be an account name at all."""
    if len(raw) > 64 or not accounts.is_valid_username(raw):
        raise UserError("tên đăng nhập không hợp lệ", "invalid username", 400)
    return raw


def search_people(
    session: Session,
    query: str = "",
    *,
    class_name: str = "",
    role: str = "",
    state: str = "",
    page: int = 1,
    limits: Lockout = Lockout(0, 0),
    per_page: int = PER_PAGE,
) -> PeoplePage:
    """One page of the people matching every word of `query` (in the name, username, email or unit, with or
    without diacritics) and the filters, by name."""
    if len(query) > MAX_QUERY:
        raise UserError(f"từ khoá quá dài (tối đa {MAX_QUERY} ký tự)", f"search too long (at most {MAX_QUERY})", 400)
    if not 1 <= page <= MAX_PAGE:
        raise UserError("số trang không hợp lệ", "invalid page number", 400)
    role_filter = _choice(Role, role, "vai trò", "role")
    state_filter = _choice(State, state, "trạng thái", "state")
    columns = (
        Person.username,
        Person.full_name,
        Person.email,
        Person.organisation,
        Person.active,
        Person.is_admin,
        Person.must_change_password,
    )
    stmt = select(*columns)
    if class_name:
        if session.get(SchoolClass, class_name[:64]) is None:
            raise UserError(f"không có lớp {class_name[:64]!r}", f"no class {class_name[:64]!r}", 404)
        in_class = select(Enrolment.username).where(Enrolment.class_name == class_name)
        if role_filter in (Role.learner, Role.instructor):
            in_class = in_class.where(Enrolment.role == EnrolmentRole(role_filter.value))
        stmt = stmt.where(Person.username.in_(in_class))
    elif role_filter in (Role.learner, Role.instructor):
        stmt = stmt.where(
            Person.username.in_(select(Enrolment.username).where(Enrolment.role == EnrolmentRole(role_filter.value)))
        )
    if role_filter is Role.admin:
        stmt = stmt.where(Person.is_admin.is_(True))
    if state_filter is State.active:
        stmt = stmt.where(Person.active.is_(True))
    elif state_filter is State.deactivated:
        stmt = stmt.where(Person.active.is_(False))
    elif state_filter is State.must_change:
        stmt = stmt.where(Person.must_change_password.is_(True))
    locked = lockout.locked_accounts(session, limits.max_failures, limits.seconds)
    if state_filter is State.locked:
        stmt = stmt.where(Person.username.in_(sorted(locked)))
    words = fold(query).split()
    found = []
    for row in session.execute(stmt):
        # The words are matched here, not in SQL: SQL cannot drop Vietnamese diacritics, and a literal match
        # leaves no LIKE wildcards to escape.
        haystack = f"{row.full_name}\n{row.username}\n{row.email or ''}\n{row.organisation}".translate(_FOLD).lower()
        if all(word in haystack for word in words):
            found.append((haystack.partition("\n")[0], row.username, row))
    found.sort(key=lambda item: item[:2])  # by name without diacritics, then username
    pages = max(1, -(-len(found) // per_page))
    if page > pages:
        raise UserError(f"không có trang {page} (có {pages} trang)", f"no page {page} (there are {pages})", 404)
    chosen = [row for *_, row in found[(page - 1) * per_page : page * per_page]]
    lines = [
        PersonLine(
            r.username,
            r.full_name,
            r.email or "",
            r.organisation,
            r.active,
            r.is_admin,
            r.must_change_password,
            locked.get(r.username, 0),
        )
        for r in chosen
    ]
    _add_enrolments(session, lines)
    return PeoplePage(lines, len(found), page, pages)


def person_details(session: Session, username: str, limits: Lockout) -> PersonLine:
    """One person with every enrolment and their lock-out; 404 when there is none."""
    person = _person(session, username)
    line = PersonLine(
        person.username,
        person.full_name,
        person.email or "",
        person.organisation,
        person.active,
        person.is_admin,
        person.must_change_password,
        lockout.seconds_locked(session, username, limits.max_failures, limits.seconds),
    )
    _add_enrolments(session, [line])
    return line


def move_targets(session: Session, username: str) -> dict[str, list[tuple[str, str]]]:
    """For each class the person learns in: the open classes of the same course they could move to."""
    mine = session.execute(
        select(Enrolment.class_name, SchoolClass.course_id)
        .join(SchoolClass, SchoolClass.name == Enrolment.class_name)
        .where(Enrolment.username == username, Enrolment.role == EnrolmentRole.learner)
    ).all()
    everywhere = set(session.scalars(select(Enrolment.class_name).where(Enrolment.username == username)))
    out: dict[str, list[tuple[str, str]]] = {}
    for class_name, course_id in mine:
        if not course_id:
            continue
        rows = session.execute(
            select(SchoolClass.name, SchoolClass.title)
            .where(SchoolClass.course_id == course_id, SchoolClass.status == ClassStatus.open)
            .order_by(SchoolClass.name)
        ).all()
        out[class_name] = [(n, t) for n, t in rows if n not in everywhere]
    return out


def _add_enrolments(session: Session, lines: list[PersonLine]) -> None:
    if not lines:
        return
    by_name = {line.username: line for line in lines}
    rows = session.execute(
        select(
            Enrolment.username,
            Enrolment.class_name,
            Enrolment.role,
            SchoolClass.course_id,
            SchoolClass.title,
            SchoolClass.status,
        )
        .join(SchoolClass, SchoolClass.name == Enrolment.class_name)
        .where(Enrolment.username.in_(sorted(by_name)))
        .order_by(Enrolment.class_name)
    )
    for r in rows:
        by_name[r.username].enrolments.append(
            EnrolmentLine(r.class_name, r.role.value, r.course_id or "", r.title, r.status.value)
        )


# -- changes (each with its audit row) --------------------------------------------------------------------


def reset_password(session: Session, actor: str, username: str) -> str:
    """A new generated password, to hand over in person; the person must change it at the next login. A lock-out
    is lifted too (a forgotten password usually comes with one). The password is in no audit row."""
    person = _person(session, username)
    before = {"must_change_password": person.must_change_password, "login_failures": _failures(session, username)}
    password = accounts.reset_password(session, username)
    lockout.clear_failures(session, username)
    record_action(
        session, actor, "person.reset_password", username, before, {"must_change_password": True, "login_failures": 0}
    )
    return password


def unlock(session: Session, actor: str, username: str, limits: Lockout) -> bool:
    """Lift a lock-out; False (and no audit row) when the account was not locked."""
    _person(session, username)
    seconds = lockout.seconds_locked(session, username, limits.max_failures, limits.seconds)
    failures = _failures(session, username)
    if not seconds:
        return False
    lockout.clear_failures(session, username)
    record_action(
        session,
        actor,
        "person.unlock",
        username,
        {"login_failures": failures, "seconds_locked": seconds},
        {"login_failures": 0, "seconds_locked": 0},
    )
    return True


def move_learner(session: Session, actor: str, username: str, from_class: str, to_class: str) -> None:
    """Move a learner's enrolment to another open class of the same course. Their work and grades stay where
    they are kept, which is per course, not per class: the home folder per user, the gradebook per course,
    the exchange's submissions per course and learner. The hub gives them the new group at the next
    login or refresh (hub.auth)."""
    _person(session, username)
    enrolment = session.scalar(
        select(Enrolment).where(
            Enrolment.username == username,
            Enrolment.class_name == from_class[:64],
            Enrolment.role == EnrolmentRole.learner,
        )
    )
    if enrolment is None:
        raise UserError(
            f"{username} không học lớp {from_class[:64]!r}",
            f"{username} is not a learner of class {from_class[:64]!r}",
            400,
        )
    source = enrolment.school_class
    target = session.get(SchoolClass, to_class[:64])
    if target is None:
        raise UserError(f"không có lớp {to_class[:64]!r}", f"no class {to_class[:64]!r}", 404)
    if target.name == source.name or session.scalar(
        select(Enrolment.id).where(Enrolment.username == username, Enrolment.class_name == target.name)
    ):
        raise UserError(f"{username} đã ở lớp {target.name}", f"{username} is already in class {target.name}", 409)
    if target.course_id != source.course_id or not target.course_id:
        raise UserError(
            f"lớp {target.name} học khoá {target.course_id or '-'}, không phải {source.course_id or '-'}: bài làm và "
            "điểm thuộc về khoá học nên chỉ chuyển được sang lớp cùng khoá",
            f"class {target.name} takes course {target.course_id or '-'}, not {source.course_id or '-'}: work and "
            "grades belong to the course, so a learner moves only to a class of the same course",
            409,
        )
    if target.status != ClassStatus.open:
        raise UserError(
            f"lớp {target.name} đã kết thúc hoặc lưu trữ, không nhận thêm học viên",
            f"class {target.name} is closed or archived and takes no new learners",
            409,
        )
    before = {"class_name": source.name, "course_id": source.course_id}
    enrolment.class_name = target.name
    record_action(
        session, actor, "person.move", username, before, {"class_name": target.name, "course_id": target.course_id}
    )


def set_active(session: Session, actor: str, username: str, active: bool) -> bool:
    """Deactivate (no login; the record, work and certificates stay) or reactivate; False when it already was.
    Nobody deactivates themselves, and the last active admin stays."""
    person = _person(session, username)
    if person.active == active:
        return False
    if not active:
        if username == actor:
            raise UserError("không thể tự khoá tài khoản của mình", "you cannot deactivate your own account", 409)
        if person.is_admin and _other_active_admins(session, username) == 0:
            raise UserError("không thể khoá quản trị viên cuối cùng", "the last admin cannot be deactivated", 409)
    before = snapshot(person)
    person.active = active
    session.flush()
    record_action(
        session, actor, "person.activate" if active else "person.deactivate", username, before, snapshot(person)
    )
    return True


def edit_person(session: Session, actor: str, username: str, full_name: str, email: str, organisation: str) -> bool:
    """Correct the name, email or unit, checked as the roster checks them; False when nothing changed."""
    person = _person(session, username)
    full_name = " ".join(full_name.split())
    if not full_name:
        raise UserError("thiếu họ và tên", "full name is empty", 400)
    if len(full_name) > 200 or not _NAME_RE.match(full_name):
        raise UserError(f"họ và tên không hợp lệ: {full_name[:60]!r}", f"invalid full name: {full_name[:60]!r}", 400)
    clean_email = _email(email.strip()) if email.strip() else None
    organisation = " ".join(organisation.split())
    if len(organisation) > 300 or any(unicodedata.category(c) in ("Cc", "Cf") for c in organisation):
        raise UserError("tên đơn vị không hợp lệ", "invalid organisation", 400)
    if clean_email and clean_email != person.email:
        other = session.scalar(select(Person.username).where(Person.email == clean_email))
        if other is not None:
            raise UserError(f"email {clean_email} đã thuộc về {other}", f"email {clean_email} belongs to {other}", 409)
    after = {"full_name": full_name, "email": clean_email, "organisation": organisation}
    before = {key: getattr(person, key) for key in after}
    if before == after:
        return False
    for key, value in after.items():
        setattr(person, key, value)
    record_action(session, actor, "person.edit", username, before, after)
    return True


# -- helpers ----------------------------------------------------------------------------------------------


def _person(session: Session, username: str) -> Person:
    person = session.get(Person, username)
    if person is None:
        raise UserError(f"không có tài khoản {username!r}", f"no account {username!r}", 404)
    return person


def _failures(session: Session, username: str) -> int:
    from hub.directory.models import LoginFailure

    row = session.get(LoginFailure, username)
    return row.failures if row is not None else 0


def _other_active_admins(session: Session, username: str) -> int:
    return (
        session.scalar(
            select(func.count(Person.username)).where(
                Person.is_admin.is_(True), Person.active.is_(True), Person.username != username
            )
        )
        or 0
    )


def _email(raw: str) -> str:
    try:
        return validate_email(raw, check_deliverability=False, allow_smtputf8=False).normalized.lower()
    except EmailNotValidError as exc:
        raise UserError(f"email không hợp lệ: {raw[:80]!r}", f"invalid email {raw[:80]!r}: {exc}", 400) from None


def _choice(kind: type[enum.StrEnum], value: str, vi: str, en: str) -> Any:
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise UserError(f"{vi} không hợp lệ: {value[:40]!r}", f"invalid {en}: {value[:40]!r}", 400) from None
