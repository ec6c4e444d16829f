"""The one skeleton of our hub services: one base handler, one application shape, one way to start.

Each service package has `handlers.py` with a `default_handlers` list of (path under the service's prefix,
handler class) and `app.py` with its shared state (the object handlers reach as `self.app`) and a `main()`
that calls `run_service`. What every service gets here, so none of them writes it again:
- security headers on every answer (a page's Content-Security-Policy is the handler's `csp`);
- Jinja2 pages (`render`), the service's `templates/` folder, autoescaped;
- one bilingual `write_error`: JSON for API handlers and clients that ask for it, the service's
  `error.html` otherwise, a `BilingualError`'s own status and both languages (hub/services/errors.py);
- a bilingual 404 for every path no handler takes; access-log lines through `_request_summary`;
- Prometheus metrics at `<prefix>metrics` and every answer counted in them (hub/services/metrics.py).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.log import access_log

from graders.text import BilingualError
from hub.services.errors import BilingualErrors, error_text

# Pages load nothing from elsewhere, run no script, are never framed.
STRICT_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; " \
             "base-uri 'none'"  # fmt: skip


class ServiceHandler(BilingualErrors):
    """Base of every handler of every service."""

    csp = STRICT_CSP
    referrer_policy = "no-referrer"
    api = False  # True: a JSON API (errors as JSON); False: pages (errors as the service's error.html)

    @property
    def app(self) -> Any:
        """The service's shared state (its `app.py` object), set once on the tornado application."""
        return self.settings["service"]

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy", self.csp)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", self.referrer_policy)
        self.set_header("Cache-Control", "no-store")  # every answer is someone's own or changes with the registry
        forwarded = self.request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip()
        if "https" in (self.request.protocol, forwarded):  # the hub's proxy ended TLS (it says so, last)
            self.set_header("Strict-Transport-Security", "max-age=31536000")

    # -- pages ------------------------------------------------------------------------------------

    def template_namespace(self) -> dict[str, Any]:
        """What every page of the service may use; handlers add their own values in `render`."""
        return {
            "xsrf_form_html": lambda: Markup(self.xsrf_form_html()),
            "static_url": self.static_url if self.settings.get("static_path") else None,
            "request": self.request,
        }

    def render(self, template_name: str, **values: Any) -> None:  # type: ignore[override]
        """A Jinja2 page of the service's templates/ (tornado's own template engine is not used)."""
        templates: Environment = self.settings["jinja2"]
        self.finish(templates.get_template(template_name).render({**self.template_namespace(), **values}))

    # -- errors -----------------------------------------------------------------------------------

    def wants_json(self) -> bool:
        if self.api:
            return True
        path = self.request.path or ""
        accept = self.request.headers.get("Accept", "")
        return path.endswith(".json") or "/api/" in path or self.get_argument("format", "") == "json" or \
            "application/json" in accept  # fmt: skip

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        text = error_text(status_code, kwargs, self._reason)
        if self.wants_json():
            body = {"status": status_code, "vi": text.vi, "en": text.en, "message": str(text), "error": str(text)}
            self.set_header("Content-Type", "application/json; charset=UTF-8")
            self.finish(json.dumps(body, ensure_ascii=False))
            return
        # user=None: who is calling may be what failed (the hub unreachable); an error page does not ask again
        self.render("error.html", status=status_code, vi=text.vi, en=text.en, message=str(text), retry=None, user=None)


class NotFoundHandler(ServiceHandler):
    """Every path no handler takes (service_application mixes it into the service's own base handler, so the
    answer has the service's page, JSON shape and log line; a path's secrets stay out of the log)."""

    def get_current_user(self) -> None:
        return None  # an unknown path asks the hub nothing

    def prepare(self) -> None:
        raise BilingualError("không có trang này", "no such page", 404)


def log_request(handler: web.RequestHandler) -> None:
    """Tornado's access-log line, through the handler's `_request_summary` (a service may leave secrets out)."""
    from hub.services.metrics import observe

    observe(handler)
    status = handler.get_status()
    log = access_log.info if status < 400 else access_log.warning if status < 500 else access_log.error
    log("%d %s %.2fms", status, handler._request_summary(), 1000.0 * handler.request.request_time())


def service_application(
    service: Any,
    prefix: str,
    handlers: Sequence[tuple[str, type[web.RequestHandler]]],
    templates: Path | None = None,
    extra: Sequence[tuple[str, type[web.RequestHandler]]] = (),
    template_globals: Mapping[str, Any] | None = None,
    base_handler: type[ServiceHandler] = ServiceHandler,
    **settings: Any,
) -> web.Application:
    """The tornado application of a service: `handlers` (paths under `prefix`, e.g. its `default_handlers`)
    and `extra` ones (JupyterHub's OAuth callback), every handler reaching `service` as `self.app`; unknown
    paths get a 404 from `base_handler` (the service's own base: its error page, its log line)."""
    from hub.services.metrics import MetricsHandler

    prefix = prefix if prefix.endswith("/") else prefix + "/"
    metrics = ("metrics", MetricsHandler)  # every service: Prometheus's scrape (hub/services/metrics.py)
    routes = [(prefix + path, handler) for path, handler in (*handlers, *extra, metrics)]
    jinja2 = None
    if templates is not None:
        jinja2 = Environment(loader=FileSystemLoader(templates), autoescape=select_autoescape(["html"]))
        jinja2.globals.update(template_globals or {})
    return web.Application(
        routes,
        service=service,
        jinja2=jinja2,
        cookie_secret=secrets.token_bytes(32),  # only signs the OAuth state cookie of a login in progress
        xsrf_cookies=True,
        default_handler_class=type(f"{base_handler.__name__}NotFound", (NotFoundHandler, base_handler), {})
        if base_handler is not ServiceHandler
        else NotFoundHandler,
        log_function=log_request,
        service_name=prefix.rstrip("/").rsplit("/", 1)[-1],
        **settings,
    )


@dataclass(frozen=True)
class ServiceEnvironment:
    """What JupyterHub tells a service it starts (its documented JUPYTERHUB_* variables)."""

    api_url: str
    api_token: str
    prefix: str
    host: str
    port: int

    @classmethod
    def from_environ(cls, name: str) -> ServiceEnvironment:
        url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
        return cls(
            api_url=os.environ["JUPYTERHUB_API_URL"],
            api_token=os.environ["JUPYTERHUB_API_TOKEN"],
            prefix=os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{name}/"),
            host=url.hostname or "127.0.0.1",
            port=url.port or 80,
        )


def run_service(name: str, build: Callable[[ServiceEnvironment], HTTPServer]) -> None:
    """Start a hub-managed service: log lines tagged with its name, its server on the port the hub gave it."""
    logging.basicConfig(level=logging.INFO, format=f"[%(levelname)1.1s %(asctime)s {name}] %(message)s")
    from hub.logs import log_to_file

    log_to_file(name)
    env = ServiceEnvironment.from_environ(name)
    build(env).listen(env.port, env.host)
    log = logging.getLogger(f"truongso.{name}")
    log.info("%s listening on %s:%d%s", name, env.host, env.port, env.prefix)
    try:
        IOLoop.current().start()
    except KeyboardInterrupt:  # the hub stops its services with SIGINT: an ordinary end, not a traceback in the log
        log.info("%s stopped", name)
