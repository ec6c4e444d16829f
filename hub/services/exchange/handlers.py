"""The exchange's HTTP API (JSON and .tar.gz), token-authenticated by the hub.

Every handler learns who is calling from the hub (`Caller`), and checks the course rule itself:
learners see and submit to the courses of their classes; instructors (and the course's formgrader service)
release, collect and give feedback in their courses. A student id in a request is only ever compared with
the caller — a mismatch is refused, nothing is written.

Request bodies are streamed (tornado's `stream_request_body`): the caller is authenticated from the headers
alone, before any of the body is read, and only then is the body allowed to be as large as the route needs
(an archive on the upload routes, a small JSON document elsewhere). Uploads go to a spooled temporary file,
and archives are checked off the event loop, at most `ARCHIVE_CHECKS` at a time.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from typing import Any

from jupyterhub.services.auth import HubAuthenticated, UserNotAllowed
from tornado import web

from graders.exchange import protocol
from graders.exchange.archive import Limits, inspect_archive, read_members
from graders.text import BilingualError
from hub.blocking import run_blocking
from hub.coursework.access import Caller
from hub.coursework.deadlines import set_deadline
from hub.coursework.models import DEFAULT_CLASS, Submission
from hub.coursework.store import RateLimited, Refused
from hub.services.base import ServiceHandler

STUDENT_HEADER = protocol.STUDENT_HEADER
SMALL_BODY = protocol.SMALL_BODY
SPOOL_IN_MEMORY = 1024 * 1024  # larger uploads wait on disk, not in memory, until they are checked
DRAIN_FACTOR = 2  # an authenticated body up to twice its route's limit is read and dropped to answer 413


def _error(status: int, vi: str, en: str) -> BilingualError:
    return BilingualError(vi, en, status)


@web.stream_request_body
class ApiHandler(HubAuthenticated, ServiceHandler):
    """Token-only (no cookies, so no XSRF surface), JSON errors in both languages."""

    api = True
    upload_methods: tuple[str, ...] = ()  # methods of this route whose body is an archive

    def initialize(self) -> None:
        self.hub_auth = self.app.hub_auth
        self.body_size = 0
        self.body_too_large = False
        self._small_body: list[bytes] = []
        self._upload: Any = None  # SpooledTemporaryFile of an upload route

    def check_xsrf_cookie(self) -> None:
        return None  # only Authorization headers are accepted, never cookies

    async def prepare(self) -> None:
        # Runs once the headers are in and before any of the body is read (stream_request_body): an
        # unauthenticated request is answered and its connection closed without its body being read.
        model = await self.hub_auth.get_user(self, sync=False)
        if model:
            try:
                model = self.check_hub_user(model)
            except UserNotAllowed:
                model = None
        self.current_user = model  # tornado's own slot: HubAuthenticated's blocking lookup is never called
        if not model:
            raise _error(403, "cần đăng nhập qua hub (token không hợp lệ)", "a valid hub token is required")
        self.caller: Caller = await self.app.access.resolve(model)
        # An authenticated caller's body a little over the limit is read and dropped (data_received), so that
        # ordinary HTTP clients, which send the whole body before reading the answer, get the 413 and its
        # reason rather than a reset connection; one announced beyond that is refused unread.
        limit = self.body_limit()
        declared = self.request.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > DRAIN_FACTOR * limit:
            raise _body_too_large(limit)
        # a chunked body (no length): tornado closes the connection once it passes this
        self.request.connection.set_max_body_size(DRAIN_FACTOR * limit)  # type: ignore[union-attr]
        if self.request.method in self.upload_methods:
            self._upload = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, dir=self.app.incoming_dir)

    def body_limit(self) -> int:
        limits: Limits = self.app.limits
        return limits.max_archive_bytes if self.request.method in self.upload_methods else SMALL_BODY

    def data_received(self, chunk: bytes) -> None:
        self.body_size += len(chunk)
        if self.body_size > self.body_limit():
            self.body_too_large = True  # answered with 413 once the body is in; none of it is kept
        elif self._upload is not None:
            self._upload.write(chunk)
        else:
            self._small_body.append(chunk)

    def body_bytes(self) -> bytes:
        """The body of a route that takes no archive (at most SMALL_BODY bytes)."""
        if self.body_too_large:
            raise _body_too_large(self.body_limit())
        return b"".join(self._small_body)

    def on_finish(self) -> None:
        if self._upload is not None:
            self._upload.close()  # a spooled file on disk is deleted when closed

    def on_connection_close(self) -> None:
        self.on_finish()
        super().on_connection_close()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None))[1]
        if isinstance(exc, RateLimited):  # here, not before send_error: it clears the headers
            self.set_header("Retry-After", str(exc.retry_after))
        super().write_error(status_code, **kwargs)

    def send_json(self, value: Any) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(value, ensure_ascii=False, default=str))

    def send_archive(self, data: bytes, name: str) -> None:
        self.set_header("Content-Type", protocol.ARCHIVE_TYPE)
        self.set_header("Content-Disposition", f'attachment; filename="{name}.tar.gz"')
        self.finish(data)

    # -- rules ------------------------------------------------------------------------------------

    def course(self, course_id: str) -> str:
        if course_id not in self.app.courses:
            raise _error(404, f"không có khoá học {course_id[:64]!r}", f"no course {course_id[:64]!r}")
        return course_id

    def assignment(self, course_id: str, assignment_id: str) -> str:
        course = self.app.courses[course_id]
        if assignment_id not in {a.id for a in course.assignments}:
            raise _error(404, f"khoá học không có bài {assignment_id[:64]!r}", f"no assignment {assignment_id[:64]!r}")
        return assignment_id

    def must_see(self, course_id: str) -> None:
        if not self.caller.sees(self.course(course_id)):
            raise _error(403, "bạn không thuộc khoá học này", "you are not in this course")

    def must_teach(self, course_id: str) -> None:
        if not self.caller.teaches(self.course(course_id)):
            raise _error(403, "chỉ giảng viên của khoá học được làm việc này", "only the course's instructors may")

    def check_claimed_student(self) -> None:
        """`--student=bob` or JUPYTERHUB_USER=bob reach us only as a claim; it must be the caller."""
        claimed = self.request.headers.get(STUDENT_HEADER, "").strip()
        if claimed and claimed not in ("*", self.caller.name):
            raise _error(
                403,
                f"bạn đăng nhập là {self.caller.name}, không thể làm thay {claimed[:64]}",
                f"you are {self.caller.name} and cannot act as {claimed[:64]}",
            )

    def require_body(self) -> None:
        if self.body_too_large:
            raise _body_too_large(self.body_limit())
        if not self.body_size:
            raise _error(400, "thiếu nội dung gửi lên", "the request has no body")

    async def body_archive(self, validate_notebooks: bool = True) -> tuple[bytes, list[str]]:
        """The uploaded archive, checked (off the event loop, a few at a time), and its top-level notebooks."""
        self.require_body()
        async with self.app.archive_checks:
            info = await run_blocking(inspect_archive, self._upload, self.app.limits, validate_notebooks)
            data = await run_blocking(_read_all, self._upload)
        return data, info.notebooks


def submission_json(row: Submission, feedback: list[str], with_student: bool = True) -> dict[str, Any]:
    due = row.due_at.replace(tzinfo=UTC) if row.due_at and row.due_at.tzinfo is None else row.due_at
    value = {
        "id": row.id,
        "course_id": row.course_id,
        "assignment_id": row.assignment_id,
        "timestamp": row.timestamp,
        "attempt": row.attempt,
        "notebooks": json.loads(row.notebooks),
        "due": due.isoformat() if due else None,
        "seconds_late": row.seconds_late,
        "late": row.seconds_late > 0,
        "feedback": feedback,
    }
    if with_student:
        value.update(student=row.student, class_name=row.class_name)
    return value


class WhoAmIHandler(ApiHandler):
    def get(self) -> None:
        c = self.caller
        self.send_json({
            "name": c.name, "kind": c.kind, "admin": c.admin,
            "learner_courses": sorted(c.learner_classes), "instructor_courses": sorted(c.instructor_courses),
            "courses": sorted(cid for cid in self.app.courses if c.sees(cid)),
        })  # fmt: skip


class AssignmentsHandler(ApiHandler):
    async def get(self, course_id: str) -> None:
        self.must_see(course_id)
        releases = await run_blocking(self.app.store.releases, course_id)
        course = self.app.courses[course_id]
        own_class = self.caller.learner_classes.get(course_id)
        result = []
        for r in releases:
            deadlines = await run_blocking(self.app.store.deadlines, course_id, r.assignment_id)
            due = deadlines.get(own_class or "", deadlines.get(DEFAULT_CLASS))
            title = course.assignment(r.assignment_id).title
            item = {
                "course_id": course_id, "assignment_id": r.assignment_id, "notebooks": json.loads(r.notebooks),
                "released_at": r.released_at.isoformat(), "due": due.isoformat() if due else None,
                "title": {"vi": title.vi, "en": title.en},
            }  # fmt: skip
            if self.caller.teaches(course_id):
                item["deadlines"] = {k: v.isoformat() for k, v in deadlines.items()}
            result.append(item)
        self.send_json(result)


class AssignmentHandler(ApiHandler):
    upload_methods = ("PUT",)

    async def put(self, course_id: str, assignment_id: str) -> None:
        """Release (instructors). Body: .tar.gz of release/<assignment>/. ?force=1 replaces."""
        self.must_teach(course_id)
        self.assignment(course_id, assignment_id)
        data, notebooks = await self.body_archive()
        if not notebooks:
            raise _error(400, "bài phát hành không có sổ tay .ipynb nào", "the release contains no notebook")
        due = _parse_due(self.get_argument("due", ""))
        release = await run_blocking(
            self.app.store.release, course_id, assignment_id, data, notebooks, self.caller.name,
            self.get_argument("force", "0") == "1", due,
        )  # fmt: skip
        self.set_status(201)
        self.send_json(
            {
                "course_id": course_id,
                "assignment_id": assignment_id,
                "notebooks": notebooks,
                "released_at": release.released_at.isoformat(),
            }
        )

    async def delete(self, course_id: str, assignment_id: str) -> None:
        self.must_teach(course_id)
        await run_blocking(self.app.store.unrelease, course_id, assignment_id)
        self.set_status(204)
        self.finish()


class ReleaseArchiveHandler(ApiHandler):
    async def get(self, course_id: str, assignment_id: str) -> None:
        self.must_see(course_id)
        self.assignment(course_id, assignment_id)
        release = await run_blocking(self.app.store.get_release, course_id, assignment_id)
        data = await run_blocking(self.app.store.blobs.get, release.blob)
        self.send_archive(data, assignment_id)


class SubmissionsHandler(ApiHandler):
    upload_methods = ("POST",)

    async def post(self, course_id: str, assignment_id: str) -> None:
        """Submit (learners of the course). The caller is the student; a different claim is refused."""
        self.course(course_id)
        self.check_claimed_student()
        class_name = self.caller.learner_classes.get(course_id)
        if class_name is None:
            raise _error(403, "chỉ học viên của khoá học mới nộp bài được", "only the course's learners can submit")
        self.assignment(course_id, assignment_id)
        self.require_body()
        close = self.app.courses[course_id].late_policy.close_after_days
        policy = self.app.submit_policy(close_after=None if close is None else _days(close))
        store, student = self.app.store, self.caller.name
        # One submission of a learner at a time, so that two parallel uploads cannot both fit in the quota.
        async with self.app.learner_locks.hold(student):
            # release, quota and rate first: a refused attempt costs no archive check and writes nothing
            await run_blocking(store.check_quota, course_id, assignment_id, student, self.body_size, policy)
            data, notebooks = await self.body_archive()
            if not notebooks:
                raise _error(400, "bài nộp không có sổ tay .ipynb nào", "the submission contains no notebook")
            row = await run_blocking(store.submit, course_id, assignment_id, student, class_name, data, notebooks,
                                     policy)  # fmt: skip
        self.set_status(201)
        self.send_json(submission_json(row, [], with_student=False))

    async def get(self, course_id: str, assignment_id: str | None = None) -> None:
        """Learners: their own submissions. Instructors: everyone's (?latest=1 for the newest each)."""
        self.must_see(course_id)
        if assignment_id is not None:
            self.assignment(course_id, assignment_id)
        teaches = self.caller.teaches(course_id)
        student = self.get_argument("student", "") or None
        latest = self.get_argument("latest", "0") == "1"
        if latest and not teaches:  # "latest of each learner" is collecting: instructors only
            raise _error(403, "chỉ giảng viên của khoá học được thu bài", "only the course's instructors may collect")
        if not teaches:
            self.check_claimed_student()
            if student not in (None, "*", self.caller.name):
                raise _error(403, "bạn chỉ xem được bài nộp của mình", "you can only see your own submissions")
            student = self.caller.name
        elif student == "*":
            student = None
        rows = await run_blocking(self.app.store.submissions, course_id, assignment_id, student, latest)
        names = await run_blocking(self.app.full_names, [r.student for r, _ in rows]) if teaches else {}
        result = []
        for row, feedback in rows:
            item = submission_json(row, feedback, with_student=teaches)
            if teaches:
                item["full_name"] = names.get(row.student, "")
            result.append(item)
        self.send_json(result)


class SubmissionMixin(ApiHandler):
    async def own_or_taught(self, submission_id: str) -> Submission:
        row = await run_blocking(self.app.store.get_submission, submission_id)
        if not (row.student == self.caller.name or self.caller.teaches(row.course_id)):
            raise Refused(404, "không có bài nộp này", "no such submission")  # do not confirm it exists
        return row


class SubmissionArchiveHandler(SubmissionMixin):
    async def get(self, submission_id: str) -> None:
        row = await self.own_or_taught(submission_id)
        data = await run_blocking(self.app.store.blobs.get, row.blob)
        self.send_archive(data, f"{row.assignment_id}-{row.student}")


class FeedbackHandler(SubmissionMixin):
    upload_methods = ("POST",)

    async def post(self, submission_id: str) -> None:
        """Instructors release feedback: a .tar.gz of <notebook>.html files for one submission."""
        row = await self.own_or_taught(submission_id)
        self.must_teach(row.course_id)
        self.require_body()
        async with self.app.archive_checks:
            files = await run_blocking(_feedback_files, self._upload, self.app.limits)
        count = await run_blocking(self.app.store.put_feedback, submission_id, files, self.caller.name)
        self.set_status(201)
        self.send_json({"submission": submission_id, "files": count})

    async def get(self, submission_id: str) -> None:
        row = await self.own_or_taught(submission_id)
        data = await run_blocking(self.app.store.feedback_archive, row.id)
        self.send_archive(data, f"feedback-{row.assignment_id}")


class DeadlineHandler(ApiHandler):
    async def put(self, course_id: str, assignment_id: str, class_name: str) -> None:
        """Instructors set a class's deadline: {"due": "2026-12-01T17:00:00+07:00"}."""
        self.must_teach(course_id)  # refused before the body is even parsed; the full rule is set_deadline's
        self.assignment(course_id, assignment_id)
        try:
            document = json.loads(self.body_bytes() or b"{}")
        except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested deeper than the parser goes
            document = None
        if not isinstance(document, dict):
            raise _error(400, 'nội dung phải là JSON {"due": ...}', 'the body must be JSON {"due": ...}')
        due = _parse_due(document.get("due", ""))
        if due is None:
            raise _error(400, "thiếu hạn nộp", "the deadline is missing")
        await run_blocking(set_deadline, self.app.store, self.app.access, self.caller, course_id, assignment_id,
                           class_name, due)  # fmt: skip
        self.send_json(
            {"course_id": course_id, "assignment_id": assignment_id, "class": class_name, "due": due.isoformat()}
        )


def _parse_due(value: object) -> datetime | None:
    if value in ("", None):
        return None
    if not isinstance(value, str):  # a number of seconds, a list…: the API takes ISO 8601 text only
        raise _error(400, "hạn nộp phải là chuỗi ISO 8601", "the deadline must be ISO 8601 text")
    try:
        due = datetime.fromisoformat(value)
    except ValueError:
        raise _error(
            400, f"hạn nộp không hợp lệ: {value[:40]!r} (ISO 8601)", f"invalid deadline {value[:40]!r} (ISO 8601)"
        ) from None
    if due.tzinfo is None:  # a deadline must say its zone: 17:00 in Hanoi and 17:00 UTC are 7 hours apart
        raise _error(
            400,
            f"hạn nộp {value[:40]!r} thiếu múi giờ, ví dụ 2026-12-20T17:00:00+07:00",
            f"deadline {value[:40]!r} has no time zone, e.g. 2026-12-20T17:00:00+07:00",
        )
    return due


def _days(days: float) -> timedelta:
    return timedelta(days=days)


def _body_too_large(limit: int) -> BilingualError:
    most = f"{limit / (1024 * 1024):.0f} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    return _error(413, f"nội dung gửi lên quá lớn (tối đa {most})", f"the request body is too large (at most {most})")


def _read_all(upload: Any) -> bytes:
    upload.seek(0)
    return upload.read()


def _feedback_files(upload: Any, limits: Limits) -> dict[str, bytes]:
    files = {}
    for name, content in read_members(upload, limits):
        if "/" in name or not name.endswith(".html"):
            raise _error(
                400, f"nhận xét phải là tệp .html: {name[:80]!r}", f"feedback must be .html files: {name[:80]!r}"
            )
        files[name] = content
    return files


# Paths under the service's prefix (hub/services/base.py), as the client builds them (graders.exchange.protocol).
default_handlers = [
    (protocol.pattern("whoami"), WhoAmIHandler),
    (protocol.pattern("assignments"), AssignmentsHandler),
    (protocol.pattern("assignment"), AssignmentHandler),
    (protocol.pattern("release_archive"), ReleaseArchiveHandler),
    (protocol.pattern("submissions"), SubmissionsHandler),
    (protocol.pattern("course_submissions"), SubmissionsHandler),
    (protocol.pattern("deadline"), DeadlineHandler),
    (protocol.pattern("submission_archive"), SubmissionArchiveHandler),
    (protocol.pattern("feedback"), FeedbackHandler),
]
