"""The one way our commands reach the local Docker engine: a client that has answered a ping, or one bilingual
line saying that no engine answers."""

from __future__ import annotations

from typing import Any

from graders.text import UserError


def connect_docker(timeout: float = 60) -> Any:
    """A docker.DockerClient that answered; `timeout` bounds each API call (builds and pushes want minutes)."""
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except DockerException as exc:
        raise UserError(
            f"không kết nối được Docker engine ({exc.__class__.__name__}: {exc})",
            f"no Docker engine answers ({exc.__class__.__name__}: {exc})",
        ) from None
    return client
