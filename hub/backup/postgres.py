"""PostgreSQL databases in a backup: dumped with pg_dump (a consistent snapshot of each, while the hub writes), kept
in the archive as `.databases/<setting>.pgdump`, restored with pg_restore in one transaction into an empty database.

The password travels in PGPASSWORD, never on a command line `ps` shows."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from graders.text import UserError

FOLDER = ".databases"  # inside the archive's data/, removed again after a restore


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def _client(tool: str, url: str) -> tuple[list[str], dict[str, str]]:
    if shutil.which(tool) is None:
        raise UserError(
            f"cần {tool} (Debian: postgresql-client) để sao lưu cơ sở dữ liệu PostgreSQL",
            f"{tool} is needed for PostgreSQL databases (Debian: postgresql-client)",
        )
    parsed = make_url(url)
    args = [tool, "--no-password", "--dbname", parsed.database or ""]
    if parsed.host:
        args += ["--host", parsed.host]
    if parsed.port:
        args += ["--port", str(parsed.port)]
    if parsed.username:
        args += ["--username", parsed.username]
    env = {**os.environ, "PGPASSWORD": parsed.password or "", "PGCONNECT_TIMEOUT": "20"}
    return args, env


def dump(url: str, target: Path) -> None:
    args, env = _client("pg_dump", url)
    done = subprocess.run([*args, "--format=custom", "--no-owner", "--no-privileges", "--file", str(target)],
                          env=env, capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        raise UserError(
            f"pg_dump {make_url(url).database} thất bại: {done.stderr.strip()[:300]}",
            f"pg_dump of {make_url(url).database} failed: {done.stderr.strip()[:300]}",
        )


def is_empty(url: str) -> bool:
    engine = create_engine(url)
    try:
        return not inspect(engine).get_table_names()
    finally:
        engine.dispose()


def restore(dump_file: Path, url: str) -> None:
    """Into an empty database, all or nothing (one transaction)."""
    args, env = _client("pg_restore", url)
    done = subprocess.run([*args, "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges",
                           str(dump_file)], env=env, capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        raise UserError(
            f"pg_restore vào {make_url(url).database} thất bại, không ghi gì: {done.stderr.strip()[:300]}",
            f"pg_restore into {make_url(url).database} failed, nothing written: {done.stderr.strip()[:300]}",
        )
