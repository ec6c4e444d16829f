"""Fixtures of the grading tests: the sandboxes' name prefix (the grader image is tests/conftest.py's).

Sandboxes made here are named `<docker_prefix>-grade-…` (docker_prefix is `truongso-test-<pid>`), so the
session fixture in tests/conftest.py removes whatever a failed test leaves behind.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def sandbox_prefix(docker_prefix: str) -> str:
    return f"{docker_prefix}-grade"
