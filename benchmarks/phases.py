"""Where a cold start's time goes: each phase of one learner's login to first cell result, ours vs stock.

One learner, one hub at a time, the two hubs alternated, REPEAT rounds: the hubs of benchmarks/spawn.py
(benchmarks/hubs.py: stock JupyterHub + DockerSpawner + NativeAuthenticator beside ours, same image, limits and
password cost). Every round starts with no container (cold start, warm image cache).
Phases, each timed from the end of the one before:

  login            POST /hub/login: the password check (no redirect followed, so no spawn yet)
  spawn request    POST /hub/api/users/NAME/server until the hub's progress stream says ready, split into
    before create    request -> the engine's `create` event (the spawner's own work before the container)
    create->start    `create` -> `start` events (the engine)
    server start     `start` -> the server's "is running at" log line (the workspace's start-up)
    hub notices      that line -> ready (the hub's check of the server, and what the spawner does after)
  open server      GET /user/NAME/lab with the OAuth dance, then /api/status
  first kernel     POST /api/sessions for a notebook in a sub-folder -> kernel_info_reply on the websocket
  first result     a pandas cell -> its result

    .venv/bin/python benchmarks/phases.py [--repeat 5]

Prints one row per round, a table of medians (ours, stock, stock - ours) and, last, a HEADLINE line. Never
part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

import docker  # noqa: E402
import hubs  # noqa: E402  (benchmarks/hubs.py, as spawn.py: both hubs, the bench accounts, the clean-up)
import websocket  # noqa: E402
from support.hub import HubSession  # noqa: E402

NOTEBOOK = "phases/analysis.ipynb"
CELL = "import pandas as pd\nprint(int(pd.DataFrame({'a': [1, 2, 3]})['a'].sum()))"
PHASES = [
    ("login", "login"),
    ("spawn", "spawn request"),
    ("before_create", "  before create"),
    ("create_start", "  create->start"),
    ("server_start", "  server start"),
    ("hub_notices", "  hub notices"),
    ("open", "open server"),
    ("kernel", "first kernel"),
    ("result", "first result"),
    ("total", "total"),
]
RUNNING_LINE = "is running at"  # jupyter_server's start-up line: the server listens


def login(session: HubSession, username: str, password: str) -> None:
    """The login form as a browser sends it, without following the redirect (which would start the spawn)."""
    import re

    page = session.http.get(f"{session.hub_url}/hub/login", timeout=10)
    token = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    response = session.http.post(
        f"{session.hub_url}/hub/login",
        data={"username": username, "password": password, "_xsrf": token},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 302 or "/hub/login" in response.headers.get("location", ""):
        raise RuntimeError(f"login failed: {response.status_code}")
    session.username = username


def wait_ready(session: HubSession, timeout: float = 300) -> None:
    """Follow the hub's spawn progress stream (no polling: the hub says `ready` the moment it knows)."""
    url = f"{session.hub_url}/hub/api/users/{session.username}/server/progress"
    with session.http.get(url, headers={"X-XSRFToken": session.xsrf()}, stream=True, timeout=timeout) as events:
        for line in events.iter_lines(decode_unicode=True):
            if not line or not line.startswith("data:"):
                continue
            event = json.loads(line[5:])
            if event.get("ready"):
                return
            if event.get("failed"):
                raise RuntimeError(f"spawn failed: {event.get('message')}")
    raise RuntimeError("progress stream ended before the server was ready")


def kernel_channel(session: HubSession, kernel_id: str) -> websocket.WebSocket:
    ws_url = session.server_url().replace("http://", "ws://") + f"api/kernels/{kernel_id}/channels"
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.http.cookies)
    return websocket.create_connection(ws_url, cookie=cookie, timeout=120, origin=session.hub_url)


def request(ws: websocket.WebSocket, msg_type: str, content: dict) -> dict:
    """Send one shell request and return what came back for it: stdout, and the reply."""
    msg_id = uuid.uuid4().hex
    header = {"msg_id": msg_id, "username": "", "session": uuid.uuid4().hex, "msg_type": msg_type, "version": "5.3"}
    ws.send(json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": content,
                        "channel": "shell", "buffers": []}))  # fmt: skip
    out: dict = {"stdout": "", "reply": None}
    idle = msg_type == "kernel_info_request"  # its reply is enough: the kernel answers
    while not (out["reply"] and idle):
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            out["stdout"] += msg["content"]["text"]
        elif msg["msg_type"] == msg_type.replace("_request", "_reply"):
            out["reply"] = msg["content"]
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            idle = True
    return out


def engine_events(client: docker.DockerClient, name: str, since: float, until: float) -> dict[str, float]:
    """The engine's own times (epoch seconds) of `create` and `start` of the container called `name`."""
    found: dict[str, float] = {}
    events = client.events(
        since=int(since - 1), until=int(until + 2), decode=True,
        filters={"type": "container", "container": name},
    )  # fmt: skip
    for event in events:
        action = event.get("Action") or event.get("status")
        if action in ("create", "start") and event["timeNano"] / 1e9 >= since - 0.5:
            found.setdefault(action, event["timeNano"] / 1e9)
    return found


def server_running_at(client: docker.DockerClient, name: str) -> float | None:
    """When the workspace's server logged that it listens (the engine's timestamp of that log line)."""
    logs = client.containers.get(name).logs(timestamps=True).decode("utf-8", "replace")
    for line in logs.splitlines():
        if RUNNING_LINE in line:
            stamp = line.split(" ", 1)[0]  # RFC 3339 with nanoseconds
            whole, _, frac = stamp.rstrip("Z").partition(".")
            return datetime.fromisoformat(whole + "+00:00").timestamp() + float("0." + (frac or "0"))
    return None


def one_round(url: str, username: str, container: str, client: docker.DockerClient) -> dict[str, float]:
    times: dict[str, float] = {}
    session = HubSession(url)
    session.http.get(f"{url}/hub/login", timeout=10)  # the page the learner already has open
    t0 = time.time()
    login(session, username, hubs.PASSWORD)
    t_login = time.time()
    response = session.api("POST", f"/users/{username}/server")
    if response.status_code not in (201, 202):
        raise RuntimeError(f"spawn refused: {response.status_code} {response.text[:200]}")
    wait_ready(session)
    t_ready = time.time()
    page = session.open_server()
    if page.status_code != 200:
        raise RuntimeError(f"server did not open: {page.status_code}")
    t_open = time.time()
    # the notebook exists before it is opened (as when a learner double-clicks it), not timed
    session.server_api("PUT", "api/contents/phases", json={"type": "directory"})
    notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    session.server_api("PUT", f"api/contents/{NOTEBOOK}", json={"type": "notebook", "content": notebook})
    t_kernel0 = time.time()
    created = session.server_api(
        "POST", "api/sessions",
        json={"path": NOTEBOOK, "name": "analysis.ipynb", "type": "notebook", "kernel": {"name": "python3"}},
    )  # fmt: skip
    created.raise_for_status()
    ws = kernel_channel(session, created.json()["kernel"]["id"])
    try:
        request(ws, "kernel_info_request", {})
        t_kernel = time.time()
        out = request(ws, "execute_request", {"code": CELL, "silent": False, "store_history": True})
        t_result = time.time()
    finally:
        ws.close()
    if out["stdout"].strip() != "6":
        raise RuntimeError(f"bad result {out}")
    events = engine_events(client, container, t0, t_ready)
    running = server_running_at(client, container)
    times["login"] = t_login - t0
    times["spawn"] = t_ready - t_login
    if "create" in events and "start" in events and running is not None:
        times["before_create"] = events["create"] - t_login
        times["create_start"] = events["start"] - events["create"]
        times["server_start"] = running - events["start"]
        times["hub_notices"] = t_ready - running
    times["open"] = t_open - t_ready
    times["kernel"] = t_kernel - t_kernel0
    times["result"] = t_result - t_kernel
    times["total"] = sum(times[k] for k in ("login", "spawn", "open", "kernel", "result"))
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--image", default="truongso/workspace:latest")
    args = parser.parse_args()
    client = docker.from_env()
    client.images.get(args.image)
    prefix = f"truongso-phases-{os.getpid()}"
    username = hubs.bench_usernames(1)[0]
    work = Path(tempfile.mkdtemp(prefix="truongso-phases-"))
    limits = hubs.prepare_ours(work / "ours", prefix, args.image, [username])
    results: dict[str, list[dict[str, float]]] = {"truongso": [], "stock": []}
    errors = {"truongso": 0, "stock": 0}
    ours, ours_api = hubs.start_ours(work / "ours")
    stock = None
    try:
        stock = hubs.start_stock(work / "stock", prefix, args.image, client, limits)
        hubs.signup_stock(stock, [username])
        arms = {
            "truongso": (ours_api, f"{prefix}-ws-{username}", f"{prefix}-ws-"),
            "stock": (stock.api, f"{prefix}-stock-{username}", f"{prefix}-stock-"),
        }
        for rep in range(args.repeat):
            for name in list(arms) if rep % 2 == 0 else list(reversed(arms)):
                api, container, name_filter = arms[name]
                try:
                    times = one_round(api.url, username, container, client)
                except Exception as exc:  # an error is a result of the benchmark, not a crash of it
                    print(f"  {name} round {rep + 1} error: {exc}", file=sys.stderr)
                    errors[name] += 1
                else:
                    results[name].append(times)
                    row = "  ".join(f"{key} {value:.2f}" for key, value in times.items())
                    print(f"round {rep + 1} {name:<9} {row}", flush=True)
                api.stop_servers([username], client, name_filter)
    finally:
        ours.stop()
        if stock is not None:
            stock.stop()
        hubs.cleanup(client, prefix, work)

    def median(name: str, key: str) -> float | None:
        values = [r[key] for r in results[name] if key in r]
        return statistics.median(values) if values else None

    def cell(value: float | None) -> str:
        return f"{value:>10.2f}" if value is not None else f"{'-':>10}"

    print(f"\nmedians of {args.repeat} rounds, seconds (errors: ours {errors['truongso']}, stock {errors['stock']})")
    print(f"{'phase':<20}{'ours':>10}{'stock':>10}{'stock-ours':>12}")
    for key, label in PHASES:
        a, b = median("truongso", key), median("stock", key)
        diff = f"{b - a:>12.2f}" if a is not None and b is not None else f"{'-':>12}"
        print(f"{label:<20}{cell(a)}{cell(b)}{diff}")
    ours_total, stock_total = median("truongso", "total"), median("stock", "total")
    if not ours_total or not stock_total:
        print("HEADLINE cold start phases, 1 learner: no complete round on one side")
        return 1
    slowest = max(
        (k for k, _ in PHASES if k not in ("total", "spawn") and median("truongso", k) is not None),
        key=lambda k: median("truongso", k) - (median("stock", k) or 0),
    )
    print(
        f"HEADLINE cold start 1 learner, login to first result: ours {ours_total:.2f} s, stock {stock_total:.2f} s; "
        f"ours is {stock_total / ours_total:.2f}x stock speed (>1 = faster); largest gap vs stock: {slowest.strip()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
