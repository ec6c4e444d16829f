"""The one way hub code runs blocking work (database, bcrypt, Docker SDK, file copies) off the event loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

# bcrypt and sqlite release the GIL, so a few threads let logins proceed in parallel on two cores.
_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="truongso-blocking")


async def run_blocking(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor, functools.partial(fn, *args, **kwargs))
