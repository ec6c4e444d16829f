"""The portal service in-process on a loopback port, against a stub hub (tests/support/hub_stubs.py), and a
client that calls it as a logged-in browser (the service's signed OAuth cookie) or as a script (an API token).
Shared by the portal, dashboard and console tests."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from tornado.web import create_signed_value

from support.hub_stubs import FakeHub, StubAccessResolver, StubHubOAuth, close_auth, serve, stub_auth

PREFIX = "/services/portal/"
SCOPE = "access:services!service=portal"
CLIENT_ID = "service-portal"
API_URL = "http://127.0.0.1:1/hub/api"
SERVICE_TOKEN = "portal-service-token"


def utf8(r: requests.Response) -> requests.Response:
    r.encoding = "utf-8"
    return r


def xsrf_of(opened: requests.Response) -> str | None:
    found = re.search(r'name="_xsrf" value="([^"]+)"', opened.text)
    return html.unescape(found.group(1)) if found else None


@dataclass
class PortalClient:
    url: str  # http://127.0.0.1:<port>/services/portal/
    app: Any  # hub.services.portal.app.PortalApp
    cookie_secret: bytes
    hub: FakeHub
    tokens: dict[str, str]
    timeout: float = 30

    def browser(self, who: str | None) -> requests.Session:
        """A browser after the hub's OAuth login: the service's signed cookie holding the person's token."""
        session = requests.Session()
        if who is not None:
            signed = create_signed_value(self.cookie_secret, CLIENT_ID, self.tokens[who]).decode()
            session.cookies.set(CLIENT_ID, signed)
        return session

    def get(self, who: str | None, path: str = "", **kw: Any) -> requests.Response:
        return utf8(self.browser(who).get(self.url + path, timeout=self.timeout, allow_redirects=False, **kw))

    def post_form(self, who: str, path: str, form: dict[str, str], xsrf_from: str) -> requests.Response:
        """As a browser: open the page with the form (its XSRF token is bound to this login), then send it."""
        browser = self.browser(who)
        opened = utf8(browser.get(self.url + xsrf_from, timeout=self.timeout, allow_redirects=False))
        assert opened.status_code == 200, (opened.status_code, opened.text[:300])
        token = xsrf_of(opened)
        assert token, "the page's forms carry the XSRF token of its login"
        data = {**form, "_xsrf": token}
        return utf8(browser.post(self.url + path, data=data, timeout=self.timeout, allow_redirects=False))

    def post_with_token(self, who: str, path: str, form: dict[str, str], method: str = "POST") -> requests.Response:
        """As a script with the person's API token (JupyterHub skips XSRF for tokens): only the rules refuse."""
        headers = {"Authorization": f"token {self.tokens[who]}"}
        return utf8(requests.request(method, self.url + path, data=form, headers=headers, timeout=self.timeout,
                                     allow_redirects=False))  # fmt: skip


@contextmanager
def running_portal(
    data_dir: Path,
    hub: FakeHub,
    tokens: dict[str, str],
    settings: dict[str, Any] | None = None,
    grade: Callable[..., Any] | None = None,
    prepare: Callable[[Any], None] | None = None,
    client: type[PortalClient] = PortalClient,
    hub_settings: Any = None,
    **access: Any,
) -> Iterator[Any]:
    """A PortalApp on `data_dir` (its directory already made by the caller) with `settings` over the defaults, or
    `hub_settings` as they are; the stub hub's OAuth and access resolver in place of the hub's, `grade` in place of
    the Docker autograder; `prepare(app)` runs before it serves. `access` goes to the access resolver (ttl=0:
    every request asks the hub again)."""
    from hub.services.portal import app as portal_app
    from hub.services.portal.jobs import GradingJobs
    from hub.settings import HubSettings

    # PortalApp takes HubOAuth.instance(): a fresh stub instead of the process-wide singleton, with what the hub
    # gives a service in its environment (client id, prefix, callback, required scope).
    def instance(**traits: Any) -> StubHubOAuth:
        return stub_auth(StubHubOAuth, hub, **traits, oauth_client_id=CLIENT_ID, base_url=PREFIX, hub_prefix="/hub/",
                         oauth_redirect_uri=PREFIX + "oauth_callback", access_scopes={SCOPE})  # fmt: skip

    db_url = f"sqlite:///{data_dir / 'truongso.sqlite'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(portal_app, "HubOAuth", SimpleNamespace(instance=instance))
        if hub_settings is None:
            hub_settings = HubSettings.create({"data_dir": str(data_dir), "db_url": db_url, **(settings or {})}, "test")
        app = portal_app.PortalApp(hub_settings, API_URL, SERVICE_TOKEN, PREFIX)
    app.access = StubAccessResolver(hub, API_URL, SERVICE_TOKEN, app.directory, set(app.courses), **access)
    if grade is not None:
        app.jobs = GradingJobs(grade)
    if prepare is not None:
        prepare(app)
    application = app.web_app()
    try:
        with serve(lambda: portal_app.make_server(application)) as port:
            secret = application.settings["cookie_secret"]
            yield client(f"http://127.0.0.1:{port}{PREFIX}", app, secret, hub, tokens)
    finally:
        close_auth(app.hub_auth)
        app.directory.dispose()


def fake_grade(course_dir: Path, assignment_id: str, progress: Any = None, **options: Any) -> Any:
    """Stands in for graders.autograde.grade_assignment (a Docker sandbox per notebook)."""
    if progress:
        progress(1, 1, None)
    return SimpleNamespace(graded=1, flagged=0, failed=0)
