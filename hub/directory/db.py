"""Connections to the directory database and its schema (alembic), safe to call on every start."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from graders.db import DatabaseFileError, check_sqlite_file, make_engine, schema_transaction, upgrade_schema

__all__ = ["Directory", "DirectoryError", "check_sqlite_file", "ensure_schema", "make_engine", "schema_transaction",
           "upgrade_schema"]  # fmt: skip
DirectoryError = DatabaseFileError  # the directory's name for it (one class: `except` works for both)
MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "truongso_alembic_version"  # not alembic_version: the database may be shared with JupyterHub


def ensure_schema(engine: Engine) -> None:
    """Create or upgrade the directory tables and nativeauthenticator's password table."""
    from nativeauthenticator.orm import UserInfo

    upgrade_schema(engine, MIGRATIONS)
    try:
        with schema_transaction(engine) as conn:
            if "users_info" not in inspect(conn).get_table_names():
                UserInfo.__table__.create(conn)
    except (DatabaseError, OperationalError) as exc:
        raise DirectoryError(f"cannot prepare database {engine.url!r}: {exc.orig}") from None


class Directory:
    """One directory database: an engine and a session factory."""

    def __init__(self, url: str) -> None:
        check_sqlite_file(url)
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def ensure_schema(self) -> None:
        ensure_schema(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on any exception."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
