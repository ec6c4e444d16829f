"""Learner workspaces: one Docker container per learner (DockerSpawner), home on a size-limited disk.

Security shape: only our image; no user_options at all (image, volumes, environment are ours to choose);
all capabilities dropped, no-new-privileges, memory/CPU/pids limits, a read-only root filesystem (the
container's own layer would be unbounded host disk) with a small /tmp in memory; workspaces sit on their
own bridge network with inter-container traffic off and IPv6 off, and reach the host only on the hub's
ports (hub.network). Before every start the firewall is checked (fail closed) and the learner's home disk
(hub.storage) is made ready; the learner's own ~/.jupyter config and user site-packages are ignored.
"""

from __future__ import annotations

import asyncio
import functools
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import docker.errors
from dockerspawner import DockerSpawner
from jupyterhub.spawner import SpawnException
from tornado import web
from traitlets import Float, Integer, Unicode, default
from traitlets.config import Config

from graders.text import Text
from graders.timeutil import SCHOOL_TIMEZONE
from hub import storage
from hub.network import check_host_firewall, network_problem, workspace_network
from hub.settings import HubSettings

T = TypeVar("T")

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


def disk_volume_name(prefix: str, username: str) -> str:
    """The Docker volume that binds a learner's disk (hub.storage) into the container. A different name from
    the old unbounded volume, which stays untouched after its files were copied onto the disk."""
    return f"{prefix}-disk-{stable_escape(username)}"


class SpawnRefused(SpawnException):
    """A start refused before anything runs: the learner reads `text`, the admin's reason goes to the log."""

    def __init__(self, text: Text, *, reason: str, log_message: str = "") -> None:
        super().__init__(str(text), reason=reason, log_message=log_message or str(text), status_code=503)
        # what the spawn page's progress events show (they would show str(exc), i.e. the log message)
        self.jupyterhub_message = str(text)


# What the learner reads; the reason and the fix for the admin go to the hub's log.
NOT_PROTECTED = Text(
    "Chưa thể mở không gian làm việc: máy chủ chưa bật đủ lớp bảo vệ. Vui lòng báo quản trị viên.",
    "Your workspace cannot start: the server's protection is not in place. Please tell the administrator.",
)
DISK_NOT_READY = Text(
    "Chưa thể mở không gian làm việc: ổ lưu trữ của bạn chưa sẵn sàng (tệp của bạn vẫn còn nguyên). "
    "Vui lòng báo quản trị viên.",
    "Your workspace cannot start: your storage is not ready (your files are safe). Please tell the administrator.",
)


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
    disk_limit = Integer(
        0, help="Bytes of a new learner's home disk (hub.storage); 0: no limit for learners without a disk yet."
    ).tag(config=True)
    disk_dir = Unicode("", help="Where the learners' disk images live and are mounted.").tag(config=True)
    timezone = Unicode(SCHOOL_TIMEZONE, help="TZ of the workspaces: the hub's `timezone` setting.").tag(config=True)
    server_poll_seconds = Float(
        0.05, help="How often a starting workspace's server is asked whether it answers (wait_for_server)."
    ).tag(config=True)

    @default("name_template")
    def _default_name_template(self) -> str:
        return container_name(self.resource_prefix, self.user.name)

    @default("volumes")
    def _default_volumes(self) -> dict:
        return {volume_name(self.resource_prefix, self.user.name): {"bind": WORKSPACE_HOME, "mode": "rw"}}

    # DockerSpawner's own executor has one thread for every Docker call of the hub: copying one learner's
    # old home there would stall every other start and stop. Host work (iptables, mount, copy) has its own.
    _host_executor: ThreadPoolExecutor | None = None

    async def blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """The one way blocking host work (iptables, mount, copying a home) leaves the hub's event loop."""
        cls = WorkspaceSpawner
        if cls._host_executor is None:
            cls._host_executor = ThreadPoolExecutor(4, thread_name_prefix="truongso-host")
        return await asyncio.wrap_future(cls._host_executor.submit(functools.partial(fn, *args)))

    @property
    def home_disk(self) -> storage.HomeDisk | None:
        if not self.disk_dir:
            return None
        return storage.home_disk(Path(self.disk_dir), stable_escape(self.user.name))

    async def start(self) -> Any:
        await self.check_isolation()
        # A stale container of this learner goes first: its files must not change while they are copied.
        if await self.get_object() is not None:
            await self.remove_object()
        disk = await self.prepare_home()
        ip_port = await super().start()
        if disk is not None:
            await self.check_home_in_container(disk)
        await self.wait_for_server(*ip_port)
        return ip_port

    async def wait_for_server(self, ip: str, port: int) -> None:
        """Return as soon as the workspace's server accepts connections, so that the hub's own HTTP check (which
        follows, and decides) passes at its first try: the hub waits with exponential backoff and random jitter
        (up to 0.2, 0.4, 0.8, 1.6, 3.2 s…), which left learners waiting for seconds after their server was up.
        A TCP connect, not a request: refused costs one system call, so a class starting at once stays cheap.
        Gives up quietly after `http_timeout` or when the container stops: the hub's check then fails as before."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.http_timeout
        # Docker calls of the whole hub share one thread (DockerSpawner): a class starting at once must not fill
        # it with these looks, so they come at 1, 2, 4, 8, 8… s.
        look_every = 1.0
        next_look = loop.time() + look_every
        while loop.time() < deadline:
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout=2)
            except OSError:  # refused, or timed out (TimeoutError is an OSError): not listening yet
                pass
            else:
                writer.close()
                return
            if loop.time() > next_look:  # a server that crashed is not waited for
                look_every = min(2 * look_every, 8.0)
                next_look = loop.time() + look_every
                state = (await self.docker("inspect_container", self.container_id))["State"]
                if not state.get("Running"):
                    return
            await asyncio.sleep(self.server_poll_seconds)

    async def check_isolation(self) -> None:
        """Fail closed: no workspace starts unless its network and the host firewall are as `truongso up`
        made them (an `iptables -F`, a firewall reload or a recreated network would silently open the
        host's ports). Costs one Docker call and two iptables calls."""
        await refuse_unprotected(self, self.network_name)

    async def prepare_home(self) -> storage.HomeDisk | None:
        """The learner's disk mounted and bound as their home (None: the old unbounded volume, only when the
        limit is 0 and the learner has no disk yet)."""
        disk = self.home_disk
        if disk is None or (self.disk_limit <= 0 and not disk.image.exists()):
            return None
        legacy = None
        if not disk.image.exists():
            legacy = await self.legacy_home()
        try:
            done = await self.blocking(storage.ensure_home_disk, disk, self.disk_limit, legacy)
        except (storage.StorageError, OSError) as exc:
            raise SpawnRefused(
                DISK_NOT_READY, reason="disk", log_message=f"Home disk of {self.user.name} not ready: {exc}"
            ) from None
        used, total = storage.usage(disk)
        if done:
            self.log.info("Home disk of %s: %s", self.user.name, ", ".join(done))
        if used > total * 0.9:
            self.log.warning(
                "Home disk of %s is %d%% full (%s of %s)",
                self.user.name, 100 * used // total, storage.format_size(used), storage.format_size(total),
            )  # fmt: skip
        free = shutil.disk_usage(disk.image.parent).free
        if free < total - used:
            # disks are sparse: the limits can add up to more than the host has, and then the host fills first
            self.log.warning(
                "Only %s free on the host disk of %s, less than %s's disk may still take (%s): free space there",
                storage.format_size(free), disk.image.parent, self.user.name, storage.format_size(total - used),
            )  # fmt: skip
        name = disk_volume_name(self.resource_prefix, self.user.name)
        await self.ensure_disk_volume(name, disk)
        self.volumes = {name: {"bind": WORKSPACE_HOME, "mode": "rw"}}
        return disk

    async def legacy_home(self) -> Path | None:
        """Where the learner's old unbounded volume keeps its files on the host, if they have one."""
        try:
            attrs = await self.docker("inspect_volume", volume_name(self.resource_prefix, self.user.name))
        except docker.errors.NotFound:
            return None
        if attrs.get("Driver") != "local" or attrs.get("Options"):
            # its files are not in its Mountpoint unless mounted: copying now could copy nothing
            raise SpawnRefused(
                DISK_NOT_READY,
                reason="disk",
                log_message=f"Old volume {attrs.get('Name')} is not a plain local "
                "volume: copy its files onto the learner's disk by hand",
            )
        return Path(attrs["Mountpoint"])

    async def ensure_disk_volume(self, name: str, disk: storage.HomeDisk) -> None:
        options = {"type": "none", "o": "bind", "device": str(disk.home)}
        try:
            attrs = await self.docker("inspect_volume", name)
        except docker.errors.NotFound:
            await self.docker(
                "create_volume", name, driver="local", driver_opts=options,
                labels={"org.truongso.prefix": self.resource_prefix},
            )  # fmt: skip
            return
        if attrs.get("Options") != options:
            raise SpawnRefused(
                DISK_NOT_READY,
                reason="disk",
                log_message=f"Volume {name} has options {attrs.get('Options')}, "
                f"not {options}: remove it (docker volume rm {name}; the files are on the disk image)",
            )

    async def check_home_in_container(self, disk: storage.HomeDisk) -> None:
        """The container's home must be the learner's disk, not the empty folder under it (dockerd in another
        mount namespace would bind that, and the learner would write unbounded into the host's disk)."""
        inspected = await self.docker("inspect_container", self.container_id)
        pid = inspected["State"]["Pid"]
        major, minor = await self.blocking(storage.device_of, disk.mountpoint)
        try:
            mountinfo = await self.blocking(Path(f"/proc/{pid}/mountinfo").read_text)
        except OSError as exc:  # the hub in another pid namespace: cannot look, say so
            self.log.warning("Cannot check the home mount of %s: %s", self.user.name, exc)
            return
        for line in mountinfo.splitlines():
            fields = line.split()
            if fields[4] == WORKSPACE_HOME and fields[2] == f"{major}:{minor}":
                return
        await self.remove_object()
        raise SpawnRefused(
            DISK_NOT_READY,
            reason="disk",
            log_message=f"The container of {self.user.name} did not have its home disk "
            f"at {WORKSPACE_HOME} (dockerd in another mount namespace?); removed",
        )

    async def stop(self, now: bool = False) -> None:
        if self.object_id:
            await super().stop(now)
        else:  # a start refused before any container existed: nothing to stop (docker-py refuses an empty id)
            self.clear_state()
        disk = self.home_disk
        if disk is not None and disk.image.exists():
            try:
                if not await self.blocking(storage.release_home_disk, disk):
                    self.log.info("Home disk of %s still in use; left mounted", self.user.name)
            except (storage.StorageError, OSError) as exc:
                self.log.warning("Home disk of %s not released: %s", self.user.name, exc)

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
        env = workspace_environment(super().get_env(), self.timezone)
        disk = self.home_disk
        if disk is not None and (self.disk_limit > 0 or disk.image.exists()):
            size = max(self.disk_limit, disk.image.stat().st_size if disk.image.exists() else 0)
            env["TRUONGSO_DISK_LIMIT"] = storage.format_size(size)  # for the "storage full" messages
        return env


def workspace_environment(env: dict, timezone: str) -> dict:
    """What every workspace's environment has, whichever spawner starts it."""
    env.pop("JUPYTER_IMAGE_SPEC", None)
    env["TZ"] = timezone
    # Belt and braces with the venv (which already has no user site): a learner's ~/.local packages
    # must not change the server (jupyterhub-singleuser, nbgrader's extensions, the exchange client).
    env["PYTHONNOUSERSITE"] = "1"
    # Kernel connection files in /tmp (memory), not in the home: a full home must not stop new kernels,
    # or the learner could not run the code that frees space.
    env["JUPYTER_RUNTIME_DIR"] = "/tmp/jupyter-runtime"
    return env


async def refuse_unprotected(spawner: Any, network_name: str) -> None:
    """Refuse the start unless the workspaces' bridge network and the host firewall are as `truongso up` made
    them (`spawner`: a DockerSpawner with `resource_prefix` and `blocking`)."""
    try:
        attrs = await spawner.docker("inspect_network", network_name)
    except docker.errors.NotFound:
        problem: Text | None = Text(f"mạng Docker {network_name} không còn", f"Docker network {network_name} is gone")
    else:
        problem = network_problem(attrs) or await spawner.blocking(
            check_host_firewall, workspace_network(attrs), spawner.resource_prefix
        )
    if problem is not None:
        name = spawner.user.name
        raise SpawnRefused(
            NOT_PROTECTED,
            reason="firewall",
            log_message=f"Không mở workspace của {name}: {problem.vi}; chạy lại `truongso up` để dựng "
            f"lại tường lửa / Refusing to start {name}'s workspace: {problem.en}; restart `truongso up` "
            "to put the firewall back",
        )


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
    c.WorkspaceSpawner.timezone = settings.timezone
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
    c.WorkspaceSpawner.disk_limit = settings.workspace_disk_bytes
    c.WorkspaceSpawner.disk_dir = settings.workspace_disk_dir
    # /tmp in memory (charged to the container's memory limit): a quarter of it, enough for kernels'
    # connection files and nbgrader's temporary folders.
    tmp_size = max(64 << 20, storage.parse_size(settings.mem_limit) // 4)
    c.WorkspaceSpawner.extra_host_config = {
        "pids_limit": settings.pids_limit,
        "memswap_limit": settings.mem_limit,  # no swap on top of the memory limit
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        # The container's own layer is host disk without a limit: nothing may be written there.
        "read_only": True,
        "tmpfs": {"/tmp": f"rw,nosuid,nodev,size={tmp_size}"},
        # No IPv6 inside: the host firewall is IPv4 (iptables). Docker does this today for networks without
        # IPv6; saying it makes it ours, whatever a later engine's default is.
        "sysctls": {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"},
    }
    c.WorkspaceSpawner.extra_create_kwargs = {"labels": {"org.truongso.prefix": settings.docker_prefix}}
    # Workspaces outlive the hub: stopping or restarting it must not stop learners' work.
    c.JupyterHub.cleanup_servers = False
