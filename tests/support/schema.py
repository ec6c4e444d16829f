"""Databases for schema tests: one the old code wrote, and what alembic would still change in a database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import graders.certificates.models  # noqa: F401  (every model in Base.metadata)
from graders.db import Base

# Made by the code of 5b394db (tests/unit/old_databases/make_before_utc.py): three version tables, old rows.
OLD_DATABASE = Path(__file__).parents[1] / "unit" / "old_databases" / "before_utc.sql"


def old_sqlite_database(tmp_path: Path) -> str:
    path = tmp_path / "truongso.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_DATABASE.read_text(encoding="utf-8"))
    conn.close()
    return f"sqlite:///{path}"


def migration_diffs(conn: sa.Connection) -> list[tuple]:
    """What autogenerate would change to make `conn`'s tables match our models (empty: they match)."""
    tables = set(Base.metadata.tables)  # ours only: nativeauthenticator's and JupyterHub's may share the database
    context = MigrationContext.configure(conn, opts={
        "compare_type": True,
        "include_object": lambda obj, name, type_, reflected, other: type_ != "table" or name in tables,
    })  # fmt: skip
    return [d for group in compare_metadata(context, Base.metadata) for d in
            (group if isinstance(group, list) else [group])]  # fmt: skip
