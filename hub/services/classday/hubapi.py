"""The few calls of JupyterHub's REST API the class-day service makes, with its own token."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

POLL_SECONDS = 1.0
SPAWN_QUEUE_FULL_WAIT = 3.0  # the hub answered 429 (concurrent_spawn_limit): others are starting, try again


class HubApiError(Exception):
    """The hub refused or failed a call; the message has its status and reason."""


class HubApi:
    def __init__(self, api_url: str, token: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}
        self.http = AsyncHTTPClient()

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        request = HTTPRequest(
            f"{self.api_url}{path}",
            method=method,
            headers=self.headers,
            body=None if body is None and method in ("GET", "DELETE") else json.dumps(body or {}),
            request_timeout=60,
        )
        try:
            response = await self.http.fetch(request, raise_error=False)
        except (OSError, HTTPClientError) as exc:
            raise HubApiError(f"{method} {path}: {exc}") from exc
        data = json.loads(response.body) if response.body else None
        return response.code, data

    async def user(self, username: str) -> dict[str, Any] | None:
        """The hub's model of a user with their servers; None when the hub has no such user."""
        code, data = await self.call("GET", f"/users/{quote(username, safe='')}")
        if code == 404:
            return None
        if code != 200:
            raise HubApiError(f"GET user {username}: {code} {data}")
        return data

    async def start_and_wait(self, username: str, timeout: float) -> bool:
        """Ask the hub to start the user's default server and wait until it is ready (True) or the start ended
        without a server (False). A full spawn queue (429) is waited out, not counted as a failure."""
        path = f"/users/{quote(username, safe='')}/server"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            code, data = await self.call("POST", path, {})
            if code in (201, 202, 400):  # 400: already running or already starting
                break
            if code == 429 and loop.time() < deadline:
                await asyncio.sleep(SPAWN_QUEUE_FULL_WAIT)
                continue
            raise HubApiError(f"start {username}: {code} {(data or {}).get('message', data)}")
        while loop.time() < deadline:
            user = await self.user(username)
            server = (user or {}).get("servers", {}).get("")
            if server and server.get("ready"):
                return True
            if user is None or (not server and not user.get("pending")):
                return False
            await asyncio.sleep(POLL_SECONDS)
        return False

    async def stop(self, username: str) -> None:
        code, data = await self.call("DELETE", f"/users/{quote(username, safe='')}/server")
        if code not in (202, 204, 400):  # 400: not running any more
            raise HubApiError(f"stop {username}: {code} {(data or {}).get('message', data)}")
