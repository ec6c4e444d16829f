"""Grading jobs started from the web: one sandboxed batch per assignment at a time, in a thread.

The portal has the hub's rights; it grades a course folder that instructors write, so it reads the course's
settings only as data (graders.course_settings) and takes which course it is and where its gradebook lives
from the hub's settings, not from that folder.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.services.metrics import count_outcomes, watch_grading_jobs


@dataclass
class Job:
    id: str
    course_id: str
    assignment_id: str
    started_by: str
    state: str = "running"  # running | done | failed
    done: int = 0
    total: int = 0
    message: str = ""
    graded: int = 0
    flagged: int = 0
    failed: int = 0
    started: float = field(default_factory=time.time)
    seconds: float = 0.0


class GradingJobs:
    def __init__(
        self, grade: Any, db_url_for: Callable[[str], str] | None = None, courses_root: Path | None = None
    ) -> None:
        self._grade = grade  # graders.autograde.grade_assignment, or a stand-in in tests
        self._db_url_for = db_url_for  # course id -> gradebook URL (HubSettings.gradebook_url_for)
        self._courses_root = courses_root  # the hub's courses_root: where course.yaml's late policy is
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        watch_grading_jobs(lambda: sum(j.state == "running" for j in list(self._jobs.values())))

    def _gradebook_url(self, course_id: str) -> str | None:
        if self._db_url_for is None and "TRUONGSO_RUN_SETTINGS" in os.environ:  # running as the hub's service
            from hub.services import load_service_settings

            self._db_url_for = load_service_settings().gradebook_url_for
        return self._db_url_for(course_id) if self._db_url_for else None

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def running(self, course_id: str, assignment_id: str) -> Job | None:
        return next((j for j in self._jobs.values() if (j.course_id, j.assignment_id, j.state) ==
                     (course_id, assignment_id, "running")), None)  # fmt: skip

    def start(self, course_dir: Path, course_id: str, assignment_id: str, by: str, **options: Any) -> Job:
        with self._lock:
            existing = self.running(course_id, assignment_id)
            if existing:
                return existing
            job = Job(secrets.token_hex(8), course_id, assignment_id, by)
            self._jobs[job.id] = job
        threading.Thread(target=self._run, args=(job, course_dir, options), daemon=True).start()
        return job

    def _run(self, job: Job, course_dir: Path, options: dict) -> None:
        def progress(done: int, total: int, _result: Any) -> None:
            job.done, job.total = done, total

        try:
            db_url = self._gradebook_url(job.course_id)
            if db_url is not None:
                from graders.coursedir import grading_config

                config = grading_config(job.course_id, Path(course_dir).absolute(), db_url, self._courses_root)
                options.setdefault("config", config)
            report = self._grade(course_dir, job.assignment_id, progress=progress, **options)
            job.graded, job.flagged, job.failed = report.graded, report.flagged, report.failed
            job.state = "done"
            count_outcomes(report.graded, report.flagged, report.failed)
        except Exception as exc:  # the page shows it; the portal goes on
            job.state, job.message = "failed", str(exc)[:500]
        job.seconds = time.time() - job.started
