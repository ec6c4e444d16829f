"""Docker: which spawner can run, the workspaces' network, and the host protected from the workspaces."""

from __future__ import annotations

import sys
from pathlib import Path

from graders.text import UserError
from hub.keys import HubSecrets
from hub.network import WorkspaceNetwork
from hub.settings import HubSettings


def ensure_spawner(choice: str, image: str) -> str:
    """`docker` when the engine and the workspace image are usable, `local` only when asked or as `auto`'s
    fallback, with a warning nobody can miss (local workspaces are not isolated)."""
    from hub.spawner import docker_ready

    if choice == "local":
        return choice
    ready, reason = docker_ready(image)
    if ready:
        return "docker"
    if choice == "docker":
        raise UserError(f"không dùng được Docker: {reason.vi}", f"cannot use Docker: {reason.en}")
    bar = "!" * 78
    print(
        f"{bar}\n"
        f"CẢNH BÁO: không dùng được Docker ({reason.vi}).\n"
        "  Không gian làm việc sẽ chạy như tiến trình trên máy này, KHÔNG được cách ly giữa các học viên.\n"
        "  Chỉ dùng để dùng thử.\n"
        f"WARNING: Docker is not usable ({reason.en}).\n"
        "  Workspaces run as processes on this machine and are NOT isolated from each other.\n"
        "  For trying Trường Số out only.\n"
        f"{bar}",
        file=sys.stderr,
        flush=True,
    )
    return "local"


def ensure_workspace_network(settings: HubSettings) -> WorkspaceNetwork:
    """The workspaces' network (returned); the hub listens on its gateway so that workspaces reach the hub's API."""
    import docker
    from docker.errors import DockerException

    from hub.network import ensure_workspace_network as ensure_network

    try:
        network = ensure_network(docker.from_env(), settings.workspace_network, settings.docker_prefix)
    except DockerException as exc:
        raise UserError(f"lỗi Docker: {exc}", f"Docker error: {exc}") from None
    if settings.hub_ip == "127.0.0.1":
        settings.hub_ip = network.gateway
    return network


def ensure_host_protection(settings: HubSettings, secrets: HubSecrets, network: WorkspaceNetwork) -> None:
    """Fail closed: no firewall between the workspaces' network and the host, no Docker workspaces (the
    UserError says how to fix it); storage limits checked, or a warning that there are none."""
    from hub.configure import workspace_ports
    from hub.network import ensure_host_firewall
    from hub.storage import check_disk_support

    ensure_host_firewall(network, settings.docker_prefix, workspace_ports(settings, secrets))
    if settings.spawner == "swarm":  # homes are on the file server (home_volume_options), not disk images here
        return
    if settings.workspace_disk_bytes:
        check_disk_support(Path(settings.workspace_disk_dir))
    else:
        print(
            "CẢNH BÁO: workspace_disk_limit = 0, học viên mới không bị giới hạn dung lượng lưu trữ / "
            "WARNING: workspace_disk_limit = 0, new learners' storage is unlimited",
            file=sys.stderr,
            flush=True,
        )
