"""Class-day burst: a whole class logs in at the same second. Stock JupyterHub + DockerSpawner, ours cold and
ours pre-warmed by a class session, side by side in one run.

N learners (default 60) each open the login form, log in with a real password (XSRF; a bcrypt check at the
same cost on both hubs: ours, and NativeAuthenticator on stock), reach their workspace, open a kernel and run
a pandas cell; a barrier releases every first request together. Three arms, their order alternated per
repetition: stock (same image and workspace limits), ours cold (every workspace stopped and removed before:
a container start with a warm image cache) and ours pre-warmed (a session of the learners' class starting in
2 minutes is added, the class-day service starts their workspaces, and the burst begins once the hub says
all are ready; the session is deleted after). An error is a result: counted, never a crash.

    .venv/bin/python benchmarks/burst.py [--learners 60] [--repeat 2] [--timeout 300] [--spawner swarm]

Prints one line per round, a table (P50/P95/max time to first result, errors, spawns the hub throttled) and,
last, the headline. Never part of the test suite.

`--spawner swarm`: two arms instead, both ours and cold, same learners and limits: one host (the Docker
spawner on this engine) and a Swarm cluster of 3 nodes (tests/support/swarm_cluster.py: this engine the manager
with the hub and the gateway, two engines in containers the workers that run the workspaces, images from the
private registry, homes on the shared folder). On one machine the cluster cannot be faster: the ratio is the
cost of the cluster path (a service, an overlay network and a relay per learner). The test cluster is torn down
after unless TRUONGSO_KEEP_CLUSTER=1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docker
from hubs import (
    BENCH_CLASS,
    REPO,
    HubAPI,
    Outcome,
    bench_usernames,
    burst,
    cleanup,
    percentile,
    prepare_ours,
    report_errors,
    signup_stock,
    start_ours,
    start_stock,
)

from hub.directory.db import Directory
from hub.directory.models import ClassSession
from hub.keys import HubSecrets
from hub.settings import HubSettings
from hub.swarm.gateway import PREFIX_LABEL

STOCK, COLD, WARM = "stock", "ours cold", "ours pre-warmed"
ARMS = (STOCK, COLD, WARM)
PHASES = ("login", "ready", "open", "result")


def prewarm_available() -> bool:
    """The class-day service and its settings exist in this checkout (they arrived with issue 12)."""
    return (REPO / "hub" / "services" / "classday").is_dir() and "prewarm_check_seconds" in HubSettings.class_traits()


def prewarm(settings: HubSettings, api: HubAPI, usernames: list[str], timeout: float, session_id: int) -> float:
    """Add a session of the bench class starting in 2 minutes and wait until the hub says every learner's
    workspace is ready; returns the seconds that took. `session_id` is new in every round: SQLite gives a new
    row the id of the deleted last one, and the class-day service remembers whom it started per session id."""
    now = datetime.now(UTC)
    directory = Directory(settings.db_url)
    with directory.session() as db:
        db.add(
            ClassSession(
                id=session_id,
                class_name=BENCH_CLASS,
                starts_at=now + timedelta(minutes=2),
                ends_at=now + timedelta(hours=1),
            )
        )
    directory.dispose()
    started = time.monotonic()
    ready: set[str] = set()
    while time.monotonic() - started < timeout:
        ready = api.ready(usernames)
        if len(ready) == len(usernames):
            return time.monotonic() - started
        time.sleep(1)
    raise TimeoutError(f"pre-warming: {len(ready)}/{len(usernames)} workspaces ready after {timeout:.0f} s")


def delete_sessions(settings: HubSettings) -> None:
    directory = Directory(settings.db_url)
    with directory.session() as db:
        db.query(ClassSession).filter(ClassSession.class_name == BENCH_CLASS).delete()
    directory.dispose()


def round_line(rep: int, arm: str, outcomes: list[Outcome], spread: float) -> str:
    done = [o for o in outcomes if not o.error]
    times = [o.total for o in done] or [0.0]
    phases = " ".join(f"{p} {statistics.median([o.phases[p] for o in done] or [0]):.1f}" for p in PHASES)
    return (
        f"round {rep + 1} {arm:<16} P50 {statistics.median(times):6.2f} s  P95 {percentile(times, 95):6.2f} s  "
        f"max {max(times):6.2f} s  errors {len(outcomes) - len(done)}  throttled {sum(o.throttled for o in outcomes)}"
        f"  relaunched {sum(o.relaunched for o in outcomes)}"
        f"  (medians s: {phases}; slowest {max(done, key=lambda o: o.total).username if done else '-'}; "
        f"starts spread {spread:.2f} s)"
    )


class Tally:
    """Each arm's start times, errors and throttled requests over the rounds, and the table they make."""

    def __init__(self, arms: tuple[str, ...]) -> None:
        self.arms = arms
        self.times: dict[str, list[float]] = {arm: [] for arm in arms}
        self.errors = dict.fromkeys(arms, 0)
        self.throttled = dict.fromkeys(arms, 0)
        self.load: list[float] = []  # the load average at each round's start

    def round_starts(self) -> None:
        self.load.append(round(os.getloadavg()[0], 1))

    def add(self, rep: int, arm: str, outcomes: list[Outcome], spread: float) -> None:
        report_errors(outcomes)
        self.times[arm].extend(o.total for o in outcomes if not o.error)
        self.errors[arm] += sum(1 for o in outcomes if o.error)
        self.throttled[arm] += sum(o.throttled for o in outcomes)
        print(round_line(rep, arm, outcomes, spread), flush=True)

    def table(self) -> tuple[dict[str, float], dict[str, float]]:
        """Print the machine's load and the per-arm table; returns (P50, P95) per arm."""
        uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        print(f"\nmachine: {os.cpu_count()} cores; load average at each round's start {self.load}; now: {uptime}")
        width = max(len(arm) for arm in self.arms) + 2
        print(f"\n{'arm':<{width}}{'n':>5}{'P50 s':>8}{'P95 s':>8}{'max s':>8}{'errors':>8}{'throttled':>11}")
        p50, p95 = {}, {}
        for arm in self.arms:
            values = self.times[arm] or [float("nan")]
            p50[arm], p95[arm] = statistics.median(values), percentile(values, 95)
            print(
                f"{arm:<{width}}{len(self.times[arm]):>5}{p50[arm]:>8.2f}{p95[arm]:>8.2f}{max(values):>8.2f}"
                f"{self.errors[arm]:>8}{self.throttled[arm]:>11}"
            )
        return p50, p95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300, help="per learner, seconds")
    parser.add_argument("--image", default="truongso/workspace:latest")
    parser.add_argument("--spawner", choices=["swarm"], help="swarm: one host vs the 3-node test cluster, both ours")
    args = parser.parse_args()
    if args.spawner == "swarm":
        return main_swarm(args)
    n = args.learners
    client = docker.from_env()
    client.images.get(args.image)
    can_prewarm = prewarm_available()
    if not can_prewarm:
        print("pre-warmed arm unavailable: no class-day service in this checkout; its learners count as errors")
    prefix = f"truongso-bench-{os.getpid()}"
    usernames = bench_usernames(n)
    work = Path(tempfile.mkdtemp(prefix="truongso-burst-"))
    toml = "prewarm_check_seconds = 2\n" if can_prewarm else ""  # the service looks every 2 s, not 30
    settings = prepare_ours(work / "ours", prefix, args.image, usernames, toml)
    tally = Tally(ARMS)
    ours, ours_api = start_ours(work / "ours")
    stock = None
    try:
        stock = start_stock(work / "stock", prefix, args.image, client, settings)
        signup_stock(stock, usernames)
        hubs = {
            STOCK: (stock.api, f"{prefix}-stock-"),
            COLD: (ours_api, f"{prefix}-ws-"),
            WARM: (ours_api, f"{prefix}-ws-"),
        }
        for rep in range(args.repeat):
            for arm in ARMS if rep % 2 == 0 else tuple(reversed(ARMS)):
                api, name_filter = hubs[arm]
                tally.round_starts()
                if arm == WARM:
                    try:
                        if not can_prewarm:
                            raise RuntimeError("no class-day service")
                        seconds = prewarm(settings, api, usernames, timeout=120 + 10 * n, session_id=1000 + rep)
                        print(f"round {rep + 1} pre-warming {n} workspaces took {seconds:.1f} s", flush=True)
                    except Exception as exc:  # a pre-warming that fails is this arm's result
                        print(f"round {rep + 1} {arm}: {exc}", flush=True)
                        tally.errors[arm] += n
                        delete_sessions(settings)
                        api.stop_servers(usernames, client, name_filter)
                        continue
                tally.add(rep, arm, *burst(api.url, usernames, args.timeout))
                if arm == WARM:
                    delete_sessions(settings)  # first: the service would start again what is stopped next
                api.stop_servers(usernames, client, name_filter)
    except KeyboardInterrupt:  # Ctrl-C: clean up, and still show the rounds done
        print("interrupted: the figures below are of the rounds done", flush=True)
    finally:
        ours.stop()
        if stock is not None:
            stock.stop()
        logs = Path(tempfile.gettempdir()) / f"{prefix}-logs"  # the hubs' logs outlive the clean-up
        logs.mkdir(exist_ok=True)
        for log in [*work.glob("*.log"), *work.glob("stock/*.log")]:
            shutil.copy(log, logs)
        print(f"hub logs: {logs}")
        cleanup(client, prefix, work)

    _, p95 = tally.table()
    errors = tally.errors
    print(
        f"HEADLINE burst {n} learners: P95 stock {p95[STOCK]:.1f} s, ours cold {p95[COLD]:.1f} s, ours pre-warmed "
        f"{p95[WARM]:.1f} s; ours pre-warmed is {p95[STOCK] / p95[WARM]:.1f}x stock (>1 = faster), errors "
        f"{errors[STOCK]}/{errors[COLD]}/{errors[WARM]}"
    )
    return 0


# --- --spawner swarm: ours on one host vs ours on the 3-node test cluster -----------------------------------------

ONE_HOST, SWARM = "ours one host (docker)", "ours swarm (3 nodes)"
SWARM_ARMS = (ONE_HOST, SWARM)


@contextmanager
def test_cluster(client: docker.DockerClient) -> Iterator[object]:
    """The tests' cluster (tests/support/swarm_cluster.py), made or reused; torn down after unless
    TRUONGSO_KEEP_CLUSTER=1 or another session still uses it."""
    from support.swarm_cluster import swarm_cluster_fixture

    yield from swarm_cluster_fixture(client)


def node_clients(cluster: object) -> list[docker.DockerClient]:
    """The workers' engines, for what only they can say (their containers, their volumes, docker stats)."""
    return [docker.DockerClient(base_url=cluster.node_socket(node), timeout=120) for node in cluster.workers]


def prepare_swarm(data_dir: Path, prefix: str, image: str, usernames: list[str], cluster: object) -> HubSettings:
    """A swarm hub's data directory as `truongso cluster init` and `truongso images push` leave it on the manager:
    the registry's CA, our images pushed and pinned; the learners' homes in this run's own folder of the shared
    folder (`cluster.shared_homes / prefix`, made by the caller). Then every worker pulls the pinned workspace
    image: a cold start is a start with a warm image cache, on the cluster as on one host."""
    from support.hub import truongso

    from hub.cluster.registry import RegistryTLS, pinned_image
    from images.cluster_images import build_cluster_images

    gateway = build_cluster_images(which=("gateway",), progress=lambda _: None)["gateway"]
    homes = cluster.shared_homes / prefix
    toml = f'gateway_image = "{gateway}"\nadvertise_addr = "{cluster.manager_addr}"\nhomes_dir = "{homes}"\n'
    settings = prepare_ours(data_dir, prefix, image, usernames, toml)
    ca = RegistryTLS(data_dir / "cluster").ca_cert
    ca.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(cluster.ca_cert, ca)
    pushed = truongso(
        "images", "push", "--data-dir", str(data_dir), "--only", "workspace", "--only", "gateway", timeout=1200
    )
    if pushed.returncode != 0:
        raise RuntimeError(f"truongso images push: {pushed.stdout[-500:]} {pushed.stderr[-500:]}")
    reference = pinned_image(settings, "workspace")
    for node in node_clients(cluster):
        node.api.pull(reference)
    return settings


def wait_swarm_stopped(client: docker.DockerClient, nodes: list[docker.DockerClient], prefix: str) -> None:
    """After the hub stopped them: no service of this hub and no workspace container on any worker (the next
    cold round starts with none)."""
    label = {"label": f"{PREFIX_LABEL}={prefix}"}
    deadline = time.monotonic() + 300
    left = 0
    while time.monotonic() < deadline:
        left = len(client.services.list(filters=label))
        left += sum(len(node.containers.list(all=True, sparse=True, filters=label)) for node in nodes)
        if not left:
            return
        time.sleep(1)
    print(f"  warning: {left} services or workspace containers still there after 300 s", file=sys.stderr)


def cleanup_swarm(
    client: docker.DockerClient, nodes: list[docker.DockerClient], prefix: str, data_dir: Path, homes: Path
) -> None:
    """Everything a swarm hub of the benchmark made (the hub stopped before): its services and gateway
    (`truongso down --workspaces`), containers and home volumes left on the workers, its bridge network and host
    firewall, the learners' overlay networks, their homes on the shared folder."""
    from support.hub import truongso

    truongso("down", "--workspaces", "--data-dir", str(data_dir))
    label = {"label": f"{PREFIX_LABEL}={prefix}"}
    for service in client.services.list(filters=label):
        service.remove()
    wait_swarm_stopped(client, nodes, prefix)
    for node in nodes:
        for container in node.containers.list(all=True, filters=label):
            container.remove(force=True)
        for volume in node.volumes.list(filters={"name": prefix}):
            volume.remove(force=True)
    cleanup(client, prefix, data_dir)  # the gateway if still there, the bridge network and its firewall
    for network in client.networks.list(filters=label):  # overlay: gone once no task and no gateway is on it
        for _ in range(10):
            try:
                network.remove()
                break
            except docker.errors.NotFound:
                break
            except docker.errors.APIError:
                time.sleep(2)
    shutil.rmtree(homes, ignore_errors=True)


def main_swarm(args: argparse.Namespace) -> int:
    from support.hub import start_hub

    n = args.learners
    client = docker.from_env(timeout=600)
    client.images.get(args.image)
    prefix = f"truongso-bench-{os.getpid()}"
    swarm_prefix = f"{prefix}-sw"
    usernames = bench_usernames(n)
    work = Path(tempfile.mkdtemp(prefix="truongso-burst-"))
    tally = Tally(SWARM_ARMS)
    hubs: list[object] = []
    with test_cluster(client) as cluster:
        nodes = node_clients(cluster)
        homes = cluster.shared_homes / swarm_prefix
        homes.mkdir()
        try:
            prepare_swarm(work / "swarm", swarm_prefix, args.image, usernames, cluster)
            prepare_ours(work / "ours", prefix, args.image, usernames)
            one_host, one_host_api = start_ours(work / "ours")
            hubs.append(one_host)
            swarm = start_hub(work / "swarm", "--spawner", "swarm")
            hubs.append(swarm)
            swarm_api = HubAPI(swarm.url, HubSecrets.ensure(work / "swarm").api_token)
            arms = {ONE_HOST: (one_host_api, f"{prefix}-ws-"), SWARM: (swarm_api, f"{swarm_prefix}-ws-")}
            for rep in range(args.repeat):
                for arm in SWARM_ARMS if rep % 2 == 0 else tuple(reversed(SWARM_ARMS)):
                    api, name_filter = arms[arm]
                    tally.round_starts()
                    tally.add(rep, arm, *burst(api.url, usernames, args.timeout))
                    api.stop_servers(usernames, client, name_filter)
                    if arm == SWARM:
                        wait_swarm_stopped(client, nodes, swarm_prefix)
        except KeyboardInterrupt:
            print("interrupted: the figures below are of the rounds done", flush=True)
        finally:
            for hub in hubs:
                hub.stop()
            logs = Path(tempfile.gettempdir()) / f"{prefix}-logs"
            logs.mkdir(exist_ok=True)
            for log in work.glob("*.log"):
                shutil.copy(log, logs)
            print(f"hub logs: {logs}")
            cleanup_swarm(client, nodes, swarm_prefix, work / "swarm", homes)
            cleanup(client, prefix, work)

    p50, p95 = tally.table()
    errors = tally.errors
    print(
        f"HEADLINE burst {n} learners cold, one host vs swarm (3 nodes): P95 one host {p95[ONE_HOST]:.1f} s, swarm "
        f"{p95[SWARM]:.1f} s; swarm/one-host P95 {p95[SWARM] / p95[ONE_HOST]:.2f}x, P50 "
        f"{p50[SWARM] / p50[ONE_HOST]:.2f}x (>1 = the cluster path is slower), errors "
        f"{errors[ONE_HOST]}/{errors[SWARM]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
