"""Learner workspaces: one Docker container per learner (DockerSpawner), home in a named volume.

Security shape: only our image; no user_options at all (image, volumes, environment are ours to choose);
all capabilities dropped, no-new-privileges, memory/CPU/pids limits; workspaces sit on their own bridge
network with inter-container traffic off, and reach the host only on the hub's port (hub.network).
"""

from __future__ import annotations

import asyncio
from typing import Any

import docker.errors
from dockerspawner import DockerSpawner
from tornado import web
from traitlets import Unicode, default
from traitlets.config import Config

from hub.i18n import Text
from hub.settings import HubSettings

WORKSPACE_HOME = "/home/hocvien"  # the image's non-root user (images/workspace/Dockerfile)


def stable_escape(name: str) -> str:
    """`[a-z0-9]` kept, every other byte as `-xx` (hex): injective, and ours, so a DockerSpawner upgrade
    can never rename a learner's volume (and so hide their files)."""
    safe = set("abcdefghijklmnopqrstuvwxyz0123456789")
    return "".join(c if c in safe else "".join(f"-{b:02x}" for b in c.encode()) for c in name)


def volume_name(prefix: str, username: str) -> str:
    return f"{prefix}-home-{stable_escape(username)}"


def container_name(prefix: str, username: str) -> str:
    return f"{prefix}-ws-{stable_escape(username)}"


def refuse_user_options(spawner: Any, user_options: dict) -> None:
    """Learners cannot choose image, volumes, environment or anything else (CVE-2023-48311 class)."""
    if user_options:
        # JupyterHub has already saved them as the defaults of the next start: forget them, or every later
        # start (e.g. right after login) would be refused too.
        from sqlalchemy.orm import object_session
        from sqlalchemy.orm.exc import UnmappedInstanceError

        spawner.user_options = {}
        spawner.orm_spawner.user_options = {}
        try:
            session = object_session(spawner.orm_spawner)
        except UnmappedInstanceError:
            session = None
        if session is not None:
            session.commit()
        raise web.HTTPError(
            400,
            "Không được tự chọn cấu hình không gian làm việc / workspace options cannot be chosen: "
            + ", ".join(sorted(str(k) for k in user_options))[:200],
        )


class WorkspaceSpawner(DockerSpawner):
    """DockerSpawner with names we control and a workspace that is the same for everyone."""

    resource_prefix = Unicode(
        "truongso", help="Prefix of the names of containers, volumes and networks Trường Số creates."
    ).tag(config=True)

    @default("name_template")
    def _default_name_template(self) -> str:
        return container_name(self.resource_prefix, self.user.name)

    @default("volumes")
    def _default_volumes(self) -> dict:
        return {volume_name(self.resource_prefix, self.user.name): {"bind": WORKSPACE_HOME, "mode": "rw"}}

    async def remove_object(self) -> None:
        """Remove the container even when it runs, and wait until its name is free.

        DockerSpawner removes without force, so a *running* container that the hub lost track of (a hub
        database reset, a crash between start and the state being saved) answers 409, which it takes for
        "already being removed", and the create that follows clashes on the name (a 500 for the learner).
        Named volumes are never removed here: the learner's work stays."""
        self.log.info("Removing container %s", self.object_id)
        try:
            await self.docker("remove_container", self.object_id, v=True, force=True)
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: a removal is already under way
                raise
        for _ in range(50):
            try:
                await self.docker("inspect_container", self.object_id)
            except docker.errors.NotFound:
                return
            await asyncio.sleep(0.2)
        self.log.warning("Container %s is still being removed after 10 s", self.object_id)

    def get_env(self) -> dict:
        env = super().get_env()
        env.pop("JUPYTER_IMAGE_SPEC", None)
        env["TZ"] = "Asia/Ho_Chi_Minh"
        return env


def docker_ready(image: str | None = None) -> tuple[bool, Text]:
    """Whether `--spawner auto` can use Docker: an engine answers and the workspace image exists."""
    try:
        import docker
        from docker.errors import DockerException, ImageNotFound
    except ImportError:  # pragma: no cover - docker is a dependency
        return False, Text("thiếu thư viện docker", "the docker package is missing")
    try:
        client = docker.from_env(timeout=5)
        client.ping()
    except DockerException as exc:
        return False, Text(
            f"không kết nối được Docker engine ({exc.__class__.__name__})",
            f"no Docker engine answers ({exc.__class__.__name__})",
        )
    if image:
        try:
            client.images.get(image)
        except ImageNotFound:
            return False, Text(
                f"chưa có image {image}; chạy `truongso images build`",
                f"image {image} is missing; run `truongso images build`",
            )
        except DockerException as exc:
            return False, Text(f"lỗi Docker ({exc})", f"Docker error ({exc})")
    return True, Text("", "")


def apply_docker_spawner(settings: HubSettings, c: Config) -> None:
    c.JupyterHub.spawner_class = "hub.spawner.WorkspaceSpawner"
    c.WorkspaceSpawner.resource_prefix = settings.docker_prefix
    c.WorkspaceSpawner.image = settings.workspace_image
    c.WorkspaceSpawner.allowed_images = {"workspace": settings.workspace_image}
    c.WorkspaceSpawner.pull_policy = "never"  # no registry: images are built here (truongso images build)
    c.WorkspaceSpawner.remove = True  # containers go, volumes stay: an image update applies at next start
    c.WorkspaceSpawner.notebook_dir = WORKSPACE_HOME
    c.WorkspaceSpawner.network_name = settings.workspace_network
    c.WorkspaceSpawner.use_internal_ip = True
    c.WorkspaceSpawner.poll_interval = 15  # notice a container removed or OOM-killed behind the hub's back
    c.WorkspaceSpawner.mem_limit = settings.mem_limit
    c.WorkspaceSpawner.cpu_limit = settings.cpu_limit
    c.WorkspaceSpawner.extra_host_config = {
        "pids_limit": settings.pids_limit,
        "memswap_limit": settings.mem_limit,  # no swap on top of the memory limit
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
    }
    c.WorkspaceSpawner.extra_create_kwargs = {"labels": {"org.truongso.prefix": settings.docker_prefix}}
    # Workspaces outlive the hub: stopping or restarting it must not stop learners' work.
    c.JupyterHub.cleanup_servers = False
