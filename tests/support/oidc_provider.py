"""A real OpenID Connect provider for the tests: panva's oidc-provider (OpenID Certified, pinned by
tests/support/oidc/package-lock.json) run by Node on loopback, with our own login page (tests/support/oidc/provider.mjs:
its header says what it serves).

    provider = start_oidc_provider(tmp_path, "http://127.0.0.1:8000/hub/oauth_callback", accounts=[...])
    ...
    provider.stop()   # "the ministry's provider is down"
    provider.start()  # back, same port (same accounts and client; sessions and tokens of the last run are gone)

Accounts: {"sub", "preferred_username", "email", "name", "password", "disabled"?: True}; the login form takes the
preferred_username (or the email). The node packages are installed once, on first use, with `npm ci` into
tests/support/oidc/node_modules (gitignored); again when package-lock.json changes (a stamp keeps its sha256).
`python tests/support/oidc_provider.py` does only that install (for a setup step).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import requests

PACKAGE_DIR = Path(__file__).resolve().parent / "oidc"
PROVIDER_SCRIPT = PACKAGE_DIR / "provider.mjs"
LOCKFILE = PACKAGE_DIR / "package-lock.json"
NODE_MODULES = PACKAGE_DIR / "node_modules"
STAMP = NODE_MODULES / ".truongso-lock-sha256"
START_TIMEOUT = 90.0  # node starts in ~1 s; a machine busy with hubs and builds once took over 20
INSTALL_TIMEOUT = 300.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _lock_digest() -> str:
    return hashlib.sha256(LOCKFILE.read_bytes()).hexdigest()


def ensure_installed() -> None:
    """`npm ci` into tests/support/oidc/node_modules unless it already matches package-lock.json. Safe to call from
    several pytest-xdist workers at once: they queue on an advisory lock (flock on the lockfile, read-only)."""
    digest = _lock_digest()
    if STAMP.is_file() and STAMP.read_text().strip() == digest:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: the test OIDC provider needs Node.js and npm (make setup uses them)")
    with LOCKFILE.open("rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if STAMP.is_file() and STAMP.read_text().strip() == digest:
                return  # another worker installed it while we waited
            command = [npm, "ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"]
            try:
                done = subprocess.run(
                    command, cwd=PACKAGE_DIR, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
                )
            except subprocess.TimeoutExpired as exc:
                raise RuntimeError(f"`npm ci` in {PACKAGE_DIR} took more than {INSTALL_TIMEOUT:.0f} s") from exc
            if done.returncode != 0:
                raise RuntimeError(
                    f"`npm ci` in {PACKAGE_DIR} failed (exit {done.returncode}); the npm registry must be reachable "
                    f"the first time:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
                )
            STAMP.write_text(digest + "\n")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@dataclass
class OidcProvider:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    port: int
    config_path: Path
    log_path: Path
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.is_file() else ""

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the provider (again, after stop(): same port, issuer, client and accounts) and wait until its
        discovery document answers."""
        if self.running():
            return
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not installed: the test OIDC provider needs Node.js")
        ensure_installed()
        offset = self.log_path.stat().st_size if self.log_path.is_file() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [node, str(PROVIDER_SCRIPT), str(self.config_path)],
                cwd=PACKAGE_DIR,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "NODE_ENV": "test", "NO_COLOR": "1"},
            )
        listening = f"listening {self.issuer}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            output = self.log()[offset:]
            if listening in output and self._answers():
                return
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the OIDC provider exited ({self.process.returncode}) before listening on {self.issuer}:\n"
                    f"{output[-4000:]}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"the OIDC provider did not answer on {self.issuer} within {START_TIMEOUT:.0f} s:\n"
                    f"{self.log()[offset:][-4000:]}"
                )
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            return requests.get(self.discovery_url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        """Terminate the provider and wait for it; its port is free again when this returns."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def start_oidc_provider(
    tmp_dir: Path,
    redirect_uri: str | list[str],
    accounts: list[dict],
    port: int | None = None,
    client_id: str = "truongso-hub",
    client_secret: str | None = None,
) -> OidcProvider:
    """A running provider on http://127.0.0.1:<port> (a free one unless given) with one confidential client
    (client_secret_basic or client_secret_post) allowed to redirect to `redirect_uri`; stop() it when done."""
    tmp_dir = Path(tmp_dir)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    port = port or _free_port()
    issuer = f"http://127.0.0.1:{port}"
    redirect_uris = [redirect_uri] if isinstance(redirect_uri, str) else list(redirect_uri)
    client_secret = client_secret or secrets.token_urlsafe(24)
    config_path = tmp_dir / "oidc-provider.json"
    config = {
        "issuer": issuer,
        "port": port,
        "clients": [{"client_id": client_id, "client_secret": client_secret, "redirect_uris": redirect_uris}],
        "accounts": accounts,
    }
    config_path.write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
    provider = OidcProvider(
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uris=redirect_uris,
        port=port,
        config_path=config_path,
        log_path=tmp_dir / "oidc-provider.log",
    )
    provider.start()
    return provider


if __name__ == "__main__":
    ensure_installed()
    print(f"oidc-provider installed in {NODE_MODULES}", file=sys.stderr)


class _Form(HTMLParser):
    """The login form's action and the ids of its inputs and button."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.action = values.get("action")
        if tag in ("input", "button") and values.get("id"):
            self.ids.add(f"{tag}#{values['id']}")


def login_form(html: str) -> _Form:
    form = _Form()
    form.feed(html)
    assert form.action, html
    assert {"input#login", "input#password", "button#submit"} <= form.ids, html
    return form
