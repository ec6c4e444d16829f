"""A kernel already started when a learner opens a notebook: a pool of one per kernel name, refilled after use.

Starting an IPython kernel and importing pandas costs seconds of the workspace's one CPU, on the learner's
first notebook open and first cell. The server (jupyter_server_config.py: ServerApp.kernel_manager_class)
starts one kernel of each pooled name as soon as its event loop runs, imports the preload modules into it
(sys.modules only: the learner's namespace stays as a new kernel's), and hands it to the next notebook or
console that asks for a new kernel of that name. A handed-over kernel is a normal kernel from then on:

- it runs where a new kernel would: its cwd, IPython's directory history and the environment the session
  gives a kernel (JPY_SESSION_NAME, `__session__`) are set on hand-over, before the learner's first message;
- restarts keep that directory and environment (the kernel manager's launch arguments are updated);
- it is listed, culled and shut down like any other. A kernel still in the pool is not listed (the learner
  never opened it) and not culled; it is shut down with the server.

Anything unusual (a kernel id asked for, start arguments other than the name and environment, a pooled kernel
that died or refuses the hand-over) gets a kernel started the normal way.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

from jupyter_server._tz import utcnow
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado.ioloop import IOLoop
from traitlets import Float, List, Unicode

# Run in the kernel before the learner's first cell, in a namespace of its own: nothing lands in the learner's.
HANDOVER = """
import os, sys
old = os.getcwd()
cwd = CWD or old
os.chdir(cwd)
sys.path[:] = [cwd if p == old else p for p in sys.path]
os.environ.update(ENV)
shell = get_ipython()
history = shell.history_manager.dir_hist
history[:] = [type(history[0])(cwd) if history else cwd]  # IPython keeps Path objects there
if "JPY_SESSION_NAME" in ENV:
    shell.user_ns["__session__"] = ENV["JPY_SESSION_NAME"]
"""


def handover_cell(cwd: str, env: dict[str, str]) -> str:
    """The silent cell that moves a pooled kernel to `cwd` (empty: stay) with `env` added."""
    return f"exec({HANDOVER!r}, {{'get_ipython': get_ipython, 'CWD': {cwd!r}, 'ENV': {env!r}}})"


class PooledKernelManager(AsyncMappingKernelManager):
    """jupyter_server's kernel manager with one kernel per pooled name started ahead of the request."""

    pooled_kernels = List(
        Unicode(), ["python3"], help="Kernel names of which one kernel is kept started ahead; empty: no pool."
    ).tag(config=True)
    preload_modules = List(
        Unicode(), ["pandas"], help="Modules imported into a pooled kernel (into sys.modules, no name bound)."
    ).tag(config=True)
    refill_delay = Float(
        3.0, help="Seconds after a hand-over before the next kernel starts: the learner's first cells go first."
    ).tag(config=True)
    handover_timeout = Float(60.0, help="Seconds a pooled kernel may take to become ready and take over.").tag(
        config=True
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pool: dict[str, asyncio.Future] = {}  # kernel name -> future of a ready pooled kernel's id
        self._pooled_ids: set[str] = set()  # started for the pool, not handed over yet
        # The loop runs once the server listens: the pool fills after the server is up, not before.
        IOLoop.current().add_callback(self.fill_pool)

    def fill_pool(self) -> None:
        for name in self.pooled_kernels:
            if name not in self._pool:
                self._pool[name] = asyncio.ensure_future(self._start_pooled(name))

    async def _start_pooled(self, name: str) -> str:
        kernel_id = str(uuid.uuid4())
        self._pooled_ids.add(kernel_id)  # hidden before it exists: never listed, even while starting
        try:
            # no path: the server's own directory, as a kernel started without one; env given, so that
            # update_env() can change it on hand-over
            await super().start_kernel(kernel_id=kernel_id, kernel_name=name, env=dict(os.environ))
        except Exception:
            self._pooled_ids.discard(kernel_id)
            raise
        if self.preload_modules:
            code = "".join(f"__import__({module!r})\n" for module in self.preload_modules)
            reply = await self._run_silently(kernel_id, code)
            if reply.get("status") != "ok":
                self.log.warning("Pooled kernel %s: preload failed: %s", kernel_id, reply.get("evalue", reply))
        self.log.info("Pooled kernel %s (%s) ready", kernel_id, name)
        return kernel_id

    async def _run_silently(self, kernel_id: str, code: str) -> dict:
        """Execute `code` without output or history (silent): what a new kernel's user never sees."""
        client = self.get_kernel(kernel_id).client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=self.handover_timeout)
            reply = await client.execute_interactive(
                code, silent=True, store_history=False, allow_stdin=False,
                timeout=self.handover_timeout, output_hook=lambda msg: None,
            )  # fmt: skip
        finally:
            client.stop_channels()
        return reply["content"]

    async def start_kernel(self, *, kernel_id: str | None = None, path: str | None = None, **kwargs: Any) -> str:
        name = kwargs.get("kernel_name") or self.default_kernel_name
        if kernel_id is None and set(kwargs) <= {"kernel_name", "env"} and name in self._pool:
            taken = await self._take(name, path, kwargs.get("env"))
            if taken is not None:
                return taken
        return await super().start_kernel(kernel_id=kernel_id, path=path, **kwargs)

    async def _take(self, name: str, path: str | None, env: dict | None) -> str | None:
        """The pooled kernel of `name`, now running where a new one would; None: start one the normal way."""
        future = self._pool.pop(name)
        IOLoop.current().call_later(self.refill_delay, self.fill_pool)
        try:
            kernel_id = await future
        except Exception as exc:
            self.log.warning("Pooled %s kernel failed to start: %s", name, exc)
            return None
        try:
            km = self.get_kernel(kernel_id)
            if not await km.is_alive():
                raise RuntimeError("it died in the pool")
            cwd = self.cwd_for_path(path, env=env or {}) if path is not None else ""
            # what a new kernel gets beyond the server's own environment (e.g. JPY_SESSION_NAME)
            extra = {k: v for k, v in (env or {}).items() if os.environ.get(k) != v}
            reply = await self._run_silently(kernel_id, handover_cell(cwd, extra))
            if reply.get("status") != "ok":
                raise RuntimeError(f"hand-over failed: {reply.get('evalue', reply)}")
        except Exception as exc:
            self.log.warning("Pooled kernel %s not used: %s", kernel_id, exc)
            self._pooled_ids.discard(kernel_id)
            if kernel_id in self:
                await self.shutdown_kernel(kernel_id, now=True)
            return None
        # a restart starts the kernel again with these: it stays where the learner opened it
        if cwd:
            km._launch_args["cwd"] = cwd
        km.update_env(env=extra)
        km.last_activity = utcnow()  # idle from now, as a new kernel: its time in the pool does not count
        self._pooled_ids.discard(kernel_id)
        self.log.info("Pooled kernel %s handed over (cwd %s)", kernel_id, cwd or "server's")
        return kernel_id

    def list_kernels(self) -> list[dict]:
        return [k for k in super().list_kernels() if k["id"] not in self._pooled_ids]

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        if kernel_id not in self._pooled_ids:  # a pooled kernel is idle by design
            await super().cull_kernel_if_idle(kernel_id)

    async def shutdown_kernel(self, kernel_id: str, now: bool = False, restart: bool = False) -> None:
        await super().shutdown_kernel(kernel_id, now=now, restart=restart)
        self._pooled_ids.discard(kernel_id)
