"""What the login benchmarks (spawn.py, burst.py) share: the two hubs side by side and a simulated learner.

Both hubs get the same image, the same workspace limits (memory, CPU, processes) and a real bcrypt password
check at the same cost: ours with its own authenticator, stock with NativeAuthenticator, whose accounts are
made through its own signup form before anything is timed. A learner does what a browser does: login form
(XSRF), the spawn the hub starts on the way in, the spawn page's progress stream, the workspace (OAuth with
the hub), a kernel and one pandas cell.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests
from traitlets.config import Config

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import docker  # noqa: E402
from support.hub import Hub, HubSession, free_port, start_hub  # noqa: E402

from hub.configure import apply_spawner  # noqa: E402
from hub.directory import accounts  # noqa: E402
from hub.directory.db import Directory  # noqa: E402
from hub.directory.models import Enrolment, Person, SchoolClass  # noqa: E402
from hub.keys import HubSecrets  # noqa: E402
from hub.network import WorkspaceNetwork, remove_host_firewall  # noqa: E402
from hub.settings import HubSettings  # noqa: E402

PASSWORD = "bench-Passw0rd-2026"
CELL = "import pandas as pd\nprint(int(pd.DataFrame({'a': [1, 2, 3]})['a'].sum()))"
BENCH_CLASS = "BENCH"
STOCK_CONFIG = REPO / "benchmarks" / "stock_jupyterhub_config.py"
BCRYPT_COST = re.compile(rb"^\$2[aby]?\$(\d\d)\$")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def bench_usernames(n: int) -> list[str]:
    return [f"bench{i:02d}" for i in range(1, n + 1)]


class PatientSession(requests.Session):
    """A browser's session whose every request waits `timeout`: HubSession's own timeouts are for tests on a
    quiet hub, and a class logging in at once on two cores is not one."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, method: str, url: str, **kwargs) -> requests.Response:  # type: ignore[override]
        kwargs["timeout"] = self.timeout
        return super().request(method, url, **kwargs)


class HubAPI:
    """The hub's REST API with an admin service token, for the benchmark's own housekeeping (never timed)."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {token}"

    def users(self) -> dict[str, dict]:
        response = self.http.get(f"{self.url}/hub/api/users", timeout=60)
        response.raise_for_status()
        return {user["name"]: user for user in response.json()}

    def ready(self, usernames: list[str]) -> set[str]:
        users = self.users()
        return {u for u in usernames if users.get(u, {}).get("servers", {}).get("", {}).get("ready")}

    def stop_servers(self, usernames: list[str], client: docker.DockerClient, name_filter: str) -> None:
        """Stop every listed learner's workspace and wait until the hub has none and its containers are gone."""
        for username in usernames:
            response = self.http.delete(f"{self.url}/hub/api/users/{username}/server", timeout=120)
            if response.status_code not in (202, 204, 400, 404):  # 400: no server running
                print(f"  stop {username}: {response.status_code} {response.text[:200]}", file=sys.stderr)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            users = self.users()
            busy = [u for u in usernames if users.get(u, {}).get("servers") or users.get(u, {}).get("pending")]
            # sparse: no per-container inspect, which races with the removal being waited for
            left = client.containers.list(all=True, sparse=True, filters={"name": name_filter})
            if not busy and not left:
                return
            if not busy and time.monotonic() > deadline - 240:
                # the hub runs none of them and has had a minute: containers it lost track of (a start that
                # timed out) would otherwise stay; a cold round starts with none
                print(f"  {len(left)} containers the hub no longer knows: removed", file=sys.stderr)
                for container in left:
                    try:
                        container.remove(force=True)
                    except docker.errors.APIError:  # NotFound included: gone meanwhile
                        pass
            time.sleep(1)
        print(f"  warning: workspaces still there after 300 s: {busy} {len(left)} containers", file=sys.stderr)


@dataclass
class Outcome:
    """One learner's way to the first result: seconds from the first request, per phase, or the error."""

    username: str
    phases: dict[str, float] = field(default_factory=dict)
    error: str = ""
    throttled: int = 0  # spawns the hub refused with 429 (concurrent_spawn_limit) before one was accepted
    relaunched: int = 0  # times the learner asked again for a workspace neither starting nor running

    @property
    def total(self) -> float:
        return self.phases.get("result", 0.0)


class Learner:
    """One learner's browser: a single reusable session, from the login form to a pandas cell's result."""

    relaunch_after = 30.0  # seconds with no start on its way before the learner asks again

    def __init__(self, url: str, username: str, timeout: float = 300) -> None:
        self.session = HubSession(url)
        patient = PatientSession(timeout)
        patient.hooks = self.session.http.hooks
        self.session.http = patient
        self.username = username
        self.timeout = timeout
        self.outcome = Outcome(username)
        self.last: requests.Response | None = None  # the last page the browser got

    def run(self) -> Outcome:
        started = time.perf_counter()
        phases = self.outcome.phases
        try:
            self.login()
            phases["login"] = time.perf_counter() - started
            self.wait_ready()
            phases["ready"] = time.perf_counter() - started
            page = self.session.open_server()
            if page.status_code != 200:
                raise RuntimeError(f"workspace did not open: {page.status_code} {page.url}")
            phases["open"] = time.perf_counter() - started
            out = self.session.run_code(CELL, timeout=self.timeout)
            if out["stdout"].strip() != "6":
                raise RuntimeError(f"bad result {out}")
            phases["result"] = time.perf_counter() - started
        except Exception as exc:  # an error is a result of the benchmark, not a crash of it
            self.outcome.error = f"{type(exc).__name__}: {exc}"[:300]
        return self.outcome

    def login(self) -> None:
        # The form's POST follows the redirects a browser follows: the hub home, then the spawn it starts
        # (which may answer 429 when too many start at once: the learner still holds a login cookie).
        self.last = self.session.login(self.username, PASSWORD)
        if not self.session.http.cookies.get("jupyterhub-hub-login"):
            raise RuntimeError(f"login failed: {self.last.status_code} {self.last.url}")
        self.session.username = self.username

    def wait_ready(self) -> None:
        """What the browser does after the login: the spawn page's progress stream until the hub says ready.
        A 429 on the way in waits what its Retry-After says, then asks /hub/spawn again, as the page tells the
        learner to; a workspace neither starting nor running for `relaunch_after` seconds (its start was
        refused or lost) is asked for again the same way. Never a second request while a start is on its way:
        JupyterHub answers that with a 500 ("pending spawn") while the first is still in refresh_pre_spawn."""
        deadline = time.monotonic() + self.timeout
        idle_since = time.monotonic()
        while time.monotonic() < deadline:
            if self.last.status_code == 429:
                self.outcome.throttled += 1
                wait = float(self.last.headers.get("Retry-After", 10))
                time.sleep(min(wait, max(0, deadline - time.monotonic())))
                self.last = self.session.http.get(f"{self.session.hub_url}/hub/spawn")
                idle_since = time.monotonic()
                continue
            state = self.server_state()
            if state == "ready" or (state == "pending" and self.follow_progress()):
                return
            if state == "pending":
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > self.relaunch_after:
                self.outcome.relaunched += 1
                self.last = self.session.http.get(f"{self.session.hub_url}/hub/spawn")
                idle_since = time.monotonic()
                continue
            time.sleep(1)
        raise TimeoutError(f"workspace not ready after {self.timeout:.0f} s")

    def server_state(self) -> str:
        """ready, pending (a start on its way) or none, as the learner's own token may read it."""
        user = self.session.api("GET", f"/users/{self.username}").json()
        server = user.get("servers", {}).get("", {})
        if server.get("ready"):
            return "ready"
        return "pending" if user.get("pending") == "spawn" or server.get("pending") == "spawn" else "none"

    def follow_progress(self) -> bool:
        """The spawn page's EventSource; True once ready, False if the stream ends without a verdict."""
        progress = f"{self.session.hub_url}/hub/api/users/{self.username}/server/progress"
        with self.session.http.get(progress, stream=True, headers={"Accept": "text/event-stream"}) as stream:
            if stream.status_code != 200:  # 400: not starting (any more): the loop looks again
                return False
            for line in stream.iter_lines(decode_unicode=True):
                if not line or not line.startswith("data:"):
                    continue
                event = json.loads(line[5:])
                if event.get("ready"):
                    return True
                if event.get("failed"):
                    raise RuntimeError(event.get("message", "spawn failed"))
        return False


def burst(url: str, usernames: list[str], timeout: float = 300) -> tuple[list[Outcome], float]:
    """All learners at once: each thread builds its browser, then a barrier lets every first request go out
    together. Returns the outcomes and the spread (seconds) between the first and the last start."""
    learners = [Learner(url, username, timeout) for username in usernames]
    barrier = threading.Barrier(len(learners))
    starts: list[float] = []

    def go(learner: Learner) -> Outcome:
        barrier.wait(timeout=120)
        starts.append(time.perf_counter())
        return learner.run()

    with ThreadPoolExecutor(len(learners)) as pool:
        outcomes = list(pool.map(go, learners))
    return outcomes, max(starts) - min(starts)


def report_errors(outcomes: list[Outcome], limit: int = 5) -> None:
    failed = [o for o in outcomes if o.error]
    for outcome in failed[:limit]:
        print(f"  error {outcome.username}: {outcome.error}", file=sys.stderr)
    if len(failed) > limit:
        print(f"  … and {len(failed) - limit} more errors", file=sys.stderr)


def prepare_ours(data_dir: Path, prefix: str, image: str, usernames: list[str], toml: str = "") -> HubSettings:
    """Our data directory: the bench class with its learners, their passwords at people's bcrypt cost."""
    data_dir.mkdir(parents=True)
    (data_dir / "truongso.toml").write_text(
        f'docker_prefix = "{prefix}"\nworkspace_image = "{image}"\nidle_timeout_seconds = 0\n{toml}', encoding="utf-8"
    )
    settings = HubSettings.load(data_dir, {})
    directory = Directory(settings.db_url)
    directory.ensure_schema()
    password_hash = accounts.hash_password(PASSWORD)  # CHOSEN_PASSWORD_ROUNDS: nativeauthenticator's own cost
    with directory.session() as session:
        session.add(SchoolClass(name=BENCH_CLASS, title="Benchmark"))
        for username in usernames:
            session.add(Person(username=username, full_name="Học Viên Thử", organisation="Bench"))
            session.add(Enrolment(class_name=BENCH_CLASS, username=username))
            accounts.set_password(session, username, password_hash)
    directory.dispose()
    return settings


def start_ours(data_dir: Path) -> tuple[Hub, HubAPI]:
    hub = start_hub(data_dir, "--spawner", "docker")
    return hub, HubAPI(hub.url, HubSecrets.ensure(data_dir).api_token)


@dataclass
class StockHub:
    process: subprocess.Popen
    api: HubAPI
    work: Path

    @property
    def url(self) -> str:
        return self.api.url

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def start_stock(work: Path, prefix: str, image: str, client: docker.DockerClient, limits: HubSettings) -> StockHub:
    """Stock JupyterHub + DockerSpawner + NativeAuthenticator (stock_jupyterhub_config.py) with our workspace
    limits and spawn timeouts; everything else is stock's default (concurrent_spawn_limit 100: ours is a setting)."""
    port = free_port()
    token = os.urandom(16).hex()
    ours = Config()
    apply_spawner(limits, ours)  # our spawner's patience too: a slow start is a time on both sides, not an error
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
        "BENCH_API_TOKEN": token,
        "BENCH_MEM_LIMIT": limits.mem_limit,
        "BENCH_CPU_LIMIT": str(limits.cpu_limit),
        "BENCH_PIDS_LIMIT": str(limits.pids_limit),
        "BENCH_START_TIMEOUT": str(ours.Spawner.start_timeout),
        "BENCH_HTTP_TIMEOUT": str(ours.Spawner.http_timeout),
        "BENCH_PROXY_COMMAND": HubSettings().proxy_command,
    }
    work.mkdir(parents=True)
    log = (work / "stock.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(STOCK_CONFIG)],
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    stock = StockHub(process, HubAPI(f"http://127.0.0.1:{port}", token), work)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{stock.url}/hub/api/", timeout=2).status_code == 200:
                return stock
        except requests.RequestException:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.3)
    stock.stop()
    raise RuntimeError("stock hub did not start; see " + str(work / "stock.log"))


def signup_stock(stock: StockHub, usernames: list[str]) -> None:
    """Make stock's accounts through NativeAuthenticator's own signup form (XSRF, bcrypt at its own cost),
    before anything is timed; then check that its hashes cost what ours do."""
    for username in usernames:
        browser = HubSession(stock.url)
        page = browser.http.get(f"{stock.url}/hub/signup", timeout=60)
        page.raise_for_status()
        form = {"username": username, "signup_password": PASSWORD, "signup_password_confirmation": PASSWORD}
        answer = browser.http.post(f"{stock.url}/hub/signup", data={**form, "_xsrf": browser.xsrf()}, timeout=60)
        if answer.status_code != 200 or "alert-success" not in answer.text:
            raise RuntimeError(f"stock signup of {username} failed: {answer.status_code}")
    with sqlite3.connect(stock.work / "jupyterhub.sqlite") as db:
        rows = db.execute("SELECT password FROM users_info").fetchall()
    costs = {int(BCRYPT_COST.match(bytes(row[0])).group(1)) for row in rows}
    if costs != {accounts.CHOSEN_PASSWORD_ROUNDS} or len(rows) != len(usernames):
        raise RuntimeError(f"stock accounts: {len(rows)} with bcrypt costs {costs}, not {len(usernames)} at ours")


def cleanup(client: docker.DockerClient, prefix: str, work: Path) -> None:
    """Everything the benchmark made in Docker and on disk (the hubs are stopped before)."""
    for container in client.containers.list(all=True, filters={"name": prefix}):
        container.remove(force=True)
    for volume in client.volumes.list(filters={"name": prefix}):
        volume.remove(force=True)
    for network in client.networks.list(names=[f"{prefix}-workspaces"]):
        config = network.attrs["IPAM"]["Config"][0]
        remove_host_firewall(WorkspaceNetwork(network.name, config["Subnet"], config["Gateway"]), prefix)
        network.remove()
    shutil.rmtree(work, ignore_errors=True)
