"""What the class-day service should do now: pure functions of the timetable, the hub's servers and the clock.

A session is *warming* from `prewarm` before its start until LATE_START after it: its learners' workspaces are
started, once per learner and session, so a learner who stops theirs on purpose is not started again (nor, after
LATE_START, by a hub restarted mid-session that has forgotten who it started). It is *in use* from `prewarm`
before its start to its end: its learners' workspaces are not stopped for another session. It is *closing*
from `grace` after its end for CLOSING_WINDOW: its learners' workspaces that have been idle for `grace` are
stopped, unless another warming session needs them. Later idleness is the idle culler's business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

CLOSING_WINDOW = timedelta(minutes=30)
LATE_START = timedelta(minutes=15)


@dataclass(frozen=True)
class DueSession:
    """A session with its class's learners; `blocked` ones have not chosen their password yet, and the hub will
    not start a workspace for them before they do (they still count for capacity: they will by class time)."""

    id: int
    class_name: str
    starts_at: datetime
    ends_at: datetime
    learners: tuple[str, ...]
    blocked: frozenset[str] = frozenset()

    @property
    def key(self) -> tuple[int, str, datetime]:
        """Who was started for which session is remembered by this: SQLite gives a deleted last row's id to the
        next one, so the id alone would take a new session for one already pre-warmed."""
        return (self.id, self.class_name, self.starts_at)


@dataclass(frozen=True)
class Workspace:
    """A learner's default server as the hub reports it."""

    ready: bool
    pending: str | None  # "spawn", "stop" or None
    last_activity: datetime | None
    started: datetime | None = None


@dataclass
class Plan:
    start: list[tuple[tuple, str]] = field(default_factory=list)  # (session key, username)
    stop: list[str] = field(default_factory=list)
    # learners the hub has never seen, or who must choose their password first: nothing to start
    unknown: dict[int, list[str]] = field(default_factory=dict)


def is_warming(session: DueSession, now: datetime, prewarm: timedelta) -> bool:
    return session.starts_at - prewarm <= now < min(session.ends_at, session.starts_at + LATE_START)


def is_in_use(session: DueSession, now: datetime, prewarm: timedelta) -> bool:
    return session.starts_at - prewarm <= now < session.ends_at


def is_closing(session: DueSession, now: datetime, grace: timedelta) -> bool:
    return session.ends_at + grace <= now < session.ends_at + grace + CLOSING_WINDOW


def plan(
    now: datetime,
    sessions: list[DueSession],
    hub_users: dict[str, Workspace | None],
    attempted: set[tuple[tuple, str]],
    prewarm: timedelta,
    grace: timedelta,
) -> Plan:
    """`hub_users`: every learner of `sessions` the hub knows, with their server (None: not running).
    `attempted`: (session key, learner) pairs already started once."""
    result = Plan()
    warming = [s for s in sessions if is_warming(s, now, prewarm)]
    needed = {learner for s in sessions if is_in_use(s, now, prewarm) for learner in s.learners}
    for session in warming:
        for learner in session.learners:
            if learner not in hub_users or learner in session.blocked:
                result.unknown.setdefault(session.id, []).append(learner)
            elif hub_users[learner] is None and (session.key, learner) not in attempted:
                result.start.append((session.key, learner))
    idle_since = now - grace
    for session in sessions:
        if not is_closing(session, now, grace):
            continue
        for learner in session.learners:
            workspace = hub_users.get(learner)
            if learner in needed or workspace is None or workspace.pending or learner in result.stop:
                continue
            if workspace.started is not None and workspace.started > session.ends_at:
                continue  # opened after the session (homework, a late learner): theirs, not the session's
            active = max((t for t in (workspace.last_activity, workspace.started) if t is not None), default=None)
            if active is None or active <= idle_since:
                result.stop.append(learner)
    return result


def overlapping(session: DueSession, sessions: list[DueSession]) -> list[DueSession]:
    """The sessions that run at the same time as `session` (itself included): they share the machine."""
    return [s for s in sessions if s.starts_at < session.ends_at and s.ends_at > session.starts_at]
