"""The certificate registry (sổ cấp giấy chứng nhận): its own tables in the hub's database.

No foreign keys into other subsystems' tables: usernames, class names and course ids are plain strings,
copied at issue time, because a certificate must keep saying what it said when it was issued even after a
person is renamed or a class deleted.

Two constraints carry the "never duplicated" promise, whatever the code above them does:
- `uq_certificates_year_seq`: one serial per (year, number);
- `uq_certificates_active_learner`: at most one non-revoked certificate per learner and course
  (a partial unique index, supported by SQLite and PostgreSQL).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from graders.certificates.codes import new_code
from graders.db import Base
from graders.timeutil import UTCDateTime, utcnow


class Certificate(Base):
    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("year", "seq", name="uq_certificates_year_seq"),
        Index(
            "uq_certificates_active_learner",
            "username",
            "course_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    serial: Mapped[str] = mapped_column(String(32), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(64), index=True)
    course_id: Mapped[str] = mapped_column(String(64), index=True)
    class_name: Mapped[str | None] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(300), default="")
    course_title_vi: Mapped[str] = mapped_column(String(300))
    course_title_en: Mapped[str] = mapped_column(String(300), default="")
    hours: Mapped[float] = mapped_column(Float)
    completed_on: Mapped[date | None] = mapped_column(Date)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_on: Mapped[date] = mapped_column(Date)  # the date printed, in the school's time zone
    decision: Mapped[str] = mapped_column(String(120))
    issued_by: Mapped[str] = mapped_column(String(80))
    credential: Mapped[str] = mapped_column(Text)  # the signed JSON exactly as handed to the learner
    # the unguessable half of the public address (codes.py); random, made at issue (migration c0002 for older ones)
    # NULL allowed in the database (migration c0002 could not make it NOT NULL on SQLite); every insert fills it
    verification_code: Mapped[str] = mapped_column(String(16), nullable=True, default=new_code)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(500))
    revoked_by: Mapped[str | None] = mapped_column(String(80))

    @property
    def status(self) -> str:
        return "revoked" if self.revoked_at is not None else "valid"


class SerialCounter(Base):
    """Last number given out per year; its row is the lock that makes concurrent issuing sequential."""

    __tablename__ = "certificate_serials"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class AuditEntry(Base):
    """Who did what to which certificate, when: one row per issue and per revoke."""

    __tablename__ = "certificate_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(16))  # issue | revoke
    serial: Mapped[str] = mapped_column(String(32), index=True)
    username: Mapped[str] = mapped_column(String(64))
    course_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")  # JSON: decision, reason, class…
