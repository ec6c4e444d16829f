"""The console's certificate pages (admin/certificates), beside the issuing and revoking that the certificates
service already has (/services/certificates/admin, linked, not repeated here):
- the completion check of a course or a class: who completed, who not and why (the same plan as
  `truongso certificates check`: graders.certificates.issue.make_plan, rules.evaluate over read_results);
- the registry export as XLSX or CSV (graders.certificates.export, the files `truongso certificates export`
  writes);
- one certificate's history (issued, revoked, by whom, when, why) and a search by serial or name.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from tornado import web

from graders.certificates.models import Certificate
from graders.certificates.store import SERIAL_RE, CertificateStore, StoreError, open_store, parse_serial
from graders.text import BilingualError, UserError
from hub.blocking import run_blocking
from hub.directory.audit import record_action
from hub.directory.models import SchoolClass
from hub.directory.people import fold
from hub.services.portal.admin_people import AdminOnly

MAX_FOUND = 100  # certificates listed for one search


def certificate_settings(app: Any) -> Any:
    """The certificate settings of this hub, with the directory's learners (as the CLI and the service do)."""
    from graders.certificates.config import CertificateSettings, CertificateSettingsError
    from hub.directory.learners import roster_for

    try:
        settings = CertificateSettings.from_hub(app.settings)
    except CertificateSettingsError as exc:
        raise BilingualError(f"cấu hình giấy chứng nhận sai: {exc}", f"bad certificate setting: {exc}", 500) from None
    settings.roster = roster_for(settings.db_url)
    return settings


def _store(settings: Any) -> CertificateStore | None:
    """The registry, or None before anything was ever issued (nothing is created by looking)."""
    try:
        store = open_store(settings.db_url, create=False)
    except StoreError as exc:
        raise BilingualError(f"không mở được sổ cấp: {exc}", f"cannot open the registry: {exc}", 500) from None
    if not store.has_schema():
        store.dispose()
        return None
    return store


def completion_check(app: Any, course_id: str, class_name: str) -> Any:
    """The plan of `truongso certificates check <course> [--class]`: eligible, certified, revoked, incomplete."""
    from graders.certificates.issue import find_course, make_plan

    if class_name:
        with app.directory.session() as s:
            school_class = s.get(SchoolClass, class_name[:64])
            course_id = school_class.course_id if school_class is not None else ""
        if school_class is None or not course_id:
            raise UserError(
                f"không có lớp {class_name[:64]!r} gắn với khoá học", f"no class {class_name[:64]!r} with a course", 404
            )
    if course_id not in app.courses:
        raise UserError(f"không có khoá học {course_id[:64]!r}", f"no course {course_id[:64]!r}", 404)
    settings = certificate_settings(app)
    store = _store(settings)
    try:
        return _with_status(lambda: make_plan(settings, store, find_course(settings, course_id), class_name or None))
    finally:
        if store is not None:
            store.dispose()


def export_registry(app: Any, actor: str, kind: str, year: int | None, course_id: str) -> tuple[bytes, str, int]:
    """The registry file (`kind` csv or xlsx) and its name, logged in the admin audit (personal data leaves)."""
    from graders.certificates.export import to_csv, to_xlsx

    settings = certificate_settings(app)
    store = _store(settings)
    try:
        certs = store.listing(year=year, course_id=course_id or None) if store is not None else []
    finally:
        if store is not None:
            store.dispose()
    stem = "so-cap-giay-chung-nhan-" + (str(year) if year else "tat-ca") + (f"-{course_id}" if course_id else "")
    body = to_csv(certs) if kind == "csv" else to_xlsx(certs)
    with app.directory.session() as s:
        record_action(
            s,
            actor,
            "certificates.export",
            stem,
            after={"format": kind, "year": year, "course_id": course_id or None, "count": len(certs)},
        )
    return body, f"{stem}.{kind}", len(certs)


def find_certificates(app: Any, query: str) -> list[Any]:
    """Certificates whose serial, holder's name (with or without diacritics) or username has every word."""
    settings = certificate_settings(app)
    store = _store(settings)
    if store is None:
        return []
    words = fold(query).split()
    try:
        with store.session() as s:
            columns = (
                Certificate.serial,
                Certificate.full_name,
                Certificate.username,
                Certificate.course_id,
                Certificate.class_name,
                Certificate.issued_on,
                Certificate.revoked_at,
            )
            rows = s.execute(select(*columns).order_by(Certificate.year.desc(), Certificate.seq.desc()))
            found = [c for c in rows if all(w in fold(f"{c.serial}\n{c.full_name}\n{c.username}") for w in words)]
            return found[:MAX_FOUND]
    finally:
        store.dispose()


def certificate_history(app: Any, serial: str) -> tuple[Certificate, list[Any], str]:
    settings = certificate_settings(app)
    store = _store(settings)
    if store is None:
        raise UserError(f"không có giấy chứng nhận {serial}", f"no certificate {serial}", 404)
    try:
        cert = store.get(serial)
        if cert is None:
            raise UserError(f"không có giấy chứng nhận {serial}", f"no certificate {serial}", 404)
        return cert, store.audit(serial), settings.verify_url(cert.serial, cert.verification_code)
    finally:
        store.dispose()


def _with_status(work: Any) -> Any:
    """The certificate code's UserErrors (an unreadable curriculum or gradebook) as a 400 page, not a 500."""
    try:
        return work()
    except UserError as exc:
        if exc.status:
            raise
        raise UserError(exc.vi, exc.en, 400) from None


class CertificatesHandler(AdminOnly):
    @web.authenticated
    async def get(self) -> None:
        await self.admin()

        def classes() -> list[tuple[str, str]]:
            with self.app.directory.session() as s:
                rows = s.execute(select(SchoolClass.name, SchoolClass.course_id).order_by(SchoolClass.name))
                return [(n, c or "") for n, c in rows]

        self.render(
            "admin_certificates.html",
            courses=sorted(self.app.courses.values(), key=lambda c: c.id),
            classes=await run_blocking(classes),
            service=f"{self.app.services_prefix}certificates/",
        )


class CheckHandler(AdminOnly):
    @web.authenticated
    async def get(self) -> None:
        await self.admin()
        course_id = self.get_argument("course", "")[:200]
        class_name = self.get_argument("class", "")[:200]
        if not course_id and not class_name:
            raise UserError("chọn một khoá học hoặc một lớp", "choose a course or a class", 400)
        plan = await run_blocking(completion_check, self.app, course_id, class_name)
        self.render(
            "admin_certificates_check.html",
            plan=plan,
            class_name=class_name,
            service=f"{self.app.services_prefix}certificates/",
        )


class ExportHandler(AdminOnly):
    @web.authenticated
    async def get(self) -> None:
        caller = await self.admin()
        kind = self.get_argument("format", "xlsx")
        if kind not in ("csv", "xlsx"):
            raise UserError("định dạng phải là xlsx hoặc csv", "the format must be xlsx or csv", 400)
        raw_year = self.get_argument("year", "").strip()
        if raw_year and not (raw_year.isdigit() and len(raw_year) == 4 and 2000 <= int(raw_year) <= 2100):
            raise UserError(
                f"năm {raw_year[:10]!r} không hợp lệ (2000-2100)", f"invalid year {raw_year[:10]!r} (2000-2100)", 400
            )
        course_id = self.get_argument("course", "")[:200]
        if course_id and course_id not in self.app.courses:
            raise UserError(f"không có khoá học {course_id[:64]!r}", f"no course {course_id[:64]!r}", 404)
        body, name, _ = await run_blocking(
            export_registry, self.app, caller.name, kind, int(raw_year) if raw_year else None, course_id
        )
        content_type = (
            "text/csv; charset=utf-8"
            if kind == "csv"
            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        self.set_header("Content-Type", content_type)
        self.set_header("Content-Disposition", f'attachment; filename="{name}"')  # name: ASCII from checked parts
        self.finish(body)


class FindHandler(AdminOnly):
    @web.authenticated
    async def get(self) -> None:
        await self.admin()
        query = self.get_argument("q", "").strip()
        if len(query) > 200:
            raise UserError("từ khoá quá dài (tối đa 200 ký tự)", "search too long (at most 200)", 400)
        if SERIAL_RE.fullmatch(query.upper()):  # a whole serial: straight to its history
            self.redirect(f"{self.app.prefix}admin/certificates/{parse_serial(query.upper())}")
            return
        found = await run_blocking(find_certificates, self.app, query) if query else []
        self.render("admin_certificates_found.html", q=query, found=found)


class HistoryHandler(AdminOnly):
    @web.authenticated
    async def get(self, serial: str) -> None:
        await self.admin()
        cert, entries, verify_url = await run_blocking(certificate_history, self.app, serial)
        self.render(
            "admin_certificates_history.html",
            cert=cert,
            entries=[_entry(e) for e in entries],
            verify_url=verify_url,
            service=f"{self.app.services_prefix}certificates/",
        )


def _entry(entry: Any) -> dict[str, Any]:
    """One registry audit entry with its JSON detail read (decision, reason, class)."""
    try:
        detail = json.loads(entry.detail or "{}")
    except ValueError:
        detail = {"detail": entry.detail}
    return {
        "at": entry.at,
        "action": entry.action,
        "actor": entry.actor,
        "detail": detail if isinstance(detail, dict) else {"detail": detail},
    }


handlers = [
    (r"admin/certificates/?", CertificatesHandler),
    (r"admin/certificates/check", CheckHandler),
    (r"admin/certificates/export", ExportHandler),
    (r"admin/certificates/find", FindHandler),
    (r"admin/certificates/([A-Z]{1,6}-\d{4}-\d{6})", HistoryHandler),
]
