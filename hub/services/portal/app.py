"""The portal service process."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jinja2 import Environment, FileSystemLoader, select_autoescape
from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler
from tornado import ioloop, web
from tornado.httpserver import HTTPServer

from graders.coursedir import course_dir
from hub.directory.db import Directory, upgrade_schema
from hub.services import load_service_settings
from hub.services.bodylimit import BodyLimit, Limit
from hub.services.exchange.access import AccessResolver
from hub.services.exchange.store import SCHEMA_BRANCH, ExchangeStore
from hub.services.portal import handlers as h
from hub.services.portal.jobs import GradingJobs
from hub.settings import HubSettings

TEMPLATES = Path(__file__).with_name("templates")
MAX_BODY_BYTES = 64 * 1024  # largest request body the portal reads (its forms are tiny)


class PortalApp:
    def __init__(self, settings: HubSettings, api_url: str, api_token: str, prefix: str) -> None:
        self.settings = settings
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self.hub_prefix = settings.base_url + "hub/"
        self.services_prefix = settings.base_url + "services/"
        self.directory = Directory(settings.db_url)
        upgrade_schema(self.directory.engine, SCHEMA_BRANCH)  # the exchange's tables, in case it starts later
        blobs = settings.data_path / "exchange" / "blobs"
        self.store = ExchangeStore(self.directory, blobs, timezone=settings.timezone)
        self.courses = {c.id: c for c in settings.load_courses()}  # under the hub's courses_root
        # the singleton: HubOAuthCallbackHandler uses HubOAuth.instance(), and the PKCE state lives in it
        self.hub_auth = HubOAuth.instance(api_url=api_url, api_token=api_token, cache_max_age=60)
        self.access = AccessResolver(api_url, api_token, self.directory, set(self.courses))
        self.jobs = GradingJobs(_grade_assignment)
        # Sandboxes are named after the hub's Docker prefix, so a test's leftovers are its own to remove.
        from graders.autograde.sandbox import sandbox_name_prefix  # nbgrader's import: only when the portal starts

        self.grading_options: dict[str, Any] = {"name_prefix": sandbox_name_prefix(settings.docker_prefix)}
        self.templates = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
        self.templates.globals["when"] = lambda moment: h.views.when(moment, settings.timezone)

    def course_dir(self, course_id: str) -> Path:
        return course_dir(self.settings.data_path, course_id)

    def web_app(self) -> web.Application:
        p = self.prefix
        part = r"([^/]+)"
        routes = [
            (p, h.HomeHandler),
            (rf"{p}courses/{part}", h.CourseHandler),
            (rf"{p}courses/{part}/assignments/{part}/deadline", h.DeadlineHandler),
            (rf"{p}courses/{part}/assignments/{part}/grade", h.GradeHandler),
            (rf"{p}courses/{part}/assignments/{part}/report", h.ReportHandler),
            (rf"{p}jobs/([0-9a-f]+)", h.JobHandler),
        ]
        handlers: list[Any] = [(pattern, handler, {"app": self}) for pattern, handler in routes]
        handlers.append((rf"{p}oauth_callback", HubOAuthCallbackHandler))
        return web.Application(
            handlers,
            hub_auth=self.hub_auth,
            cookie_secret=secrets.token_bytes(32),  # only signs the OAuth state cookie of a login in progress
            xsrf_cookies=True,
            login_url=self.hub_auth.login_url,
        )


def make_server(application: web.Application) -> HTTPServer:
    """The portal's forms are a few hundred bytes and it takes no uploads. Tornado's default would read up to
    100 MiB per request into memory before any handler (and so any login check) runs: a body announced over
    MAX_BODY_BYTES is answered 413 from its headers (BodyLimit), one without a length stops there; slow
    senders are cut off."""
    return HTTPServer(
        BodyLimit(application, Limit(MAX_BODY_BYTES)),
        xheaders=True,
        max_body_size=MAX_BODY_BYTES,
        body_timeout=60,
        idle_connection_timeout=300,
    )


def _grade_assignment(*args: Any, **kwargs: Any) -> Any:
    from graders.autograde import grade_assignment

    return grade_assignment(*args, **kwargs)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="[%(levelname)1.1s %(asctime)s portal] %(message)s")
    settings = load_service_settings()
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/portal/")
    app = PortalApp(settings, os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_API_TOKEN"], prefix)
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    make_server(app.web_app()).listen(url.port, url.hostname)
    logging.getLogger("truongso.portal").info("portal listening on %s%s", url.geturl(), prefix)
    ioloop.IOLoop.current().start()
