"""Learner workspaces on a Docker Swarm cluster: one Swarm service per learner (DockerSpawner's SwarmSpawner).

The same guarantees as the one-server spawner (hub.spawner), the Swarm way:
- our image only, pinned by digest in the private registry; no user_options (hub.configure);
- memory, CPU and pids limits; all capabilities dropped; non-root (the image's user); read-only root with /tmp
  in memory; IPv6 off. Swarm (API 1.41) has no no-new-privileges for services: the image's user is not root, its
  capability bounding set is empty, so a set-uid program gains no capability;
- each workspace alone on its own internal overlay network, reached through the gateway (hub.swarm.gateway);
- the home is a `local` volume with the options of `home_volume_options` (an NFS share, or a bind of the file
  server's share mounted on every node), created by whichever node runs the task: it follows the learner.
  The hub makes the learner's folder on the share (`homes_dir`, as mounted on the manager) before each start;
- Swarm places the task on a node with enough unreserved memory (`mem_guarantee`), spreading services over the
  nodes; a drained node gets none, and Swarm moves the tasks of a node being drained (files are on the share).
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any, ClassVar

import docker.errors
from docker.types import (
    ContainerSpec,
    DriverConfig,
    EndpointSpec,
    Mount,
    Placement,
    Resources,
    RestartPolicy,
    TaskTemplate,
)
from dockerspawner import SwarmSpawner
from traitlets import Dict, Integer, List, Unicode, default

from graders.text import Text
from graders.timeutil import SCHOOL_TIMEZONE
from hub.spawner import (
    WORKSPACE_HOME,
    SpawnRefused,
    container_name,
    refuse_unprotected,
    stable_escape,
    volume_name,
    workspace_environment,
)
from hub.storage import parse_size
from hub.swarm.gateway import (
    PREFIX_LABEL,
    RELAY_PORTS,
    gateway_address,
    gateway_name,
    gateway_problem,
    relay_command,
    stop_relay_command,
)

WORKSPACE_UID = 1000  # the image's user (images/workspace/Dockerfile)
USER_LABEL = "org.truongso.user"

NO_NODE = Text(
    "Chưa thể mở không gian làm việc: không máy chủ nào trong cụm còn chỗ. Vui lòng thử lại sau ít phút hoặc báo "
    "quản trị viên.",
    "Your workspace cannot start: no server of the cluster has room for it. Please try again in a few minutes or "
    "tell the administrator.",
)
NODE_FAILED = Text(
    "Chưa thể mở không gian làm việc: máy chủ được chọn không chạy được nó (tệp của bạn vẫn còn nguyên). Vui lòng "
    "báo quản trị viên.",
    "Your workspace cannot start: the server chosen for it could not run it (your files are safe). Please tell the "
    "administrator.",
)
HOME_NOT_READY = Text(
    "Chưa thể mở không gian làm việc: nơi lưu tệp của bạn chưa sẵn sàng (tệp của bạn vẫn còn nguyên). Vui lòng báo "
    "quản trị viên.",
    "Your workspace cannot start: your file storage is not ready (your files are safe). Please tell the administrator.",
)

# How a task's error reads (Status.Err) → what the admin should do; the learner reads the Text.
TASK_ERRORS: list[tuple[str, Text, str]] = [
    (r"no suitable node", NO_NODE, "no node can take it (all drained, down or out of memory): add or activate one"),
    (
        r"No such image|pull access denied|manifest unknown|not found: manifest|connection refused|"
        r"no such host|i/o timeout|x509|tls:",
        NODE_FAILED,
        "the node cannot get the image from the private registry: is the registry up (truongso cluster status), "
        "was the image pushed (truongso images push), does the node trust the registry's certificate?",
    ),
    (
        r"no such file or directory|error while mounting volume|failed to mount",
        HOME_NOT_READY,
        "the node cannot mount the learner's home: is the file server's share mounted there (homes_dir, "
        "home_volume_options)?",
    ),
]


def classify_task_error(err: str) -> tuple[Text, str]:
    """The learner's message and the admin's hint for a task's Status.Err."""
    for pattern, text, hint in TASK_ERRORS:
        if re.search(pattern, err, re.IGNORECASE):
            return text, hint
    return NODE_FAILED, "see the task's error"


def render_volume_options(options: dict[str, str], homes_dir: str, user: str) -> dict[str, str]:
    return {k: str(v).replace("{homes_dir}", homes_dir.rstrip("/")).replace("{user}", user) for k, v in options.items()}


def through_gateway(env: dict, hub_ip: str, gateway: str) -> dict:
    """URLs of the hub's ports on its bridge address (the exchange's, services') point at the gateway instead."""
    return {
        k: v.replace(f"//{hub_ip}:", f"//{gateway}:") if isinstance(v, str) and hub_ip else v for k, v in env.items()
    }


def network_name(prefix: str, username: str) -> str:
    return f"{prefix}-net-{stable_escape(username)}"


class ClusterSpawner(SwarmSpawner):
    """SwarmSpawner with names we control, one private network per learner, and homes that follow learners."""

    resource_prefix = Unicode("truongso", help="Prefix of the names of services, networks and volumes.").tag(
        config=True
    )
    timezone = Unicode(SCHOOL_TIMEZONE, help="TZ of the workspaces: the hub's `timezone` setting.").tag(config=True)
    bridge_network = Unicode(help="The workspaces' bridge network the gateway sits on (hub.network).").tag(config=True)
    hub_ip = Unicode(help="Address of the hub's ports on the bridge network (its gateway).").tag(config=True)
    homes_dir = Unicode(help="The learners' homes on the file server's share, as mounted on the manager.").tag(
        config=True
    )
    home_volume_options = Dict(help="`local` volume driver options of a learner's home ({homes_dir}, {user}).").tag(
        config=True
    )
    pids_limit = Integer(256, help="Process limit of one workspace.").tag(config=True)
    tmp_size = Integer(64 << 20, help="Bytes of /tmp (memory, charged to the memory limit).").tag(config=True)
    placement_constraints = List(
        Unicode(), ["node.role==worker"], help="Swarm placement constraints of every workspace."
    ).tag(config=True)
    relay_port = Integer(0, help="The gateway's port that relays to this workspace (state).")

    _relay_ports: ClassVar[dict[str, int]] = {}  # learner → gateway port, for every workspace of this hub
    _last_relay_port: ClassVar[int] = RELAY_PORTS.start - 1

    @default("name_template")
    def _default_name_template(self) -> str:
        return container_name(self.resource_prefix, self.user.name)

    @property
    def learner_network(self) -> str:
        return network_name(self.resource_prefix, self.user.name)

    @property
    def gateway(self) -> str:
        return gateway_name(self.resource_prefix)

    # --- state: the relay port survives a hub restart ---

    def get_state(self) -> dict:
        state = super().get_state()
        if self.relay_port:
            state["relay_port"] = self.relay_port
        return state

    def load_state(self, state: dict) -> None:
        super().load_state(state)
        self.relay_port = int(state.get("relay_port") or 0)
        if self.relay_port:
            self._relay_ports[self.user.name] = self.relay_port

    def clear_state(self) -> None:
        super().clear_state()
        self._relay_ports.pop(self.user.name, None)
        self.relay_port = 0

    def allocate_relay_port(self) -> int:
        """A gateway port of its own; ports go round (the one after the last handed out), so a port just given
        back is the last to be reused."""
        if self.relay_port:
            return self.relay_port
        cls = ClusterSpawner
        taken = set(self._relay_ports.values())
        start = cls._last_relay_port + 1 - RELAY_PORTS.start
        ports = [RELAY_PORTS[(start + i) % len(RELAY_PORTS)] for i in range(len(RELAY_PORTS))]
        port = next(p for p in ports if p not in taken)
        cls._last_relay_port = port
        self._relay_ports[self.user.name] = self.relay_port = port
        return port

    # --- start ---

    async def start(self) -> Any:
        await refuse_unprotected(self, self.bridge_network)
        await self.check_gateway()
        await self.prepare_home()
        await self.ensure_learner_network()
        # DockerSpawner's start: a stale service of this learner removed, ours created, waited for (start_object),
        # then the relay (get_ip_and_port)
        return await super().start()

    async def blocking(self, fn: Any, *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    async def check_gateway(self) -> str:
        try:
            attrs = await self.docker("inspect_container", self.gateway)
        except docker.errors.NotFound:
            attrs = None
        problem = gateway_problem(attrs, self.bridge_network)
        if problem is not None:
            raise SpawnRefused(
                Text(
                    "Chưa thể mở không gian làm việc: cổng nối của cụm máy chủ không chạy. Vui lòng báo quản trị viên.",
                    "Your workspace cannot start: the cluster's gateway is not running. Please tell the administrator.",
                ),
                reason="gateway",
                log_message=f"Refusing to start {self.user.name}'s workspace: {problem.en}; restart `truongso up`",
            )
        return gateway_address(attrs, self.bridge_network)

    def _make_home(self) -> None:
        home = Path(self.homes_dir) / stable_escape(self.user.name)
        home.mkdir(mode=0o700, parents=False, exist_ok=True)
        # Docker copies the image's home (dotfiles, matplotlib's font cache) into it on a node's first mount, and
        # its mode (0755) with it: the share's own permissions keep other users of the nodes out.
        if home.stat().st_uid != WORKSPACE_UID:
            os.chown(home, WORKSPACE_UID, WORKSPACE_UID)

    async def prepare_home(self) -> None:
        """The learner's folder on the share; the share itself must be there (not made here: an empty folder
        where the file server's share should be mounted would hide it)."""
        if not Path(self.homes_dir).is_dir():
            raise SpawnRefused(
                HOME_NOT_READY,
                reason="home",
                log_message=f"homes_dir {self.homes_dir} does not exist on the manager: mount the file server's share",
            )
        try:
            await self.blocking(self._make_home)
        except OSError as exc:
            raise SpawnRefused(
                HOME_NOT_READY, reason="home", log_message=f"Home of {self.user.name} not ready: {exc}"
            ) from None

    async def ensure_learner_network(self) -> None:
        """The learner's own internal overlay network, with the gateway on it."""
        name = self.learner_network
        try:
            await self.docker("inspect_network", name)
        except docker.errors.NotFound:
            try:
                await self.docker(
                    "create_network", name, driver="overlay", internal=True, attachable=True,
                    labels={PREFIX_LABEL: self.resource_prefix, USER_LABEL: self.user.name},
                )  # fmt: skip
            except docker.errors.APIError as exc:
                if exc.status_code != 409:  # 409: made meanwhile by a start racing this one
                    raise
        try:
            await self.docker("connect_container_to_network", self.gateway, name)
        except docker.errors.APIError as exc:
            if "already exists" not in str(exc) and exc.status_code != 409:
                raise
        self.network_name = name

    @property
    def mounts(self) -> list[Mount]:
        user = stable_escape(self.user.name)
        options = render_volume_options(self.home_volume_options, self.homes_dir, user)
        return [
            Mount(
                target=WORKSPACE_HOME,
                source=volume_name(self.resource_prefix, self.user.name),
                type="volume",
                driver_config=DriverConfig("local", options=options),
            ),
            Mount(target="/tmp", source=None, type="tmpfs", tmpfs_size=self.tmp_size),
        ]

    async def create_object(self) -> Any:
        await self.wait_name_released()
        labels = {PREFIX_LABEL: self.resource_prefix, USER_LABEL: self.user.name}
        container = ContainerSpec(
            image=self.image,
            env=self.get_env(),
            args=await self.get_command(),
            mounts=self.mounts,
            hostname="truongso",
            user=f"{WORKSPACE_UID}:{WORKSPACE_UID}",
            read_only=True,
            cap_drop=["ALL"],
            sysctls={"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"},
            labels=labels,
            stop_grace_period=10 * 10**9,
        )
        resources = Resources(
            mem_limit=int(self.mem_limit) if self.mem_limit else None,
            mem_reservation=int(self.mem_guarantee) if self.mem_guarantee else None,
            cpu_limit=int(self.cpu_limit * 1e9) if self.cpu_limit else None,
        )
        resources["Limits"]["Pids"] = self.pids_limit  # API 1.41; docker-py has no argument for it
        task = TaskTemplate(
            container_spec=container,
            resources=resources,
            networks=[self.learner_network],
            placement=Placement(constraints=self.placement_constraints),
            # A server that crashes is restarted twice on its node; a node lost or drained gets its task moved.
            restart_policy=RestartPolicy(condition="on-failure", delay=5 * 10**9, max_attempts=2),
            log_driver={"Name": "json-file", "Options": {"max-size": "1m", "max-file": "2"}},
        )
        # dnsrr: no virtual IP (no IPVS in some kernels, ours included), the name resolves to the task itself
        return await self.docker(
            "create_service", task, name=self.service_name, labels=labels, endpoint_spec=EndpointSpec(mode="dnsrr")
        )

    async def wait_name_released(self, seconds: float = 40) -> None:
        """Before a new service takes the learner's name: no task of an earlier one still answers to it. A service
        removed as stale (e.g. its task moved by a drain and started again elsewhere) keeps its container for the
        stop grace period; the name (dnsrr) resolves to it meanwhile, and the gateway's relay would hand the new
        server's login to the old one (its OAuth secret no longer valid: a 500 for the learner)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            exec_id = await self.docker("exec_create", self.gateway, ["getent", "hosts", self.service_name])
            await self.docker("exec_start", exec_id)
            if (await self.docker("exec_inspect", exec_id)).get("ExitCode") != 0:
                return  # the name resolves to nothing: no old task left
            await asyncio.sleep(0.5)
        self.log.warning("An earlier workspace of %s still answers to %s", self.user.name, self.service_name)

    async def start_object(self) -> None:
        """Wait until the task runs; a task refused, failed or placed nowhere is a clear error, not a wait."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(10, self.start_timeout - 10)
        unplaced_since: float | None = None
        while True:
            task = await self.get_task()
            status = (task or {}).get("Status", {})
            state = status.get("State", "").lower()
            err = status.get("Err", "")
            if state == "running":
                return
            # rejected (e.g. no image) or failed: Swarm would retry on the same node; a task shut down (its node
            # drained meanwhile) is replaced by Swarm, so that one is waited for
            if state in {"failed", "rejected"} or (
                state == "pending" and err and unplaced_since is not None and loop.time() - unplaced_since > 10
            ):
                await self.refuse_task(task, err or state)
            if state == "pending" and err and unplaced_since is None:
                unplaced_since = loop.time()
            if loop.time() > deadline:
                await self.refuse_task(task, err or f"still {state or 'not scheduled'} after {self.start_timeout} s")
            await asyncio.sleep(0.5)

    async def refuse_task(self, task: dict | None, err: str) -> None:
        text, hint = classify_task_error(err)
        node = (task or {}).get("NodeID", "")
        await self.remove_object()
        raise SpawnRefused(
            text,
            reason="task",
            log_message=f"Workspace of {self.user.name} did not start (node {node[:12] or '-'}): {err}; {hint}",
        )

    async def ensure_relay(self, gateway_ip: str, *, fresh: bool = False) -> tuple[str, int]:
        """The gateway's relay to this workspace, (re)started unless it answers (`fresh`: always, so whatever
        listened on the port before cannot be what the learner reaches); the address the proxy routes to."""
        port = self.allocate_relay_port()
        if fresh:
            await self.gateway_exec(stop_relay_command(port), expect=(0, 1))  # 1: there was none
        if fresh or not await self.answers(gateway_ip, port):
            await self.gateway_exec(relay_command(port, gateway_ip, self.service_name, self.port), detach=True)
            for _ in range(50):
                if await self.answers(gateway_ip, port):
                    break
                await asyncio.sleep(0.1)
        return gateway_ip, port

    async def gateway_exec(self, cmd: list[str], *, detach: bool = False, expect: tuple[int, ...] = (0,)) -> None:
        exec_id = await self.docker("exec_create", self.gateway, cmd)
        output = await self.docker("exec_start", exec_id, detach=detach)
        if detach:
            return
        code = (await self.docker("exec_inspect", exec_id)).get("ExitCode")
        if code not in expect:
            self.log.warning("Gateway: %s exited %s: %s", " ".join(cmd), code, (output or b"")[:300])

    @staticmethod
    async def answers(ip: str, port: int) -> bool:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout=2)
        except OSError:
            return False
        writer.close()
        return True

    async def get_ip_and_port(self) -> tuple[str, int]:
        """Called once the task runs (DockerSpawner.start)."""
        return await self.ensure_relay(await self.check_gateway(), fresh=True)

    def get_env(self) -> dict:
        return through_gateway(workspace_environment(super().get_env(), self.timezone), self.hub_ip, self.gateway)

    # --- running, stopping ---

    async def poll(self) -> int | None:
        status = await super().poll()
        if status is None and self.relay_port:  # running: the relay too (the gateway may have been recreated)
            try:
                await self.ensure_relay(await self.check_gateway())
            except SpawnRefused:
                return 1
        return status

    async def stop(self, now: bool = False) -> None:
        port = self.relay_port
        if self.object_id:
            await self.remove_object()
        self.clear_state()
        if port:
            try:
                await self.gateway_exec(stop_relay_command(port), expect=(0, 1))
            except docker.errors.APIError as exc:
                self.log.warning("Relay %s of %s not stopped: %s", port, self.user.name, exc)
        self._release = asyncio.ensure_future(self.release_learner_network())  # kept: a task nobody holds may vanish

    async def remove_object(self) -> None:
        try:
            await self.docker("remove_service", self.object_id or self.service_name)
        except docker.errors.NotFound:
            pass

    async def release_learner_network(self) -> None:
        """Take the gateway off the learner's network and remove it once the task has left it (its container
        on the node takes a few seconds to go); left for the next start when it does not go."""
        name = self.learner_network
        try:
            await self.docker("disconnect_container_from_network", self.gateway, name, force=True)
        except docker.errors.APIError:
            pass
        for _ in range(30):
            await asyncio.sleep(2)
            if await self.get_object() is not None:  # started again meanwhile: keep it
                return
            try:
                await self.docker("remove_network", name)
                return
            except docker.errors.NotFound:
                return
            except docker.errors.APIError:
                continue
        self.log.info("Network %s still in use; kept for the next start", name)


def apply_swarm_spawner(settings: Any, c: Any, image: str) -> None:
    """`spawner = "swarm"`: `image` is the workspace image pinned by digest in the private registry."""
    from hub.swarm.gateway import gateway_name as gateway_of

    c.JupyterHub.spawner_class = "hub.swarm.spawner.ClusterSpawner"
    c.ClusterSpawner.resource_prefix = settings.docker_prefix
    c.ClusterSpawner.timezone = settings.timezone
    c.ClusterSpawner.image = image
    c.ClusterSpawner.allowed_images = {"workspace": image}
    c.ClusterSpawner.pull_policy = "skip"  # nodes pull from the private registry; the manager runs no workspace
    c.ClusterSpawner.notebook_dir = WORKSPACE_HOME
    # the image's CMD (images/workspace/Dockerfile), said here: DockerSpawner would read it from the image on the
    # manager, which does not have the pinned image (only nodes pull it)
    c.ClusterSpawner.cmd = ["jupyterhub-singleuser"]
    c.ClusterSpawner.bridge_network = settings.workspace_network
    c.ClusterSpawner.hub_ip = settings.hub_ip
    c.ClusterSpawner.hub_connect_url = f"http://{gateway_of(settings.docker_prefix)}:{settings.hub_port}"
    c.ClusterSpawner.use_internal_ip = True
    c.ClusterSpawner.poll_interval = 15
    c.ClusterSpawner.mem_limit = settings.mem_limit
    c.ClusterSpawner.mem_guarantee = settings.workspace_idle_memory
    c.ClusterSpawner.cpu_limit = settings.cpu_limit
    c.ClusterSpawner.pids_limit = settings.pids_limit
    c.ClusterSpawner.tmp_size = max(64 << 20, parse_size(settings.mem_limit) // 4)
    c.ClusterSpawner.homes_dir = settings.homes_dir
    c.ClusterSpawner.placement_constraints = [] if settings.workspaces_on_manager else ["node.role==worker"]
    c.ClusterSpawner.home_volume_options = dict(settings.home_volume_options)
    c.JupyterHub.cleanup_servers = False  # workspaces outlive the hub
