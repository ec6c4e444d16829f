"""A real multi-node Docker Swarm on this one machine, for the tests (`swarm_cluster` in tests/conftest.py).

The host's engine is the manager (active: workspaces and sandboxes keep off it by their placement); two worker
nodes are Docker engines in containers (`truongso-node-1`, `-2`) made from our base image and Debian's docker.io,
run with the options ENVIRONMENT.md records (`--privileged` fails on this kernel). Our private registry (TLS, our
own CA: hub/cluster/registry.py) runs on the manager: read-only at 172.17.0.1:5000 for the nodes, writable at
127.0.0.1:5000 for pushes from this machine (`SwarmCluster.push`); nodes trust its CA through
/etc/docker/certs.d and start with no image at all, so images reach them only by pulling from it.

Shared by every pytest session on the machine: set-up and tear-down hold a file lock, each session registers
its pid, and the last one out tears down (nothing is torn down with TRUONGSO_KEEP_CLUSTER=1; the next run
reuses healthy nodes and the registry). Only what this module made is removed; the swarm is left only when this
module initialised it.

Found on this machine (kernel 6.18 micro-VM, Docker 20.10): nodes come up and join in a few seconds; Swarm
reports each node with the whole machine's memory and CPUs (they share it); node containers need
`--cgroupns host` and the host's /sys/fs/cgroup for their engines to run containers. Measured 2026-12-04: start
19 s with the node and registry images to build, 2-13 s with them present (load-dependent), ~1 s reusing a kept
cluster; `truongso images push` of the 946 MB workspace image to an empty registry 37 s, a worker's first pull of
it 13 s. The read-only registry answers a push's first request (POST …/blobs/uploads/) with 405 (Allow: GET,
HEAD). A node engine's default bridge has no Gateway in its IPAM config (hub.cluster.swarm falls back to the
subnet's first address).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from hub.cluster.registry import CERTS_D, PUSH_HOST, RegistryTLS, push_tag, remove_registry, start_registry

MANAGER_ADDR = "172.17.0.1"  # docker0's gateway: the host engine, as the nodes see it
PREFIX = "truongso-testcluster"  # registry container and volume names
WORKERS = ("truongso-node-1", "truongso-node-2")
CLUSTER_DIR = Path(os.environ.get("TRUONGSO_CLUSTER_DIR", "/tmp/truongso-testcluster"))
NODE_DIR = Path(__file__).resolve().parent / "swarm_node"
NODE_LABEL = "org.truongso.test-cluster"
READY_TIMEOUT = 90.0
# ENVIRONMENT.md: what makes a Docker engine run inside a container on this kernel.
NODE_RUN_OPTIONS = (
    "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--security-opt", "systempaths=unconfined", "--device-cgroup-rule", "a *:* rwm",
    "--cgroupns", "host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--tmpfs", "/run",
)  # fmt: skip


def docker(*args: str, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess:
    """The host's docker CLI, output as bytes. A Swarm update refused as "out of sequence" (the object changed
    under it, e.g. the node's own status report) is asked again, as Docker advises."""
    for attempt in range(10):
        result = subprocess.run(["docker", *args], capture_output=True, input=input, timeout=300)
        if result.returncode == 0 or b"out of sequence" not in result.stderr or attempt == 9:
            break
        time.sleep(0.5)
    if check and result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {result.stderr.decode(errors='replace').strip()}")
    return result


def out(result: subprocess.CompletedProcess) -> str:
    return result.stdout.decode(errors="replace").strip()


@dataclass
class SwarmCluster:
    manager_addr: str
    registry: str
    workers: list[str]
    shared_homes: Path
    ca_cert: Path = field(default=CLUSTER_DIR / "data" / "cluster" / "ca.crt")

    def node_exec(
        self, node: str, *cmd: str, check: bool = True, input: bytes | None = None
    ) -> subprocess.CompletedProcess:
        """`docker exec -i <node> cmd…`; stdout/stderr as bytes."""
        return docker("exec", "-i", node, *cmd, check=check, input=input)

    def push(self, image: str) -> str:
        """Push a host image to the registry (through its writable twin on loopback); its pinned reference as the
        nodes pull it, `registry/repo@sha256:…`."""
        name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "latest")
        repository = f"{PUSH_HOST}:{self.registry.rsplit(':', 1)[1]}/{name}"
        docker("tag", image, f"{repository}:{tag}")
        try:
            import docker as docker_sdk

            return f"{self.registry}/{name}@{push_tag(docker_sdk.from_env(timeout=600), repository, tag)}"
        finally:
            docker("rmi", "--no-prune", f"{repository}:{tag}", check=False)

    def drain(self, node: str) -> None:
        docker("node", "update", "--availability", "drain", node)

    def activate(self, node: str) -> None:
        docker("node", "update", "--availability", "active", node)

    def node_socket(self, node: str) -> str:
        """DOCKER_HOST value that reaches `node`'s engine from the host."""
        return f"unix://{node_socket(node)}"

    def join_token(self) -> str:
        return out(docker("swarm", "join-token", "-q", "worker"))

    def node_ids(self, hostname: str) -> list[str]:
        """Swarm node ids with this hostname (a recreated node leaves a Down entry behind)."""
        return [line.split()[0] for line in _node_lines() if line.split()[1] == hostname]


def _node_lines() -> list[str]:
    return out(docker("node", "ls", "--format", "{{.ID}} {{.Hostname}} {{.Status}} {{.Availability}}")).splitlines()


def node_image() -> str:
    """truongso/swarm-node:<hash of the Dockerfile>, built once."""
    digest = hashlib.sha256((NODE_DIR / "Dockerfile").read_bytes()).hexdigest()[:12]
    tag = f"truongso/swarm-node:{digest}"
    if docker("image", "inspect", tag, check=False).returncode != 0:
        docker("build", "-q", "-t", tag, str(NODE_DIR))
    return tag


def start_node(name: str, image: str, cluster: SwarmCluster, token: str | None) -> None:
    """A fresh worker: container `name` (hostname too), its own /var/lib/docker volume, the shared homes, the
    registry's CA in certs.d, joined to the swarm with `token` (not joined when None)."""
    remove_node(name)
    sockets = node_socket(name).parent
    sockets.mkdir(parents=True, exist_ok=True)
    docker(
        "run", "-d", "--name", name, "--hostname", name, "--label", f"{NODE_LABEL}=1", *NODE_RUN_OPTIONS,
        "-v", f"{name}-docker:/var/lib/docker", "-v", f"{cluster.shared_homes}:{cluster.shared_homes}",
        "-v", f"{sockets}:/sockets", image,
        "dockerd", "--log-driver", "json-file", "-H", "unix:///var/run/docker.sock", "-H", "unix:///sockets/docker.sock",
    )  # fmt: skip
    deadline = time.monotonic() + READY_TIMEOUT
    while cluster.node_exec(name, "docker", "version", check=False).returncode != 0:
        if time.monotonic() > deadline:
            logs = out(docker("logs", "--tail", "5", name, check=False))
            raise RuntimeError(f"dockerd in {name} did not start: {logs}")
        time.sleep(0.3)
    trust_ca(cluster, name)
    if token is not None:
        cluster.node_exec(name, "docker", "swarm", "join", "--token", token, f"{cluster.manager_addr}:2377")


def node_socket(name: str) -> Path:
    """The node engine's API socket as seen from the host (DOCKER_HOST=unix://…): tests drive a node's engine
    with the docker SDK or our own verbs through it."""
    return CLUSTER_DIR / "sockets" / name / "docker.sock"


def trust_ca(cluster: SwarmCluster, node: str) -> None:
    folder = f"{CERTS_D}/{cluster.registry}"
    cluster.node_exec(
        node, "sh", "-c", f"mkdir -p {folder} && cat > {folder}/ca.crt", input=cluster.ca_cert.read_bytes()
    )


def remove_node(name: str) -> None:
    """A node container, its volume and its swarm entries; only ones this module made (by label)."""
    labels = out(docker("inspect", "--format", "{{json .Config.Labels}}", name, check=False)) or "null"
    if NODE_LABEL in (json.loads(labels) or {}):
        docker("exec", name, "docker", "swarm", "leave", "--force", check=False)
        docker("rm", "-f", "-v", name, check=False)
    elif labels != "null":
        raise RuntimeError(f"a container named {name} exists that the test cluster did not make; not touching it")
    docker("volume", "rm", "-f", f"{name}-docker", check=False)
    shutil.rmtree(node_socket(name).parent, ignore_errors=True)
    for line in _node_lines():
        node_id, hostname = line.split()[:2]
        if hostname == name:
            docker("node", "rm", "--force", node_id, check=False)


def node_healthy(cluster: SwarmCluster, name: str) -> bool:
    """Running, its engine in the swarm, and the manager sees that very node Ready."""
    state = cluster.node_exec(
        name, "docker", "info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.NodeID}}", check=False
    )
    if state.returncode != 0 or not out(state).startswith("active "):
        return False
    node_id = out(state).split()[1]
    seen = docker("node", "inspect", "--format", "{{.Status.State}}", node_id, check=False)
    return seen.returncode == 0 and out(seen) == "ready"


def wait_ready(names: list[str]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        ready = {line.split()[1] for line in _node_lines() if line.split()[2] == "Ready"}
        if set(names) <= ready:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"nodes not Ready after {READY_TIMEOUT:.0f}s: {sorted(set(names) - ready)}")
        time.sleep(0.5)


def manager_id() -> str:
    return out(docker("info", "--format", "{{.Swarm.NodeID}}"))


@contextmanager
def _locked() -> Iterator[None]:
    CLUSTER_DIR.mkdir(parents=True, exist_ok=True)
    with open(CLUSTER_DIR / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _state() -> dict:
    try:
        return json.loads((CLUSTER_DIR / "state.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _save_state(state: dict) -> None:
    (CLUSTER_DIR / "state.json").write_text(json.dumps(state))


def _other_users() -> list[int]:
    """Other live pytest sessions using the cluster."""
    users = []
    for entry in (CLUSTER_DIR / "users").glob("*"):
        pid = int(entry.name)
        if pid != os.getpid() and Path(f"/proc/{pid}").exists():
            users.append(pid)
        elif pid != os.getpid():
            entry.unlink(missing_ok=True)
    return users


def settings_for_cluster() -> object:
    from hub.settings import HubSettings

    return HubSettings.create(
        {"data_dir": str(CLUSTER_DIR / "data"), "docker_prefix": PREFIX, "advertise_addr": MANAGER_ADDR}, "test cluster"
    )


def swarm_cluster_fixture(client: object) -> Iterator[SwarmCluster]:
    """Start (or reuse) the cluster; yield it; tear down what it made unless kept or still used by another
    session. `client` is the host's docker SDK client."""
    started = time.monotonic()
    settings = settings_for_cluster()
    with _locked():
        try:
            cluster = _set_up(settings, client)
        except BaseException:
            if os.environ.get("TRUONGSO_KEEP_CLUSTER") != "1" and not _other_users():
                teardown(settings, client)  # a half-made cluster helps nobody
            raise
        (CLUSTER_DIR / "users").mkdir(exist_ok=True)
        (CLUSTER_DIR / "users" / str(os.getpid())).touch()
        (CLUSTER_DIR / "last-start-seconds").write_text(f"{time.monotonic() - started:.1f}\n")
    try:
        yield cluster
    finally:
        with _locked():
            (CLUSTER_DIR / "users" / str(os.getpid())).unlink(missing_ok=True)
            if os.environ.get("TRUONGSO_KEEP_CLUSTER") != "1" and not _other_users():
                teardown(settings, client)


def _set_up(settings: object, client: object) -> SwarmCluster:
    """Under the lock: the swarm, the registry, healthy workers, the manager active."""
    state = _state()
    swarm = out(docker("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"))
    if swarm.startswith("inactive"):
        docker("swarm", "init", "--advertise-addr", MANAGER_ADDR)
        state["initialised_swarm"] = True
        _save_state(state)  # so a failed set-up still leaves the swarm it made
    elif swarm != "active true":
        raise RuntimeError(f"this engine is in a swarm but not a manager ({swarm}): cannot run the test cluster")
    registry = start_registry(settings, client, advertise_addr=MANAGER_ADDR, progress=lambda _: None)
    homes = CLUSTER_DIR / "homes"
    homes.mkdir(exist_ok=True)
    cluster = SwarmCluster(
        MANAGER_ADDR, registry, list(WORKERS), homes, RegistryTLS(CLUSTER_DIR / "data" / "cluster").ca_cert
    )
    stale = [name for name in WORKERS if not node_healthy(cluster, name)]
    if stale:
        image, token = node_image(), cluster.join_token()
        with ThreadPoolExecutor(len(stale)) as pool:
            list(pool.map(lambda name: start_node(name, image, cluster, token), stale))
    for name in set(WORKERS) - set(stale):
        trust_ca(cluster, name)  # the CA may be new if the data folder was wiped
    wait_ready(list(WORKERS))
    manager = manager_id()
    if "manager_availability" not in state:
        state["manager_availability"] = out(docker("node", "inspect", "--format", "{{.Spec.Availability}}", manager))
    # Active, not drained: the gateway (a container on the manager) joins learners' overlay networks through a
    # network attachment, which Swarm does not place on a drained node. Workspaces and sandboxes stay off the
    # manager by their own placement (node.role==worker), as in a real school.
    docker("node", "update", "--availability", "active", manager)
    _save_state(state)
    return cluster


def teardown(settings: object, client: object) -> None:
    """Remove everything this module made; restore the manager; leave the swarm only if this module made it."""
    state = _state()
    for name in WORKERS:
        remove_node(name)
    if state.get("initialised_swarm"):
        docker("swarm", "leave", "--force", check=False)
    elif state.get("manager_availability"):
        docker("node", "update", "--availability", state["manager_availability"], manager_id(), check=False)
    remove_registry(settings, client, keep_data=False)
    for host in (MANAGER_ADDR, PUSH_HOST):
        shutil.rmtree(CERTS_D / f"{host}:{settings.registry_port}", ignore_errors=True)
    shutil.rmtree(CLUSTER_DIR / "homes", ignore_errors=True)
    shutil.rmtree(CLUSTER_DIR / "data", ignore_errors=True)
    (CLUSTER_DIR / "state.json").unlink(missing_ok=True)
