"""The hub process `truongso up` becomes: JupyterHub, with services that hear SIGINT and a clean-up that cannot hang.

JupyterHub stops each managed service with SIGINT, waits 10 s, then SIGTERM, one service at a time. A hub started
as a background job of a script (`truongso up &`, CI runners) inherits SIGINT *ignored*, and so did every service
it started: each stop then waited its full 10 s, seven services took over a minute, and whatever ended the hub
meanwhile left services running. `main` gives SIGINT its default handling back before anything starts, so
services inherit a SIGINT that works. And the clean-up gets `cleanup_timeout` seconds; after that what is left of
this data directory (services, the proxy) is ended as `truongso down` would, the stalled services named in the log.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from jupyterhub import app
from traitlets import Float

from hub.processes import SERVICE_ENV, our_proxy_pid, processes_of, stop_processes, stop_services_left_behind


class JupyterHub(app.JupyterHub):
    """Named as its parent on purpose: traitlets names the log and its logging config after the class, so the
    hub's log lines, `c.JupyterHub` settings and hub/configure.py's logging stay exactly JupyterHub's."""

    cleanup_timeout = Float(30, help="Seconds JupyterHub's own clean-up may take before what is left is ended.").tag(
        config=True
    )

    async def cleanup(self) -> None:
        data_dir = Path.cwd()  # `truongso up` runs the hub in its data directory
        try:
            await asyncio.wait_for(super().cleanup(), self.cleanup_timeout)
        except TimeoutError:
            left = processes_of(data_dir, services_only=True)
            self.log.error(
                "JupyterHub's clean-up did not finish in %.0f s; ending what is left: services %s",
                self.cleanup_timeout,
                ", ".join(f"{service_name(pid)} ({pid})" for pid in left) or "none",
            )
            stop_processes([*left, *filter(None, [our_proxy_pid(data_dir)])])
            if self.pid_file:
                Path(self.pid_file).unlink(missing_ok=True)
        finally:  # a clean-up that stopped early (timed out or raised) leaves no service behind
            stop_services_left_behind(data_dir)


def service_name(pid: int) -> str:
    import psutil

    try:
        return psutil.Process(pid).environ().get(SERVICE_ENV, "?")
    except psutil.Error:
        return "?"


def main() -> None:
    # SIG_IGN survives exec and is passed on to every child; a handler is not (children start with the default)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    JupyterHub.launch_instance()


if __name__ == "__main__":
    main()
