"""Swarm (`spawner = "swarm"`): this engine manages a cluster, the workspace image is pinned in the private
registry, and the gateway between the hub and the workspaces' networks runs (hub.swarm.gateway)."""

from __future__ import annotations

from pathlib import Path

from graders.text import UserError
from hub.engine import connect_docker
from hub.keys import HubSecrets
from hub.network import WorkspaceNetwork
from hub.settings import HubSettings


def ensure_swarm_ready(settings: HubSettings) -> None:
    """A manager of an active swarm, the workspace image pushed, the gateway image built, the homes' share there."""
    from docker.errors import ImageNotFound

    from hub.cluster.registry import pinned_image

    client = connect_docker(30)
    swarm = client.info().get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
        raise UserError(
            "máy này chưa là máy quản lý của một cụm Docker Swarm; chạy `truongso cluster init`",
            "this engine is not the manager of a Docker Swarm; run `truongso cluster init`",
        )
    pinned_image(settings, "workspace")  # raises "push first" when missing
    try:
        client.images.get(settings.gateway_image)
    except ImageNotFound:
        raise UserError(
            f"chưa có image {settings.gateway_image}; chạy `truongso images build`",
            f"image {settings.gateway_image} is missing; run `truongso images build`",
        ) from None
    if not Path(settings.homes_dir).is_dir():
        raise UserError(
            f"không có thư mục nhà của học viên {settings.homes_dir} (homes_dir): gắn thư mục chia sẻ của máy chủ tệp "
            "vào đó",
            f"learners' homes folder {settings.homes_dir} (homes_dir) does not exist: mount the file server's share "
            "there",
        )


def ensure_cluster_gateway(settings: HubSettings, secrets: HubSecrets, network: WorkspaceNetwork) -> str:
    """The gateway running on the workspaces' bridge network, relaying to the hub's ports; its address."""
    from hub.configure import workspace_ports
    from hub.swarm.gateway import ensure_gateway

    return ensure_gateway(
        connect_docker(30),
        prefix=settings.docker_prefix,
        image=settings.gateway_image,
        bridge_network=network.name,
        hub_ip=settings.hub_ip,
        hub_ports=workspace_ports(settings, secrets),
    )
