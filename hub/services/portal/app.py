"""The portal service process."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler
from tornado import web
from tornado.httpserver import HTTPServer

from graders.coursedir import course_dir, sandbox_name_prefix
from hub.coursework.access import AccessResolver
from hub.coursework.store import ExchangeStore
from hub.directory.db import Directory
from hub.services import load_service_settings
from hub.services.base import ServiceEnvironment, run_service, service_application
from hub.services.bodylimit import BodyLimit, Limit
from hub.services.portal import handlers as h
from hub.services.portal.enrolment import UPLOAD_BODY_BYTES
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
        self.store = ExchangeStore.of_hub(self.directory, settings)
        self.courses = {c.id: c for c in settings.load_courses()}  # under the hub's courses_root
        # the singleton: HubOAuthCallbackHandler uses HubOAuth.instance(), and the PKCE state lives in it
        self.hub_auth = HubOAuth.instance(api_url=api_url, api_token=api_token, cache_max_age=60)
        self.access = AccessResolver(api_url, api_token, self.directory, set(self.courses))
        self.jobs = GradingJobs(_grade_assignment, courses_root=settings.courses_path)
        # Sandboxes are named after the hub's Docker prefix, so a test's leftovers are its own to remove.
        self.grading_options: dict[str, Any] = {"name_prefix": sandbox_name_prefix(settings.docker_prefix)}

    def course_dir(self, course_id: str) -> Path:
        return course_dir(self.settings.data_path, course_id)

    def web_app(self) -> web.Application:
        return service_application(
            self,
            self.prefix,
            [*h.default_handlers, *h.console_handlers()],
            base_handler=h.PortalHandler,
            templates=TEMPLATES,
            extra=[("oauth_callback", HubOAuthCallbackHandler)],
            template_globals={"when": lambda moment: h.views.when(moment, self.settings.timezone)},
            hub_auth=self.hub_auth,
            login_url=self.hub_auth.login_url,
        )


def make_server(application: web.Application) -> HTTPServer:
    """The portal's forms are a few hundred bytes; its one upload is the enrolment roster. Tornado's default
    would read up to 100 MiB per request into memory before any handler (and so any login check) runs: a body
    announced over MAX_BODY_BYTES is answered 413 from its headers (BodyLimit), one without a length stops
    there; slow senders are cut off."""
    # The one exception: the enrolment upload (a roster of up to 20 MB) takes more, announced in its headers;
    # its handler streams the body, and raises the server's limit for that request only once an admin is calling.
    upload = {application.settings["service"].prefix + "admin/enrol": Limit(UPLOAD_BODY_BYTES)}
    return HTTPServer(
        BodyLimit(application, Limit(MAX_BODY_BYTES), upload),
        xheaders=True,
        max_body_size=MAX_BODY_BYTES,
        body_timeout=60,
        idle_connection_timeout=300,
    )


def _grade_assignment(*args: Any, **kwargs: Any) -> Any:
    from graders.autograde import grade_assignment

    return grade_assignment(*args, **kwargs)


def _warm_reports(portal: PortalApp) -> None:
    """Read the gradebooks and draw this year's report once, off the request path: the first admin to open the
    reports page after a restart then waits under a second, not three (benchmarks/report_page.py)."""
    from hub.reports.report_charts import warm

    try:
        warm(portal.directory, portal.settings)
    except Exception:  # a warm-up is an optimisation; the page itself reports what is wrong
        logging.getLogger("portal").exception("report warm-up failed; the first report page will be slower")


def main() -> None:
    def build(env: ServiceEnvironment) -> HTTPServer:
        portal = PortalApp(load_service_settings(), env.api_url, env.api_token, env.prefix)
        threading.Thread(target=_warm_reports, args=(portal,), name="report-warm-up", daemon=True).start()
        return make_server(portal.web_app())

    run_service("portal", build)
