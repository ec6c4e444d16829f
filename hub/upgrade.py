"""Databases written by an older release: found before the hub starts, upgraded only on purpose (`truongso upgrade`),
after a backup of the whole data directory.

Three schemas live in a data directory: ours (graders/migrations, one alembic environment, a branch per
subsystem), JupyterHub's (its own alembic history) and each course's nbgrader gradebook (nbgrader's). A database
with no tables yet is new, not old: it is created as it is opened.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from graders.db import (
    BRANCHES,
    MIGRATIONS,
    OLD_VERSION_TABLES,
    VERSION_TABLE,
    DatabaseFileError,
    check_sqlite_file,
    upgrade_schema,
)
from graders.text import UserError
from hub.settings import HubSettings


@dataclass(frozen=True)
class Behind:
    what: str  # e.g. "truongso.sqlite (Trường Số)"
    found: str  # the revision(s) in the database
    wanted: str  # the release's head(s)


def _engine(url: str) -> Engine:
    return create_engine(url)


def _our_heads() -> set[str]:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return set(ScriptDirectory.from_config(config).get_heads())


def _other_head(package_dir: Path) -> str:
    return ScriptDirectory(str(package_dir)).get_heads()[0]


def _exists(url: str) -> bool:
    """Opening a missing SQLite file would create it; a new database is not an old one. A damaged file is said
    so here (DatabaseFileError), before anything reads it."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///").split("?", 1)[0]).is_file():
        return False
    check_sqlite_file(url)
    return True


def _version_rows(engine: Engine, table: str) -> set[str] | None:
    """The revisions stored in `table`, or None when the database has no tables at all (a new one)."""
    tables = set(inspect(engine).get_table_names())
    if not tables:
        return None
    if table not in tables:
        return set()
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(text(f'SELECT version_num FROM "{table}"'))}


def schema_status(settings: HubSettings) -> list[Behind]:
    """Every database of the data directory whose schema is older than this release's."""
    import jupyterhub
    import nbgrader

    behind: list[Behind] = []
    if not _exists(settings.db_url):
        return behind  # a new data directory
    engine = _engine(settings.db_url)
    try:
        tables = set(inspect(engine).get_table_names())
        if tables:
            with engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
                current = set(context.get_current_heads())
            heads = _our_heads()
            # a subsystem whose tables were never made (no revision of its branch) is new, not old
            if not current <= heads or tables & set(OLD_VERSION_TABLES):
                behind.append(Behind("Trường Số (db_url)", ", ".join(sorted(current)) or "-", ", ".join(sorted(heads))))
    finally:
        engine.dispose()
    hub_scripts = Path(jupyterhub.__file__).parent / "alembic"
    nbgrader_scripts = Path(nbgrader.__file__).parent / "alembic"
    checks = [("JupyterHub (hub_db_url)", settings.hub_db_url, hub_scripts)]
    for course in settings.load_courses():
        checks.append((f"nbgrader {course.id}", settings.gradebook_url_for(course.id), nbgrader_scripts))
    checks = [(what, url, scripts) for what, url, scripts in checks if _exists(url)]
    for what, url, scripts in checks:
        engine = _engine(url)
        try:
            found = _version_rows(engine, "alembic_version")
        finally:
            engine.dispose()
        head = _other_head(scripts)
        if found is not None and found != {head}:
            behind.append(Behind(what, ", ".join(sorted(found)) or "-", head))
    return behind


def refuse_old_schemas(settings: HubSettings, data_dir: Path) -> None:
    """`truongso up` on a data directory from an older release: stop, and say what to run."""
    try:
        behind = schema_status(settings)
    except DatabaseFileError as exc:
        raise UserError(f"không dùng được cơ sở dữ liệu: {exc}", f"cannot use the database: {exc}") from None
    if behind:
        listed = "; ".join(f"{b.what}: {b.found} → {b.wanted}" for b in behind)
        raise UserError(
            f"dữ liệu do phiên bản cũ hơn tạo ({listed}); chạy `truongso upgrade --data-dir {data_dir}` "
            "(sao lưu trước, rồi nâng cấp)",
            f"the data was written by an older release ({listed}); run `truongso upgrade --data-dir {data_dir}` "
            "(it backs up first, then upgrades)",
        )


def upgrade_all(settings: HubSettings) -> list[Behind]:
    """Bring every database to this release's schema; what was behind."""
    behind = schema_status(settings)
    engine = _engine(settings.db_url)
    try:
        for branch in BRANCHES:
            upgrade_schema(engine, branch)
    finally:
        engine.dispose()
    _with_alembic_on_path()
    from jupyterhub.dbutil import upgrade as upgrade_hub_db
    from nbgrader.dbutil import upgrade as upgrade_gradebook

    for item in behind:
        if item.what.startswith("JupyterHub"):
            upgrade_hub_db(settings.hub_db_url)
        elif item.what.startswith("nbgrader "):
            upgrade_gradebook(settings.gradebook_url_for(item.what.removeprefix("nbgrader ")))
    return behind


def _with_alembic_on_path() -> None:
    """JupyterHub's and nbgrader's upgrades run the `alembic` command: ours, beside this Python."""
    here = str(Path(sys.executable).parent)
    if here not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = here + os.pathsep + os.environ.get("PATH", "")
