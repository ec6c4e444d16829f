"""The one schema home: engines, sessions, the declarative `Base` and the alembic migrations of our tables.

The directory (hub/directory), the exchange (hub/services/exchange) and the certificate registry
(graders/certificates) keep their tables in one database (SQLite or PostgreSQL), share one `Base`, and
migrate through one alembic environment (graders/migrations) with one version table and one branch each:
`directory`, `exchange`, `certificates`. Each subsystem upgrades its own branch when it starts, so a
database that holds only a certificate registry gets no directory tables.
At the bottom of the layers: it imports nothing of ours but time helpers.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Column, Connection, Engine, MetaData, String, Table, create_engine, event, inspect, select
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

SCHEMA_LOCK_KEY = 0x7472756F6E67  # "truong": PostgreSQL advisory lock id for schema changes
MIGRATIONS = Path(__file__).with_name("migrations")
BRANCHES = ("directory", "exchange", "certificates")
# Not alembic_version: the database may be shared with JupyterHub, whose own table has that name.
VERSION_TABLE = "truongso_alembic_version"
# Before one environment (up to b9845b5) the exchange and the registry had version tables of their own.
OLD_VERSION_TABLES = ("truongso_exchange_version", "truongso_certificates_version")


class Base(DeclarativeBase):
    """Every table of ours (directory, exchange, certificates): one metadata, one migration history."""


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


def alembic_config(conn: Connection) -> AlembicConfig:
    """The one alembic environment, running on `conn` (graders/migrations/env.py reads it from the attributes)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def upgrade_schema(engine: Engine, branch: str, *, error: type[Exception] | None = None) -> None:
    """Bring one subsystem's tables (`branch`, one of BRANCHES) to their newest revision; safe to repeat."""
    if branch not in BRANCHES:
        raise ValueError(f"unknown schema branch {branch!r}: one of {', '.join(BRANCHES)}")
    try:
        with schema_transaction(engine) as conn:
            merge_old_version_tables(conn)
            command.upgrade(alembic_config(conn), f"{branch}@head")
    except (DatabaseError, OperationalError) as exc:
        raise (error or DatabaseFileError)(f"cannot prepare database {engine.url!r}: {exc.orig}") from None


def merge_old_version_tables(conn: Connection) -> None:
    """Move the revisions of a database written before the one environment into the one version table.

    Revision ids were already distinct across the three histories (0001, x0001-2, c0001-2), so the rows
    move as they are; alembic keeps one row per branch head in a table.
    """
    present = set(inspect(conn).get_table_names())
    old = [name for name in OLD_VERSION_TABLES if name in present]
    if not old:
        return
    tables = MetaData()
    version = Table(VERSION_TABLE, tables, Column("version_num", String(32), primary_key=True))
    version.create(conn, checkfirst=True)
    for name in old:
        table = Table(name, tables, autoload_with=conn)
        for (revision,) in conn.execute(select(table.c.version_num)):
            conn.execute(version.insert().values(version_num=revision))
        table.drop(conn)


class Database:
    """One database of ours: an engine (SQLite pragmas, PostgreSQL pre-ping) and a session factory."""

    def __init__(self, url: str) -> None:
        check_sqlite_file(url)
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on any exception."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def sqlite_change_mark(db_url: str) -> tuple | None:
    """What changes whenever an SQLite database file changes (any commit, even within one clock tick and in WAL
    mode, where the file's own change counter stays put until a checkpoint), for caches of what was read from it;
    None: not an SQLite file we can watch."""
    if not db_url.startswith("sqlite:///"):
        return None
    path = db_url.removeprefix("sqlite:///").split("?", 1)[0]
    try:
        inode = os.stat(path).st_ino
    except OSError:
        return None
    version = _data_version(path, inode)
    return None if version is None else (inode, version)


# One read-only connection per watched file: SQLite's `PRAGMA data_version` changes whenever another connection
# committed since this one last asked — the documented way to notice changes (mtimes tick too coarsely).
_watchers: dict[str, tuple[int, sqlite3.Connection]] = {}
_watchers_lock = threading.Lock()


def _data_version(path: str, inode: int) -> int | None:
    with _watchers_lock:
        held = _watchers.get(path)
        if held is not None and held[0] != inode:  # the file was replaced: watch the new one
            held[1].close()
            held = None
        try:
            if held is None:
                uri = Path(path).absolute().as_uri() + "?mode=ro"
                held = (inode, sqlite3.connect(uri, uri=True, check_same_thread=False))
                _watchers[path] = held
            return int(held[1].execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            _watchers.pop(path, None)
            return None
