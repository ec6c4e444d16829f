"""A real Chromium (Debian's), driven by Playwright; never a browser Playwright downloads itself."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from support.browser import ARTIFACTS, CHROMIUM


# Module scope, not session (package scope is session-wide here: tests/ has no __init__.py). Between its sync
# calls Playwright marks its event loop as running in this thread, so while a browser is open any later test
# that runs a loop of its own (tornado's AsyncHTTPTestCase, asyncio.run) fails with "Cannot run the event loop
# while another loop is running".
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (make test installs it)")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest) -> Iterator[object]:
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture(scope="session")
def docker_demo_hub(tmp_path_factory, docker_client, docker_prefix: str, workspace_image: str) -> Iterator[object]:
    """A demo hub with real learner containers, for the browser tests."""
    from support.hub import running_demo_hub

    toml = f'docker_prefix = "{docker_prefix}-e2e"\nworkspace_image = "{workspace_image}"\n'
    with running_demo_hub(tmp_path_factory.mktemp("e2e-docker") / "data", "docker", toml) as hub:
        yield hub
