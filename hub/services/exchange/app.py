"""The exchange service process: settings from the hub, a tornado app under the service prefix."""

from __future__ import annotations

import logging
import os
from urllib.parse import urlparse

from jupyterhub.services.auth import HubAuth
from tornado import ioloop, web
from tornado.httpserver import HTTPServer

from graders.curriculum import load_courses
from graders.exchange.archive import Limits
from hub.directory.db import Directory, upgrade_schema
from hub.directory.models import Person
from hub.services import load_service_settings
from hub.services.exchange import handlers as h
from hub.services.exchange.access import AccessResolver
from hub.services.exchange.store import MIGRATIONS, ExchangeStore
from hub.settings import HubSettings

log = logging.getLogger("truongso.exchange")


class ExchangeApp:
    def __init__(self, settings: HubSettings, api_url: str, api_token: str) -> None:
        self.settings = settings
        self.directory = Directory(settings.db_url)
        upgrade_schema(self.directory.engine, MIGRATIONS)
        self.store = ExchangeStore(self.directory, settings.data_path / "exchange" / "blobs")
        self.courses = {c.id: c for c in load_courses()}
        self.limits = Limits()
        self.hub_auth = HubAuth(api_url=api_url, api_token=api_token, cache_max_age=60)
        self.access = AccessResolver(api_url, api_token, self.directory, set(self.courses))

    def full_names(self, usernames: list[str]) -> dict[str, str]:
        with self.directory.session() as s:
            rows = s.query(Person.username, Person.full_name).filter(Person.username.in_(set(usernames)))
            return dict(rows)

    def web_app(self, prefix: str) -> web.Application:
        api = prefix.rstrip("/") + "/api"
        part = r"([^/]+)"
        routes = [
            (rf"{api}/whoami", h.WhoAmIHandler),
            (rf"{api}/courses/{part}/assignments", h.AssignmentsHandler),
            (rf"{api}/courses/{part}/assignments/{part}", h.AssignmentHandler),
            (rf"{api}/courses/{part}/assignments/{part}/archive", h.ReleaseArchiveHandler),
            (rf"{api}/courses/{part}/assignments/{part}/submissions", h.SubmissionsHandler),
            (rf"{api}/courses/{part}/submissions", h.SubmissionsHandler),
            (rf"{api}/courses/{part}/assignments/{part}/deadlines/{part}", h.DeadlineHandler),
            (rf"{api}/submissions/([0-9a-f]{{1,32}})/archive", h.SubmissionArchiveHandler),
            (rf"{api}/submissions/([0-9a-f]{{1,32}})/feedback", h.FeedbackHandler),
        ]
        return web.Application([(pattern, handler, {"app": self}) for pattern, handler in routes])


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="[%(levelname)1.1s %(asctime)s exchange] %(message)s")
    settings = load_service_settings()
    app = ExchangeApp(settings, os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_API_TOKEN"])
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/exchange/")
    # Bodies above the archive limit still get a readable 413 from the handler, up to this hard stop.
    server = HTTPServer(app.web_app(prefix), max_body_size=app.limits.max_archive_bytes * 3, xheaders=True)
    server.listen(url.port, url.hostname)
    log.info("exchange listening on %s%s", url.geturl(), prefix)
    ioloop.IOLoop.current().start()
