"""Engines and schema upgrades for our databases (directory, exchange, certificates; SQLite or PostgreSQL).

At the bottom of the layers: the hub's directory and the certificate registry both use it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DatabaseError, OperationalError

SCHEMA_LOCK_KEY = 0x7472756F6E67  # "truong": PostgreSQL advisory lock id for schema changes


class DatabaseFileError(RuntimeError):
    """A database cannot be used; the message says why in one line."""


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            # Foreign keys are off by default in SQLite; WAL lets the hub read while the CLI imports.
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def check_sqlite_file(url: str) -> None:
    """Fail early, in one line, on a SQLite file that is not a database (or is damaged)."""
    if not url.startswith("sqlite:///"):
        return
    path = Path(url.removeprefix("sqlite:///"))
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA quick_check").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise DatabaseFileError(f"database file {path} is damaged or not a SQLite database ({exc})") from None
    if result is None or result[0] != "ok":
        raise DatabaseFileError(f"database file {path} is damaged: {result[0] if result else 'no answer'}")


@contextmanager
def schema_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the database's schema lock until it ends.

    Several processes prepare the schema at once (the hub's services at start, two CLI runs on a fresh
    data dir); without the lock both see no version table and the second CREATE fails.
    """
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            # pysqlite does not BEGIN before DDL; take SQLite's write lock now (waits up to the busy timeout).
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY})")
        yield conn


def upgrade_schema(engine: Engine, migrations: Path, *, error: type[Exception] | None = None) -> None:
    """Run one subsystem's alembic migrations (each keeps its own version table, see its env.py)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(migrations))
    try:
        with schema_transaction(engine) as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except (DatabaseError, OperationalError) as exc:
        raise (error or DatabaseFileError)(f"cannot prepare database {engine.url!r}: {exc.orig}") from None
