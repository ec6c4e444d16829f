"""Which sessions fall in a span of time: for the pre-warming service, the CLI and the portal alike."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from graders.timeutil import to_utc
from hub.directory.models import ClassSession


def sessions_overlapping(db_session: Session, start: datetime, end: datetime) -> list[ClassSession]:
    """Every class's sessions under way at some moment of [start, end) (starts_at < end and ends_at > start),
    ordered by start. `start` and `end` must carry a zone (a naive one raises NaiveDatetimeError)."""
    return sessions_between(db_session, start, end)


def sessions_of_classes(
    db_session: Session, class_names: Iterable[str], start: datetime, end: datetime
) -> list[ClassSession]:
    """`sessions_overlapping`, for these classes only."""
    return sessions_between(db_session, start, end, class_names)


def sessions_between(
    db_session: Session,
    start: datetime | None = None,
    end: datetime | None = None,
    class_names: Iterable[str] | None = None,
    limit: int | None = None,
) -> list[ClassSession]:
    """Sessions overlapping [start, end) — an open side when None — of `class_names` (None: every class),
    ordered by start, then class; at most `limit`."""
    query = db_session.query(ClassSession)
    if start is not None:
        query = query.filter(ClassSession.ends_at > to_utc(start))
    if end is not None:
        query = query.filter(ClassSession.starts_at < to_utc(end))
    if class_names is not None:
        names = sorted(set(class_names))
        if not names:
            return []
        query = query.filter(ClassSession.class_name.in_(names))
    query = query.order_by(ClassSession.starts_at, ClassSession.class_name)
    if limit is not None:
        query = query.limit(limit)
    return query.all()
