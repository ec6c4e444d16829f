"""A hub's processes accounted for: ended with SIGTERM or SIGINT (as systemd or a terminal ends `truongso up`) it
takes its proxy and services with it; killed with -9 it cannot, and the next `truongso up` ends what it left and
starts clean; `truongso down` ends everything. Workspaces are kept by design (tests/integration/
test_workspaces_docker.py checks a restart keeps them); this hub has none running."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil
import pytest
from support.hub import ADMIN_PASSWORD, Hub, start_hub, truongso

from hub.processes import our_proxy_pid, processes_of

pytestmark = pytest.mark.hub  # starts its hubs itself, with no hub fixture to mark it


def ours(hub: Hub) -> list[int]:
    """Every process of this data directory: its services (by their environment) and its proxy (pid file)."""
    proxy = our_proxy_pid(hub.data_dir)
    return sorted({*processes_of(hub.data_dir), *([proxy] if proxy else [])})


def gone(pids: list[int], seconds: float = 30) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        if not left:
            return []
        time.sleep(0.2)
    return [(p, psutil.Process(p).cmdline()[:3]) for p in left]  # type: ignore[misc]


def test_each_way_of_ending_a_hub_leaves_nothing_of_it_running(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"TRUONGSO_ADMIN_PASSWORD": ADMIN_PASSWORD}
    # Started as a script's background job does (`truongso up &`, CI runners): SIGINT ignored. Services used to
    # inherit that, and JupyterHub's SIGINT-then-wait-10-s stop took over a minute for seven of them.
    hub = start_hub(data, "--demo", "--spawner", "local", env=env, sigint_ignored=True)
    try:
        for ending in (signal.SIGTERM, signal.SIGINT):
            started = ours(hub)
            assert len(started) >= 5, started  # the proxy, the idle culler, the exchange, the portal, the certificates…
            os.kill(hub.process.pid, ending)
            hub.process.wait(60)
            assert gone([hub.process.pid, *started]) == [], ending.name
            assert "clean-up did not finish" not in hub.log(), hub.log()[-3000:]  # services stopped by SIGINT
            hub = start_hub(data, "--spawner", "local", env=env, port=hub.port, sigint_ignored=True)

        crashed = ours(hub)
        os.kill(hub.process.pid, signal.SIGKILL)
        hub.process.wait(30)
        hub = start_hub(data, "--spawner", "local", env=env, port=hub.port)  # ends what the crashed one left
        assert gone(crashed) == []
        assert not set(crashed) & set(ours(hub))

        running = ours(hub)
        assert truongso("down", "--data-dir", str(data)).returncode == 0
        hub.process.wait(60)
        assert gone([hub.process.pid, *running]) == [] and ours(hub) == []
    finally:
        hub.stop()
