"""The hub's clean-up cannot hang (hub/hubapp.py): after `cleanup_timeout` what is left of the data directory is
ended (here: a stubborn "service"), and JupyterHub's configuration and log name still apply to it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jupyterhub import app
from traitlets.config import Config

from hub.hubapp import JupyterHub
from hub.processes import alive


def test_jupyterhub_settings_and_log_name_apply() -> None:
    c = Config()
    c.JupyterHub.cleanup_servers = False
    c.JupyterHub.cleanup_timeout = 7
    hub = JupyterHub(config=c)
    assert isinstance(hub, app.JupyterHub)
    assert hub.cleanup_servers is False and hub.cleanup_timeout == 7
    assert hub.log.name == "JupyterHub"  # hub/configure.py's logging config names this logger


def test_a_stalled_cleanup_ends_what_is_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stubborn = subprocess.Popen(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"],
        env={**os.environ, "TRUONGSO_DATA_DIR": str(tmp_path), "TRUONGSO_SERVICE": "portal"},
    )

    async def stalls(self: app.JupyterHub) -> None:
        await asyncio.sleep(60)

    monkeypatch.setattr(app.JupyterHub, "cleanup", stalls)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hub.pid").write_text(str(os.getpid()))
    hub = JupyterHub(cleanup_timeout=0.5, pid_file=str(tmp_path / "hub.pid"))
    started = time.monotonic()
    try:
        asyncio.run(hub.cleanup())
        assert time.monotonic() - started < 20  # 0.5 s, then SIGTERM, 5 s grace, SIGKILL
        stubborn.wait(10)
        assert not alive(stubborn.pid)
        assert not (tmp_path / "hub.pid").exists()
    finally:
        stubborn.kill()
        stubborn.wait(10)
