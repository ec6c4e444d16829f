"""Start a real hub with `truongso up` and talk to it the way a browser does (cookies, XSRF)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlparse

import requests
import websocket

REPO = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "s3cret-Passw0rd"
TRUONGSO = str(Path(sys.executable).with_name("truongso"))
ACCOUNT_LINE = re.compile(r"^\s+(\S+)\s+(\S{4}-\S{4}-\S{4})\s+(learner|instructor)\s+(.+)$")


def free_port() -> int:
    """A free port below the ephemeral range, as the hub picks its own (an outgoing connection cannot take it)."""
    from hub.startup.ports import free_port as pick

    return pick("127.0.0.1")


def truongso(*args: str, env: dict | None = None, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    """Run the CLI as an admin would; returns the completed process (never raises on exit code)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([TRUONGSO, *args], capture_output=True, text=True, env=full_env, timeout=timeout, **kwargs)


def utf8_pages(response: requests.Response, *args, **kwargs) -> requests.Response:
    """Hub pages say `text/html` with the charset only in <meta>; read them as a browser does."""
    if "charset" not in response.headers.get("content-type", ""):
        response.encoding = "utf-8"
    return response


@dataclass
class Hub:
    data_dir: Path
    port: int
    process: subprocess.Popen
    log_path: Path
    accounts: dict[str, str] = field(default_factory=dict)  # demo username -> password
    scheme: str = "http"  # https: a hub given ssl_cert / ssl_key (tests/integration/test_https_hub.py)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"hub exited with {self.process.returncode}:\n{self.log()[-4000:]}")
            try:
                # readiness only, on loopback: the test's own checks verify the certificate
                if requests.get(f"{self.url}/hub/api/", timeout=2, verify=False).status_code == 200:
                    self._read_accounts()
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"hub not ready after {timeout}s:\n{self.log()[-4000:]}")

    def _read_accounts(self) -> None:
        for line in self.log().splitlines():
            match = ACCOUNT_LINE.match(line)
            if match:
                self.accounts[match.group(1)] = match.group(2)

    def stop(self, timeout: float = 30, proxy: bool = True) -> None:
        """Stop the hub (it ends its proxy and services); Docker workspaces outlive it by design: a hub restart test
        keeps them (proxy=False); otherwise everything this data dir started goes, workspace containers included,
        so no later hub of the run finds a stranger's container."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if proxy:
            from hub.cli.down import stop_all

            stop_all(self.data_dir, workspaces=True, timeout=5)
            self._remove_workspace_network()

    def _remove_workspace_network(self) -> None:
        """Each hub has its own bridge network and Docker's address pools hold about thirty: give it back."""
        try:
            settings = self.settings()
        except (OSError, ValueError):
            return  # the hub never got as far as writing its settings
        if settings.get("spawner") not in ("docker", "swarm") or not settings.get("workspace_network"):
            return
        import docker

        from support.docker_resources import remove_workspace_network

        remove_workspace_network(docker.from_env(), settings["workspace_network"])

    def container_logs(self, tail: int = 60) -> str:
        """Logs of this hub's workspace containers (docker spawner), for failure reports."""
        try:
            settings = self.settings()
            if settings.get("spawner") != "docker":
                return ""
            import docker

            client = docker.from_env()
            return "\n".join(
                f"--- {c.name} ({c.status})\n{c.logs(tail=tail).decode(errors='replace')}"
                for c in client.containers.list(all=True, filters={"name": settings["docker_prefix"] + "-"})
            )
        except Exception as exc:  # a failure report must not fail
            return f"(no container logs: {exc})"

    def restart(self, *extra: str, env: dict | None = None) -> None:
        """Stop the hub (not the proxy, not the workspaces) and start it again on the same port."""
        self.stop(proxy=False)
        restarted = start_hub(self.data_dir, *extra, env=env, port=self.port)
        self.process, self.log_path, self.accounts = restarted.process, restarted.log_path, restarted.accounts

    def settings(self) -> dict:
        """The resolved settings this hub runs with (written by `truongso up`)."""
        return json.loads((self.data_dir / "run" / "settings.json").read_text())


def start_hub(
    data_dir: Path,
    *extra: str,
    env: dict | None = None,
    port: int | None = None,
    timeout: float = 180,
    scheme: str = "http",
    sigint_ignored: bool = False,
) -> Hub:
    # timeout: a hub starts its services one after the other; on a saturated machine that takes minutes
    if os.environ.get("TRUONGSO_TEST_FAST"):
        raise RuntimeError("make test-fast starts no hub: add this test's hub fixture to NEEDS in tests/conftest.py")
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"{data_dir.name}-hub-{port}-{int(time.time() * 1000)}.log"
    out = log_path.open("w")
    process = subprocess.Popen(
        [TRUONGSO, "up", "--data-dir", str(data_dir), "--port", str(port), *extra],
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        start_new_session=True,
        # as a script's background job (`truongso up &`) starts it: SIGINT ignored, and inherited by what it starts
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None,
    )
    hub = Hub(data_dir, port, process, log_path, scheme=scheme)
    try:
        hub.wait_ready(timeout)
    except BaseException:
        hub.stop()  # a hub that failed to start may have started services already
        raise
    return hub


@contextmanager
def running_demo_hub(
    data_dir: Path, spawner: str = "local", toml: str = "", timeout: float = 180, port: int | None = None
) -> Iterator[Hub]:
    """`truongso up --demo --spawner <spawner>` on `data_dir` with the tests' admin password and, if given,
    `toml` as its truongso.toml; stopped when the block ends."""
    if toml:
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "truongso.toml").write_text(toml, encoding="utf-8")
    hub = start_hub(
        data_dir,
        "--demo",
        "--spawner",
        spawner,
        env={"TRUONGSO_ADMIN_PASSWORD": ADMIN_PASSWORD},
        timeout=timeout,
        port=port,
    )
    try:
        yield hub
    finally:
        hub.stop()


class HubSession:
    """One person's browser: a cookie jar, the XSRF token, and the hub's URLs."""

    def __init__(self, hub_url: str) -> None:
        self.hub_url = hub_url
        self.http = requests.Session()
        self.http.hooks["response"].append(utf8_pages)
        self.username: str | None = None

    def xsrf(self) -> str:
        return self.http.cookies.get("_xsrf", path="/hub/") or self.http.cookies.get("_xsrf") or ""

    def login(self, username: str, password: str) -> requests.Response:
        page = self.http.get(f"{self.hub_url}/hub/login", timeout=10)
        page.raise_for_status()
        token = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
        response = self.http.post(
            f"{self.hub_url}/hub/login",
            data={"username": username, "password": password, "_xsrf": token},
            timeout=30,
        )
        if response.ok and "/hub/login" not in response.url:
            self.username = username
        return response

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"X-XSRFToken": self.xsrf(), **kwargs.pop("headers", {})}
        return self.http.request(method, f"{self.hub_url}/hub/api{path}", headers=headers, timeout=30, **kwargs)

    def start_server(self, timeout: float = 120) -> str:
        response = self.api("POST", f"/users/{self.username}/server")
        if response.status_code not in (201, 202, 400):  # 400: already running
            raise RuntimeError(f"spawn refused: {response.status_code} {response.text}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            user = self.api("GET", f"/users/{self.username}").json()
            server = user.get("servers", {}).get("", {})
            if server.get("ready"):
                return self.server_url()
            if not user.get("pending") and not server:
                raise RuntimeError(f"spawn failed: {user}")
            time.sleep(0.5)
        raise TimeoutError("server did not become ready")

    def server_url(self, username: str | None = None) -> str:
        return f"{self.hub_url}/user/{username or self.username}/"

    def open_server(self, username: str | None = None) -> requests.Response:
        """Visit the server like a browser: the OAuth dance with the hub sets the server's cookie."""
        page = self.http.get(self.server_url(username) + "lab", timeout=60)
        if page.status_code != 200:
            return page
        return self.http.get(self.server_url(username) + "api/status", timeout=30)

    def server_api(self, method: str, path: str, **kwargs) -> requests.Response:
        base = self.server_url()
        xsrf = self.http.cookies.get("_xsrf", path=urlparse(base).path) or ""
        headers = {"X-XSRFToken": xsrf, **kwargs.pop("headers", {})}
        return self.http.request(method, urljoin(base, path), headers=headers, timeout=60, **kwargs)

    def run_code(self, code: str, timeout: float = 120) -> dict:
        """Start a kernel, run `code` over the websocket, stop the kernel; see `execute` for the result."""
        kernel_id = self.start_kernel()
        try:
            return self.execute(kernel_id, code, timeout)
        finally:
            self.server_api("DELETE", f"api/kernels/{kernel_id}")

    def start_kernel(self) -> str:
        kernel = self.server_api("POST", "api/kernels", json={"name": "python3"})
        kernel.raise_for_status()
        return kernel.json()["id"]

    def execute(self, kernel_id: str, code: str, timeout: float = 120) -> dict:
        """Run `code` in a running kernel: {'stdout', 'result', 'error', 'display', 'died'}."""
        return self._execute(kernel_id, code, timeout)

    def _execute(self, kernel_id: str, code: str, timeout: float) -> dict:
        ws_url = self.server_url().replace("http://", "ws://") + f"api/kernels/{kernel_id}/channels"
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
        ws = websocket.create_connection(ws_url, cookie=cookie, timeout=timeout, origin=self.hub_url)
        msg_id = uuid.uuid4().hex
        ws.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "username": self.username,
                        "session": uuid.uuid4().hex,
                        "msg_type": "execute_request",
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {"code": code, "silent": False, "store_history": False},
                    "channel": "shell",
                    "buffers": [],
                }
            )
        )
        out: dict = {"stdout": "", "result": None, "error": None, "display": [], "died": False}
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                msg = json.loads(ws.recv())
                if msg.get("msg_type") == "status" and msg["content"]["execution_state"] in ("restarting", "dead"):
                    out["died"] = True  # e.g. killed by the memory limit
                    return out
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    out["stdout"] += content["text"]
                elif kind == "execute_result":
                    out["result"] = content["data"]
                elif kind == "display_data":
                    out["display"].append(content["data"])
                elif kind == "error":
                    out["error"] = f"{content['ename']}: {content['evalue']}"
                elif kind == "status" and content["execution_state"] == "idle":
                    return out
        finally:
            ws.close()
        raise TimeoutError("no idle status from the kernel")


def wait_for_job(session: HubSession, url: str, timeout: float = 600) -> dict:
    """Poll a portal grading job's page (as JSON) until it is no longer running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = session.http.get(url, params={"format": "json"}, timeout=30).json()
        if job["state"] != "running":
            return job
        time.sleep(2)
    raise TimeoutError(f"grading job {url} did not finish")


def exchange_token(hub: Hub, username: str, password: str | None = None) -> str:
    """A new API token of `username` (logged in with the demo password unless given) for the exchange."""
    session = HubSession(hub.url)
    assert session.login(username, password or hub.accounts[username]).status_code == 200
    response = session.api(
        "POST", f"/users/{username}/tokens", json={"scopes": ["access:services!service=exchange"], "expires_in": 3600}
    )
    assert response.status_code == 201, response.text
    return response.json()["token"]


def exchange_url(hub: Hub) -> str:
    """The exchange service's own address (not through the proxy)."""
    settings = hub.settings()
    return f"http://{settings['hub_ip']}:{settings['service_ports']['exchange']}/services/exchange/"
