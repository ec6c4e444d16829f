"""A grading batch whose sandboxes are one-shot Swarm services on the test cluster's worker nodes (issue 13).

The same submissions graded on the cluster and on this host must get the same scores; the tasks must run on
the workers, isolated as swarm_pool.py says (checked by inspecting a running task's container on its node and
from inside, never by probing anything outside); a forged result is refused; nothing is left behind.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from grading_support import ASSIGNMENT, COURSE, NOTEBOOK, case_path, fast_config, make_course, scores, submit

from graders.autograde import AutogradeError, GradeReport, grade_assignment, swarm_pool
from graders.autograde.runner import read_job_files
from graders.autograde.sandbox import OWNER_LABEL, ROLE_LABEL
from graders.autograde.swarm_pool import NODE_LOST, ROLE, chunks, remove_stale_swarm_sandboxes, seal_job

# Honest ones, a forgery, a snoop, the memory and pid limits, and a job over one secret's size ("big").
CASES = ("solution", "typical", "blank", "write-results-channel", "snoop", "memory-bomb", "fork-bomb", "big")
TRUONGSO = Path(sys.executable).parent / "truongso"


@dataclass
class Graded:
    local: Path
    cluster: Path
    report: GradeReport
    started: float
    running: dict[str, Any]  # one sandbox's container, inspected on its node while it ran
    network: dict[str, Any]  # its network, inspected on the same node
    image: str  # the grader image, pinned in the cluster's registry
    placed: list[tuple[str, str, str, str]]  # each task: service, NodeID, node role, state

    def output_of(self, student: str, marker: str) -> dict:
        path = self.cluster / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
        for cell in nbformat.read(path, as_version=4).cells:
            for out in cell.get("outputs", []):
                if marker in out.get("text", ""):
                    return json.loads(out["text"].split(marker, 1)[1].splitlines()[0])
        raise AssertionError(f"no {marker} output in {student}'s graded notebook")


def _course(tmp: Path) -> Path:
    root = make_course(tmp, COURSE, ASSIGNMENT)
    for case in CASES:
        if case == "big":  # the solution with a 1.2 MB cell: its job goes in as three secrets
            nb = nbformat.read(case_path("solution"), as_version=4)
            nb.cells.insert(1, nbformat.v4.new_code_cell(f"big = {'ab' * 600_000!r}\nprint(len(big))"))
            submit(root, case, nb)
        else:
            submit(root, case, case_path(case))
    return root


def _node_client(cluster: Any, node: str) -> Any:
    import docker

    return docker.DockerClient(base_url=cluster.node_socket(node), timeout=60)


@contextmanager
def _placements(docker_client: Any) -> Iterator[list[tuple[str, str, str, str]]]:
    """Where the swarm placed each sandbox's task: (service, task NodeID, that node's role, task's last state),
    read from the real task as each job ends (a node may be gone by the time a test looks)."""
    placed: list[tuple[str, str, str, str]] = []
    original = swarm_pool.SwarmSandbox._wait

    def wait(box: swarm_pool.SwarmSandbox, *args: Any) -> str:
        state = original(box, *args)
        node = box.task.get("NodeID", "")
        role = docker_client.api.inspect_node(node)["Spec"]["Role"] if node else ""
        placed.append((box.name, node, role, state))
        return state

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(swarm_pool.SwarmSandbox, "_wait", wait)
        yield placed


def _watch(cluster: Any, prefix: str, done: threading.Event) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first sandbox container seen running on a worker, and its network, inspected there."""
    clients = [_node_client(cluster, node) for node in cluster.workers]
    while not done.is_set():
        for client in clients:
            for entry in client.api.containers(filters={"label": f"{ROLE_LABEL}={ROLE}", "status": "running"}):
                if entry["Labels"].get("org.truongso.sandbox", "").startswith(prefix + "-"):
                    try:
                        container = client.api.inspect_container(entry["Id"])
                        (net,) = container["NetworkSettings"]["Networks"]
                        return container, client.api.inspect_network(net)
                    except Exception:  # it ended in between: the next one
                        continue
        time.sleep(0.2)
    return {}, {}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory, swarm_cluster: Any, grader_image: str, sandbox_prefix: str,
           docker_client: Any) -> Graded:  # fmt: skip
    pinned = swarm_cluster.push(grader_image)
    local = _course(tmp_path_factory.mktemp("local"))
    here = grade_assignment(local, ASSIGNMENT, image=grader_image, name_prefix=sandbox_prefix, config=fast_config(),
                            workers=2)  # fmt: skip
    cluster = _course(tmp_path_factory.mktemp("cluster"))
    started, box, done = time.time(), {}, threading.Event()

    def grade() -> None:
        try:
            box["report"] = grade_assignment(cluster, ASSIGNMENT, image=pinned, name_prefix=sandbox_prefix,
                                             config=fast_config(), cluster=True, workers=2)  # fmt: skip
        except BaseException as exc:  # raised below, in the test's thread
            box["error"] = exc
        finally:
            done.set()

    with _placements(docker_client) as placed:
        thread = threading.Thread(target=grade)
        thread.start()
        running, network = _watch(swarm_cluster, sandbox_prefix, done)
        thread.join()
    if "error" in box:
        raise box["error"]
    for where, report in (("this host", here), ("cluster", box["report"])):  # figures for the record (-s)
        phases = ", ".join(f"{k} {v:.1f}" for k, v in sorted(report.timings.items()))
        print(f"\n{len(CASES)} submissions, 2 workers, {where}: {report.seconds:.1f} s ({phases})")
    return Graded(local, cluster, box["report"], started, running, network, pinned, placed)


@pytest.mark.docker
def test_same_scores_as_on_this_host(graded: Graded) -> None:
    assert sorted(r.student for r in graded.report.results) == sorted(CASES)
    assert all(r.status == "graded" for r in graded.report.results), [r.error for r in graded.report.results]
    here = scores(f"sqlite:///{graded.local / 'gradebook.db'}", COURSE, ASSIGNMENT)
    there = scores(f"sqlite:///{graded.cluster / 'gradebook.db'}", COURSE, ASSIGNMENT)
    assert there == here
    assert there[("solution", "total")][0] == 18  # every autograded point of the lesson: really graded
    assert there[("blank", "total")][0] == 0 and there[("big", "total")][0] == 18
    kinds = {r.student: {f.kind for f in r.findings} for r in graded.report.results}
    assert "out_of_memory" in kinds["memory-bomb"] and "pids_exhausted" in kinds["fork-bomb"]  # the limits hold


@pytest.mark.docker
def test_tasks_ran_on_the_workers(graded: Graded, docker_client: Any, sandbox_prefix: str) -> None:
    finished = [p for p in graded.placed if p[3] == "complete"]
    assert len(finished) == len(CASES)  # one task per submission (more started if a node was drained under one)
    assert {role for _, _, role, _ in graded.placed} == {"worker"}
    assert all(state == "complete" or state in NODE_LOST for *_, state in graded.placed)
    on_manager = docker_client.api.events(since=int(graded.started), until=int(time.time()) + 1, decode=True,
                                          filters={"type": "container", "event": "start",
                                                   "label": f"{ROLE_LABEL}={ROLE}"})  # fmt: skip
    assert not [e for e in on_manager if e["Actor"]["Attributes"].get("org.truongso.sandbox", "").startswith(
        sandbox_prefix + "-")]  # fmt: skip  # nothing started on the manager's own engine


@pytest.mark.docker
def test_a_running_task_is_isolated(graded: Graded) -> None:
    c, net = graded.running, graded.network
    assert c, "no sandbox was seen running on a worker"
    host, config = c["HostConfig"], c["Config"]
    assert config["User"] == "1001:1001" and host["ReadonlyRootfs"] and not host["Privileged"]
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert host["Memory"] == 1 << 30 and host["NanoCpus"] == 10**9 and host["PidsLimit"] == 128
    assert sorted((m["Type"], m["Destination"]) for m in c["Mounts"]) == [("tmpfs", "/home/grader/work"),
                                                                          ("tmpfs", "/tmp")]  # fmt: skip
    # Its network: internal (no gateway out), this task alone on it beside the node's own endpoint for the
    # network ("lb-<network>": Swarm's load-balancer namespace, which every overlay gets on a node).
    assert net["Internal"] and net["Driver"] == "overlay" and c["Id"] in net["Containers"]
    assert [k for k in net["Containers"] if k != c["Id"]] == [f"lb-{net['Name']}"]


@pytest.mark.docker
def test_inside_a_task_only_its_own_network_and_nothing_readable(graded: Graded) -> None:
    seen = graded.output_of("snoop", "SNOOP:")
    assert seen["uid"] == 1001
    routes = [line.split() for line in seen["routes"]]
    assert routes and all(r[1] != "00000000" and r[2] == "00000000" for r in routes)  # no default route, no gateway
    assert seen["hits"] == [] and seen["secrets"] == []  # the sealed job files show no test or solution
    for probe in ("/proc/1/environ", "/proc/1/fd/1", "/proc/1/mem"):
        assert seen[probe] == "PermissionError", probe


@pytest.mark.docker
def test_a_forged_result_is_refused(graded: Graded) -> None:
    result = graded.report.result("write-results-channel")
    assert "forged_result" in {f.kind for f in result.findings} and result.score == 0
    tried = graded.output_of("write-results-channel", "FORGE:")
    assert all(v != "written" for k, v in tried.items() if k.startswith("/proc/1")), tried


@pytest.mark.docker
def test_a_batch_the_cluster_cannot_run_stops_at_once(graded: Graded, swarm_cluster: Any, sandbox_prefix: str) -> None:
    missing = f"{swarm_cluster.registry}/truongso/grader@sha256:{'0' * 64}"
    for image, reason in (("truongso/grader:latest", "not pinned by digest"), (missing, missing)):
        with pytest.raises(AutogradeError) as caught:
            grade_assignment(graded.cluster, ASSIGNMENT, image=image, name_prefix=sandbox_prefix, cluster=True)
        assert reason in caught.value.text.en and "không chấm được trên cụm" in caught.value.text.vi


@pytest.mark.docker
def test_a_job_whose_task_the_cluster_ended_runs_again(graded: Graded, swarm_cluster: Any, docker_client: Any,
                                                       sandbox_prefix: str, tmp_path: Path) -> None:  # fmt: skip
    root = make_course(tmp_path, COURSE, ASSIGNMENT)
    submit(root, "sleep", case_path("sleep"))  # runs for seconds: its service is removed while it works
    prefix, box, done = f"{sandbox_prefix}-again", {}, threading.Event()

    def grade() -> None:
        try:
            box["report"] = grade_assignment(root, ASSIGNMENT, image=graded.image, name_prefix=prefix,
                                             config=fast_config(), cluster=True)  # fmt: skip
        finally:
            done.set()

    with _placements(docker_client) as placed:
        thread = threading.Thread(target=grade)
        thread.start()
        running, _ = _watch(swarm_cluster, prefix, done)
        assert running, "the first sandbox was not seen running"
        first = running["Config"]["Labels"]["org.truongso.sandbox"]
        docker_client.api.remove_service(first)  # ended by the cluster's side, as a drain would end it
        thread.join()
    result = box["report"].result("sleep")
    assert result.status == "graded" and "sandbox_failed" not in {f.kind for f in result.findings}
    assert "timeout" in {f.kind for f in result.findings} and result.score == 15  # all but the sleeping test
    assert placed[0][0] == first and placed[0][3] in NODE_LOST and placed[-1][3] == "complete"  # it ran again


@pytest.mark.docker
def test_grade_cluster_command(graded: Graded, swarm_cluster: Any, grader_image: str, sandbox_prefix: str,
                               tmp_path: Path, docker_client: Any) -> None:  # fmt: skip
    data = tmp_path / "data"
    (data / "courses").mkdir(parents=True)
    (data / "run").mkdir()
    prefix = f"{sandbox_prefix}-cli"
    root = make_course(data / "courses", COURSE, ASSIGNMENT, extra_config=f"c.SandboxGrader.name_prefix = {prefix!r}\n")
    submit(root, "solution", case_path("solution"))
    env = dict(os.environ, PATH=f"{TRUONGSO.parent}{os.pathsep}{os.environ['PATH']}")

    def grade() -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(TRUONGSO), "grade", COURSE, ASSIGNMENT, "--data-dir", str(data), "--cluster"],
                              env=env, capture_output=True, text=True, timeout=600, check=False)  # fmt: skip

    run = grade()  # nothing pushed yet
    assert run.returncode == 1 and "truongso images push" in run.stderr and " / " in run.stderr
    (data / "run" / "cluster-images.json").write_text(json.dumps({"grader": swarm_cluster.push(grader_image)}))
    started = time.time()
    run = grade()
    assert run.returncode == 0, run.stderr
    assert "18 / 20" in run.stdout and "đã chấm / graded" in run.stdout
    on_manager = docker_client.api.events(since=int(started), until=int(time.time()) + 1, decode=True,
                                          filters={"type": "service", "event": "create"})  # fmt: skip
    assert any(e["Actor"]["Attributes"].get("name", "").startswith(prefix + "-") for e in on_manager)  # a service


@pytest.mark.docker
def test_nothing_is_left_behind(graded: Graded, docker_client: Any, sandbox_prefix: str) -> None:
    api, label = docker_client.api, {"label": f"{ROLE_LABEL}={ROLE}"}
    left = [s["Spec"]["Name"] for s in api.services(filters=label)]
    left += [s["Spec"]["Name"] for s in api.secrets(filters=label)]
    left += [n["Name"] for n in api.networks(filters=label)]
    assert not [name for name in left if name.startswith(sandbox_prefix + "-")]


@pytest.mark.docker
def test_what_a_dead_grader_left_is_removed(docker_client: Any, sandbox_prefix: str) -> None:
    from docker.types import ContainerSpec, Placement, TaskTemplate

    api, name = docker_client.api, f"{sandbox_prefix}-stale-0"
    dead = {ROLE_LABEL: ROLE, OWNER_LABEL: "not-this-host/1/1"}  # another host's: only age removes it
    gone = {ROLE_LABEL: ROLE, OWNER_LABEL: f"{socket.gethostname()}/999999999/1"}
    secret = api.create_secret(f"{name}-job-000", b"x", labels=gone)
    other = api.create_secret(f"{name}-job-001", b"x", labels=dead)
    net = api.create_network(f"{name}-net", driver="overlay", internal=True, labels=gone)
    task = TaskTemplate(ContainerSpec("truongso/never-pulled", ["true"]), placement=Placement(["node.hostname==none"]))
    service = api.create_service(task, name=name, labels=gone)  # pending for ever: no node matches
    try:
        assert remove_stale_swarm_sandboxes(docker_client, sandbox_prefix) == 3
        assert not api.services(filters={"id": service["ID"]}) and not api.secrets(filters={"id": secret["ID"]})
        assert api.secrets(filters={"id": other["ID"]})  # another host's batch, young: left alone
        assert remove_stale_swarm_sandboxes(docker_client, sandbox_prefix, older_than=0) == 1
    finally:
        for remove, ident in ((api.remove_service, service["ID"]), (api.remove_secret, secret["ID"]),
                              (api.remove_secret, other["ID"]), (api.remove_network, net["Id"])):  # fmt: skip
            try:
                remove(ident)
            except Exception:
                pass


def test_sealed_job_round_trip_and_tampering(tmp_path: Path) -> None:
    job = {"deadline": 10, "notebooks": [{"name": "bài-1", "cells": [{"i": 0, "source": "x = 1 " * 200_000}]}]}
    key = bytes(range(32))
    sealed, keys = seal_job(job, key)
    assert b'"notebooks"' not in sealed and b"x = 1 x = 1" not in sealed  # nothing of the job readable
    parts = chunks(sealed, 450_000)
    assert len(parts) == 3 and all(len(p) <= 450_000 for p in parts)
    files = []
    for i, part in enumerate(parts):
        files.append(tmp_path / f"ts-job-{i:03d}")
        files[-1].write_bytes(part)
    static = {"job_files": [str(f) for f in files]}
    assert read_job_files(static, keys, 64 << 20) == {**job, "key": key.hex()}
    assert read_job_files(static, keys, 1000) is None  # over the size limit
    _, other_keys = seal_job(job, key)
    assert read_job_files(static, other_keys, 64 << 20) is None  # another job's keys
    files[1].write_bytes(bytes([parts[1][0] ^ 1]) + parts[1][1:])
    assert read_job_files(static, keys, 64 << 20) is None  # one bit changed
