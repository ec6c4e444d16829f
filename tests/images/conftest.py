"""Fixtures of the image tests: one real build per session, and a way to run the images.

Uses `docker_client` / `docker_prefix` from tests/conftest.py: containers made here are named
`<docker_prefix>-img-N` (prefix `truongso-test-<pid>`) and removed at the end of the session.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from images.build import BuildReport, build_images


@dataclass
class Built:
    report: BuildReport
    seconds: float
    log: list[str]


@dataclass
class Run:
    status: int
    stdout: str
    stderr: str

    def __str__(self) -> str:  # shown by failing asserts: the container's output
        return f"exit {self.status}\n--- stdout\n{self.stdout[-4000:]}\n--- stderr\n{self.stderr[-4000:]}"


@pytest.fixture(scope="session")
def built(docker_client: object) -> Built:
    """Both images, built (or reused) once per session through the public API."""
    log: list[str] = []
    start = time.monotonic()
    report = build_images(client=docker_client, progress=log.append)
    return Built(report, time.monotonic() - start, log)


@pytest.fixture(scope="session")
def run_image(docker_client: object, docker_prefix: str) -> Callable[..., Run]:
    """Run a command in an image with no network; return its exit status and output."""
    counter = itertools.count()

    def run(image: str, command: str | list[str], *, timeout: float = 180, **kwargs: object) -> Run:
        kwargs.setdefault("network_mode", "none")
        container = docker_client.containers.run(
            image, command, name=f"{docker_prefix}-img-{next(counter)}", detach=True, **kwargs
        )
        try:
            status = container.wait(timeout=timeout)["StatusCode"]
            out = container.logs(stdout=True, stderr=False).decode("utf-8", "replace")
            err = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
        finally:
            container.remove(force=True)
        return Run(status, out, err)

    return run
