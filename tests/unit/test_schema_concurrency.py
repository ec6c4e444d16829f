"""Several processes preparing one fresh database at once (hub services at start, two CLI runs)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import inspect

from hub.directory.db import make_engine

PROCESSES = 4


def prepare_everything(url: str) -> None:
    """What each process does at start: the directory's, the exchange's and the registry's schemas."""
    from graders.certificates.store import CertificateStore
    from hub.coursework.store import SCHEMA_BRANCH
    from hub.directory.db import Directory, upgrade_schema

    directory = Directory(url)
    directory.ensure_schema()
    upgrade_schema(directory.engine, SCHEMA_BRANCH)
    CertificateStore(url).ensure_schema()


def prepare_at_once(url: str) -> None:
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        runs = [pool.apply_async(prepare_everything, (url,)) for _ in range(PROCESSES)]
        for run in runs:
            run.get(timeout=120)  # re-raises the process's error


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


EXPECTED = {"truongso_alembic_version", "people", "exchange_submissions", "users_info", "certificates"}


@pytest.mark.slow
@pytest.mark.parametrize("attempt", range(5))
def test_fresh_sqlite_prepared_by_several_processes_at_once(tmp_path: Path, attempt: int) -> None:
    url = f"sqlite:///{tmp_path}/truongso.sqlite"
    prepare_at_once(url)
    assert EXPECTED <= tables(url)


def test_fresh_postgres_prepared_by_several_processes_at_once(postgres) -> None:
    url = postgres.database("schema_race")
    prepare_at_once(url)
    assert EXPECTED <= tables(url)
