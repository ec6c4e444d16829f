"""A data directory written by an older release: `truongso up` refuses it with what to run, `truongso upgrade` backs
it up and brings every schema (ours, JupyterHub's, nbgrader's) to this release, and nothing in it is lost.

tests/fixtures/data-dir-2026-12-04.tar.gz is a data directory made by the release of 2026-12-04 (`truongso demo year
--scale 0.01`, an admin and two learners with passwords, JupyterHub's database), kept as `truongso backup` wrote it:
every later release must open it."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from hub.cli import main
from hub.cli.common import load_settings
from hub.upgrade import refuse_old_schemas, schema_status

FIXTURE = Path(__file__).parents[1] / "fixtures" / "data-dir-2026-12-04.tar.gz"
TABLES = ("people", "users_info", "classes", "enrolments", "certificates", "certificate_audit")


def rows(db: Path, table: str) -> list[tuple]:
    with sqlite3.connect(db) as c:
        return c.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


def restored(tmp_path: Path, capsys: pytest.CaptureFixture) -> Path:
    data = tmp_path / "data"
    assert main(["restore", str(FIXTURE), "--data-dir", str(data)]) == 0, capsys.readouterr()
    return data


def grades(data: Path) -> list[tuple]:
    """Every grade of every gradebook, as nbgrader stores them."""
    found = []
    for gradebook in sorted(data.glob("courses/*/gradebook.db")):
        with sqlite3.connect(gradebook) as c:
            found += c.execute("SELECT id, auto_score, manual_score FROM grade ORDER BY id").fetchall()
    return found


def test_the_fixture_of_an_earlier_release_upgrades_and_keeps_everything(tmp_path: Path, capsys) -> None:
    data = restored(tmp_path, capsys)
    before = {table: rows(data / "truongso.sqlite", table) for table in TABLES}
    assert all(before.values()) and len(before["people"]) > 50
    graded = grades(data)
    assert graded

    code = main(["upgrade", "--data-dir", str(data), "--backup-dir", str(tmp_path / "backups")])
    said = capsys.readouterr().out
    assert code == 0, said
    assert schema_status(load_settings(data)) == []
    assert {table: rows(data / "truongso.sqlite", table) for table in TABLES} == before
    assert grades(data) == graded


def downgrade_ours(data: Path) -> None:
    """The directory's tables as the release before migration directory_0003 left them."""
    from alembic import command

    from graders.db import alembic_config, make_engine, schema_transaction

    engine = make_engine(f"sqlite:///{data / 'truongso.sqlite'}")
    with schema_transaction(engine) as conn:
        command.downgrade(alembic_config(conn), "0002")
    engine.dispose()


def downgrade_jupyterhub(data: Path) -> None:
    """JupyterHub's database one migration back, by JupyterHub's own alembic history."""
    from jupyterhub.dbutil import _temp_alembic_ini

    from hub.upgrade import _with_alembic_on_path

    _with_alembic_on_path()
    with _temp_alembic_ini(f"sqlite:///{data / 'jupyterhub.sqlite'}") as ini:
        subprocess.run(["alembic", "-c", ini, "downgrade", "-1"], check=True, capture_output=True)


def test_an_older_schema_stops_up_and_upgrade_backs_up_first(tmp_path: Path, capsys) -> None:
    data = restored(tmp_path, capsys)
    people = rows(data / "truongso.sqlite", "people")
    downgrade_ours(data)
    downgrade_jupyterhub(data)
    settings = load_settings(data)
    behind = {item.what for item in schema_status(settings)}
    assert behind == {"Trường Số (db_url)", "JupyterHub (hub_db_url)"}

    with pytest.raises(Exception, match="truongso upgrade --data-dir") as refused:
        refuse_old_schemas(settings, data)
    assert "older release" in str(refused.value.text)
    code = main(["up", "--data-dir", str(data), "--port", "1"])  # stopped before any port is looked at
    said = capsys.readouterr()
    assert code == 1 and "truongso upgrade" in said.err

    assert main(["upgrade", "--data-dir", str(data), "--backup-dir", str(tmp_path / "backups")]) == 0
    said = capsys.readouterr().out
    backups = list((tmp_path / "backups").glob("truongso-before-upgrade-*.tar.gz"))
    assert len(backups) == 1 and str(backups[0]) in said
    assert schema_status(load_settings(data)) == []
    assert rows(data / "truongso.sqlite", "people") == people
    assert "login_failures" in {r[0] for r in sqlite3.connect(data / "truongso.sqlite").execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}  # fmt: skip

    # the backup taken first holds the old schema: restoring it gives the data as it was before the upgrade
    assert main(["restore", str(backups[0]), "--data-dir", str(tmp_path / "before")]) == 0
    assert {b.what for b in schema_status(load_settings(tmp_path / "before"))} == behind
    assert main(["upgrade", "--data-dir", str(data)]) == 0  # nothing left to do, nothing written
    assert "already at this release" in capsys.readouterr().out
