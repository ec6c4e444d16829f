"""The admin audit log: every change an admin makes through the console (or the CLI) is one row, written in
the same transaction as the change itself, so the log can never say something happened that did not."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hub.directory.models import AdminAction, Person, SchoolClass


def snapshot(record: Person | SchoolClass | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What the log keeps of a record: its columns as plain JSON values (never a password or a hash)."""
    if record is None:
        return None
    if isinstance(record, Mapping):
        return {k: _plain(v) for k, v in record.items()}
    return {c.key: _plain(getattr(record, c.key)) for c in record.__table__.columns}


def record_action(
    session: Session,
    actor: str,
    action: str,
    target: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AdminAction:
    """Add one audit row to `session` (committed with the change it describes)."""
    entry = AdminAction(
        actor=actor[:64],
        action=action[:64],
        target=target[:200],
        before="" if before is None else json.dumps(before, ensure_ascii=False, sort_keys=True),
        after="" if after is None else json.dumps(after, ensure_ascii=False, sort_keys=True),
    )
    session.add(entry)
    return entry


def cli_actor() -> str:
    """Who an action typed at the server's shell is logged as: `cli:<system user>`."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return "cli:?"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):  # enums
        return value.value
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
