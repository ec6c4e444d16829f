"""What a restored data directory must not believe: that the workspaces running when it was backed up still run.

JupyterHub's database keeps each running server's address and its spawner's state (a container id, a process
id). Restored on a new machine they point at nothing; restored on the old one they point at the old hub's
servers, which the new hub would route learners to (their OAuth then fails: another hub's client). The
restored hub starts every workspace anew; the learners' files are on their disks, restored with the rest."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def forget_running_workspaces(hub_db: Path) -> int:
    """Clear the servers of JupyterHub's database at `hub_db` (SQLite); how many were forgotten."""
    if not hub_db.is_file():
        return 0
    with sqlite3.connect(hub_db) as db:
        servers = [row[0] for row in db.execute("SELECT server_id FROM spawners WHERE server_id IS NOT NULL")]
        db.execute("UPDATE spawners SET server_id = NULL, state = NULL, started = NULL")
        db.executemany("DELETE FROM servers WHERE id = ?", [(s,) for s in servers])
    return len(servers)
