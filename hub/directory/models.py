"""The school's own records: people, classes and who is enrolled where, as what.

JupyterHub's database knows users and groups; this one knows what the school needs to know about them
(full names with diacritics, units, funding of a class, first-login password rules). The hub learns a
user's classes and roles from here at every login (see hub.auth).
Passwords are not here: they live in nativeauthenticator's `users_info` table in the same database.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from graders.db import Base
from graders.timeutil import UTCDateTime, utcnow


class Funding(enum.StrEnum):
    """How a class is paid for; the school reports budget and non-budget classes separately."""

    budget = "budget"  # ngân sách nhà nước
    non_budget = "non_budget"  # xã hội hoá (paid outside the state budget)


class EnrolmentRole(enum.StrEnum):
    learner = "learner"
    instructor = "instructor"


class Person(Base):
    __tablename__ = "people"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    organisation: Mapped[str] = mapped_column(String(300), default="")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # False: deactivated by an admin (left the school); no login, the record and its history stay
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    enrolments: Mapped[list[Enrolment]] = relationship(back_populates="person", cascade="all, delete-orphan")


class ClassStatus(enum.StrEnum):
    """Where a class is in its life; closing or archiving keeps every enrolment, submission and grade."""

    open = "open"  # đang học
    closed = "closed"  # đã kết thúc: no new enrolments, reports count it as delivered
    archived = "archived"  # lưu trữ: out of the everyday lists


class SchoolClass(Base):
    """A class (lớp) of 30-100 learners taking one course; in the hub it is a group of the same name."""

    __tablename__ = "classes"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    course_id: Mapped[str | None] = mapped_column(String(64))
    year: Mapped[int | None] = mapped_column(Integer)
    funding: Mapped[Funding | None] = mapped_column(Enum(Funding, native_enum=False, length=16))
    # who pays, by name (a project, a province's budget line, a sponsor): the yearly report splits by it
    funding_name: Mapped[str] = mapped_column(String(300), default="", server_default="")
    unit: Mapped[str] = mapped_column(String(300), default="", server_default="")  # đơn vị tổ chức
    province: Mapped[str] = mapped_column(String(100), default="", server_default="")  # tỉnh/thành phố
    status: Mapped[ClassStatus] = mapped_column(
        Enum(ClassStatus, native_enum=False, length=16), default=ClassStatus.open, server_default="open"
    )
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    enrolments: Mapped[list[Enrolment]] = relationship(back_populates="school_class", cascade="all, delete-orphan")
    sessions: Mapped[list[ClassSession]] = relationship(back_populates="school_class", cascade="all, delete-orphan")


class Enrolment(Base):
    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("class_name", "username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    class_name: Mapped[str] = mapped_column(ForeignKey("classes.name", ondelete="CASCADE"), index=True)
    username: Mapped[str] = mapped_column(ForeignKey("people.username", ondelete="CASCADE"), index=True)
    role: Mapped[EnrolmentRole] = mapped_column(
        Enum(EnrolmentRole, native_enum=False, length=16), default=EnrolmentRole.learner
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship(back_populates="enrolments")
    school_class: Mapped[SchoolClass] = relationship(back_populates="enrolments")


class ClassSession(Base):
    """One timetabled meeting of a class (buổi học): the hub pre-warms its learners' workspaces before it."""

    __tablename__ = "class_sessions"
    __table_args__ = (UniqueConstraint("class_name", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    class_name: Mapped[str] = mapped_column(ForeignKey("classes.name", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    room: Mapped[str] = mapped_column(String(200), default="")  # phòng học, or a note shown to learners
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    school_class: Mapped[SchoolClass] = relationship(back_populates="sessions")


class AdminAction(Base):
    """The audit log of the admin console and CLI (nhật ký quản trị): who did what to whom, when, and the
    record before and after (JSON). Rows are only ever added."""

    __tablename__ = "admin_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)  # e.g. class.create, person.reset_password
    target: Mapped[str] = mapped_column(String(200), default="", index=True)
    before: Mapped[str] = mapped_column(Text, default="")  # JSON, "" when there was nothing
    after: Mapped[str] = mapped_column(Text, default="")


class LoginFailure(Base):
    """Failed logins of an existing account, counted in the database (not in the hub's memory) so that the
    lock-out survives a hub restart and an admin can see and lift it from the portal."""

    __tablename__ = "login_failures"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
