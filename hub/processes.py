"""The processes a hub on one data directory runs, found and stopped (used by `truongso down` and `up`).

Managed services and local workspaces run in their own sessions (JupyterHub starts them so), so they are
found by the TRUONGSO_DATA_DIR their environment carries; the hub and the proxy by their pid files.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil

DATA_DIR_ENV = "TRUONGSO_DATA_DIR"
SERVICE_ENV = "TRUONGSO_SERVICE"  # set on every hub-managed service (its name); local workspaces have no such mark


def processes_of(data_dir: Path, services_only: bool = False) -> list[int]:
    """Processes whose environment says they belong to this data directory (services, local workspaces)."""
    found = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            environ = process.environ()
        except psutil.Error:  # gone, or not ours to read
            continue
        if environ.get(DATA_DIR_ENV) == str(data_dir) and (SERVICE_ENV in environ or not services_only):
            found.append(process.pid)
    return found


def stop_services_left_behind(data_dir: Path) -> None:
    """At the end of the hub's clean-up (hub/hubapp.py): end the services it did not (JupyterHub stops them one by
    one and gives up on the rest when one stop fails or times out). Workspaces are not services: they stay."""
    stop_processes(processes_of(data_dir, services_only=True))


def pid_file(path: Path) -> list[int]:
    try:
        return [int(path.read_text().strip())]
    except (OSError, ValueError):
        return []


def hub_pid(data_dir: Path) -> int | None:
    """The pid of a JupyterHub running on this data directory, if any."""
    for pid in pid_file(data_dir / "run" / "hub.pid"):
        command = _cmdline(pid)  # `-m hub.hubapp` (hub/hubapp.py), or `-m jupyterhub` from an older release
        if ("hub.hubapp" in command or "jupyterhub" in command) and alive(pid):
            return pid
    return None


def our_proxy_pid(data_dir: Path) -> int | None:
    """The pid of the proxy a previous start left running (a hub killed with -9), if it still runs."""
    for pid in pid_file(data_dir / "run" / "proxy.pid"):
        if "configurable-http-proxy" in _cmdline(pid):
            return pid
    return None


def stop_processes(pids: list[int], grace: float = 5) -> None:
    signal_all(pids, signal.SIGTERM)
    wait_for_exit(pids, grace)
    signal_all(pids, signal.SIGKILL)


def signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def wait_for_exit(pids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)


def _cmdline(pid: int) -> str:
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return ""
