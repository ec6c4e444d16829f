"""The timetable on the portal's pages: a learner's next sessions (home page), each taught class's whole
timetable (course page), in the school's wall time. Plain synchronous functions (run off the event loop)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from graders.timeutil import utcnow
from hub.timetable.display import SessionLine, session_line
from hub.timetable.queries import sessions_between

UPCOMING = 10  # sessions a learner sees ahead
CLASS_TIMETABLE_MAX = 400  # a course's timetable is tens of sessions; a bound for a page, not a rule


def upcoming_sessions(
    app: Any, class_names: Iterable[str], now: datetime | None = None, limit: int = UPCOMING
) -> dict[str, list[SessionLine]]:
    """Class -> its next `limit` sessions not yet over at `now` (one under way included), for these classes
    only: the handler passes the caller's own classes."""
    now = now or utcnow()
    with app.directory.session() as s:
        return {
            name: [session_line(x, app.settings.timezone, now) for x in sessions_between(s, now, None, [name], limit)]
            for name in sorted(set(class_names))
        }


def class_timetables(app: Any, class_names: Iterable[str], now: datetime | None = None) -> dict[str, list[SessionLine]]:
    """Class -> every session of it (past ones marked), for the classes an instructor is shown."""
    now = now or utcnow()
    with app.directory.session() as s:
        return {
            name: [
                session_line(x, app.settings.timezone, now)
                for x in sessions_between(s, None, None, [name], CLASS_TIMETABLE_MAX)
            ]
            for name in sorted(set(class_names))
        }
