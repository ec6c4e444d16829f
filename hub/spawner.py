"""Learner workspaces in Docker containers (DockerSpawner), one per learner."""

from __future__ import annotations

from traitlets.config import Config

from hub.i18n import Text
from hub.settings import HubSettings


def docker_ready() -> tuple[bool, Text]:
    """Whether `--spawner auto` can use Docker: an engine answers and our workspace image exists."""
    return False, Text("chưa hỗ trợ Docker trong phiên bản này", "the Docker spawner is not wired yet")


def apply_docker_spawner(settings: HubSettings, c: Config) -> None:
    from hub.i18n import UserError

    raise UserError("chưa hỗ trợ --spawner docker", "--spawner docker is not available yet")
