"""Class-day burst: a whole class logs in at the same second. Stock JupyterHub + DockerSpawner, ours cold and
ours pre-warmed by a class session, side by side in one run.

N learners (default 60) each open the login form, log in with a real password (XSRF; a bcrypt check at the
same cost on both hubs: ours, and NativeAuthenticator on stock), reach their workspace, open a kernel and run
a pandas cell; a barrier releases every first request together. Three arms, their order alternated per
repetition: stock (same image and workspace limits), ours cold (every workspace stopped and removed before:
a container start with a warm image cache) and ours pre-warmed (a session of the learners' class starting in
2 minutes is added, the class-day service starts their workspaces, and the burst begins once the hub says
all are ready; the session is deleted after). An error is a result: counted, never a crash.

    .venv/bin/python benchmarks/burst.py [--learners 60] [--repeat 2] [--timeout 300]

Prints one line per round, a table (P50/P95/max time to first result, errors, spawns the hub throttled) and,
last, the headline. Never part of the test suite.
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
from hub.settings import HubSettings

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300, help="per learner, seconds")
    parser.add_argument("--image", default="truongso/workspace:latest")
    args = parser.parse_args()
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
    times: dict[str, list[float]] = {arm: [] for arm in ARMS}
    errors = dict.fromkeys(ARMS, 0)
    throttled = dict.fromkeys(ARMS, 0)
    load = []
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
                load.append(round(os.getloadavg()[0], 1))
                if arm == WARM:
                    try:
                        if not can_prewarm:
                            raise RuntimeError("no class-day service")
                        seconds = prewarm(settings, api, usernames, timeout=120 + 10 * n, session_id=1000 + rep)
                        print(f"round {rep + 1} pre-warming {n} workspaces took {seconds:.1f} s", flush=True)
                    except Exception as exc:  # a pre-warming that fails is this arm's result
                        print(f"round {rep + 1} {arm}: {exc}", flush=True)
                        errors[arm] += n
                        delete_sessions(settings)
                        api.stop_servers(usernames, client, name_filter)
                        continue
                outcomes, spread = burst(api.url, usernames, args.timeout)
                report_errors(outcomes)
                times[arm].extend(o.total for o in outcomes if not o.error)
                errors[arm] += sum(1 for o in outcomes if o.error)
                throttled[arm] += sum(o.throttled for o in outcomes)
                print(round_line(rep, arm, outcomes, spread), flush=True)
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

    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"\nmachine: {os.cpu_count()} cores; load average at each round's start {load}; now: {uptime}")
    print(f"\n{'arm':<17}{'n':>5}{'P50 s':>8}{'P95 s':>8}{'max s':>8}{'errors':>8}{'throttled':>11}")
    p95 = {}
    for arm in ARMS:
        values = times[arm] or [float("nan")]
        p95[arm] = percentile(values, 95)
        print(
            f"{arm:<17}{len(times[arm]):>5}{statistics.median(values):>8.2f}{p95[arm]:>8.2f}{max(values):>8.2f}"
            f"{errors[arm]:>8}{throttled[arm]:>11}"
        )
    print(
        f"HEADLINE burst {n} learners: P95 stock {p95[STOCK]:.1f} s, ours cold {p95[COLD]:.1f} s, ours pre-warmed "
        f"{p95[WARM]:.1f} s; ours pre-warmed is {p95[STOCK] / p95[WARM]:.1f}x stock (>1 = faster), errors "
        f"{errors[STOCK]}/{errors[COLD]}/{errors[WARM]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
