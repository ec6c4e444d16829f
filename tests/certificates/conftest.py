"""Fixtures for the certificate tests: the world of tests/support/certificates_world.py, built once per
session and copied for every test, and the certificate service on it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.certificates_world import COURSE_ID, Served, World, build_world, open_world, serve

from graders.curriculum import Course, default_courses_root, load_course

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "certificates"


@pytest.fixture(scope="session")
def course() -> Course:
    return load_course(default_courses_root() / COURSE_ID)


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory, course: Course) -> Path:
    """Built once (nbgrader's import and gradebook creation take seconds), copied for every test."""
    return build_world(tmp_path_factory.mktemp("template") / "data", course).data_dir


@pytest.fixture
def world(tmp_path: Path, course: Course, world_template: Path) -> World:
    data_dir = tmp_path / "data"
    shutil.copytree(world_template, data_dir)
    return open_world(data_dir, course)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def served(world: World) -> Iterator[Served]:
    with serve(world.settings) as running:
        yield running
