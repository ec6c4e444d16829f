"""`truongso down`: stop a hub and everything it started from this data directory.

What belongs to it is found by hub/processes.py. Docker workspaces keep running unless --workspaces is given
(they survive hub restarts on purpose).
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from hub.cli.common import add_data_dir
from hub.processes import alive, our_proxy_pid, pid_file, processes_of, signal_all, stop_processes, wait_for_exit


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("down", help="dừng hub / stop the hub and its services")
    add_data_dir(p)
    p.add_argument("--workspaces", action="store_true", help="cả các container học viên / learners' containers too")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    stopped = stop_all(args.data_dir.absolute(), workspaces=args.workspaces)
    print(f"Đã dừng {stopped} tiến trình / stopped {stopped} process(es)")
    return 0


def stop_all(data_dir: Path, workspaces: bool = False, timeout: float = 20) -> int:
    run_dir = data_dir / "run"
    hub = pid_file(run_dir / "hub.pid")
    signal_all(hub, signal.SIGTERM)  # the hub stops its services and (local) servers itself when it can
    wait_for_exit(hub, timeout)
    targets = hub + pid_file(run_dir / "proxy.pid") + processes_of(data_dir)
    stop_processes(targets)
    # A hub that was slow to stop may have restarted its proxy or a service meanwhile (its health checks do),
    # and one forked just before shows its environment only now: look again.
    for _ in range(3):
        found = [our_proxy_pid(data_dir), *processes_of(data_dir)]
        late = [pid for pid in found if pid and pid not in targets and alive(pid)]
        if not late:
            break
        stop_processes(late)
        targets += late
    if workspaces:
        _remove_workspaces(data_dir)
    return len(set(targets))


def _remove_workspaces(data_dir: Path) -> None:
    import docker

    from hub.settings import HubSettings

    try:
        settings = HubSettings.from_run_file(data_dir)
        client = docker.from_env()
    except Exception:
        return
    label = {"label": f"org.truongso.prefix={settings.docker_prefix}"}
    if settings.spawner == "swarm":  # learners' services (files stay on the share), then the gateway below
        from docker.errors import APIError

        try:
            for service in client.services.list(filters=label):
                service.remove()
        except APIError:  # not a swarm manager (any more): no services to remove
            pass
    for container in client.containers.list(all=True, filters=label):
        container.remove(force=True)
    from hub.storage import release_all

    release_all(Path(settings.workspace_disk_dir))  # learners' disks no container uses: unmounted (hub.storage)
