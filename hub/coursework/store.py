"""The exchange's records and files; plain synchronous code that handlers run off the event loop."""

from __future__ import annotations

import io
import json
import secrets
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlalchemy.orm import Session

from graders.text import BilingualError
from graders.timeutil import SCHOOL_TIMEZONE, show, to_utc, utcnow
from hub.coursework.blobs import BlobStore
from hub.coursework.models import DEFAULT_CLASS, Deadline, Feedback, Release, Submission
from hub.directory.db import Directory, upgrade_schema

if TYPE_CHECKING:
    from hub.settings import HubSettings

SCHEMA_BRANCH = "exchange"  # its tables' alembic branch (graders/migrations)
BLOBS = Path("exchange") / "blobs"  # the files, under the hub's data directory
# nbgrader parses this back (nbgrader.utils.parse_utc); it is also what learners see.
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"


class Refused(BilingualError):
    """A request the rules refuse; `status` is the HTTP code, `vi`/`en` the reason."""

    def __init__(self, status: int, vi: str, en: str) -> None:
        super().__init__(vi, en, status)


class RateLimited(Refused):
    """Too many attempts in the last hour; `retry_after` is the seconds until the next one is accepted."""

    def __init__(self, retry_after: int, vi: str, en: str) -> None:
        self.retry_after = retry_after
        super().__init__(429, vi, en)


@dataclass(frozen=True)
class SubmitPolicy:
    close_after: timedelta | None = None  # refuse this long after the deadline
    max_bytes_per_learner: int | None = None  # all of one learner's attempts, every course (None: no limit)
    max_attempts_per_hour: int | None = None  # one learner, one assignment, any 60 minutes (None: no limit)


class ExchangeStore:
    def __init__(
        self,
        directory: Directory,
        blob_root: Path,
        clock: Callable[[], datetime] = utcnow,
        timezone: str = SCHOOL_TIMEZONE,
    ) -> None:
        self.directory = directory
        self.blobs = BlobStore(blob_root)
        # The server's clock stamps every submission; tests give another one to submit at 16:59 or 17:01.
        self.clock = clock
        self.timezone = timezone  # the school's (the hub's `timezone` setting): deadlines in messages

    @classmethod
    def of_hub(cls, directory: Directory, settings: HubSettings) -> ExchangeStore:
        """The hub's store (exchange service, portal, demo): its tables brought up to date, whoever starts
        first, its files under the data directory, messages in the school's time zone."""
        upgrade_schema(directory.engine, SCHEMA_BRANCH)
        return cls(directory, settings.data_path / BLOBS, timezone=settings.timezone)

    # -- releases -------------------------------------------------------------------------------

    def release(
        self,
        course_id: str,
        assignment_id: str,
        data: bytes,
        notebooks: list[str],
        by: str,
        force: bool,
        default_due: datetime | None,
    ) -> Release:
        digest = self.blobs.put(data)
        with self.directory.session() as s:
            release = self._release(s, course_id, assignment_id)
            if release is not None and not force:
                raise Refused(
                    409,
                    f"bài {assignment_id} đã được phát; dùng --force để thay",
                    f"assignment {assignment_id} is already released; use --force to replace it",
                )
            if release is None:
                release = Release(course_id=course_id, assignment_id=assignment_id)
                s.add(release)
            release.blob, release.size, release.notebooks = digest, len(data), json.dumps(notebooks)
            release.released_by, release.released_at = by, self.clock()
            if default_due is not None:
                self._set_deadline(s, course_id, assignment_id, DEFAULT_CLASS, default_due, by)
            s.flush()
            return release

    def unrelease(self, course_id: str, assignment_id: str) -> None:
        with self.directory.session() as s:
            release = self._release(s, course_id, assignment_id)
            if release is None:
                raise _unknown_assignment(assignment_id)
            s.delete(release)

    def releases(self, course_id: str) -> list[Release]:
        with self.directory.session() as s:
            return s.query(Release).filter_by(course_id=course_id).order_by(Release.assignment_id).all()

    def get_release(self, course_id: str, assignment_id: str) -> Release:
        with self.directory.session() as s:
            release = self._release(s, course_id, assignment_id)
            if release is None:
                raise _unknown_assignment(assignment_id)
            return release

    @staticmethod
    def _release(s: Session, course_id: str, assignment_id: str) -> Release | None:
        return s.query(Release).filter_by(course_id=course_id, assignment_id=assignment_id).one_or_none()

    # -- deadlines ------------------------------------------------------------------------------

    def set_deadline(self, course_id: str, assignment_id: str, class_name: str, due: datetime, by: str) -> None:
        with self.directory.session() as s:
            if self._release(s, course_id, assignment_id) is None:
                raise _unknown_assignment(assignment_id)
            self._set_deadline(s, course_id, assignment_id, class_name, due, by)

    @staticmethod
    def _set_deadline(s: Session, course_id: str, assignment_id: str, class_name: str, due: datetime, by: str) -> None:
        due = to_utc(due)  # a deadline without its zone is a bug of the caller, not a guess to make here
        row = s.get(Deadline, (course_id, assignment_id, class_name))
        if row is None:
            s.add(
                Deadline(course_id=course_id, assignment_id=assignment_id, class_name=class_name, due_at=due, set_by=by)
            )
        else:
            row.due_at, row.set_by, row.set_at = due, by, utcnow()

    def deadlines(self, course_id: str, assignment_id: str) -> dict[str, datetime]:
        with self.directory.session() as s:
            rows = s.query(Deadline).filter_by(course_id=course_id, assignment_id=assignment_id)
            return {r.class_name: r.due_at for r in rows}

    def due_for(self, course_id: str, assignment_id: str, class_name: str) -> datetime | None:
        deadlines = self.deadlines(course_id, assignment_id)
        return deadlines.get(class_name) or deadlines.get(DEFAULT_CLASS)

    # -- submissions ----------------------------------------------------------------------------

    def submit(
        self,
        course_id: str,
        assignment_id: str,
        student: str,
        class_name: str,
        data: bytes,
        notebooks: list[str],
        policy: SubmitPolicy,
        now: datetime | None = None,
    ) -> Submission:
        now = to_utc(now or self.clock())
        due = self.due_for(course_id, assignment_id, class_name)
        if due is not None and policy.close_after is not None and now > due + policy.close_after:
            raise Refused(
                403,
                f"đã hết hạn nộp bài {assignment_id} (hạn {show(due, self.timezone)}, đã đóng)",
                f"submissions for {assignment_id} are closed (deadline {show(due, self.timezone)})",
            )
        self.check_quota(course_id, assignment_id, student, len(data), policy, now)  # before any blob is written
        digest = self.blobs.put(data)
        with self.directory.session() as s:
            if self._release(s, course_id, assignment_id) is None:
                raise _unknown_assignment(assignment_id)
            attempts = (
                s.query(func.count(Submission.id))
                .filter_by(course_id=course_id, assignment_id=assignment_id, student=student)
                .scalar()
            )
            submission = Submission(
                id=secrets.token_hex(16), course_id=course_id, assignment_id=assignment_id, student=student,
                class_name=class_name, submitted_at=now, timestamp=now.strftime(TIMESTAMP_FORMAT),
                attempt=attempts + 1, blob=digest, size=len(data), notebooks=json.dumps(notebooks), due_at=due,
                seconds_late=max(0, int((now - due).total_seconds())) if due else 0,
            )  # fmt: skip
            s.add(submission)
            s.flush()
            return submission

    def check_quota(
        self,
        course_id: str,
        assignment_id: str,
        student: str,
        size: int,
        policy: SubmitPolicy,
        now: datetime | None = None,
    ) -> None:
        """Refuse an attempt before anything is written: the assignment must be released, the learner's
        attempts must leave room for `size` bytes, and the hour's attempts must be under the rate.

        Nothing is ever deleted to make room: every attempt stays (they are the record of what was submitted
        when); the learner submits something smaller, or an admin raises `exchange_quota_mb`."""
        now = to_utc(now or self.clock())
        with self.directory.session() as s:
            if self._release(s, course_id, assignment_id) is None:
                raise _unknown_assignment(assignment_id)
            rows = (
                s.query(Submission.course_id, Submission.assignment_id, Submission.submitted_at, Submission.size)
                .filter_by(student=student)
                .all()
            )
        limit = policy.max_bytes_per_learner
        used = sum(row.size for row in rows)
        if limit is not None and used + size > limit:
            raise Refused(
                413,
                f"hết dung lượng nộp bài: các lần nộp trước đã dùng {_mb(used)} trên {_mb(limit)}, lần này thêm "
                f"{_mb(size)}. Các bài đã nộp vẫn được giữ nguyên. Hãy bỏ bớt tệp lớn (dữ liệu, hình) khỏi thư mục "
                "bài rồi nộp lại, hoặc nhờ quản trị tăng hạn mức",
                f"exchange storage quota reached: your earlier attempts use {_mb(used)} of {_mb(limit)} and this one "
                f"adds {_mb(size)}. Your earlier submissions are all kept. Remove large files (data, images) from "
                "the assignment folder and submit again, or ask an administrator to raise the quota",
            )
        per_hour = policy.max_attempts_per_hour
        hour_ago = now - timedelta(hours=1)
        recent = sorted(
            to_utc(r.submitted_at) for r in rows
            if (r.course_id, r.assignment_id) == (course_id, assignment_id) and to_utc(r.submitted_at) > hour_ago
        )  # fmt: skip
        if per_hour is not None and len(recent) >= per_hour:
            wait = max(1, int((recent[-per_hour] - hour_ago).total_seconds()) + 1)
            minutes = -(-wait // 60)
            raise RateLimited(
                wait,
                f"bạn đã nộp bài {assignment_id} {len(recent)} lần trong một giờ qua (tối đa {per_hour}); "
                f"hãy nộp lại sau {minutes} phút. Các lần nộp trước vẫn được giữ nguyên",
                f"you submitted {assignment_id} {len(recent)} times in the last hour (at most {per_hour}); "
                f"submit again in {minutes} min. Your earlier attempts are all kept",
            )

    def submissions(
        self, course_id: str, assignment_id: str | None = None, student: str | None = None, latest_only: bool = False
    ) -> list[tuple[Submission, list[str]]]:
        """Submissions (oldest first) with the notebook ids that have feedback."""
        with self.directory.session() as s:
            query = s.query(Submission).filter_by(course_id=course_id)
            if assignment_id is not None:
                query = query.filter_by(assignment_id=assignment_id)
            if student is not None:
                query = query.filter_by(student=student)
            rows = query.order_by(Submission.submitted_at).all()
            if latest_only:
                latest: dict[tuple[str, str], Submission] = {}
                for row in rows:
                    latest[(row.student, row.assignment_id)] = row
                rows = sorted(latest.values(), key=lambda r: (r.assignment_id, r.student))
            return [(row, sorted(f.notebook_id for f in row.feedback)) for row in rows]

    def get_submission(self, submission_id: str) -> Submission:
        with self.directory.session() as s:
            row = s.get(Submission, submission_id) if len(submission_id) <= 32 else None
            if row is None:
                raise Refused(404, "không có bài nộp này", "no such submission")
            return row

    # -- feedback -------------------------------------------------------------------------------

    def put_feedback(self, submission_id: str, files: dict[str, bytes], by: str) -> int:
        with self.directory.session() as s:
            submission = s.get(Submission, submission_id)
            if submission is None:
                raise Refused(404, "không có bài nộp này", "no such submission")
            for name, content in files.items():
                notebook_id = name.removesuffix(".html")
                digest = self.blobs.put(content)
                row = s.query(Feedback).filter_by(submission_id=submission_id, notebook_id=notebook_id).one_or_none()
                if row is None:
                    s.add(Feedback(submission_id=submission_id, notebook_id=notebook_id, blob=digest, released_by=by))
                else:
                    row.blob, row.released_by, row.released_at = digest, by, self.clock()
            return len(files)

    def feedback_archive(self, submission_id: str) -> bytes:
        with self.directory.session() as s:
            rows = s.query(Feedback).filter_by(submission_id=submission_id).order_by(Feedback.notebook_id).all()
        if not rows:
            raise Refused(404, "chưa có nhận xét cho bài nộp này", "no feedback for this submission yet")
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for row in rows:
                content = self.blobs.get(row.blob)
                info = tarfile.TarInfo(f"{row.notebook_id}.html")
                info.size, info.mode = len(content), 0o644
                tar.addfile(info, io.BytesIO(content))
        return buffer.getvalue()


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _unknown_assignment(assignment_id: str) -> Refused:
    return Refused(
        404, f"không có bài {assignment_id} (chưa được phát)", f"no assignment {assignment_id} (not released)"
    )
