"""Passwords and the accounts the hub creates itself (admin, demo).

Hashes are bcrypt, stored in nativeauthenticator's `users_info` table, so the authenticator checks them
unchanged. Passwords we generate are random (about 70 bits), which is why they may use a cheaper bcrypt
cost than the passwords people choose: the cost only protects guessable passwords, and 10,000 learners
imported at cost 12 would take half an hour on two cores.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass

import bcrypt
from nativeauthenticator.orm import UserInfo
from sqlalchemy.orm import Session

from hub.directory.models import Enrolment, EnrolmentRole, Person, SchoolClass

CHOSEN_PASSWORD_ROUNDS = 12  # nativeauthenticator's own cost, for passwords people choose
GENERATED_PASSWORD_ROUNDS = 5  # random 70-bit passwords, see module docstring
ADMIN_USERNAME = "admin"

# Lower-case ASCII only: names that differ only in case or Unicode form can never be two accounts.
USERNAME_PATTERN = r"^[a-z0-9](?:[a-z0-9._@+-]{0,62}[a-z0-9])?$"
_USERNAME_RE = re.compile(USERNAME_PATTERN)
# Letters and digits that cannot be mistaken for each other when read off a printed slip.
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"


def normalize_username(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().lower()


def is_valid_username(name: str) -> bool:
    return bool(_USERNAME_RE.match(name))


def generate_password() -> str:
    """Three groups of four, e.g. `kX7m-P3qr-Wz9t`: 12 random symbols of 54, about 69 bits."""
    groups = ("".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(4)) for _ in range(3))
    return "-".join(groups)


def hash_password(password: str, rounds: int = CHOSEN_PASSWORD_ROUNDS) -> bytes:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds))


def set_password(session: Session, username: str, password_hash: bytes) -> None:
    """Store a hash for `username`, creating the login record if needed; the login is authorised."""
    info = session.query(UserInfo).filter(UserInfo.username == username).one_or_none()
    if info is None:
        session.add(UserInfo(username=username, password=password_hash, is_authorized=True))
    else:
        info.password = password_hash
        info.is_authorized = True


def has_login(session: Session, username: str) -> bool:
    return session.query(UserInfo.id).filter(UserInfo.username == username).first() is not None


def ensure_admin(session: Session, password: str | None) -> str | None:
    """Create the `admin` account once. Returns the password to show if one was generated."""
    if has_login(session, ADMIN_USERNAME):
        return None
    generated = password is None
    password = password or generate_password()
    rounds = GENERATED_PASSWORD_ROUNDS if generated else CHOSEN_PASSWORD_ROUNDS
    set_password(session, ADMIN_USERNAME, hash_password(password, rounds))
    person = session.get(Person, ADMIN_USERNAME)
    if person is None:
        session.add(Person(username=ADMIN_USERNAME, full_name="Quản trị hệ thống", is_admin=True))
    else:
        person.is_admin = True
    return password if generated else None


def reset_password(session: Session, username: str) -> str:
    """A new generated password that the user must change at next login."""
    person = session.get(Person, username)
    if person is None and not has_login(session, username):
        raise LookupError(f"no account named {username!r}")
    password = generate_password()
    set_password(session, username, hash_password(password, GENERATED_PASSWORD_ROUNDS))
    if person is not None:
        person.must_change_password = True
    return password


@dataclass(frozen=True)
class DemoAccount:
    username: str
    full_name: str
    role: str
    password: str


# One demo class per course of the curriculum, the same people in each: code, course id, title.
DEMO_CLASSES = (
    ("DEMO", "phan-tich-du-lieu", "Lớp trải nghiệm — Phân tích dữ liệu với Python"),
    ("DEMO-KNS", "ky-nang-so", "Lớp trải nghiệm — Kỹ năng số cho cán bộ"),
)
DEMO_PEOPLE = (
    ("giangvien", "Trần Thị Hương", EnrolmentRole.instructor),
    ("hocvien1", "Nguyễn Văn An", EnrolmentRole.learner),
    ("hocvien2", "Lê Thị Bích Ngọc", EnrolmentRole.learner),
    ("hocvien3", "Phạm Đức Thắng", EnrolmentRole.learner),
)


def ensure_demo(session: Session, course_ids: set[str]) -> list[DemoAccount]:
    """The demo classes (of the courses that exist) with one instructor and three learners, with fresh
    passwords on every start."""
    classes = [(code, course) for code, course, _ in DEMO_CLASSES if course in course_ids]
    for code, course, title in DEMO_CLASSES:
        if course in course_ids and session.get(SchoolClass, code) is None:
            session.add(SchoolClass(name=code, title=title, course_id=course, funding=None))
    accounts = []
    for username, full_name, role in DEMO_PEOPLE:
        person = session.get(Person, username)
        if person is None:
            person = Person(
                username=username,
                full_name=full_name,
                email=f"{username}@demo.truongso.invalid",
                organisation="Đơn vị trải nghiệm",
            )
            session.add(person)
        person.must_change_password = False
        session.flush()
        for code, _ in classes:
            if session.query(Enrolment).filter_by(class_name=code, username=username).one_or_none() is None:
                session.add(Enrolment(class_name=code, username=username, role=role))
        password = generate_password()
        set_password(session, username, hash_password(password, GENERATED_PASSWORD_ROUNDS))
        accounts.append(DemoAccount(username, full_name, role.value, password))
    return accounts
