"""Login burst to first cell result: Trường Số vs stock JupyterHub + DockerSpawner, same image, one run.

For K learners arriving at once (K = 1 and 10 by default), each: opens the login page, logs in, starts a
workspace, opens it (OAuth with the hub), starts a kernel and runs a pandas cell. The time from the first
request to the cell's result is recorded per learner. The two hubs run side by side on this machine and are
measured alternately, REPEAT times; between rounds every workspace is stopped, so each round is a cold
container start with a warm image cache.

    .venv/bin/python benchmarks/spawn.py [--users 1,10] [--repeat 3]

Prints a table (median, P95, max, errors) and, last, the headline ratio (stock median / ours median at the
largest K). Never part of the test suite.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import docker  # noqa: E402
from support.hub import HubSession, free_port, start_hub  # noqa: E402

from hub.directory import accounts  # noqa: E402
from hub.directory.db import Directory  # noqa: E402
from hub.directory.models import Enrolment, Person, SchoolClass  # noqa: E402
from hub.network import WorkspaceNetwork, remove_host_firewall  # noqa: E402
from hub.settings import HubSettings  # noqa: E402

PASSWORD = "bench-Passw0rd-2026"
CELL = "import pandas as pd\nprint(int(pd.DataFrame({'a': [1, 2, 3]})['a'].sum()))"


def run_learner(url: str, username: str) -> float:
    started = time.perf_counter()
    session = HubSession(url)
    response = session.login(username, PASSWORD)
    if session.username != username:
        raise RuntimeError(f"login failed: {response.status_code}")
    session.start_server(timeout=300)
    if session.open_server().status_code != 200:
        raise RuntimeError("server did not open")
    out = session.run_code(CELL, timeout=120)
    if out["stdout"].strip() != "6":
        raise RuntimeError(f"bad result {out}")
    return time.perf_counter() - started


def stop_all(url: str, usernames: list[str], client: docker.DockerClient, name_filter: str) -> None:
    for username in usernames:
        session = HubSession(url)
        session.login(username, PASSWORD)
        session.api("DELETE", f"/users/{username}/server")
    deadline = time.monotonic() + 120
    # sparse: no per-container inspect, which races with the removal being waited for
    while client.containers.list(all=True, sparse=True, filters={"name": name_filter}) and time.monotonic() < deadline:
        time.sleep(0.5)


def burst(url: str, usernames: list[str]) -> tuple[list[float], int]:
    with ThreadPoolExecutor(len(usernames)) as pool:
        futures = [pool.submit(run_learner, url, u) for u in usernames]
    times, errors = [], 0
    for future in futures:
        try:
            times.append(future.result())
        except Exception as exc:  # an error is a result of the benchmark, not a crash of it
            print(f"  error: {exc}", file=sys.stderr)
            errors += 1
    return times, errors


def prepare_ours(data_dir: Path, prefix: str, image: str, usernames: list[str]) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "truongso.toml").write_text(
        f'docker_prefix = "{prefix}"\nworkspace_image = "{image}"\nidle_timeout_seconds = 0\n', encoding="utf-8"
    )
    settings = HubSettings.load(data_dir, {})
    directory = Directory(settings.db_url)
    directory.ensure_schema()
    with directory.session() as session:
        session.add(SchoolClass(name="BENCH", title="Benchmark"))
        for username in usernames:
            session.add(Person(username=username, full_name="Học Viên Thử", organisation="Bench"))
            session.add(Enrolment(class_name="BENCH", username=username))
            accounts.set_password(session, username, accounts.hash_password(PASSWORD))
    directory.dispose()


def start_stock(work: Path, prefix: str, image: str, client: docker.DockerClient) -> tuple[subprocess.Popen, str]:
    port = free_port()
    config = client.networks.get("bridge").attrs["IPAM"]["Config"][0]
    bridge = config.get("Gateway") or str(next(ipaddress.ip_network(config["Subnet"]).hosts()))
    env = {
        **os.environ,
        "BENCH_PREFIX": prefix,
        "BENCH_PORT": str(port),
        "BENCH_HUB_PORT": str(free_port()),
        "BENCH_PROXY_API_PORT": str(free_port()),
        "BENCH_DOCKER0_IP": bridge,
        "BENCH_IMAGE": image,
        "BENCH_PASSWORD": PASSWORD,
        "BENCH_PROXY_COMMAND": HubSettings().proxy_command,
    }
    work.mkdir(parents=True)
    log = (work / "stock.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(REPO / "benchmarks" / "stock_jupyterhub_config.py")],
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if HubSession(url).http.get(f"{url}/hub/api/", timeout=2).status_code == 200:
                return process, url
        except Exception:
            time.sleep(0.3)
    raise RuntimeError("stock hub did not start; see " + str(work / "stock.log"))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", default="1,10", help="comma-separated burst sizes")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--image", default="truongso/workspace:latest")
    args = parser.parse_args()
    sizes = [int(k) for k in args.users.split(",")]
    client = docker.from_env()
    client.images.get(args.image)
    prefix = f"truongso-bench-{os.getpid()}"
    usernames = [f"bench{i:02d}" for i in range(1, max(sizes) + 1)]
    work = Path(tempfile.mkdtemp(prefix="truongso-bench-"))
    prepare_ours(work / "ours", prefix, args.image, usernames)
    results: dict[tuple[str, int], list[float]] = {}
    errors: dict[tuple[str, int], int] = {}
    ours = start_hub(work / "ours", "--spawner", "docker")
    stock = None
    try:
        stock, stock_url = start_stock(work / "stock", prefix, args.image, client)
        hubs = {"truongso": (ours.url, f"{prefix}-ws-"), "stock": (stock_url, f"{prefix}-stock-")}
        for k in sizes:
            for rep in range(args.repeat):
                order = list(hubs) if rep % 2 == 0 else list(reversed(hubs))
                for name in order:
                    url, name_filter = hubs[name]
                    times, failed = burst(url, usernames[:k])
                    results.setdefault((name, k), []).extend(times)
                    errors[(name, k)] = errors.get((name, k), 0) + failed
                    print(
                        f"K={k:<3} round {rep + 1} {name:<9} median {statistics.median(times or [0]):6.2f} s",
                        flush=True,
                    )
                    stop_all(url, usernames[:k], client, name_filter)
    finally:
        ours.stop()
        if stock is not None:
            stock.terminate()
            stock.wait(30)
        for container in client.containers.list(all=True, filters={"name": prefix}):
            container.remove(force=True)
        for volume in client.volumes.list(filters={"name": prefix}):
            volume.remove(force=True)
        for network in client.networks.list(names=[f"{prefix}-workspaces"]):
            config = network.attrs["IPAM"]["Config"][0]
            remove_host_firewall(WorkspaceNetwork(network.name, config["Subnet"], config["Gateway"]), prefix)
            network.remove()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{'hub':<10}{'K':>4}{'n':>5}{'median s':>10}{'P95 s':>8}{'max s':>8}{'errors':>8}")
    for (name, k), times in sorted(results.items(), key=lambda item: (item[0][1], item[0][0])):
        print(
            f"{name:<10}{k:>4}{len(times):>5}{statistics.median(times):>10.2f}{percentile(times, 95):>8.2f}"
            f"{max(times):>8.2f}{errors[(name, k)]:>8}"
        )
    for k in sizes:
        ratio = statistics.median(results[("stock", k)]) / statistics.median(results[("truongso", k)])
        print(f"K={k}: stock/truongso median ratio {ratio:.2f}")
    k = max(sizes)
    ratio = statistics.median(results[("stock", k)]) / statistics.median(results[("truongso", k)])
    print(f"HEADLINE login-to-first-result, {k} learners at once: ours is {ratio:.2f}x stock speed (>1 = faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
