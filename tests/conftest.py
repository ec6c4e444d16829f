"""Shared fixtures: a real hub started with `truongso up`, logs shown only when a test fails."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.hub import ADMIN_PASSWORD, Hub, start_hub


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _failed(request: pytest.FixtureRequest) -> bool:
    return any(
        getattr(request.node, f"rep_{when}", None) and getattr(request.node, f"rep_{when}").failed
        for when in ("setup", "call")
    )


@pytest.fixture(scope="module")
def demo_hub(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Hub]:
    """A demo hub (local spawner) shared by the tests of one module."""
    data_dir = tmp_path_factory.mktemp("hub") / "data"
    hub = start_hub(data_dir, "--demo", "--spawner", "local", env={"TRUONGSO_ADMIN_PASSWORD": ADMIN_PASSWORD})
    yield hub
    hub.stop()
    if os.environ.get("TRUONGSO_SHOW_HUB_LOG"):
        print(hub.log())


@pytest.fixture
def hub_log_on_failure(request: pytest.FixtureRequest, demo_hub: Hub) -> Iterator[None]:
    yield
    if _failed(request):
        print(f"---- hub log ({demo_hub.log_path}) ----\n{demo_hub.log()[-8000:]}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "demo_hub" in getattr(item, "fixturenames", ()) and "hub_log_on_failure" not in item.fixturenames:
            item.fixturenames.append("hub_log_on_failure")


@pytest.fixture
def repo() -> Path:
    return Path(__file__).resolve().parents[1]
