"""Workspaces on a real multi-node Docker Swarm (tests/support/swarm_cluster.py: this host's engine is the manager,
two Docker engines in containers are the workers, our registry serves the images, a host folder mounted at the
same path in every node stands in for the file server's share — this kernel has no NFS).

Four learners get workspaces spread over the workers, their files survive a stop and a start, draining a node
moves their next workspaces with their files, workspaces cannot reach each other, a node's Docker API or the
registry, a hub restarted mid-class keeps them, and a cluster with no room says so.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from support.hub import ADMIN_PASSWORD, Hub, HubSession, start_hub, truongso

from hub.cluster.registry import RegistryTLS
from hub.directory import accounts
from hub.directory.db import Directory
from hub.directory.models import Enrolment, Person, SchoolClass
from hub.keys import HubSecrets
from hub.spawner import stable_escape

PASSWORD = "swarm-Passw0rd-2026"
LEARNERS = [f"cumhv{i}" for i in range(1, 5)]  # two per worker: enough to see the spread


def enrol(data_dir: Path) -> None:
    from hub.settings import HubSettings

    directory = Directory(HubSettings.load(data_dir, {}).db_url)
    directory.ensure_schema()
    with directory.session() as db:
        db.add(SchoolClass(name="CUM-K01", title="Lớp trên cụm máy chủ"))
        for username in LEARNERS:
            db.add(Person(username=username, full_name="Học Viên Cụm", organisation="Sở TT&TT"))
            db.add(Enrolment(class_name="CUM-K01", username=username))
            accounts.set_password(db, username, accounts.hash_password(PASSWORD))
    directory.dispose()


@pytest.fixture(scope="module")
def swarm_hub(
    tmp_path_factory, swarm_cluster, docker_client, docker_prefix: str, workspace_image: str
) -> Iterator[Hub]:
    from images.cluster_images import build_cluster_images

    gateway = build_cluster_images(docker_client, which=("gateway",))["gateway"]
    data_dir = tmp_path_factory.mktemp("swarmhub") / "data"
    data_dir.mkdir(parents=True)
    prefix = f"{docker_prefix}-cum"
    (data_dir / "truongso.toml").write_text(
        f'docker_prefix = "{prefix}"\n'
        f'workspace_image = "{workspace_image}"\n'
        'mem_limit = "1G"\n'
        'workspace_idle_memory = "100M"\n'
        f'gateway_image = "{gateway}"\n'
        f'advertise_addr = "{swarm_cluster.manager_addr}"\n'
        f'homes_dir = "{swarm_cluster.shared_homes}"\n',
        encoding="utf-8",
    )
    # the registry's CA, as `truongso cluster init` leaves it in the data directory of the manager's hub
    ca = RegistryTLS(data_dir / "cluster").ca_cert
    ca.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(swarm_cluster.ca_cert, ca)
    pushed = truongso("images", "push", "--data-dir", str(data_dir), "--only", "workspace", "--only", "gateway")
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    enrol(data_dir)
    hub = start_hub(data_dir, "--spawner", "swarm", env={"TRUONGSO_ADMIN_PASSWORD": ADMIN_PASSWORD})
    hub.prefix = prefix
    try:
        yield hub
    finally:
        hub.stop()
        truongso("down", "--workspaces", "--data-dir", str(data_dir))


def log_in(hub: Hub, username: str) -> HubSession:
    session = HubSession(hub.url)
    assert session.login(username, PASSWORD).status_code == 200
    return session


def start(hub: Hub, username: str) -> HubSession:
    session = log_in(hub, username)
    session.start_server(timeout=240)
    assert session.open_server().status_code == 200
    return session


def tasks_by_node(docker_client, prefix: str) -> dict[str, str]:
    """learner → hostname of the node running their workspace."""
    hostnames = {n.id: n.attrs["Description"]["Hostname"] for n in docker_client.nodes.list()}
    found = {}
    for username in LEARNERS:
        try:
            service = docker_client.services.get(f"{prefix}-ws-{stable_escape(username)}")
        except Exception:
            continue
        running = [t for t in service.tasks() if t["Status"]["State"] == "running"]
        if running:
            found[username] = hostnames[running[0]["NodeID"]]
    return found


def write_and_read(session: HubSession, name: str) -> dict:
    return session.run_code(
        "import pandas as pd, matplotlib, sklearn\n"
        "matplotlib.use('Agg')\n"
        "import matplotlib.pyplot as plt\n"
        "from sklearn.linear_model import LinearRegression\n"
        "df = pd.DataFrame({'x': [1, 2, 3, 4], 'y': [2, 4, 6, 8]})\n"
        "m = LinearRegression().fit(df[['x']], df['y'])\n"
        "plt.plot(df.x, df.y); plt.savefig('/tmp/p.png')\n"
        f"open('{name}', 'w').write('bài của {name}')\n"
        "print(round(float(m.coef_[0]), 3), df.y.sum())",
        timeout=180,
    )


def read_back(session: HubSession, name: str) -> dict:
    return session.run_code(f"print(open('{name}').read())")


def stop(session: HubSession) -> None:
    response = session.api("DELETE", f"/users/{session.username}/server")
    assert response.status_code in (202, 204), response.text


def wait_stopped(session: HubSession) -> None:
    for _ in range(120):
        user = session.api("GET", f"/users/{session.username}").json()
        if not user.get("servers") and not user.get("pending"):
            return
        time.sleep(0.5)
    raise AssertionError(f"{session.username}'s workspace did not stop")


def test_learners_spread_over_nodes_and_keep_their_files(swarm_hub: Hub, swarm_cluster, docker_client) -> None:
    with ThreadPoolExecutor(len(LEARNERS)) as pool:
        sessions = dict(zip(LEARNERS, pool.map(lambda u: start(swarm_hub, u), LEARNERS), strict=True))
    placement = tasks_by_node(docker_client, swarm_hub.prefix)
    assert set(placement) == set(LEARNERS)
    assert set(placement.values()) <= set(swarm_cluster.workers)
    assert len(set(placement.values())) >= 2, placement
    with ThreadPoolExecutor(len(LEARNERS)) as pool:
        outputs = list(pool.map(lambda u: write_and_read(sessions[u], f"{u}.txt"), sessions))
    for out in outputs:
        assert out["error"] is None and out["stdout"].split() == ["2.0", "20"], out
    # the file is on the share, owned by the workspace's user, and nowhere else
    home = swarm_cluster.shared_homes / stable_escape(LEARNERS[0])
    assert (home / f"{LEARNERS[0]}.txt").read_text() == f"bài của {LEARNERS[0]}.txt"
    assert home.stat().st_uid == 1000 and (home / ".bashrc").exists()  # the image's home copied in
    # stopped and started again: the file is there (wherever the new task lands)
    session = sessions[LEARNERS[1]]
    stop(session)
    wait_stopped(session)
    session.start_server(timeout=240)
    assert session.open_server().status_code == 200
    assert read_back(session, f"{LEARNERS[1]}.txt")["stdout"].strip() == f"bài của {LEARNERS[1]}.txt"


def test_workspace_is_locked_down(swarm_hub: Hub, docker_client) -> None:
    service = docker_client.services.get(f"{swarm_hub.prefix}-ws-{stable_escape(LEARNERS[0])}")
    spec = service.attrs["Spec"]["TaskTemplate"]
    container = spec["ContainerSpec"]
    assert container["Image"].split("@")[1].startswith("sha256:")  # pinned by digest
    assert container["CapabilityDrop"] == ["ALL"] and container["ReadOnly"] is True
    assert container["User"] == "1000:1000"
    limits = spec["Resources"]["Limits"]
    assert limits["MemoryBytes"] == 1 << 30 and limits["NanoCPUs"] == 10**9 and limits["Pids"] == 256
    network = docker_client.networks.get(spec["Networks"][0]["Target"])
    assert network.attrs["Internal"] is True and network.attrs["Driver"] == "overlay"
    assert service.attrs["Spec"]["EndpointSpec"]["Mode"] == "dnsrr"


def probe(session: HubSession, targets: list[tuple[str, int]]) -> dict:
    """From inside the learner's workspace: which of (host, port) a TCP connection reaches."""
    code = (
        "import socket, json\n"
        "out = {}\n"
        f"for host, port in {targets!r}:\n"
        "    try:\n"
        "        socket.create_connection((host, port), timeout=3).close(); out[f'{host}:{port}'] = 'open'\n"
        "    except OSError as e:\n"
        "        out[f'{host}:{port}'] = type(e).__name__\n"
        "print(json.dumps(out))"
    )
    result = session.run_code(code, timeout=120)
    assert result["error"] is None, result
    return json.loads(result["stdout"])


def task_address(docker_client, prefix: str, username: str) -> str:
    service = docker_client.services.get(f"{prefix}-ws-{stable_escape(username)}")
    task = next(t for t in service.tasks() if t["Status"]["State"] == "running")
    return task["NetworksAttachments"][0]["Addresses"][0].split("/")[0]


def test_workspaces_cannot_reach_each_other_nodes_or_registry(swarm_hub: Hub, swarm_cluster, docker_client) -> None:
    session = start(swarm_hub, LEARNERS[0])
    other = LEARNERS[2]
    start(swarm_hub, other)
    settings = swarm_hub.settings()
    gateway = f"{swarm_hub.prefix}-gateway"
    registry_host, registry_port = swarm_cluster.registry.rsplit(":", 1)
    node_ips = [docker_client.containers.get(n).attrs["NetworkSettings"]["IPAddress"] for n in swarm_cluster.workers]
    targets = [
        (gateway, settings["hub_port"]),  # the hub's API, through the gateway: must be open (the probe works)
        (f"{swarm_hub.prefix}-ws-{stable_escape(other)}", 8888),  # another learner by name
        (task_address(docker_client, swarm_hub.prefix, other), 8888),  # … and by address
        (registry_host, int(registry_port)),  # the registry (its write API is its only API)
        *((ip, port) for ip in node_ips for port in (2375, 2376, 2377)),  # nodes' Docker and Swarm APIs
        (settings["hub_ip"], settings["hub_port"]),  # the hub directly (only the gateway may)
    ]
    reached = probe(session, targets)
    first, *rest = targets
    assert reached[f"{first[0]}:{first[1]}"] == "open", reached
    assert all(reached[f"{h}:{p}"] != "open" for h, p in rest), reached


def test_drain_moves_next_workspaces_with_their_files(swarm_hub: Hub, swarm_cluster, docker_client) -> None:
    placement = tasks_by_node(docker_client, swarm_hub.prefix)
    drained = placement[LEARNERS[0]]
    moved = [u for u, node in placement.items() if node == drained]
    swarm_cluster.drain(drained)
    try:
        sessions = {u: log_in(swarm_hub, u) for u in moved}
        for session in sessions.values():  # the hub notices; the learners start again
            stop(session)
            wait_stopped(session)
        with ThreadPoolExecutor(len(LEARNERS)) as pool:
            opened = list(pool.map(lambda s: (s.start_server(timeout=240), s.open_server().status_code)[1],
                                   sessions.values()))  # fmt: skip
        assert opened == [200] * len(sessions)
        after = tasks_by_node(docker_client, swarm_hub.prefix)
        assert all(after[u] != drained for u in moved), after
        for username, session in sessions.items():
            assert read_back(session, f"{username}.txt")["stdout"].strip() == f"bài của {username}.txt"
    finally:
        swarm_cluster.activate(drained)


def test_hub_restart_keeps_running_workspaces(swarm_hub: Hub, docker_client) -> None:
    session = start(swarm_hub, LEARNERS[3])
    kernel = session.start_kernel()
    session.execute(kernel, "x = 41")
    before = {
        s.name: s.id for s in docker_client.services.list(filters={"label": f"org.truongso.prefix={swarm_hub.prefix}"})
    }
    swarm_hub.restart("--spawner", "swarm", env={"TRUONGSO_ADMIN_PASSWORD": ADMIN_PASSWORD})
    after = {
        s.name: s.id for s in docker_client.services.list(filters={"label": f"org.truongso.prefix={swarm_hub.prefix}"})
    }
    assert after == before
    assert session.execute(kernel, "print(x + 1)")["stdout"].strip() == "42"  # the same kernel, still there


def test_no_room_in_the_cluster_is_a_clear_error(swarm_hub: Hub, swarm_cluster, docker_client) -> None:
    learner = LEARNERS[3]
    session = log_in(swarm_hub, learner)
    stop(session)
    wait_stopped(session)
    for node in swarm_cluster.workers:
        swarm_cluster.drain(node)
    try:
        session.api("POST", f"/users/{learner}/server")
        with pytest.raises(RuntimeError) as failed:
            session.start_server(timeout=120)
        assert "spawn failed" in str(failed.value)
        assert "no node can take it" in swarm_hub.log()  # the admin's reason; the learner read NO_NODE
        assert not docker_client.services.list(filters={"name": f"{swarm_hub.prefix}-ws-{stable_escape(learner)}"})
    finally:
        for node in swarm_cluster.workers:
            swarm_cluster.activate(node)
    # nothing was lost: the learner's file is still on the share and the next start works
    assert (swarm_cluster.shared_homes / stable_escape(learner) / f"{learner}.txt").exists()
    session.start_server(timeout=240)
    assert session.open_server().status_code == 200


def test_a_node_that_cannot_get_the_image_is_a_clear_error(swarm_hub: Hub, swarm_cluster, docker_client) -> None:
    """The registry down and the only node that may run the workspace without the image: the learner is told,
    the log says what to check, no service is left, and once the registry is back the start works."""
    from support.swarm_cluster import settings_for_cluster

    from hub.cluster.registry import container_name, start_registry

    learner = LEARNERS[2]
    session = log_in(swarm_hub, learner)  # (logging in starts the workspace: stopped below with the others)
    token = HubSecrets.ensure(swarm_hub.data_dir).api_token
    admin = {"Authorization": f"token {token}"}
    for username in LEARNERS:  # nothing may hold the image on the node it is removed from
        requests.delete(f"{swarm_hub.url}/hub/api/users/{username}/server", headers=admin, timeout=60)
    wait_for_no_services(docker_client, swarm_hub.prefix)
    image = json.loads((swarm_hub.data_dir / "run" / "cluster-images.json").read_text())["workspace"]
    keep, bare = swarm_cluster.workers
    settings = settings_for_cluster()
    registry = docker_client.containers.get(container_name(settings))
    swarm_cluster.drain(keep)
    try:
        for _ in range(60):  # removed services' containers take a while to go from the node
            if swarm_cluster.node_exec(bare, "docker", "image", "rm", "-f", image, check=False).returncode == 0:
                break
            time.sleep(1)
        assert swarm_cluster.node_exec(bare, "docker", "image", "inspect", image, check=False).returncode != 0
        registry.stop()  # start_registry (below) puts it back
        with pytest.raises(RuntimeError, match=r"spawn (failed|refused)"):
            session.start_server(timeout=150)
        assert "cannot get the image from the private registry" in swarm_hub.log()
        assert not docker_client.services.list(filters={"name": f"{swarm_hub.prefix}-ws-{stable_escape(learner)}"})
    finally:
        swarm_cluster.activate(keep)
        start_registry(settings, docker_client, advertise_addr=swarm_cluster.manager_addr, progress=lambda _: None)
    session.start_server(timeout=240)
    assert session.open_server().status_code == 200
    assert read_back(session, f"{learner}.txt")["stdout"].strip() == f"bài của {learner}.txt"


def wait_for_no_services(docker_client, prefix: str) -> None:
    for _ in range(120):
        services = docker_client.services.list(filters={"label": f"org.truongso.prefix={prefix}"})
        containers = [
            t for s in services for t in s.tasks() if t["Status"]["State"] in ("running", "starting", "preparing")
        ]
        if not services and not containers:
            return
        time.sleep(1)
    raise AssertionError("workspaces did not stop")
