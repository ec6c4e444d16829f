"""Pages and API of the certificate service.

Public (no login, rate-limited): the verification page of a serial, the upload check of a credential
file, the issuer profile with the public key, the yearly revocation status lists. They show what the
certificate itself shows and nothing more (no username, e-mail, scores), and they show it only to whoever
holds the certificate's verification code (graders/certificates/codes.py): serials are sequential, so a
serial alone says only whether that number is registered, in force or revoked.
Logged in through the hub (HubOAuth; who is calling comes only from the hub): a learner's own certificates,
and for hub admins (user model `admin: true`) issuing per class and revoking, as POST forms with XSRF.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from jupyterhub.services.auth import HubOAuthenticated
from tornado import web
from tornado.httputil import parse_body_arguments

from graders.certificates.codes import codes_match, format_code, normalize_code, parse_reference
from graders.certificates.credential import CredentialError, parse_json_upload, verify
from graders.certificates.store import parse_serial
from graders.text import BilingualError
from hub.blocking import run_blocking
from hub.services.base import ServiceHandler
from hub.services.certificates.ratelimit import client_key
from hub.services.xsrf import SessionXsrfMixin


def local_stamp(value: datetime | None, tz: str) -> str:
    from zoneinfo import ZoneInfo

    if value is None:
        return ""
    if value.tzinfo is None:  # SQLite gives back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(tz)).strftime("%d/%m/%Y %H:%M")


def code_on_paper(cert: Any) -> bool:
    """Was the code printed on this certificate? Not on those issued before codes existed (migration c0002)."""
    return '"verificationCode"' in cert.credential


def public_view(cert: Any, tz: str) -> dict[str, Any]:
    """What the verification page shows to whoever has the code (or the signed file): exactly what is printed
    on the certificate, plus its status."""
    return {
        "serial": cert.serial,
        "status": cert.status,
        "fullName": cert.full_name,
        "organisation": cert.organisation,
        "courseTitle": {"vi": cert.course_title_vi, "en": cert.course_title_en},
        "hours": f"{cert.hours:g}",
        "className": cert.class_name or "",
        "completedOn": cert.completed_on.strftime("%d/%m/%Y") if cert.completed_on else "",
        "issuedOn": cert.issued_on.strftime("%d/%m/%Y"),
        "decision": cert.decision,
        "revokedAt": local_stamp(cert.revoked_at, tz),
        "revokedReason": cert.revoked_reason or "",
    }


CODE_IN_URI = re.compile(r"(/verify/[^/?#]+/)[^?#]+|([?&]code=)[^&#]*")


class BaseHandler(ServiceHandler):
    def _request_summary(self) -> str:
        # Tornado writes this into the access log and into warnings about errors. A verification code in a
        # log is a certificate's contents for whoever reads the log, so it is left out.
        uri = CODE_IN_URI.sub(lambda m: (m.group(1) or m.group(2)) + "…", self.request.uri or "")
        return f"{self.request.method} {uri} ({self.request.remote_ip})"

    def template_namespace(self) -> dict[str, Any]:
        return {
            **super().template_namespace(),
            "cfg": self.app.settings,
            "prefix": self.app.prefix,
            "user": None,
            "is_admin": False,
            "verify_path": self.verify_path,
            "format_code": format_code,
        }

    def verify_path(self, serial: str, code: str | None) -> str:
        """Link to a certificate's full page (its code included) for its holder and admins."""
        return f"{self.app.prefix}verify/{serial}/{code}" if code else f"{self.app.prefix}verify/{serial}"


class PublicHandler(BaseHandler):
    """Rate-limited per client address; a clear 429 page with Retry-After past the limit."""

    def prepare(self) -> None:
        key = client_key(
            self.request.remote_ip or "",
            self.request.headers.get("X-Forwarded-For"),
            self.app.settings.trusted_proxy_hops,
        )
        allowed, wait = self.app.limiter.allow(key)
        if not allowed:
            self.set_status(429)
            self.set_header("Retry-After", str(max(1, round(wait + 0.5))))
            if self.wants_json():
                self.finish({"status": 429, "error": "too many requests", "retryAfter": round(wait, 1)})
            else:
                self.render("error.html", status=429, vi="", en="", retry=max(1, round(wait + 0.5)))

    def check_xsrf_cookie(self) -> None:
        # The public check changes nothing and knows no one: no session to forge a request for.
        return None


class HomeHandler(PublicHandler):
    def get(self) -> None:
        self.render("home.html", query="", bad_query=False)


DISCARD_LIMIT = 64 * 1024 * 1024  # bodies up to this are read and thrown away, to answer a clean 413


@web.stream_request_body
class LookupHandler(PublicHandler):
    """GET ?q=<serial or URL> → the serial's page; POST a credential file → signature and status.

    The body is streamed: past the upload limit it is counted, not kept, and the answer is a 413 page
    (closing the connection mid-upload instead would reach the browser as a proxy error)."""

    def prepare(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        super().prepare()
        if self.request.method == "POST" and not self._finished:
            # Longer announced bodies never get here: the server's BodyLimit answers them (app.make_server).
            self.request.connection.set_max_body_size(DISCARD_LIMIT)

    def _too_large(self, result: dict[str, Any]) -> dict[str, Any]:
        kb = self.app.settings.max_upload_bytes // 1024
        return {**result, "vi": f"tệp quá lớn (tối đa {kb} KB)", "en": f"file too large (at most {kb} KB)"}

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size <= self._keep_limit:
            self._chunks.append(chunk)
        else:
            self._chunks = []

    @property
    def _keep_limit(self) -> int:
        return self.app.settings.max_upload_bytes * 2 + 16 * 1024  # room for the multipart envelope

    def get(self) -> None:
        query = self.get_argument("q", "")[:300]
        serial, code_in_query = parse_reference(query)  # a serial, "serial code", or the QR code's address
        if serial is None:
            self.set_status(400)
            self.render("home.html", query=query, bad_query=True)
            return
        raw_code = self.get_argument("code", "")[:40].strip() or code_in_query
        if not raw_code:
            self.redirect(f"{self.app.prefix}verify/{serial}")
            return
        # A code that cannot be one still goes to the page that says it does not match (never echoed raw).
        code = normalize_code(raw_code) or (re.sub(r"[^0-9A-Za-z]", "", raw_code)[:20] or "0")
        self.redirect(f"{self.app.prefix}verify/{serial}/{code}")

    async def post(self) -> None:
        result: dict[str, Any] = {"ok": False}
        limit = self.app.settings.max_upload_bytes
        self.request.body = b"" if self._size > self._keep_limit else b"".join(self._chunks)
        body = self._credential_bytes()
        if self._size > self._keep_limit or len(body) > limit:
            self.set_status(413)
            self._answer(self._too_large(result))
            return
        try:
            document = parse_json_upload(body, self.app.settings.max_upload_bytes)
        except CredentialError as exc:
            self.set_status(400)
            result.update(vi=exc.vi, en=exc.en)
            self._answer(result)
            return
        check = verify(document, self.app.public_key)
        result.update(ok=check.ok, vi=check.vi, en=check.en)
        if not check.ok:
            self.set_status(422)
            self._answer(result)
            return
        claimed = document.get("certificate", {}) if isinstance(document.get("certificate"), dict) else {}
        serial = parse_serial(str(claimed.get("serial", "")))
        cert = await run_blocking(self.app.store.get, serial) if serial else None
        result["certificate"] = public_view(cert, self.app.settings.timezone) if cert else None
        result["registered"] = cert is not None
        self._answer(result)

    def _credential_bytes(self) -> bytes:
        """The upload, as a form file field `credential`, a form text field, or a raw JSON body."""
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            args: dict[str, list[bytes]] = {}
            files: dict[str, list[Any]] = {}
            parse_body_arguments(content_type, self.request.body, args, files)
            if files.get("credential"):
                return files["credential"][0]["body"]
            return (args.get("credential_text") or [b""])[0]
        return self.request.body

    def _answer(self, result: dict[str, Any]) -> None:
        if self.wants_json() or not self.request.headers.get("Content-Type", "").startswith(
            ("multipart/form-data", "application/x-www-form-urlencoded")
        ):
            self.finish(result)
        else:
            self.render("upload_result.html", result=result)


class VerifyHandler(PublicHandler):
    """`verify/<serial>`: whether the number is registered, in force or revoked, and nothing about the holder
    (anyone can count through serials); `verify/<serial>/<code>`: the certificate as printed, for whoever has
    the paper, its QR code or its full address. A wrong code gets a page that says so, never a green badge
    that a forged paper carrying a real serial could borrow."""

    async def get(self, raw: str, raw_code: str | None = None) -> None:
        serial = parse_serial(raw)
        if serial is None or serial != raw:
            self.set_status(400)
            self._show(None, raw[:60], "malformed")
            return
        cert = await run_blocking(self.app.store.get, serial)
        if cert is None:
            self.set_status(404)
            self._show(None, serial, "unknown")
        elif raw_code is None:
            self._show(cert, serial, "needs-code")
        elif codes_match(raw_code, cert.verification_code):
            self._show(cert, serial, "shown")
        else:
            self.set_status(404)
            self._show(cert, serial, "wrong-code")

    def _show(self, cert: Any, serial: str, state: str) -> None:
        view = public_view(cert, self.app.settings.timezone) if state == "shown" else None
        status = cert.status if cert is not None else "unknown"
        if self.wants_json():
            body: dict[str, Any] = {"serial": serial, "status": status, "certificate": view}
            if cert is not None:
                body["codeRequired"] = state != "shown"
                if state == "wrong-code":
                    body["codeMatches"] = False
            self.finish(body)
            return
        paper = code_on_paper(cert) if cert is not None else True
        self.render("verify.html", serial=serial, status=status, view=view, state=state, code_on_paper=paper)


class IssuerHandler(PublicHandler):
    def get(self, pem: str | None = None) -> None:
        self.set_header("Cache-Control", "public, max-age=300")
        if pem:
            self.set_header("Content-Type", "application/x-pem-file")
            self.finish(self.app.public_pem)
            return
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(self.app.issuer_profile, ensure_ascii=False, indent=2))


class StatusListHandler(PublicHandler):
    async def get(self, year: str) -> None:
        body = await run_blocking(self.app.status_list, int(year))
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "public, max-age=60")
        self.finish(body)


class AuthHandler(SessionXsrfMixin, HubOAuthenticated, BaseHandler):  # XSRF bound to the hub session
    """Identity from the hub only (OAuth cookie or token), never from a parameter."""

    @property
    def username(self) -> str:
        return self.current_user["name"]

    @property
    def is_admin(self) -> bool:
        return bool(self.current_user and self.current_user.get("admin"))

    def template_namespace(self) -> dict[str, Any]:
        return {**super().template_namespace(), "user": self.current_user, "is_admin": self.is_admin}

    def require_admin(self) -> None:
        if not self.is_admin:
            raise BilingualError("chỉ quản trị viên", "administrators only", 403)


class MineHandler(AuthHandler):
    @web.authenticated
    async def get(self) -> None:
        certs = await run_blocking(self.app.store.for_user, self.username)
        self.render("mine.html", certs=certs, tz=self.app.settings.timezone)


class DownloadHandler(AuthHandler):
    @web.authenticated
    async def get(self, serial: str, kind: str) -> None:
        cert = await run_blocking(self.app.store.get, serial)
        if cert is None:
            raise BilingualError("không có giấy chứng nhận này", "no such certificate", 404)
        if cert.username != self.username and not self.is_admin:
            raise BilingualError("không phải giấy chứng nhận của bạn", "not your certificate", 403)
        if cert.revoked_at is not None and not self.is_admin:
            # a revoked certificate must not be printed again; its verification page stays public
            raise BilingualError("giấy chứng nhận đã bị thu hồi", "this certificate was revoked", 410)
        if kind == "json":
            from graders.certificates.outputs import credential_file_bytes

            data, mime = credential_file_bytes(cert.credential), "application/json"
        else:
            from graders.certificates.outputs import ensure_pdf

            path = await run_blocking(ensure_pdf, self.app.settings, cert)
            data, mime = path.read_bytes(), "application/pdf"
        self.set_header("Content-Type", mime)
        self.set_header("Content-Disposition", f'attachment; filename="{cert.serial}.{kind}"')
        self.finish(data)


class ApiListHandler(AuthHandler):
    """GET: the caller's certificates; ?user=NAME: someone else's, admins only (403 otherwise)."""

    @web.authenticated
    async def get(self) -> None:
        who = self.get_argument("user", self.username)
        if who != self.username:
            self.require_admin()
        certs = await run_blocking(self.app.store.for_user, who)
        tz, settings = self.app.settings.timezone, self.app.settings
        # the holder (or an admin) gets the full address to share, code included
        listing = [
            {**public_view(c, tz), "verifyUrl": settings.verify_url(c.serial, c.verification_code)} for c in certs
        ]
        self.finish({"user": who, "certificates": listing})


class AdminHandler(AuthHandler):
    @web.authenticated
    async def get(self) -> None:
        self.require_admin()
        classes, recent = await run_blocking(self.app.admin_overview)
        self.render("admin.html", classes=classes, recent=recent, result=None, error=None)


class AdminIssueHandler(AuthHandler):
    @web.authenticated
    async def post(self) -> None:
        self.require_admin()
        class_name = self.get_body_argument("class_name", "")[:64]
        decision = self.get_body_argument("decision", "")[:200]
        dry_run = self.get_body_argument("dry_run", "") == "1"
        outcome = await run_blocking(self.app.issue_for_class, class_name, decision, self.username, dry_run)
        classes, recent = await run_blocking(self.app.admin_overview)
        if outcome.error:
            self.set_status(400)
        self.render("admin.html", classes=classes, recent=recent, result=outcome, error=outcome.error)


class AdminRevokeHandler(AuthHandler):
    @web.authenticated
    async def post(self) -> None:
        self.require_admin()
        serial = parse_serial(self.get_body_argument("serial", "")[:100]) or ""
        reason = " ".join(self.get_body_argument("reason", "").split())[:500]
        error = await run_blocking(self.app.revoke, serial, reason, self.username)
        classes, recent = await run_blocking(self.app.admin_overview)
        if error:
            self.set_status(400)
        self.render("admin.html", classes=classes, recent=recent, result=None, error=error)


SERIAL = r"([^/]{1,80})"
# Paths under the service's prefix (hub/services/base.py); JupyterHub's OAuth callback is added by app.py.
default_handlers = [
    ("", HomeHandler),
    ("verify", LookupHandler),
    (rf"verify/{SERIAL}(?:/([^/]{{1,80}}))?", VerifyHandler),  # serial, then its verification code
    (r"issuer(/key\.pem)?", IssuerHandler),
    (r"status/(\d{4})", StatusListHandler),
    ("me", MineHandler),
    (r"me/([A-Z]{1,6}-\d{4}-\d{6})\.(pdf|json)", DownloadHandler),
    ("api/certificates", ApiListHandler),
    ("admin", AdminHandler),
    ("admin/issue", AdminIssueHandler),
    ("admin/revoke", AdminRevokeHandler),
]
