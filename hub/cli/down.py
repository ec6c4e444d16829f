"""`truongso down`: stop a hub and everything it started from this data directory.

Managed services and local workspaces run in their own sessions (JupyterHub starts them so), so they are
found by the TRUONGSO_DATA_DIR their environment carries; the hub and the proxy by their pid files.
Docker workspaces keep running unless --workspaces is given (they survive hub restarts on purpose).
"""

from __future__ import annotations

import argparse
import os
import signal
import time
from pathlib import Path

import psutil

from hub.cli.common import add_data_dir
from hub.startup.ports import our_proxy_pid

DATA_DIR_ENV = "TRUONGSO_DATA_DIR"


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("down", help="dừng hub / stop the hub and its services")
    add_data_dir(p)
    p.add_argument("--workspaces", action="store_true", help="cả các container học viên / learners' containers too")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    stopped = stop_all(args.data_dir.absolute(), workspaces=args.workspaces)
    print(f"Đã dừng {stopped} tiến trình / stopped {stopped} process(es)")
    return 0


def processes_of(data_dir: Path) -> list[int]:
    """Processes whose environment says they belong to this data directory (services, local workspaces)."""
    found = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            environ = process.environ()
        except psutil.Error:  # gone, or not ours to read
            continue
        if environ.get(DATA_DIR_ENV) == str(data_dir):
            found.append(process.pid)
    return found


def _pid_file(path: Path) -> list[int]:
    try:
        return [int(path.read_text().strip())]
    except (OSError, ValueError):
        return []


def hub_pid(data_dir: Path) -> int | None:
    """The pid of a JupyterHub running on this data directory, if any."""
    for pid in _pid_file(data_dir / "run" / "hub.pid"):
        try:
            cmdline = " ".join(psutil.Process(pid).cmdline())
        except psutil.Error:
            continue
        if "jupyterhub" in cmdline and _alive(pid):
            return pid
    return None


def stop_processes(pids: list[int], grace: float = 5) -> None:
    _signal(pids, signal.SIGTERM)
    _wait(pids, grace)
    _signal(pids, signal.SIGKILL)


def stop_all(data_dir: Path, workspaces: bool = False, timeout: float = 20) -> int:
    run_dir = data_dir / "run"
    hub = _pid_file(run_dir / "hub.pid")
    _signal(hub, signal.SIGTERM)  # the hub stops its services and (local) servers itself when it can
    _wait(hub, timeout)
    targets = hub + _pid_file(run_dir / "proxy.pid") + processes_of(data_dir)
    stop_processes(targets)
    # A hub that was slow to stop may have restarted its proxy or a service meanwhile (its health checks do),
    # and one forked just before shows its environment only now: look again.
    for _ in range(3):
        proxy = our_proxy_pid(data_dir)
        late = [pid for pid in [proxy] * bool(proxy) + processes_of(data_dir) if pid not in targets and _alive(pid)]
        if not late:
            break
        stop_processes(late)
        targets += late
    if workspaces:
        _remove_workspaces(data_dir)
    return len(set(targets))


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait(pids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)


def _remove_workspaces(data_dir: Path) -> None:
    import docker

    from hub.settings import HubSettings

    try:
        settings = HubSettings.from_run_file(data_dir)
        client = docker.from_env()
    except Exception:
        return
    for container in client.containers.list(
        all=True, filters={"label": f"org.truongso.prefix={settings.docker_prefix}"}
    ):
        container.remove(force=True)
    from hub.storage import release_all

    release_all(Path(settings.workspace_disk_dir))  # learners' disks no container uses: unmounted (hub.storage)
