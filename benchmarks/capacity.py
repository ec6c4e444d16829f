"""Capacity: what one active learner costs a server, measured, and how many a server holds.

N learners (default 10) log in and get their workspace on the 3-node test cluster (tests/support/swarm_cluster.py;
`--spawner docker`: on this host's engine instead). Once all run, each does a real lesson step at the same time: a
CSV of the curriculum (courses/phan-tich-du-lieu, lesson 05) uploaded to the home and read with pandas, a groupby,
a matplotlib bar chart saved to a file, a small scikit-learn fit; the kernel stays open afterwards, as a learner's
notebook does. Per workspace, from the engine that runs it (the workers' `docker stats` API through
`cluster.node_socket(node)`): memory idle after the start, memory after the step, the peak during the step (sampled
each second, page cache excluded as `docker stats` shows it; and the cgroup's own max, cache included), and the
CPU-seconds of the step (kernel start included).

    .venv/bin/python benchmarks/capacity.py [--learners 10] [--spawner swarm|docker] [--step-every 60]

Prints a table, a summary and the sizing rule: a server with M GB and C cores holds about K active learners at
`mem_limit` X, K = min((M - 2 GB for the system) / memory per learner, C / (CPU-seconds of a step / seconds between
a learner's steps)). The test cluster is torn down after unless TRUONGSO_KEEP_CLUSTER=1. Never part of the test
suite.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import docker
from burst import cleanup_swarm, node_clients, prepare_swarm, test_cluster
from hubs import PASSWORD, REPO, bench_usernames, cleanup, prepare_ours, start_ours
from support.hub import HubSession, start_hub

from hub.spawner import container_name
from hub.storage import parse_size
from hub.swarm.gateway import PREFIX_LABEL
from hub.swarm.spawner import USER_LABEL

CSV = REPO / "courses" / "phan-tich-du-lieu" / "source" / "05-thong-ke-mo-ta" / "data" / "thoi_gian_xu_ly.csv"
STEP = """\
import pandas as pd, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import train_test_split
df = pd.read_csv("thoi_gian_xu_ly.csv")
by = df.groupby(["linh_vuc", "kenh"])["so_ngay_xu_ly"].agg(["mean", "count"]).reset_index()
fig, ax = plt.subplots(figsize=(8, 4))
df.groupby("linh_vuc")["so_ngay_xu_ly"].mean().sort_values().plot.barh(ax=ax)
fig.savefig("bieu_do_thoi_gian.png", dpi=100)
X = pd.get_dummies(df[["linh_vuc", "kenh"]]).assign(han=df["han_xu_ly_ngay"])
X_train, X_test, y_train, y_test = train_test_split(X, df["so_ngay_xu_ly"], random_state=0)
model = LinearRegression().fit(X_train, y_train)
print(len(df), len(by), round(model.score(X_test, y_test), 3))
"""
SYSTEM_RESERVE_MB = 2048  # the OS, the Docker engine, on the manager the hub and its services: not for learners
SERVERS = ((16, 4), (32, 8), (64, 16), (128, 32))  # (GB, cores) of servers a school might have
MB = 1024 * 1024


def memory_no_cache(stats: dict) -> int:
    """Bytes in use as `docker stats` shows them: the page cache the kernel can drop left out."""
    memory = stats.get("memory_stats", {})
    extra = memory.get("stats", {})
    cache = extra.get("total_inactive_file", extra.get("inactive_file", 0))
    return memory.get("usage", 0) - (cache if cache < memory.get("usage", 0) else 0)


def cpu_ns(stats: dict) -> int:
    return stats["cpu_stats"]["cpu_usage"]["total_usage"]


@dataclass
class Workspace:
    username: str
    node: str
    engine: docker.DockerClient
    container_id: str
    session: HubSession
    idle: int = 0
    after: int = 0
    peak_sampled: int = 0
    peak_cgroup: int = 0
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    error: str = ""
    samples: list[int] = field(default_factory=list)

    def stats(self) -> dict:
        return self.engine.api.stats(self.container_id, stream=False)

    def sample(self, stop: threading.Event) -> None:
        """`docker stats`' stream (a sample a second) until `stop`: the step's peak without the page cache."""
        stream = self.engine.api.stats(self.container_id, stream=True, decode=True)
        try:
            for stats in stream:
                self.samples.append(memory_no_cache(stats))
                if stop.is_set():
                    return
        finally:
            with contextlib.suppress(Exception):
                stream.close()


def find_workspaces(
    spawner: str, prefix: str, sessions: dict[str, HubSession], host: docker.DockerClient, nodes: dict[str, object]
) -> list[Workspace]:
    """Each learner's running container and the engine that runs it (a worker's, or this host's)."""
    found = []
    for username, session in sessions.items():
        if spawner == "docker":
            container = host.containers.get(container_name(prefix, username))
            found.append(Workspace(username, "host", host, container.id, session))
            continue
        labels = [f"{PREFIX_LABEL}={prefix}", f"{USER_LABEL}={username}"]
        for node, engine in nodes.items():
            running = engine.containers.list(filters={"label": labels, "status": "running"})
            if running:
                found.append(Workspace(username, node, engine, running[0].id, session))
                break
        else:
            raise RuntimeError(f"no running workspace container of {username} on any worker")
    return found


def start_learner(url: str, username: str) -> HubSession:
    session = HubSession(url)
    page = session.login(username, PASSWORD)
    if page.status_code != 200:
        raise RuntimeError(f"{username}: login answered {page.status_code}")
    session.username = username
    session.start_server(timeout=600)
    opened = session.open_server()
    if opened.status_code != 200:
        raise RuntimeError(f"{username}: workspace did not open: {opened.status_code}")
    return session


def lesson_step(workspace: Workspace, csv_text: str, expected: str) -> None:
    """Upload the lesson's CSV (not measured), then a kernel and the step, measured on the container. A step that
    fails is this workspace's result (its error), not the end of the run."""
    try:
        measure_step(workspace, csv_text, expected)
    except Exception as exc:
        workspace.error = f"{type(exc).__name__}: {exc}"[:300]


def measure_step(workspace: Workspace, csv_text: str, expected: str) -> None:
    session = workspace.session
    put = session.server_api(
        "PUT", "api/contents/thoi_gian_xu_ly.csv", json={"type": "file", "format": "text", "content": csv_text}
    )
    put.raise_for_status()
    stop = threading.Event()
    sampler = threading.Thread(target=workspace.sample, args=(stop,), daemon=True)
    before = cpu_ns(workspace.stats())
    sampler.start()
    started = time.perf_counter()
    try:
        kernel = session.start_kernel()  # kept running afterwards: the learner's notebook stays open
        out = session.execute(kernel, STEP, timeout=600)
        workspace.wall_seconds = time.perf_counter() - started
        if out["error"] or out["died"] or not out["stdout"].startswith(expected):
            workspace.error = f"step: {out}"[:300]
    finally:
        stats = workspace.stats()
        stop.set()
        sampler.join(10)
    workspace.cpu_seconds = (cpu_ns(stats) - before) / 1e9
    workspace.peak_cgroup = stats.get("memory_stats", {}).get("max_usage", 0)


def keep_logs_and_remove(work: Path, prefix: str) -> None:
    """The hub's log outlives the run (in /tmp/<prefix>-logs); the rest of the work folder goes."""
    logs = Path(tempfile.gettempdir()) / f"{prefix}-logs"
    logs.mkdir(exist_ok=True)
    for log in work.glob("*.log"):
        shutil.copy(log, logs)
    shutil.rmtree(work, ignore_errors=True)
    print(f"hub log: {logs}")


def mib(value: float) -> str:
    return f"{value / MB:.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=10)
    parser.add_argument("--spawner", choices=["swarm", "docker"], default="swarm")
    parser.add_argument("--image", default="truongso/workspace:latest")
    parser.add_argument("--step-every", type=float, default=60, help="seconds between one learner's steps (sizing)")
    parser.add_argument("--settle", type=float, default=20, help="seconds after the starts before idle is read")
    args = parser.parse_args()
    client = docker.from_env(timeout=600)
    client.images.get(args.image)
    prefix = f"truongso-cap-{os.getpid()}"
    usernames = bench_usernames(args.learners)
    work = Path(tempfile.mkdtemp(prefix="truongso-capacity-"))
    data_dir = work / "hub"
    load_start = os.getloadavg()
    with contextlib.ExitStack() as stack:
        stack.callback(keep_logs_and_remove, work, prefix)  # last: after the hub and everything it made are gone
        hub = None
        nodes: dict[str, docker.DockerClient] = {}
        if args.spawner == "swarm":
            cluster = stack.enter_context(test_cluster(client))
            nodes = dict(zip(cluster.workers, node_clients(cluster), strict=True))
            homes = cluster.shared_homes / prefix
            homes.mkdir()
            stack.callback(cleanup_swarm, client, list(nodes.values()), prefix, data_dir, homes)
        else:
            stack.callback(cleanup, client, prefix, data_dir)
        try:
            if args.spawner == "swarm":
                settings = prepare_swarm(data_dir, prefix, args.image, usernames, cluster)
                hub = start_hub(data_dir, "--spawner", "swarm")
            else:
                settings = prepare_ours(data_dir, prefix, args.image, usernames)
                hub, _ = start_ours(data_dir)
            with ThreadPoolExecutor(3) as pool:  # a class arriving over a few minutes, not a burst
                sessions = dict(zip(usernames, pool.map(lambda u: start_learner(hub.url, u), usernames), strict=True))
            workspaces = find_workspaces(args.spawner, prefix, sessions, client, nodes)
            time.sleep(args.settle)  # the kernel each workspace starts ahead has settled
            for workspace in workspaces:
                workspace.idle = memory_no_cache(workspace.stats())
            csv_text = CSV.read_text(encoding="utf-8")
            expected = str(len(csv_text.strip().splitlines()) - 1)
            with ThreadPoolExecutor(len(workspaces)) as pool:  # the class runs the step together
                list(pool.map(lambda w: lesson_step(w, csv_text, expected), workspaces))
            time.sleep(3)
            for workspace in workspaces:
                workspace.after = memory_no_cache(workspace.stats())
                workspace.peak_sampled = max([*workspace.samples, workspace.after])
                if not workspace.after and not workspace.error:  # no stats: the container is not running any more
                    workspace.error = "container gone during the step (moved by Swarm: a node drained or lost?)"
        finally:
            if hub is not None:
                hub.stop()
    load_end = os.getloadavg()

    mem_limit = parse_size(settings.mem_limit)
    print(f"\nspawner {args.spawner}; mem_limit {settings.mem_limit}, cpu_limit {settings.cpu_limit}; MiB, seconds")
    header = f"{'idle':>7}{'after':>7}{'peak':>7}{'cgroup max':>12}{'step CPU s':>12}{'wall s':>8}"
    print(f"{'learner':<10}{'node':<17}{header}")
    for w in workspaces:
        print(
            f"{w.username:<10}{w.node:<17}{mib(w.idle):>7}{mib(w.after):>7}{mib(w.peak_sampled):>7}"
            f"{mib(w.peak_cgroup):>12}{w.cpu_seconds:>12.2f}{w.wall_seconds:>8.1f}  {w.error}"
        )
    done = [w for w in workspaces if not w.error]
    if not done:
        print("no workspace finished the step: no figures")
        return 1
    columns = {
        "idle": [w.idle for w in done],
        "after": [w.after for w in done],
        "peak": [w.peak_sampled for w in done],
        "cgroup max": [w.peak_cgroup for w in done],
    }
    for name, values in columns.items():
        print(f"{name:<11} MiB: median {mib(statistics.median(values))}, max {mib(max(values))}")
    cpu = [w.cpu_seconds for w in done]
    print(f"step CPU s: median {statistics.median(cpu):.2f}, max {max(cpu):.2f}; errors {len(workspaces) - len(done)}")
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"load average at start {load_start[0]:.1f}, at end {load_end[0]:.1f}; now: {uptime}")

    # Sizing: memory per active learner = the largest peak measured (a learner's memory right after a step, kernel
    # open); CPU per active learner = a step's CPU-seconds over the seconds between a learner's steps.
    per_learner = max(columns["peak"])
    cores_each = statistics.median(cpu) / args.step_every
    print(
        f"\nper active learner: {mib(per_learner)} MiB (largest peak), {cores_each:.3f} cores (one step of "
        f"{statistics.median(cpu):.2f} CPU-s every {args.step_every:.0f} s)"
    )
    print(f"{'server':<16}{'by memory':>10}{'by CPU':>8}{'K':>6}{'if all fill mem_limit':>23}")
    for gb, cores in SERVERS:
        by_memory = math.floor((gb * 1024 - SYSTEM_RESERVE_MB) * MB / per_learner)
        by_cpu = math.floor(cores / cores_each)
        worst = math.floor((gb * 1024 - SYSTEM_RESERVE_MB) * MB / mem_limit)
        print(f"{gb:>4} GB {cores:>3} cores{by_memory:>10}{by_cpu:>8}{min(by_memory, by_cpu):>6}{worst:>23}")
    gb, cores = SERVERS[2]
    k = min(math.floor((gb * 1024 - SYSTEM_RESERVE_MB) * MB / per_learner), math.floor(cores / cores_each))
    print(
        f"HEADLINE capacity ({args.spawner}, {len(done)} learners): an active learner uses {mib(per_learner)} MiB "
        f"and {cores_each:.3f} cores; a server with {gb} GB and {cores} cores holds about {k} active learners at "
        f"mem_limit {settings.mem_limit}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
