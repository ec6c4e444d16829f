"""What the exchange keeps: releases, per-class deadlines, every submission attempt, feedback.

Files themselves are content-addressed blobs on disk (blobs.py); rows point at them by SHA-256.
Usernames, classes and course ids are plain strings: the directory and the curriculum own them.
Every moment is a `UTCDateTime`: aware in, UTC in the database, aware UTC out (graders.timeutil).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from graders.db import Base
from graders.timeutil import UTCDateTime, utcnow

DEFAULT_CLASS = "*"  # a deadline row for every class of the course that has no row of its own


class Release(Base):
    __tablename__ = "exchange_releases"
    __table_args__ = (UniqueConstraint("course_id", "assignment_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course_id: Mapped[str] = mapped_column(String(64))
    assignment_id: Mapped[str] = mapped_column(String(64))
    blob: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    notebooks: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of notebook file names
    released_by: Mapped[str] = mapped_column(String(128))
    released_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Deadline(Base):
    __tablename__ = "exchange_deadlines"

    course_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    assignment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    class_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by: Mapped[str] = mapped_column(String(128))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Submission(Base):
    __tablename__ = "exchange_submissions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, but access is checked anyway
    course_id: Mapped[str] = mapped_column(String(64), index=True)
    assignment_id: Mapped[str] = mapped_column(String(64), index=True)
    student: Mapped[str] = mapped_column(String(128), index=True)
    class_name: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timestamp: Mapped[str] = mapped_column(String(64))  # as nbgrader writes it in timestamp.txt
    attempt: Mapped[int] = mapped_column(Integer)
    blob: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    notebooks: Mapped[str] = mapped_column(Text, default="[]")
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seconds_late: Mapped[int] = mapped_column(Integer, default=0)

    feedback: Mapped[list[Feedback]] = relationship(back_populates="submission", cascade="all, delete-orphan")


class Feedback(Base):
    __tablename__ = "exchange_feedback"
    __table_args__ = (UniqueConstraint("submission_id", "notebook_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("exchange_submissions.id", ondelete="CASCADE"), index=True)
    notebook_id: Mapped[str] = mapped_column(String(255))
    blob: Mapped[str] = mapped_column(String(64))
    released_by: Mapped[str] = mapped_column(String(128))
    released_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="feedback")
