"""Login burst to first cell result: Trường Số vs stock JupyterHub + DockerSpawner, same image, one run.

For K learners arriving at once (K = 1 and 10 by default), each: opens the login page, logs in (a real bcrypt
check at the same cost on both sides: ours, and NativeAuthenticator on stock; same workspace limits too, see
benchmarks/hubs.py), starts a workspace, opens it (OAuth with the hub), starts a kernel and runs a pandas cell.
The time from the first request to the cell's result is recorded per learner. The two hubs run side by side
on this machine and are measured alternately, REPEAT times; between rounds every workspace is stopped, so
each round is a cold container start with a warm image cache.

    .venv/bin/python benchmarks/spawn.py [--users 1,10] [--repeat 3]

Prints a table (median, P95, max, errors) and, last, the headline ratio (stock median / ours median at the
largest K). Never part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import docker
from hubs import (
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
    usernames = bench_usernames(max(sizes))
    work = Path(tempfile.mkdtemp(prefix="truongso-bench-"))
    limits = prepare_ours(work / "ours", prefix, args.image, usernames)
    results: dict[tuple[str, int], list[float]] = {}
    errors: dict[tuple[str, int], int] = {}
    ours, ours_api = start_ours(work / "ours")
    stock = None
    try:
        stock = start_stock(work / "stock", prefix, args.image, client, limits)
        signup_stock(stock, usernames)
        hubs = {"truongso": (ours_api, f"{prefix}-ws-"), "stock": (stock.api, f"{prefix}-stock-")}
        for k in sizes:
            for rep in range(args.repeat):
                order = list(hubs) if rep % 2 == 0 else list(reversed(hubs))
                for name in order:
                    api, name_filter = hubs[name]
                    outcomes, _ = burst(api.url, usernames[:k])
                    report_errors(outcomes)
                    times = [o.total for o in outcomes if not o.error]
                    results.setdefault((name, k), []).extend(times)
                    errors[(name, k)] = errors.get((name, k), 0) + len(outcomes) - len(times)
                    print(
                        f"K={k:<3} round {rep + 1} {name:<9} median {statistics.median(times or [0]):6.2f} s",
                        flush=True,
                    )
                    api.stop_servers(usernames[:k], client, name_filter)
    finally:
        ours.stop()
        if stock is not None:
            stock.stop()
        cleanup(client, prefix, work)

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
