"""What a test needs from the machine: skipped on a developer's machine without it, a failure in CI."""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, why: str) -> None:
    """Skip when something the test needs is missing, except in CI where it is a failure."""
    if not condition:
        if IN_CI:
            pytest.fail(f"{why} (CI must provide it: make test installs and starts it)")
        pytest.skip(why)
