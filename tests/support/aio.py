"""Running a coroutine from a synchronous test."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def run_coroutine(coro: Coroutine[Any, Any, Any]) -> Any:
    """asyncio.run in a thread of its own: independent of any event loop another test or library left set (in
    the full suite, `asyncio.run` in the main thread once failed with "cannot be called from a running event
    loop" where the module alone passed)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
