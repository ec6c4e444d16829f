"""`truongso backup` / `restore` with the directory in PostgreSQL (Debian's, as production would run it): the
database is dumped into the archive while in use, restored into an empty database on the new server, refused into
one that already has tables (nothing changed)."""

from __future__ import annotations

import tarfile
from pathlib import Path

from hub.cli import main
from hub.directory.db import Directory
from hub.directory.models import Person


def people(url: str) -> dict[str, str]:
    directory = Directory(url)
    try:
        with directory.session() as s:
            return {p.username: p.full_name for p in s.query(Person)}
    finally:
        directory.dispose()


def test_a_postgresql_directory_is_dumped_and_restored_into_an_empty_database(postgres, tmp_path: Path, capsys) -> None:
    url = postgres.database("backup")
    data = tmp_path / "data"
    (data / "secrets").mkdir(parents=True)
    (data / "truongso.toml").write_text(f'[databases]\ndb_url = "{url}"\n', encoding="utf-8")
    directory = Directory(url)
    directory.ensure_schema()
    with directory.session() as s:
        s.add_all([Person(username="an", full_name="Nguyễn Văn An"), Person(username="chi", full_name="Phạm Thị Chi")])
    directory.dispose()
    archive = tmp_path / "b" / "sao-luu.tar.gz"

    assert main(["backup", "--data-dir", str(data), "--output", str(archive)]) == 0, capsys.readouterr()
    with tarfile.open(archive) as tar:
        assert "data/.databases/db_url.pgdump" in tar.getnames()
    assert "truongso-test" not in capsys.readouterr().out  # the password is nobody's business

    # the same server, its database still full: refused, nothing written anywhere
    assert main(["restore", str(archive), "--data-dir", str(tmp_path / "again")]) == 1
    assert "already have tables" in capsys.readouterr().err
    assert not (tmp_path / "again").exists() and people(url) == {"an": "Nguyễn Văn An", "chi": "Phạm Thị Chi"}

    # a new server: the database exists, empty
    name = url.rsplit("/", 1)[1]
    assert postgres.psql(f'DROP DATABASE "{name}" WITH (FORCE)').returncode == 0
    assert postgres.psql(f'CREATE DATABASE "{name}" OWNER truongso_test').returncode == 0
    assert main(["restore", str(archive), "--data-dir", str(tmp_path / "restored")]) == 0, capsys.readouterr()
    assert people(url) == {"an": "Nguyễn Văn An", "chi": "Phạm Thị Chi"}
    assert not (tmp_path / "restored" / ".databases").exists()
    assert (tmp_path / "restored" / "truongso.toml").read_text(encoding="utf-8").startswith("[databases]")
