"""Fixtures of the grading tests: the grader image and the sandboxes' name prefix.

Sandboxes made here are named `<docker_prefix>-grade-…` (docker_prefix is `truongso-test-<pid>`), so the
session fixture in tests/conftest.py removes whatever a failed test leaves behind.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def grader_image(docker_client: object) -> str:
    """Our grader image, built (air-gapped) if this machine does not have it yet."""
    from images.build import build_images

    report = build_images(which=("grader",), client=docker_client, progress=lambda *a: None)
    return report.images["grader"]


@pytest.fixture(scope="session")
def sandbox_prefix(docker_prefix: str) -> str:
    return f"{docker_prefix}-grade"
