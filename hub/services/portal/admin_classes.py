"""The console's classes (create, edit, timetable, close/archive/reopen) and enrolment from a spreadsheet
(upload → preview → confirm → the new accounts' passwords, once). Admins only; every change audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session
from tornado import httputil, web

from graders.text import BilingualError
from graders.timeutil import school_zone
from hub.blocking import run_blocking
from hub.directory import classes as cls
from hub.directory.audit import record_action
from hub.directory.models import ClassSession, ClassStatus, Enrolment, EnrolmentRole, SchoolClass
from hub.services.portal import enrolment as enrol
from hub.services.portal.admin_base import AdminPage
from hub.timetable.display import session_line

FIELDS = ("title", "course_id", "year", "funding", "funding_name", "unit", "province")
CODE = r"([A-Za-z0-9._-]{1,64})"
TOKEN = r"([A-Za-z0-9_-]{1,64})"


def as_http(exc: BilingualError) -> BilingualError:
    """A rule's refusal as an answer: 400 unless it says otherwise."""
    return exc if exc.status else BilingualError(exc.vi, exc.en, 400)


class ClassPage(AdminPage):
    def known_courses(self) -> set[str]:
        return set(self.app.courses)

    def form_fields(self, name: str) -> cls.ClassFields:
        values = {key: self.get_body_argument(key, "")[:400] for key in FIELDS}
        return cls.ClassFields(name=name[:200], **values)

    async def change_class(self, change: Callable[[Session], SchoolClass]) -> str:
        """`change(session)` in one transaction off the event loop (it writes its own audit row); the class's
        code, or a refusal answered 400."""

        def run() -> str:
            with self.app.directory.session() as s:
                return change(s).name

        try:
            return await run_blocking(run)
        except BilingualError as exc:
            raise as_http(exc) from None

    def render_class_form(self, record: Any, status: int = 200, message: str = "") -> None:
        self.set_status(status)
        self.render("admin_class_form.html", record=record, courses=self.app.courses, message=message)


def list_view(app: Any, filters: cls.ClassFilter) -> tuple[list[SchoolClass], dict[str, int]]:
    with app.directory.session() as s:
        rows = cls.list_classes(s, filters)
        counts = dict(
            s.query(Enrolment.class_name, func.count(Enrolment.id))
            .filter(Enrolment.role == EnrolmentRole.learner)
            .group_by(Enrolment.class_name)
        )
        s.expunge_all()
    return rows, counts


class ClassesHandler(ClassPage):
    """GET: the list (filter by year, status, course); POST: create a class."""

    @web.authenticated
    async def get(self) -> None:
        await self.admin()
        year, status, course = (self.get_query_argument(k, "")[:40] for k in ("year", "status", "course"))
        filters = cls.ClassFilter(
            year=int(year) if year.isascii() and year.isdigit() and len(year) <= 4 else None,
            status=ClassStatus(status) if status in {s.value for s in ClassStatus} else None,
            course_id=course or None,
        )
        rows, counts = await run_blocking(list_view, self.app, filters)
        self.render("admin_classes.html", classes=rows, counts=counts, courses=self.app.courses, filters=filters,
                    statuses=list(ClassStatus))  # fmt: skip

    @web.authenticated
    async def post(self) -> None:
        caller = await self.admin()
        fields = self.form_fields(self.get_body_argument("name", ""))
        name = await self.change_class(lambda s: cls.create_class(s, caller.name, fields, self.known_courses()))
        self.redirect(f"{self.app.prefix}admin/classes/{name}")


class NewClassHandler(ClassPage):
    @web.authenticated
    async def get(self) -> None:
        await self.admin()
        self.render_class_form(None)


def class_view(app: Any, name: str) -> dict[str, Any]:
    zone = app.settings.timezone
    with app.directory.session() as s:
        record = cls.get_class(s, name)
        sessions = s.query(ClassSession).filter(ClassSession.class_name == record.name).order_by(ClassSession.starts_at)
        lines = [session_line(x, zone) for x in sessions]
        roles = dict(
            s.query(Enrolment.role, func.count(Enrolment.id))
            .filter(Enrolment.class_name == record.name)
            .group_by(Enrolment.role)
        )
        s.expunge(record)
    return {"record": record, "sessions": lines, "learners": roles.get(EnrolmentRole.learner, 0),
            "instructors": roles.get(EnrolmentRole.instructor, 0), "zone": zone}  # fmt: skip


class ClassHandler(ClassPage):
    """GET: one class, its timetable and its forms; POST: save the edited fields."""

    @web.authenticated
    async def get(self, name: str) -> None:
        await self.admin()
        view = await run_blocking(class_view, self.app, name)
        self.render("admin_class.html", **view, courses=self.app.courses, message=self.get_query_argument("m", "")[:40])

    @web.authenticated
    async def post(self, name: str) -> None:
        caller = await self.admin()
        fields = self.form_fields(name)
        saved = await self.change_class(lambda s: cls.update_class(s, caller.name, fields, self.known_courses()))
        self.redirect(f"{self.app.prefix}admin/classes/{saved}?m=saved")


class ClassStatusHandler(ClassPage):
    """POST action=close|archive|reopen."""

    @web.authenticated
    async def post(self, name: str) -> None:
        caller = await self.admin()
        action = self.get_body_argument("action", "")[:40]
        saved = await self.change_class(lambda s: cls.set_status(s, caller.name, name, action))
        self.redirect(f"{self.app.prefix}admin/classes/{saved}?m={action}")


class ClassSessionsHandler(ClassPage):
    """POST: add a session (date, start, end, room in the school's wall time), or remove one (remove=1)."""

    @web.authenticated
    async def post(self, name: str) -> None:
        caller = await self.admin()
        day, start = self.get_body_argument("date", "")[:40], self.get_body_argument("start", "")[:40]
        end, room = self.get_body_argument("end", "")[:40], self.get_body_argument("room", "")[:300]
        zone = self.app.settings.timezone
        try:
            if self.get_body_argument("remove", ""):
                await run_blocking(cls.remove_class_session, self.app.directory, caller.name, name, day, start, zone)
                message = "session_removed"
            else:
                report = await run_blocking(cls.add_class_session, self.app.directory, caller.name, name, day, start,
                                            end, zone, room)  # fmt: skip
                if report.errors:
                    reasons = report.errors
                    raise BilingualError(
                        "; ".join(e.reason.vi for e in reasons), "; ".join(e.reason.en for e in reasons)
                    )
                message = "session_added"
        except BilingualError as exc:
            raise as_http(exc) from None
        self.redirect(f"{self.app.prefix}admin/classes/{cls.check_code(name)}?m={message}")


# -- enrolment ------------------------------------------------------------------------------------------------


@web.stream_request_body
class EnrolHandler(AdminPage):
    """GET: the upload form; POST (multipart): keep the file, then its preview. The body is streamed: the caller
    must be an admin before any of it is kept, and only this path takes more than the portal's 64 KiB
    (app.make_server); the XSRF token travels in the body, so it is checked once the body is read."""

    async def prepare(self) -> None:
        self._body = bytearray()
        self._over = False
        if self.request.method != "POST":
            result = super().prepare()  # the session-bound XSRF check, as every page has it
            if result is not None:
                await result
            return
        if self.current_user is None:
            raise web.HTTPError(403)
        await self.admin()
        self.request.connection.set_max_body_size(enrol.UPLOAD_BODY_BYTES)

    def data_received(self, chunk: bytes) -> None:
        if self._finished or self._over:
            return
        if len(self._body) + len(chunk) > enrol.UPLOAD_BODY_BYTES:
            self._over, self._body = True, bytearray()
            return
        self._body += chunk

    @web.authenticated
    async def get(self) -> None:
        await self.admin()
        classes = await run_blocking(enrol.open_classes, self.app.directory)
        self.render("admin_enrol.html", classes=classes, chosen=self.get_query_argument("class", "")[:64])

    @web.authenticated
    async def post(self) -> None:
        caller = await self.admin()
        if self._over:
            raise BilingualError("Tệp quá lớn", "file too large", 413)
        request = self.request
        httputil.parse_body_arguments(request.headers.get("Content-Type", ""), bytes(self._body),
                                      request.body_arguments, request.files, request.headers)  # fmt: skip
        self._body = bytearray()
        for key, values in request.body_arguments.items():
            request.arguments.setdefault(key, []).extend(values)
        self._xsrf_ready = True
        self.check_xsrf_cookie()
        files = request.files.get("file") or []
        if not files or not files[0].filename:
            raise BilingualError("Hãy chọn một tệp .xlsx hoặc .csv", "choose an .xlsx or .csv file", 400)
        chosen = self.get_body_argument("class_name", "").strip()[:64] or None
        if chosen is not None:
            open_names = {c.name for c in await run_blocking(enrol.open_classes, self.app.directory)}
            if chosen.upper() not in open_names:
                raise BilingualError(
                    f"Lớp {chosen} không có hoặc đã đóng: không nhận ghi danh mới",
                    f"class {chosen} does not exist or is closed: it takes no new enrolments",
                    400,
                )
            chosen = chosen.upper()
        staging = enrol.Staging(enrol.upload_dir(self.app.settings.data_path))
        try:
            upload = await run_blocking(staging.put, caller.name, files[0].filename, files[0].body, chosen)
        except BilingualError as exc:
            raise as_http(exc) from None
        self.redirect(f"{self.app.prefix}admin/enrol/{upload.token}")


class EnrolUploadPage(AdminPage):
    def staging(self) -> enrol.Staging:
        return enrol.Staging(enrol.upload_dir(self.app.settings.data_path))

    def show(self, upload: enrol.Upload, preview: enrol.Preview | None, status: int = 200) -> None:
        self.set_status(status)
        has_passwords = self.staging().passwords(upload).exists()
        self.render("admin_enrol_preview.html", upload=upload, preview=preview, counts=enrol.as_counts(
            preview.report if preview else None) or upload.counts, has_passwords=has_passwords,
            shown_errors=(preview.errors[:500] if preview else []))  # fmt: skip


class EnrolPreviewHandler(EnrolUploadPage):
    @web.authenticated
    async def get(self, token: str) -> None:
        caller = await self.admin()
        staging = self.staging()
        upload = await run_blocking(staging.get, token, caller.name)
        preview = None
        if upload.state == "uploaded":
            preview = await run_blocking(enrol.check_upload, self.app.directory, staging.file(upload),
                                         upload.default_class)  # fmt: skip
        self.show(upload, preview, 200 if preview is None or preview.ok else 422)


class EnrolConfirmHandler(EnrolUploadPage):
    @web.authenticated
    async def post(self, token: str) -> None:
        caller = await self.admin()
        staging = self.staging()
        upload = await run_blocking(staging.get, token, caller.name)
        preview = await run_blocking(enrol.apply_upload, self.app.directory, staging, upload, caller.name)
        if not preview.ok:
            self.show(upload, preview, 422)
            return
        self.redirect(f"{self.app.prefix}admin/enrol/{upload.token}")


class EnrolPasswordsHandler(EnrolUploadPage):
    """POST: the new accounts' initial passwords, once (a second time: 410 Gone)."""

    @web.authenticated
    async def post(self, token: str) -> None:
        caller = await self.admin()
        staging = self.staging()
        upload = await run_blocking(staging.get, token, caller.name)

        def take() -> bytes:
            data = staging.take_passwords(upload)
            with self.app.directory.session() as s:
                record_action(s, caller.name, enrol.DOWNLOAD_ACTION, upload.file_name, None,
                              {"sha256": upload.sha256, "accounts": upload.counts.get("created", 0)})  # fmt: skip
            upload.state = "downloaded"
            staging.save(upload)
            return data

        data = await run_blocking(take)
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        today = datetime.now(school_zone(self.app.settings.timezone))
        self.set_header("Content-Disposition", f'attachment; filename="mat-khau-{today:%Y%m%d-%H%M}.csv"')
        self.finish(data)


handlers = [
    ("admin/classes", ClassesHandler),
    ("admin/classes/new", NewClassHandler),
    (f"admin/classes/{CODE}", ClassHandler),
    (f"admin/classes/{CODE}/status", ClassStatusHandler),
    (f"admin/classes/{CODE}/sessions", ClassSessionsHandler),
    ("admin/enrol", EnrolHandler),
    (f"admin/enrol/{TOKEN}", EnrolPreviewHandler),
    (f"admin/enrol/{TOKEN}/confirm", EnrolConfirmHandler),
    (f"admin/enrol/{TOKEN}/passwords", EnrolPasswordsHandler),
]
