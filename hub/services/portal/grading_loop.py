"""The grading loop's steps that the portal runs besides autograding (jobs.py): collecting submissions into
the course folder and generating and releasing feedback — what the formgrader's buttons do, done here from
the exchange's own records (the portal shares its database), for the learners of the caller's classes.

Nothing from the course folder runs or configures anything here: nbgrader's classes get the identity the hub
knows (graders.coursedir.grading_config), never the folder's nbgrader_config.py; collecting goes through the
exchange client's own checks (archive limits, one learner's bad archive does not stop the others, the whole
submission appears at once, class deadlines become the gradebook's per-learner extensions).
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from graders.text import Text

MAX_FEEDBACK_BYTES = 20 * 1024 * 1024  # one notebook's feedback page; nbgrader's are well under 1 MB


@dataclass
class LoopJob:
    id: str
    kind: str  # "feedback"
    course_id: str
    assignment_id: str
    started_by: str
    state: str = "running"  # running | done | failed
    generated: int = 0
    released: int = 0
    skipped: list[str] = field(default_factory=list)
    message: Text | None = None
    started: float = field(default_factory=time.time)
    seconds: float = 0.0


@dataclass
class Collected:
    by: str = ""
    at: float = field(default_factory=time.time)
    collected: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)  # "learner: reason"
    error: str = ""


def _owned_like(path: Path, root: Path) -> None:
    """Folders and files written here as root belong to the course folder's owner (the formgraders' user), so
    the formgrader can still replace them."""
    if os.geteuid() != 0 or not path.exists():
        return
    owner = root.stat()
    for p in [path, *path.rglob("*")]:
        os.chown(p, owner.st_uid, owner.st_gid, follow_symlinks=False)


def _coursedir(app: Any, course_id: str, assignment_id: str) -> Any:
    from nbgrader.coursedir import CourseDirectory

    from graders.coursedir import grading_config

    root = app.course_dir(course_id).absolute()
    config = grading_config(course_id, root, app.settings.gradebook_url_for(course_id), app.settings.courses_path)
    return CourseDirectory(config=config, assignment_id=assignment_id), config


def collect(app: Any, course_id: str, assignment_id: str, usernames: list[str], by: str = "") -> Collected:
    """The newest submission of each of these learners into submitted/<learner>/<assignment>/, through the
    exchange client's collect (graders.exchange.ExchangeCollect) reading the store instead of HTTP."""
    from nbgrader.exchange.abc import ExchangeError
    from sqlalchemy.exc import SQLAlchemyError

    from graders.exchange.instructor import ExchangeCollect

    wanted = set(usernames)
    rows = [r for r, _ in app.store.submissions(course_id, assignment_id, latest_only=True) if r.student in wanted]
    names = _full_names(app, [r.student for r in rows])
    records = [{"id": r.id, "student": r.student, "assignment_id": r.assignment_id, "timestamp": r.timestamp,
                "due": r.due_at.isoformat() if r.due_at else None, "late": r.seconds_late > 0,
                "full_name": names.get(r.student, "")} for r in rows]  # fmt: skip
    blobs = {r.id: r.blob for r in rows}
    result = Collected(by)

    class StoreCollect(ExchangeCollect):
        def start(self) -> Any:  # no exchange URL or token: the records are read from the store
            self.set_timestamp()
            self.init_src()
            self.copy_files()

        def init_src(self) -> None:
            self.records = records

        def api(self, method: str, path: str, **kwargs: Any) -> Any:
            submission = path.rstrip("/").split("/")[-2]  # submissions/<id>/archive: the only call collect makes
            return SimpleNamespace(content=app.store.blobs.get(blobs[submission]))

    coursedir, config = _coursedir(app, course_id, assignment_id)
    if not records:
        return result
    before = {r["student"]: _stamp(coursedir, r["student"], assignment_id) for r in records}
    collector = StoreCollect(coursedir=coursedir, config=config)
    collector.update = True
    try:
        collector.start()
    except (ExchangeError, OSError, SQLAlchemyError) as exc:  # named on the page; what was collected stays
        result.error = _plain(app, exc)
    for r in records:
        after = _stamp(coursedir, r["student"], assignment_id)
        if after == r["timestamp"] and before[r["student"]] != after:
            result.collected += 1
        elif after == r["timestamp"]:
            result.unchanged += 1
        else:
            result.skipped.append(r["student"])
    root = app.course_dir(course_id)
    for r in records:
        _owned_like(Path(coursedir.format_path(coursedir.submitted_directory, r["student"], assignment_id)), root)
    return result


def _plain(app: Any, exc: BaseException) -> str:
    """An error as the page shows it: no server paths (the data directory is named as such), one short line."""
    text = " ".join(str(exc).split()).replace(str(app.settings.data_path.absolute()), "DATA_DIR")
    return text.replace(str(app.settings.data_path), "DATA_DIR")[:300] or exc.__class__.__name__


def _stamp(coursedir: Any, student: str, assignment_id: str) -> str | None:
    path = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment_id)) / "timestamp.txt"
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _full_names(app: Any, usernames: list[str]) -> dict[str, str]:
    from hub.directory.models import Person

    with app.directory.session() as s:
        return dict(s.query(Person.username, Person.full_name).filter(Person.username.in_(set(usernames))))


# -- feedback ----------------------------------------------------------------------------------------------


def generate_feedback(app: Any, course_id: str, assignment_id: str, usernames: list[str]) -> int:
    """nbgrader's generate_feedback (as the formgrader runs it: the feedback template, notebooks cleaned for
    display) for these learners' autograded submissions; returns how many were generated."""
    from nbgrader.converters import GenerateFeedback
    from traitlets.config import Config

    from graders import feedback as feedback_template

    coursedir, config = _coursedir(app, course_id, assignment_id)
    shown = {**feedback_template.exporter_config(), "preprocessors": ["graders.autograde.sanitize.SanitizeForDisplay"]}
    config.merge(Config({"HTMLExporter": shown}))
    done = 0
    root = app.course_dir(course_id)
    for username in sorted(set(usernames)):
        if not Path(coursedir.format_path(coursedir.autograded_directory, username, assignment_id)).is_dir():
            continue
        coursedir.student_id = username
        converter = GenerateFeedback(coursedir=coursedir, config=config)
        converter.force = True
        converter.start()  # raises NbGraderException when a notebook cannot be converted
        done += 1
        _owned_like(Path(coursedir.format_path(coursedir.feedback_directory, username, assignment_id)), root)
    return done


def release_feedback(app: Any, course_id: str, assignment_id: str, usernames: list[str], by: str) -> tuple[int, list]:
    """Each learner's generated feedback pages to the submission they were made from (by its timestamp), as
    the exchange's feedback upload stores them; returns (released, [learners without a matching submission])."""
    root = app.course_dir(course_id)
    released, skipped = 0, []
    for username in sorted(set(usernames)):
        folder = root / "feedback" / username / assignment_id
        pages = sorted(folder.glob("*.html")) if folder.is_dir() else []
        stamp = folder / "timestamp.txt"
        if not pages or not stamp.is_file():
            continue
        timestamp = stamp.read_text(encoding="utf-8").strip()
        attempts = app.store.submissions(course_id, assignment_id, student=username)
        submission = next((s for s, _ in attempts if s.timestamp == timestamp), None)
        files = {p.name: p.read_bytes() for p in pages if p.is_file() and p.stat().st_size <= MAX_FEEDBACK_BYTES}
        if submission is None or not files:
            skipped.append(username)
            continue
        app.store.put_feedback(submission.id, files, by)
        released += 1
    return released, skipped


class FeedbackJobs:
    """Feedback for one assignment at a time, generated and released in a thread; the page polls it."""

    def __init__(self, work: Callable[..., tuple[int, int, list]] | None = None) -> None:
        self._work = work or feedback_work
        self._jobs: dict[str, LoopJob] = {}
        self._lock = threading.Lock()
        self.collected: dict[tuple[str, str], Collected] = {}  # (course, assignment) -> the last collect's outcome

    def get(self, job_id: str) -> LoopJob | None:
        return self._jobs.get(job_id)

    def running(self, course_id: str, assignment_id: str) -> LoopJob | None:
        return next((j for j in self._jobs.values() if (j.course_id, j.assignment_id, j.state) ==
                     (course_id, assignment_id, "running")), None)  # fmt: skip

    def latest(self, course_id: str, assignment_id: str) -> LoopJob | None:
        mine = [j for j in self._jobs.values() if (j.course_id, j.assignment_id) == (course_id, assignment_id)]
        return max(mine, key=lambda j: j.started) if mine else None

    def start(self, app: Any, course_id: str, assignment_id: str, usernames: list[str], by: str) -> LoopJob:
        with self._lock:
            existing = self.running(course_id, assignment_id)
            if existing:
                return existing
            job = LoopJob(secrets.token_hex(8), "feedback", course_id, assignment_id, by)
            self._jobs[job.id] = job
        threading.Thread(target=self._run, args=(job, app, usernames), daemon=True).start()
        return job

    def _run(self, job: LoopJob, app: Any, usernames: list[str]) -> None:
        try:
            job.generated, job.released, job.skipped = self._work(app, job.course_id, job.assignment_id, usernames,
                                                                  job.started_by)  # fmt: skip
            job.state = "done"
            job.message = Text(
                f"Đã tạo {job.generated} và gửi {job.released} nhận xét cho học viên",
                f"{job.generated} feedback generated, {job.released} released to the learners",
            )
        except Exception as exc:  # the page shows it; the portal goes on
            job.state = "failed"
            why = _plain(app, exc)
            job.message = Text(f"Không tạo được nhận xét: {why}", f"feedback could not be generated: {why}")
        job.seconds = time.time() - job.started


def feedback_work(app: Any, course_id: str, assignment_id: str, usernames: list[str], by: str) -> tuple[int, int, list]:
    generated = generate_feedback(app, course_id, assignment_id, usernames)
    released, skipped = release_feedback(app, course_id, assignment_id, usernames, by)
    return generated, released, skipped
