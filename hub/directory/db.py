"""Connections to the directory database and its schema (alembic branch `directory`), safe on every start."""

from __future__ import annotations

from sqlalchemy import Engine, inspect
from sqlalchemy.exc import DatabaseError, OperationalError

from graders.db import (
    VERSION_TABLE,
    Database,
    DatabaseFileError,
    check_sqlite_file,
    make_engine,
    schema_transaction,
    upgrade_schema,
)

__all__ = ["VERSION_TABLE", "Directory", "DirectoryError", "check_sqlite_file", "ensure_schema", "make_engine",
           "schema_transaction", "upgrade_schema"]  # fmt: skip
DirectoryError = DatabaseFileError  # the directory's name for it (one class: `except` works for both)


def ensure_schema(engine: Engine) -> None:
    """Create or upgrade the directory tables and nativeauthenticator's password table."""
    from nativeauthenticator.orm import UserInfo

    upgrade_schema(engine, "directory")
    try:
        with schema_transaction(engine) as conn:
            if "users_info" not in inspect(conn).get_table_names():
                UserInfo.__table__.create(conn)
    except (DatabaseError, OperationalError) as exc:
        raise DirectoryError(f"cannot prepare database {engine.url!r}: {exc.orig}") from None


class Directory(Database):
    """The directory database (people, classes, enrolments; the exchange's tables live beside them)."""

    def ensure_schema(self) -> None:
        ensure_schema(self.engine)
