"""Apply a checked roster to the directory in one transaction: everything or nothing.

Re-importing the same file changes nothing. New accounts get a generated password that they must change at
first login; the passwords go to a file only the importing admin can read (mode 0600).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from nativeauthenticator.orm import UserInfo

from graders.text import Text
from hub.directory.accounts import GENERATED_PASSWORD_ROUNDS, generate_password, hash_password
from hub.directory.db import Directory
from hub.directory.models import Enrolment, Person, SchoolClass
from hub.roster.reader import read_roster
from hub.roster.validate import Candidate, RowError, check_sheet, normalize_class_code


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    enrolled: int = 0
    encoding: str = ""
    errors: list[RowError] = field(default_factory=list)
    passwords_file: Path | None = None
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def import_roster(
    directory: Directory,
    path: Path,
    passwords_dir: Path,
    default_class: str | None = None,
    dry_run: bool = False,
    encoding: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Check the file and apply it; `progress(done, total)`, if given, follows the slow part: hashing the
    generated passwords of the new accounts (called with (0, new) first, then after each one; not on a dry
    run, a file with errors or an import that creates nobody)."""
    sheet = read_roster(path, encoding)
    if default_class is not None:
        default_class = normalize_class_code(default_class)
    report = ImportReport(encoding=sheet.encoding, dry_run=dry_run)
    pending_file: Path | None = None
    try:
        with directory.session() as session:
            known_classes = {name for (name,) in session.query(SchoolClass.name)}
            checked = check_sheet(sheet, known_classes, default_class)
            report.rows = len(checked.candidates)
            report.errors = checked.errors or _conflicts_with_directory(session, checked.candidates)
            if report.errors:
                return report
            new_people = _plan(session, checked.candidates, report)
            if dry_run:
                raise _DryRun
            if not new_people:
                return report
            passwords = {c.username: generate_password() for c in new_people}
            hashes = {}
            if progress is not None:
                progress(0, len(passwords))
            with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
                for done, (username, password_hash) in enumerate(
                    zip(passwords, pool.map(_hash, passwords.values()), strict=True), 1
                ):
                    hashes[username] = password_hash
                    if progress is not None:
                        progress(done, len(passwords))
            logins = {info.username: info for info in session.query(UserInfo)}
            for username, password_hash in hashes.items():
                if username in logins:  # a login left from an earlier account of the same name
                    logins[username].password, logins[username].is_authorized = password_hash, True
                else:
                    session.add(UserInfo(username=username, password=password_hash, is_authorized=True))
            pending_file = _write_passwords(passwords_dir, new_people, passwords)
    except _DryRun:
        return report  # the transaction was rolled back: nothing written
    except BaseException:
        if pending_file is not None:
            pending_file.unlink(missing_ok=True)  # never stored: these passwords would only mislead
        raise
    # committed: only now does the passwords file get its final name
    if pending_file is not None:
        report.passwords_file = pending_file.with_suffix(".csv")
        pending_file.rename(report.passwords_file)
    return report


class _DryRun(Exception):
    """Raised inside the transaction to roll back everything a dry run planned."""


def _hash(password: str) -> bytes:
    return hash_password(password, GENERATED_PASSWORD_ROUNDS)


def _conflicts_with_directory(session, candidates: list[Candidate]) -> list[RowError]:
    """An email that belongs to another account, or a username already used with another email."""
    email_owner = {email: username for username, email in session.query(Person.username, Person.email) if email}
    owner_email = {username: email for email, username in email_owner.items()}
    errors = []
    for c in candidates:
        owner = email_owner.get(c.email)
        if owner is not None and owner != c.username:
            errors.append(
                RowError(
                    c.row,
                    "Email",
                    Text(f"email đã thuộc về tài khoản {owner}", f"email already belongs to account {owner}"),
                )
            )
        existing = owner_email.get(c.username)
        if c.username in owner_email and existing != c.email:
            errors.append(
                RowError(
                    c.row,
                    "Tên đăng nhập / username",
                    Text(
                        f"tên đăng nhập {c.username} đã được dùng cho một email khác",
                        f"username {c.username} is already used with another email",
                    ),
                )
            )
    return errors


def _plan(session, candidates: list[Candidate], report: ImportReport) -> list[Candidate]:
    """Add/update people and enrolments in the session; return the candidates who are new people."""
    people = {p.username: p for p in session.query(Person)}
    classes = {c.class_name for c in candidates}
    enrolments = {
        (e.class_name, e.username): e for e in session.query(Enrolment).filter(Enrolment.class_name.in_(classes))
    }
    new_people = []
    for c in candidates:
        person = people.get(c.username)
        if person is None:
            session.add(
                Person(
                    username=c.username,
                    full_name=c.full_name,
                    email=c.email,
                    organisation=c.organisation,
                    must_change_password=True,
                )
            )
            new_people.append(c)
            report.created += 1
        elif (person.full_name, person.organisation) != (c.full_name, c.organisation):
            person.full_name, person.organisation = c.full_name, c.organisation
            report.updated += 1
        else:
            report.unchanged += 1
        enrolment = enrolments.get((c.class_name, c.username))
        if enrolment is None:
            session.add(Enrolment(class_name=c.class_name, username=c.username, role=c.role))
            report.enrolled += 1
        elif enrolment.role != c.role:
            enrolment.role = c.role
            report.enrolled += 1
    session.flush()
    return new_people


def _write_passwords(directory: Path, people: list[Candidate], passwords: dict[str, str]) -> Path:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    path = directory / f"mat-khau-{stamp}.pending"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as out:  # BOM: Excel opens it correctly
        writer = csv.writer(out)
        writer.writerow(["ten_dang_nhap/username", "ho_ten/full_name", "lop/class", "mat_khau/password"])
        for c in people:
            writer.writerow([_cell(c.username), _cell(c.full_name), _cell(c.class_name), passwords[c.username]])
    return path


def _cell(value: str) -> str:
    # A cell starting with = + - @ is a formula to Excel; names never start that way, but be sure.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
