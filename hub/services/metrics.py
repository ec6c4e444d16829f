"""Prometheus metrics of our hub services, at `<service prefix>metrics` (prometheus-client's text format).

Every service counts its answers (by method and status) and their durations; the portal adds its grading queue
and the outcomes of sandboxed grading, the certificates service the registry's counts. JupyterHub's own
`/hub/metrics` and these answer the same token: the `prometheus` service's (data/secrets/metrics_token), whose
role holds `read:metrics` (hub/configure.py). Any other token or none: 403. Whose token it is comes from the hub.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jupyterhub.services.auth import HubAuth
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
from tornado import web

from graders.text import BilingualError
from hub.services.base import ServiceHandler

SCOPE = "read:metrics"
REQUESTS = Counter("truongso_http_requests", "HTTP requests answered", ["service", "method", "code"])
DURATION = Histogram("truongso_http_request_duration_seconds", "Time to answer an HTTP request", ["service"])
SANDBOX_OUTCOMES = Counter(
    "truongso_sandbox_submissions", "Submissions autograded in sandboxes, by outcome", ["outcome"]
)  # graded | flagged | failed
GRADING_JOBS = Gauge("truongso_grading_jobs_running", "Autograding batches running now")
CERTIFICATES = Gauge("truongso_certificates", "Certificates in the registry, by state", ["state"])


def observe(handler: web.RequestHandler) -> None:
    """Count one answer (called from the services' log function)."""
    service = handler.settings.get("service_name", "unknown")
    REQUESTS.labels(service, handler.request.method or "", str(handler.get_status())).inc()
    DURATION.labels(service).observe(handler.request.request_time())


def count_outcomes(graded: int, flagged: int, failed: int) -> None:
    for outcome, number in (("graded", graded), ("flagged", flagged), ("failed", failed)):
        if number:
            SANDBOX_OUTCOMES.labels(outcome).inc(number)


def watch_grading_jobs(running: Callable[[], int]) -> None:
    GRADING_JOBS.set_function(running)


def watch_certificates(counts: Callable[[], dict[str, int]]) -> None:
    """`counts()` (valid / revoked) is read at each scrape, so the figures survive a restart."""
    for state in ("valid", "revoked"):
        CERTIFICATES.labels(state).set_function(lambda state=state: counts().get(state, 0))


_hub_auth: HubAuth | None = None


def _default_hub_auth() -> HubAuth:
    """A service without a HubAuth of its own asks the hub with the token JupyterHub gave it (environment)."""
    global _hub_auth
    if _hub_auth is None:
        _hub_auth = HubAuth(cache_max_age=60)
    return _hub_auth


class MetricsHandler(ServiceHandler):
    api = True

    def get_current_user(self) -> None:
        return None  # a scraper has a token, not a login

    async def get(self) -> None:
        kind, _, token = self.request.headers.get("Authorization", "").partition(" ")
        if kind.lower() not in ("token", "bearer") or not token.strip() or not await self._may_read(token.strip()):
            raise BilingualError(
                "cần mã truy cập có quyền read:metrics", "a token with the read:metrics scope is needed", 403
            )
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest(REGISTRY))

    async def _may_read(self, token: str) -> bool:
        auth: Any = getattr(self.app, "hub_auth", None) or self.settings.get("hub_auth") or _default_hub_auth()
        try:
            model = await auth.user_for_token(token, sync=False)
        except Exception:  # the hub down or the token refused: no metrics, no detail
            return False
        return bool(model) and SCOPE in model.get("scopes", [])
