"""The certificate service: its shared state (registry, keys, limiter) and the tornado application."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tornado import web
from tornado.httpserver import HTTPServer

from graders.certificates.config import CertificateSettings
from graders.certificates.credential import ensure_signing_key, public_key_pem
from graders.certificates.documents import issuer_profile, status_list_credential
from graders.certificates.models import utcnow
from graders.certificates.store import AlreadyRevoked, CertificateStore, NotFound, open_store
from graders.text import Text, UserError
from hub.services.base import ServiceEnvironment, run_service, service_application
from hub.services.bodylimit import BodyLimit, Limit
from hub.services.certificates import handlers as h
from hub.services.certificates.ratelimit import RateLimiter
from hub.services.metrics import watch_certificates

HERE = Path(__file__).parent
DEFAULT_PREFIX = "/services/certificates/"


@dataclass
class IssueOutcome:
    class_name: str
    dry_run: bool
    issued: list[tuple[str, str, str]] = field(default_factory=list)  # (serial, full name, verification code)
    eligible: int = 0
    certified: int = 0
    incomplete: list[tuple[str, str]] = field(default_factory=list)  # (full name, reasons)
    error: Text | None = None


class CertificateService:
    """Everything the handlers share; blocking methods run in hub.blocking's executor."""

    def __init__(
        self, settings: CertificateSettings, prefix: str = DEFAULT_PREFIX, store: CertificateStore | None = None
    ):
        self.settings = settings
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self.store = store or open_store(settings.db_url)
        self.key = ensure_signing_key(Path(settings.key_file))
        self.public_key = self.key.public_key()
        self.public_pem = public_key_pem(self.public_key)
        self.issuer_profile = issuer_profile(settings, self.public_key)
        self.limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
        self._status_cache: dict[int, tuple[Any, bytes]] = {}
        self._lock = threading.Lock()
        watch_certificates(self.store.counts_by_state)

    def status_list(self, year: int) -> bytes:
        """The signed status list of a year, re-signed only when a revocation changed it."""
        revoked, version = self.store.revoked_seqs(year)
        with self._lock:
            cached = self._status_cache.get(year)
            if cached and cached[0] == version:
                return cached[1]
        document = status_list_credential(self.settings, year, revoked, self.key, utcnow())
        body = json.dumps(document, ensure_ascii=False, indent=2).encode()
        with self._lock:
            self._status_cache[year] = (version, body)
        return body

    def admin_overview(self) -> tuple[list[Any], list[Any]]:
        from sqlalchemy import func, select

        from hub.directory.db import Directory
        from hub.directory.models import Enrolment, EnrolmentRole, SchoolClass

        directory = Directory(self.settings.db_url)
        try:
            with directory.session() as s:
                counts = dict(
                    s.execute(
                        select(Enrolment.class_name, func.count())
                        .where(Enrolment.role == EnrolmentRole.learner)
                        .group_by(Enrolment.class_name)
                    ).all()
                )
                classes = [
                    (c.name, c.title, c.course_id or "", c.year or "", counts.get(c.name, 0))
                    for c in s.scalars(select(SchoolClass).order_by(SchoolClass.name))
                ]
        finally:
            directory.dispose()
        recent = self.store.recent(50)
        return classes, recent

    def issue_for_class(self, class_name: str, decision: str, actor: str, dry_run: bool) -> IssueOutcome:
        from graders.certificates.issue import issue
        from hub.directory.db import Directory
        from hub.directory.models import SchoolClass

        outcome = IssueOutcome(class_name, dry_run)
        directory = Directory(self.settings.db_url)
        try:
            with directory.session() as s:
                cls = s.get(SchoolClass, class_name)
                course_id = cls.course_id if cls else None
        finally:
            directory.dispose()
        if cls is None or not course_id:
            outcome.error = Text(
                f"không có lớp {class_name!r} gắn với khoá học", f"no class {class_name!r} with a course"
            )
            return outcome
        try:
            result = issue(
                self.settings,
                self.store,
                course_id,
                decision=decision or None,
                actor=actor,
                class_name=class_name,
                dry_run=dry_run,
            )
        except UserError as exc:
            outcome.error = exc.text
            return outcome
        plan = result.plan
        outcome.eligible, outcome.certified = len(plan.eligible), len(plan.certified)
        outcome.issued = [(c.serial, c.full_name, c.verification_code) for c in result.issued]
        outcome.incomplete = [(lr.full_name, v.reasons_text()) for lr, v in plan.incomplete]
        return outcome

    def revoke(self, serial: str, reason: str, actor: str) -> Text | None:
        if not serial:
            return Text("số hiệu không hợp lệ", "invalid serial")
        if not reason or not reason.isprintable():
            return Text("cần lý do thu hồi", "a reason is required")
        try:
            self.store.revoke(serial, reason, actor)
        except NotFound:
            return Text(f"không có giấy chứng nhận {serial}", f"no certificate {serial}")
        except AlreadyRevoked:
            return Text(f"{serial} đã bị thu hồi trước đó", f"{serial} was already revoked")
        return None


def make_app(service: CertificateService) -> web.Application:
    from jupyterhub.services.auth import HubOAuthCallbackHandler

    return service_application(
        service,
        service.prefix,
        h.default_handlers,
        base_handler=h.BaseHandler,
        templates=HERE / "templates",
        extra=[("oauth_callback", HubOAuthCallbackHandler)],
        static_path=str(HERE / "static"),
        static_url_prefix=service.prefix + "static/",
    )


def build_server(env: ServiceEnvironment) -> HTTPServer:
    from hub.directory.learners import roster_for
    from hub.services import load_service_settings

    settings = CertificateSettings.from_hub(load_service_settings())
    settings.roster = roster_for(settings.db_url)  # the hub hands its learners down
    return make_server(CertificateService(settings, env.prefix))


def main() -> None:
    """Entry point of the hub-managed service (`python -m hub.services.certificates`)."""
    run_service("certificates", build_server)


def make_server(service: CertificateService) -> HTTPServer:
    """The service's HTTP server. Bodies announced over the limit are answered 413 before anything reads them
    (BodyLimit); the upload check streams and may take more, to answer its own 413 with the upload page;
    bodies without a length stop at max_body_size; slow senders are cut off."""
    settings = service.settings
    kb = settings.max_upload_bytes // 1024
    upload = Limit(h.DISCARD_LIMIT, f"Tệp quá lớn (tối đa {kb} KB).", f"File too large (at most {kb} KB).")
    guarded = BodyLimit(make_app(service), Limit(max_body_size(settings)), {service.prefix + "verify": upload})
    return HTTPServer(guarded, max_body_size=max_body_size(settings), body_timeout=60, idle_connection_timeout=120)


def max_body_size(settings: CertificateSettings) -> int:
    return settings.max_upload_bytes * 2 + 16 * 1024
