"""`truongso up --spawner docker` refuses to run learners' workspaces unprotected: without iptables (no host
firewall) or without what makes size-limited home disks, it stops with one bilingual line saying how to fix it,
and nothing is started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support.hub import ADMIN_PASSWORD, free_port, truongso

from hub.network import firewall_chain


def up(data_dir: Path, prefix: str, image: str, path: str) -> subprocess.CompletedProcess:
    data_dir.mkdir(parents=True)
    (data_dir / "truongso.toml").write_text(
        f'docker_prefix = "{prefix}"\nworkspace_image = "{image}"\n', encoding="utf-8"
    )
    env = {"PATH": path, "TRUONGSO_ADMIN_PASSWORD": ADMIN_PASSWORD}
    return truongso(
        "up", "--data-dir", str(data_dir), "--port", str(free_port()), "--spawner", "docker", env=env, timeout=120
    )


def assert_refused(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def assert_nothing_started(data_dir: Path, docker_client, prefix: str) -> None:
    assert not (data_dir / "run" / "hub.pid").exists() and not (data_dir / "run" / "proxy.pid").exists()
    assert not docker_client.containers.list(all=True, filters={"name": f"{prefix}-"})


def test_no_iptables_no_docker_workspaces(tmp_path: Path, docker_client, docker_prefix, workspace_image) -> None:
    prefix = f"{docker_prefix}-nofw"
    # the venv's Python and /usr/bin, without /usr/sbin where iptables lives
    path = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    result = up(tmp_path / "data", prefix, workspace_image, path)
    line = assert_refused(
        result, "không có lệnh iptables", "iptables is missing", "apt-get install iptables", "--spawner local"
    )
    assert line.index("không có lệnh iptables") < line.index("iptables is missing")  # Vietnamese first
    assert_nothing_started(tmp_path / "data", docker_client, prefix)
    chains = subprocess.run(["iptables", "-w", "-S"], capture_output=True, text=True).stdout
    assert firewall_chain(prefix) not in chains


def test_no_disk_tools_no_docker_workspaces(tmp_path: Path, docker_client, docker_prefix, workspace_image) -> None:
    """iptables is there, mkfs.ext4 is not: learners' disks could not be limited, so nothing starts."""
    prefix = f"{docker_prefix}-nodisk"
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("iptables", "iptables-restore"):
        os.symlink(f"/usr/sbin/{name}", tools / name)
    path = f"{tools}:{Path(sys.executable).parent}:/usr/bin:/bin"
    try:
        result = up(tmp_path / "data", prefix, workspace_image, path)
        assert_refused(result, "mkfs.ext4", "workspace_disk_limit", "dung lượng", "storage limit")
        assert_nothing_started(tmp_path / "data", docker_client, prefix)
    finally:
        from hub.network import remove_host_firewall, workspace_network

        network = docker_client.networks.get(f"{prefix}-workspaces")
        remove_host_firewall(workspace_network(network.attrs), prefix)


def test_a_bad_disk_limit_is_refused_before_anything_starts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "truongso.toml").write_text('workspace_disk_limit = "16M"\n', encoding="utf-8")
    result = truongso("up", "--data-dir", str(data_dir), "--port", str(free_port()), "--spawner", "local")
    assert_refused(result, "workspace_disk_limit", "64M")
    assert not (data_dir / "run" / "hub.pid").exists()
