"""What an instructor (or the course's formgrader) does: release, collect, release feedback."""

from __future__ import annotations

import glob
import io
import os
import shutil
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.abc import ExchangeCollect as ABCCollect
from nbgrader.exchange.abc import ExchangeError
from nbgrader.exchange.abc import ExchangeReleaseAssignment as ABCReleaseAssignment
from nbgrader.exchange.abc import ExchangeReleaseFeedback as ABCReleaseFeedback
from nbgrader.utils import parse_utc

from graders.exchange import protocol
from graders.exchange.archive import ArchiveError, extract_archive
from graders.exchange.base import Exchange


def split_name(full_name: str) -> tuple[str, str]:
    """Vietnamese order: family and middle names first, the given name last (what people are called)."""
    parts = full_name.split()
    return (parts[-1], " ".join(parts[:-1])) if parts else ("", "")


class ExchangeReleaseAssignment(Exchange, ABCReleaseAssignment):
    def init_src(self) -> None:
        self.require_course()
        self.src_path = self.coursedir.format_path(self.coursedir.release_directory, ".", self.coursedir.assignment_id)
        if not os.path.isdir(self.src_path):
            source = self.coursedir.format_path(self.coursedir.source_directory, ".", self.coursedir.assignment_id)
            if os.path.isdir(source):
                self.fail(f"Chưa tạo bản phát hành: chạy `nbgrader generate_assignment` trước / run "
                          f"`nbgrader generate_assignment` first ({self.src_path} missing)")  # fmt: skip
            self.fail(f"Không có bài / assignment not found: {self.src_path}")

    def copy_files(self) -> None:
        course_id, assignment_id = self.coursedir.course_id, self.coursedir.assignment_id
        data = self.pack_src()
        params = {"force": "1" if self.force else "0"}
        due = self._gradebook_duedate()
        if due is not None:
            params["due"] = due.isoformat()
        path = protocol.path("assignment", course=course_id, assignment=assignment_id)
        self.api("PUT", path, data=data, params=params)
        self.log.info("Released as: %s %s", course_id, assignment_id)

    def _gradebook_duedate(self) -> datetime | None:
        """The assignment's due date in the formgrader becomes the deadline of every class without its own."""
        try:
            with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
                due = gb.find_assignment(self.coursedir.assignment_id).duedate
        except MissingEntry:
            return None
        return due.replace(tzinfo=UTC) if due and due.tzinfo is None else due


class ExchangeCollect(Exchange, ABCCollect):
    """The newest submission of each learner into submitted/<student>/<assignment>/, with the server's
    timestamp; their class deadline goes into the gradebook as an extension, so nbgrader's late-penalty
    step measures each learner against their own class's deadline.

    One learner's submission that cannot be collected (an archive the checks refuse, a download that fails,
    a file that cannot be written) is named with its reason and skipped: everyone else is still collected,
    their previous copy (if any) stays as it was, and the command ends with the list of those skipped
    (exit status 1, so that a script notices)."""

    def init_src(self) -> None:
        course_id = self.require_course()
        student = self.coursedir.student_id if self.coursedir.student_id not in ("", "*") else "*"
        path = protocol.path("submissions", course=course_id, assignment=self.coursedir.assignment_id)
        self.records = self.get_json(path, params={"student": student, "latest": "1"})

    def copy_files(self) -> None:
        if not self.records:
            self.log.warning("Chưa có bài nộp / no submissions of %s to collect", self.coursedir.assignment_id)
            return
        skipped: list[str] = []
        for record in self.records:
            try:
                self._collect(record)
            except (ArchiveError, ExchangeError, OSError) as exc:
                reason = f"{exc.vi} / {exc.en}" if isinstance(exc, ArchiveError) else str(exc)
                self.log.error("Không thu được bài của %s / could not collect the submission of %s (%s): %s",
                               record["student"], record["student"], record["timestamp"], reason)  # fmt: skip
                skipped.append(f"{record['student']} ({record['timestamp']}): {reason}")
        self._record_deadlines()
        if skipped:
            self.fail(
                f"Đã thu các bài khác, nhưng không thu được {len(skipped)} bài / collected the others, but not "
                f"{len(skipped)} submission(s):\n  " + "\n  ".join(skipped)
            )

    def _collect(self, record: dict) -> None:
        student, assignment_id = record["student"], record["assignment_id"]
        dest = Path(self.coursedir.format_path(self.coursedir.submitted_directory, student, assignment_id))
        if dest.is_dir():
            existing = self.coursedir.get_existing_timestamp(str(dest))
            if existing is not None and parse_utc(record["timestamp"]) <= existing:
                self.log.info("Không có bài mới hơn / no newer submission: %s %s", student, assignment_id)
                return
            if not self.update:
                self.log.info("Đã có, dùng --update để cập nhật / exists, use --update: %s %s", student, assignment_id)
                return
        data = self.api("GET", protocol.path("submission_archive", submission=record["id"])).content
        staging = dest.with_name(f".{dest.name}.collecting")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            extract_archive(data, staging, self.limits)
            (staging / "timestamp.txt").write_text(record["timestamp"])
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)  # the previous copy (if any) stays untouched
            raise
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(dest)  # the whole submission appears at once, never half-copied
        self.log.info("Collected: %s %s %s%s", student, assignment_id, record["timestamp"],
                      " (nộp muộn / late)" if record.get("late") else "")  # fmt: skip

    def _record_deadlines(self) -> None:
        """Learners into the gradebook with their names; class deadlines as per-learner extensions.

        nbgrader knows one due date per assignment plus a non-negative extension per learner, so the due date
        is kept at the earliest class deadline and each learner's extension is the distance to theirs."""
        dues = {r["student"]: _naive_utc(datetime.fromisoformat(r["due"])) for r in self.records if r.get("due")}
        aid = self.coursedir.assignment_id
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            for record in self.records:
                first, last = split_name(record.get("full_name", ""))
                gb.update_or_create_student(record["student"], first_name=first, last_name=last)
            if not dues:
                return
            assignment = gb.update_or_create_assignment(aid)
            old_base = assignment.duedate
            base = min([*dues.values(), *([old_base] if old_base else [])])
            if old_base is not None and base < old_base:
                # an earlier class deadline moved the base: keep every earlier learner's deadline where it was
                for submission in gb.assignment_submissions(aid):
                    submission.extension = (submission.extension or timedelta(0)) + (old_base - base)
            gb.update_or_create_assignment(aid, duedate=base)
            for student, due in dues.items():
                gb.update_or_create_submission(aid, student, extension=due - base)


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)  # nbgrader's gradebook stores naive UTC


class ExchangeReleaseFeedback(Exchange, ABCReleaseFeedback):
    def copy_files(self) -> None:
        course_id = self.require_course()
        assignment_id = self.coursedir.assignment_id
        student = self.coursedir.student_id if self.coursedir.student_id not in ("", "*") else "*"
        pattern = self.coursedir.format_path(self.coursedir.feedback_directory, student, assignment_id)
        released = 0
        for folder in sorted(glob.glob(pattern)):
            html = sorted(glob.glob(os.path.join(folder, "*.html")))
            timestamp_file = os.path.join(folder, "timestamp.txt")
            if not html or not os.path.isfile(timestamp_file):
                continue
            student_id = Path(folder).parent.name
            timestamp = Path(timestamp_file).read_text().strip()
            submission = self._submission(course_id, assignment_id, student_id, timestamp)
            if submission is None:
                self.log.warning("Không thấy bài nộp lúc %s của %s / no submission of %s at %s",
                                 timestamp, student_id, student_id, timestamp)  # fmt: skip
                continue
            self.api("POST", protocol.path("feedback", submission=submission), data=_html_archive(html))
            released += 1
            self.log.info("Released feedback: %s %s %s", student_id, assignment_id, timestamp)
        if not released:
            self.log.warning("Không có nhận xét nào để gửi / no feedback to release for %s", assignment_id)

    def _submission(self, course_id: str, assignment_id: str, student: str, timestamp: str) -> str | None:
        path = protocol.path("submissions", course=course_id, assignment=assignment_id)
        for sub in self.get_json(path, params={"student": student}):
            if sub["timestamp"] == timestamp:
                return sub["id"]
        return None


def _html_archive(files: list[str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in files:
            tar.add(path, arcname=os.path.basename(path), recursive=False)
    return buffer.getvalue()
