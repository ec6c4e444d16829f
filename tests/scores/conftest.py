"""Gradebooks for the score tests, built once per session on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from score_world import CROWD, add_crowd, build_gradebook


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def new_database(backend: str, name: str, request: pytest.FixtureRequest) -> str:
    """An empty gradebook database's URL: a SQLite file that does not exist yet, or a new PostgreSQL database."""
    if backend == "sqlite":
        return f"sqlite:///{request.getfixturevalue('tmp_path_factory').mktemp(name) / 'gradebook.db'}"
    return request.getfixturevalue("postgres").database(name)


def analyze(url: str) -> None:
    """PostgreSQL plans by table statistics, which autovacuum keeps fresh on a live gradebook; a database
    filled a second ago has none yet."""
    if url.startswith("postgresql"):
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        engine.dispose()


@pytest.fixture(scope="session")
def gradebook_url(backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """The learners of score_world.SITUATIONS, every kind of cell and score. Tests only read it."""
    from graders.scores import dispose_engines

    url = build_gradebook(new_database(backend, "scores", request))
    analyze(url)
    yield url
    dispose_engines()


@pytest.fixture(scope="session")
def crowd_url(backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """The same learners among 1,000 others (every assignment submitted and graded). Tests only read it."""
    from graders.scores import dispose_engines

    url = build_gradebook(new_database(backend, "scores_crowd", request))
    add_crowd(url, CROWD)
    analyze(url)
    yield url
    dispose_engines()
