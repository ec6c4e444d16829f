"""The cluster plumbing on a real multi-node Swarm (tests/support/swarm_cluster.py): our images reach the worker
nodes only through the private registry (TLS with our CA, pinned by digest), and `truongso cluster …` /
`truongso images push` print what they run, do it, and refuse bad input with one bilingual line, changing nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from support.hub import truongso
from support.swarm_cluster import SwarmCluster, docker, node_image, out, remove_node, start_node

from hub.cluster.registry import pinned_image
from hub.settings import HubSettings

SERVICE_TIMEOUT = 120.0
SPARE = "truongso-node-spare"  # a short-lived third node: never part of the test cluster


def one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """The single bilingual error line of a refused verb (exit 1, no traceback)."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("truongso: lỗi / error: ") and " / " in lines[0], result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def availability(node: str) -> str:
    return out(docker("node", "inspect", "--format", "{{.Spec.Availability}}", node))


def nodes_now() -> str:
    return out(docker("node", "ls", "--format", "{{.ID}} {{.Hostname}} {{.Status}} {{.Availability}}"))


def free_port() -> int:
    """A port free on every address (the registry takes it on the cluster address and on loopback)."""
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return sock.getsockname()[1]


def refuses_writes(registry: str, ca: Path) -> bool:
    """Whether starting a blob upload (the first step of any push) is refused at this address."""
    answer = requests.post(f"https://{registry}/v2/truongso/workspace/blobs/uploads/", verify=str(ca), timeout=5)
    return answer.status_code == 405 and "POST" not in answer.headers.get("Allow", "")  # read-only: GET, HEAD


def wait_running(service: str, tasks: int) -> list[str]:
    """Nodes of the service's running tasks, once `tasks` of them run."""
    deadline = time.monotonic() + SERVICE_TIMEOUT
    while True:
        lines = out(docker("service", "ps", "--format", "{{.Node}} {{.CurrentState}} {{.Error}}", service))
        nodes = [line.split()[0] for line in lines.splitlines() if " Running " in f" {line} "]
        if len(nodes) >= tasks:
            return nodes
        assert time.monotonic() < deadline, f"service {service} not running: {lines}"
        time.sleep(1)


@pytest.fixture
def probe_image() -> Iterator[str]:
    """An image no node can have: our base image with a fresh label (so a fresh digest)."""
    tag = f"truongso-testcluster/probe:{uuid.uuid4().hex[:10]}"
    docker("build", "-q", "-t", tag, "-", input=f"FROM truongso/base:bookworm\nLABEL nonce={tag}\n".encode())
    yield tag
    docker("rmi", "--no-prune", tag, check=False)


@pytest.fixture
def tiny_image(tmp_path: Path) -> Iterator[str]:
    """A one-file image (a few hundred bytes), for pushes that need not run anything."""
    tag = f"truongso-testcluster/tiny:{uuid.uuid4().hex[:10]}"
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "nonce").write_text(tag)
    tar = subprocess.run(["tar", "-C", str(tmp_path / "tiny"), "-c", "."], capture_output=True, check=True).stdout
    docker("import", "-", tag, input=tar)
    yield tag
    docker("rmi", "--no-prune", tag, check=False)


def test_images_reach_the_workers_only_through_the_registry(
    swarm_cluster: SwarmCluster, probe_image: str, tmp_path: Path
) -> None:
    cluster = swarm_cluster
    for node in cluster.workers:
        # Every image a node holds came from our registry: nothing was loaded or pulled from elsewhere.
        # (an untagged "<none>" is one of those whose tag was removed while a stopped container still used it)
        repos = out(cluster.node_exec(node, "docker", "images", "--format", "{{.Repository}}")).split()
        assert all(repo.startswith(f"{cluster.registry}/") or repo == "<none>" for repo in repos), (node, repos)
        assert cluster.node_exec(node, "docker", "image", "inspect", probe_image, check=False).returncode != 0
        # TLS with our CA, not an insecure-registry exception.
        index = json.loads(out(cluster.node_exec(node, "docker", "info", "--format", "{{json .RegistryConfig}}")))
        assert index["IndexConfigs"].get(cluster.registry, {"Secure": True})["Secure"] is True
        assert cluster.node_exec(node, "cat", f"/etc/docker/certs.d/{cluster.registry}/ca.crt").stdout == (
            cluster.ca_cert.read_bytes()
        )

    ref = cluster.push(probe_image)
    assert ref.startswith(f"{cluster.registry}/truongso-testcluster/probe@sha256:")
    assert refuses_writes(cluster.registry, cluster.ca_cert)  # what the nodes reach is read-only
    service = f"truongso-testcluster-probe-{uuid.uuid4().hex[:6]}"
    prefix = f"truongso-test-{os.getpid()}-probe"  # `cluster status` counts this prefix's workspace services
    labels = ["--label", f"org.truongso.prefix={prefix}", "--label", "org.truongso.user=probe"]
    docker(
        "service",
        "create",
        "--detach",
        "--name",
        service,
        *labels,
        "--mode",
        "global",
        "--constraint",
        "node.role==worker",
        ref,
        "sleep",
        "600",
    )
    try:
        nodes = wait_running(service, len(cluster.workers))
        assert sorted(nodes) == sorted(cluster.workers)  # one task per worker, by placement as in a school
        for node in cluster.workers:
            digests = out(
                cluster.node_exec(node, "docker", "image", "inspect", "--format", "{{json .RepoDigests}}", ref)
            )
            assert ref in json.loads(digests)
        # `truongso cluster status` sees the same: one of the prefix's workspaces on each worker, none on the manager.
        data_dir = tmp_path / "data"
        (data_dir / "cluster").mkdir(parents=True)
        (data_dir / "cluster" / "ca.crt").write_bytes(cluster.ca_cert.read_bytes())
        (data_dir / "truongso.toml").write_text(
            f'[docker]\ndocker_prefix = "{prefix}"\n[cluster]\nregistry = "{cluster.registry}"\n', encoding="utf-8"
        )
        status = truongso("cluster", "status", "--data-dir", str(data_dir))
        assert status.returncode == 0, status.stderr
        assert "$ docker node inspect" in status.stdout
        rows = {
            line.split()[0]: line.split() for line in status.stdout.splitlines() if line.startswith("truongso-node-")
        }
        assert {name: row[-1] for name, row in rows.items() if name in cluster.workers} == dict.fromkeys(
            cluster.workers, "1"
        )
        assert all(row[3] == "active" and row[2] == "ready" for name, row in rows.items() if name in cluster.workers)
        assert f"Registry {cluster.registry}: đang chạy / up" in status.stdout
    finally:
        docker("service", "rm", service, check=False)


@pytest.fixture
def spare_node(swarm_cluster: SwarmCluster) -> Iterator[str]:
    """A third node container, started but joined to nothing; removed with its volume afterwards."""
    start_node(SPARE, node_image(), swarm_cluster, None)
    yield SPARE
    remove_node(SPARE)


def test_refusals_change_nothing(swarm_cluster: SwarmCluster, spare_node: str, tmp_path: Path) -> None:
    """A wrong join token, `init` on an engine in another swarm, draining the last node, an unknown node."""
    cluster = swarm_cluster
    before = nodes_now()

    token = cluster.join_token()
    wrong = token[:-4] + ("0000" if not token.endswith("0000") else "1111")
    join = cluster.node_exec(
        spare_node, "docker", "swarm", "join", "--token", wrong, f"{cluster.manager_addr}:2377", check=False
    )
    assert join.returncode != 0
    reason = join.stderr.decode().strip()
    assert len(reason.splitlines()) == 1 and "token" in reason.lower(), reason
    assert out(cluster.node_exec(spare_node, "docker", "info", "--format", "{{.Swarm.LocalNodeState}}")) == "inactive"
    assert nodes_now() == before

    # `init` against a worker of our swarm: refused before a certificate or container is made.
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    worker = {"DOCKER_HOST": cluster.node_socket(cluster.workers[0])}
    one_line_error(truongso("cluster", "init", "--data-dir", str(data_dir), env=worker), "another swarm", "swarm khác")
    assert not (data_dir / "cluster").exists()
    assert out(cluster.node_exec(cluster.workers[0], "docker", "ps", "-aq", "--filter", "name=registry")) == ""
    assert (
        out(cluster.node_exec(cluster.workers[0], "docker", "info", "--format", "{{.Swarm.LocalNodeState}}"))
        == "active"
    )

    # A one-node swarm of its own on the spare node (the shared cluster's availability is left alone). Where
    # workspaces may run on the manager (a one-server school), its only node cannot be drained; where they run on
    # workers only, draining the manager takes nothing away: done, and `activate` brings it back.
    cluster.node_exec(spare_node, "docker", "swarm", "init", "--advertise-addr", "127.0.0.1")
    spare = {"DOCKER_HOST": cluster.node_socket(spare_node)}
    spare_id = out(cluster.node_exec(spare_node, "docker", "info", "--format", "{{.Swarm.NodeID}}"))
    inspect = ("docker", "node", "inspect", "--format", "{{.Spec.Availability}}", "self")
    one_server, workers_only = tmp_path / "one-server", tmp_path / "workers-only"
    one_server.mkdir()
    workers_only.mkdir()
    (one_server / "truongso.toml").write_text("[cluster]\nworkspaces_on_manager = true\n", encoding="utf-8")
    drain = truongso("cluster", "drain", spare_node, "--data-dir", str(one_server), env=spare)
    one_line_error(drain, "last node", "cuối cùng")
    assert out(cluster.node_exec(spare_node, *inspect)) == "active"
    for action, was, after in (("drain", "active", "drain"), ("activate", "drain", "active")):
        done = truongso("cluster", action, spare_node, "--data-dir", str(workers_only), env=spare)
        assert done.returncode == 0, done.stderr
        assert f"$ docker node update --availability {after} {spare_id}" in done.stdout
        assert f"{spare_node}: {was} → {after}" in done.stdout
        assert out(cluster.node_exec(spare_node, *inspect)) == after

    one_line_error(
        truongso("cluster", "drain", "truongso-node-nosuch"), "no node 'truongso-node-nosuch'", "truongso-node-1"
    )
    one_line_error(truongso("cluster", "activate", "truongso-node-nosuch"), "no node")
    assert nodes_now() == before


def test_cluster_verbs_and_push_through_the_cli(swarm_cluster: SwarmCluster, tiny_image: str, tmp_path: Path) -> None:
    """init (on the manager: swarm kept, registry started), join-command, nodes, activate/drain, images push
    with pinned digests, then the registry down: status and push refuse with one line, nothing half-written."""
    cluster = swarm_cluster
    prefix = f"truongso-test-{os.getpid()}-ci"
    port = free_port()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "truongso.toml").write_text(
        f'[docker]\ndocker_prefix = "{prefix}"\n[workspaces]\nworkspace_image = "{tiny_image}"\n'
        f'[cluster]\nadvertise_addr = "{cluster.manager_addr}"\nregistry_port = {port}\n'
        'gateway_image = "truongso-testcluster/never-built:x"\n',
        encoding="utf-8",
    )
    registry = f"{cluster.manager_addr}:{port}"
    try:
        init = truongso("cluster", "init", "--data-dir", str(data_dir))
        assert init.returncode == 0, init.stderr
        assert "already manages a swarm: kept" in init.stdout
        assert f"$ docker run -d --name {prefix}-registry -p {registry}:5000" in init.stdout
        assert f"install -m 0644 ca.crt /etc/docker/certs.d/{registry}/ca.crt" in init.stdout
        ca = data_dir / "cluster" / "ca.crt"
        assert stat.S_IMODE((data_dir / "cluster" / "ca.key").stat().st_mode) == 0o600
        assert requests.get(f"https://{registry}/v2/", verify=str(ca), timeout=5).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):  # only our CA vouches for it
            requests.get(f"https://{registry}/v2/", timeout=5)
        for name, host in ((f"{prefix}-registry", cluster.manager_addr), (f"{prefix}-registry-push", "127.0.0.1")):
            ports = json.loads(out(docker("inspect", "--format", "{{json .HostConfig.PortBindings}}", name)))
            assert ports == {"5000/tcp": [{"HostIp": host, "HostPort": str(port)}]}
        assert refuses_writes(registry, ca)
        assert not refuses_writes(f"127.0.0.1:{port}", ca)  # pushes go to the manager's loopback only
        assert truongso("cluster", "init", "--data-dir", str(data_dir)).returncode == 0  # again: kept as it is

        join = truongso("cluster", "join-command")
        assert join.returncode == 0 and "$ docker swarm join-token worker" in join.stdout
        assert f"docker swarm join --token {cluster.join_token()} {cluster.manager_addr}:2377" in join.stdout
        listing = truongso("cluster", "nodes")
        assert "$ docker node ls" in listing.stdout and all(w in listing.stdout for w in cluster.workers)

        # Activating the (already active) manager: the command is printed and run, nothing else changes. The
        # shared cluster's availability is not flipped here (other sessions use it); the spare node shows a flip.
        manager = out(docker("info", "--format", "{{.Swarm.NodeID}}"))
        result = truongso("cluster", "activate", manager)
        assert result.returncode == 0, result.stderr
        assert f"$ docker node update --availability active {manager}" in result.stdout
        assert availability(manager) == "active"

        push = truongso("images", "push", "--data-dir", str(data_dir), "--only", "workspace")
        assert push.returncode == 0, push.stderr
        assert f"docker push 127.0.0.1:{port}/truongso/workspace:" in push.stdout
        record = data_dir / "run" / "cluster-images.json"
        ref = json.loads(record.read_text())["workspace"]
        repository, digest = ref.split("@")
        assert repository == f"{registry}/truongso/workspace"
        manifest = requests.get(  # the registry serves that very manifest
            f"https://{registry}/v2/truongso/workspace/manifests/{digest}",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
            verify=str(ca),
            timeout=5,
        )
        assert manifest.status_code == 200, manifest.text
        assert "sha256:" + hashlib.sha256(manifest.content).hexdigest() == digest
        assert manifest.headers["Docker-Content-Digest"] == digest
        assert pinned_image(HubSettings.load(data_dir, {}), "workspace") == ref

        # One image missing: refused, and the record is left as it was (an older pin stands in it, which a
        # half-written record would have replaced).
        old = {"workspace": f"{registry}/truongso/workspace@sha256:" + "0" * 64}
        record.write_text(json.dumps(old))
        recorded = record.read_bytes()
        both = truongso("images", "push", "--data-dir", str(data_dir), "--only", "workspace", "--only", "gateway")
        one_line_error(both, "truongso-testcluster/never-built:x", "is not on this machine")
        assert record.read_bytes() == recorded

        docker("stop", f"{prefix}-registry")
        recorded = record.read_bytes()
        one_line_error(
            truongso("images", "push", "--data-dir", str(data_dir), "--only", "workspace"), registry, "does not answer"
        )
        assert record.read_bytes() == recorded
        status = truongso("cluster", "status", "--data-dir", str(data_dir))
        one_line_error(status, "does not answer")
        assert f"Registry {registry}: KHÔNG trả lời / DOWN" in status.stdout
    finally:
        docker("rm", "-f", f"{prefix}-registry", f"{prefix}-registry-push", check=False)
        docker("volume", "rm", "-f", f"{prefix}-registry-data", check=False)
        for address in (registry, f"127.0.0.1:{port}"):
            subprocess.run(["rm", "-rf", f"/etc/docker/certs.d/{address}"], check=False)
