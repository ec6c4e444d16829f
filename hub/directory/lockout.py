"""Lock-out after repeated failed logins, counted in the directory database.

nativeauthenticator counts failures in the hub's memory: a hub restart forgets them and no other process
(the admin console) can see or lift a lock. Here a row per username holds the count of failures in a row
and the last one's moment. An account is locked while it has `max_failures` or more and the last one is
under `lockout_seconds` old; after that the next failure starts a new count. Names that are not accounts
are counted too, so the "locked" message tells nobody which usernames exist.

Source addresses are counted the same way, under the key `addr:<ip>` (never a valid username), with their own,
much higher limit: one address guessing many usernames is stopped, while a class of a hundred behind one
office's NAT, mistyping new passwords, is not. A success clears the account's count, never the address's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlalchemy.orm import Session

from graders.timeutil import utcnow
from hub.directory.models import LoginFailure

ADDRESS_PREFIX = "addr:"
MAX_ROWS = 10_000  # beyond this many counted names, those whose lock-out window has passed are forgotten


def seconds_locked(
    session: Session, username: str, max_failures: int, lockout_seconds: int, now: datetime | None = None
) -> int:
    """Seconds until `username` may try again; 0 when not locked (or lock-out is off: max_failures 0)."""
    if max_failures <= 0:
        return 0
    row = session.get(LoginFailure, username)
    return _remaining(row, max_failures, lockout_seconds, now or utcnow())


def record_failure(session: Session, username: str, lockout_seconds: int, now: datetime | None = None) -> int:
    """Count one failed login; returns the failures in a row (a count whose window has passed starts over)."""
    now = now or utcnow()
    row = session.get(LoginFailure, username)
    if row is None:
        row = LoginFailure(username=username, failures=0, last_failed_at=now)
        session.add(row)
        _forget_old(session, lockout_seconds, now)
    elif now - row.last_failed_at > timedelta(seconds=lockout_seconds):
        row.failures = 0
    row.failures += 1
    row.last_failed_at = now
    return row.failures


def clear_failures(session: Session, username: str) -> bool:
    """A successful login or an admin's unlock; True when there was something to clear."""
    return bool(session.execute(delete(LoginFailure).where(LoginFailure.username == username)).rowcount)


def locked_accounts(
    session: Session, max_failures: int, lockout_seconds: int, now: datetime | None = None
) -> dict[str, int]:
    """username -> seconds still locked, for every locked name (not source addresses)."""
    if max_failures <= 0:
        return {}
    now = now or utcnow()
    since = now - timedelta(seconds=lockout_seconds)
    rows = session.query(LoginFailure).filter(
        LoginFailure.failures >= max_failures,
        LoginFailure.last_failed_at > since,
        ~LoginFailure.username.startswith(ADDRESS_PREFIX),  # accounts only
    )
    return {r.username: _remaining(r, max_failures, lockout_seconds, now) for r in rows}


def address_key(address: str) -> str:
    """The row that counts failed logins from one source address."""
    return ADDRESS_PREFIX + address[:48]


def _remaining(row: LoginFailure | None, max_failures: int, lockout_seconds: int, now: datetime) -> int:
    if row is None or row.failures < max_failures:
        return 0
    left = lockout_seconds - (now - row.last_failed_at).total_seconds()
    return max(0, int(left + 0.999))


def _forget_old(session: Session, lockout_seconds: int, now: datetime) -> None:
    if (session.query(func.count(LoginFailure.username)).scalar() or 0) >= MAX_ROWS:
        since = now - timedelta(seconds=lockout_seconds)
        session.execute(delete(LoginFailure).where(LoginFailure.last_failed_at <= since))
