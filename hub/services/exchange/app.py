"""The exchange service process: settings from the hub, a tornado app under the service prefix."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from jupyterhub.services.auth import HubAuth
from tornado import web
from tornado.httpserver import HTTPServer

from graders.exchange.archive import Limits
from hub.coursework.access import AccessResolver
from hub.coursework.store import ExchangeStore, SubmitPolicy
from hub.directory.db import Directory
from hub.directory.models import Person
from hub.services import load_service_settings
from hub.services.base import run_service, service_application
from hub.services.exchange import handlers as h
from hub.settings import HubSettings

# Archive checks that may run at once: each holds up to one file's content (20 MB) and its parsed notebook,
# and the machine has two cores. Others wait their turn; the event loop keeps answering meanwhile.
ARCHIVE_CHECKS = 2
# Until prepare() has authenticated the caller, no request may send more than this (handlers.SMALL_BODY).
UNAUTHENTICATED_BODY = h.SMALL_BODY
# A 25 MB upload over a slow provincial link (30 KB/s) takes about 14 minutes.
BODY_TIMEOUT_SECONDS = 15 * 60


class KeyedLocks:
    """One asyncio lock per key (a learner), forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            yield


class ExchangeApp:
    def __init__(self, settings: HubSettings, api_url: str, api_token: str) -> None:
        self.settings = settings
        self.directory = Directory(settings.db_url)
        self.store = ExchangeStore.of_hub(self.directory, settings)
        self.incoming_dir: Path = settings.data_path / "exchange" / "incoming"  # uploads being received
        self.incoming_dir.mkdir(parents=True, exist_ok=True)
        self.courses = {c.id: c for c in settings.load_courses()}  # under the hub's courses_root
        self.limits = Limits()
        self.archive_checks = asyncio.Semaphore(ARCHIVE_CHECKS)
        self.learner_locks = KeyedLocks()
        self.hub_auth = HubAuth(api_url=api_url, api_token=api_token, cache_max_age=60)
        self.access = AccessResolver(api_url, api_token, self.directory, set(self.courses))

    def submit_policy(self, close_after: timedelta | None) -> SubmitPolicy:
        """The course's closing rule with the hub's storage and rate limits (0 in the settings: none)."""
        quota_mb = self.settings.exchange_quota_mb
        per_hour = self.settings.exchange_attempts_per_hour
        return SubmitPolicy(
            close_after=close_after,
            max_bytes_per_learner=quota_mb * 1024 * 1024 if quota_mb else None,
            max_attempts_per_hour=per_hour or None,
        )

    def full_names(self, usernames: list[str]) -> dict[str, str]:
        with self.directory.session() as s:
            rows = s.query(Person.username, Person.full_name).filter(Person.username.in_(set(usernames)))
            return dict(rows)

    def web_app(self, prefix: str) -> web.Application:
        return service_application(self, prefix, h.default_handlers, base_handler=h.ApiHandler)


def make_server(app: ExchangeApp, prefix: str) -> HTTPServer:
    """Every handler streams its body and raises this limit only after authenticating the caller, and only on
    the upload routes (handlers.ApiHandler.prepare); anything else never gets to send more than this."""
    return HTTPServer(
        app.web_app(prefix), max_body_size=UNAUTHENTICATED_BODY, body_timeout=BODY_TIMEOUT_SECONDS, xheaders=True
    )


def main() -> None:
    run_service(
        "exchange",
        lambda env: make_server(ExchangeApp(load_service_settings(), env.api_url, env.api_token), env.prefix),
    )
