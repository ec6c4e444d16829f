"""One schema home: one alembic environment, one version table, one branch per subsystem (graders/db.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from support.schema import migration_diffs, old_sqlite_database

from graders.db import BRANCHES, MIGRATIONS, VERSION_TABLE, alembic_config, make_engine, upgrade_schema


def table_names(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def versions(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")))


def test_one_history_with_a_branch_per_subsystem() -> None:
    with make_engine("sqlite://").connect() as conn:
        script = ScriptDirectory.from_config(alembic_config(conn))
    labels = {label: script.get_revision(f"{label}@head").revision for label in BRANCHES}
    assert len(script.get_heads()) == len(BRANCHES) == len(set(labels.values()))
    # every revision file says which branch it belongs to in its name
    for revision in script.walk_revisions():
        branch = next(label for label in BRANCHES if revision.revision in
                      {r.revision for r in script.iterate_revisions(f"{label}@head", "base")})  # fmt: skip
        assert Path(revision.path).name.startswith(f"{branch}_"), revision.path
    assert Path(script.dir) == MIGRATIONS


def test_each_subsystem_creates_only_its_own_tables(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/registry.sqlite")
    upgrade_schema(engine, "certificates")
    assert "certificates" in table_names(engine) and "people" not in table_names(engine)
    assert versions(engine) == {"c0002"}
    upgrade_schema(engine, "directory")
    upgrade_schema(engine, "exchange")
    upgrade_schema(engine, "exchange")  # safe to repeat
    assert versions(engine) == {"0003", "x0002", "c0002"}
    with pytest.raises(ValueError, match="unknown schema branch"):
        upgrade_schema(engine, "nope")
    engine.dispose()


def test_migrations_build_what_the_models_describe(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/all.sqlite")
    for branch in BRANCHES:
        upgrade_schema(engine, branch)
    with engine.connect() as conn:
        assert migration_diffs(conn) == []
    engine.dispose()


def test_a_database_from_before_the_one_environment_keeps_its_revisions(tmp_path: Path) -> None:
    """Written by the code of 5b394db: three version tables (directory, exchange at x0001, registry at c0001)."""
    engine = make_engine(old_sqlite_database(tmp_path))
    before = table_names(engine)
    assert {"truongso_exchange_version", "truongso_certificates_version"} <= before
    upgrade_schema(engine, "directory")
    after = table_names(engine)
    assert "truongso_exchange_version" not in after and "truongso_certificates_version" not in after
    assert versions(engine) == {"0003", "x0001", "c0001"}  # others moved as they were, not re-run
    upgrade_schema(engine, "exchange")
    upgrade_schema(engine, "certificates")
    assert versions(engine) == {"0003", "x0002", "c0002"}
    engine.dispose()
