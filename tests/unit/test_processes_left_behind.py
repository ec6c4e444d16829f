"""At its exit the hub ends the services its own clean-up left running, and only those (hub.processes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hub.processes import alive, processes_of, stop_services_left_behind

# SIGTERM ignored: a service stuck as the culler once was; only the SIGKILL that follows ends it
STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(120)"
)


def start(env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", STUBBORN], env={**os.environ, **env}, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline() == "up\n"  # the handler is in place
    return process


def test_services_go_workspaces_and_other_hubs_stay(tmp_path: Path) -> None:
    ours, other = tmp_path / "a", tmp_path / "b"
    service = start({"TRUONGSO_DATA_DIR": str(ours), "TRUONGSO_SERVICE": "idle-culler"})
    workspace = start({"TRUONGSO_DATA_DIR": str(ours)})  # a local workspace: outlives the hub by design
    elsewhere = start({"TRUONGSO_DATA_DIR": str(other), "TRUONGSO_SERVICE": "portal"})
    try:
        assert processes_of(ours, services_only=True) == [service.pid]
        assert sorted(processes_of(ours)) == sorted([service.pid, workspace.pid])
        stop_services_left_behind(ours)
        service.wait(10)
        assert not alive(service.pid)
        assert alive(workspace.pid) and alive(elsewhere.pid)
    finally:
        for process in (service, workspace, elsewhere):
            process.kill()
            process.wait(10)
