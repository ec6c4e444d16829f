"""The instructor dashboard (courses/<course>/dashboard): the grading loop per assignment — collect and
autograde, manual grading in the formgrader, feedback generated and released — and how the class is doing,
with charts drawn on the server (hub.reports.charts: inline SVG, the pages run no JavaScript); a drill-down
per learner and the grades as XLSX/CSV. Instructors of the course (admins: every class); each sees only the
learners of their own classes. Every action is a POST with the session's XSRF token."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tornado import web

from graders.text import BilingualError
from hub.blocking import run_blocking
from hub.services.portal import dashboard_views as dv
from hub.services.portal import grading_loop
from hub.services.portal.handlers import PART, PortalHandler

NAMES_SHOWN = 500  # names listed as "not submitted" on one page; a class's own dashboard lists all of its

_feedback_jobs: weakref.WeakKeyDictionary[Any, grading_loop.FeedbackJobs] = weakref.WeakKeyDictionary()


def feedback_jobs(app: Any) -> grading_loop.FeedbackJobs:
    """The portal's feedback jobs (one registry per portal app; tests may put their own)."""
    jobs = _feedback_jobs.get(app)
    if jobs is None:
        jobs = _feedback_jobs[app] = grading_loop.FeedbackJobs()
    return jobs


# Drawn charts by their inputs: a chart takes a tenth of a second or more to draw and the same figures give the
# same SVG (hub.reports.charts), so a dashboard opened again with nothing new is not drawn again.
_CHARTS_KEPT = 256
_drawn: OrderedDict[tuple, str] = OrderedDict()
_drawn_lock = threading.Lock()


def _chart(key: tuple, draw: Callable[..., str], *args: Any) -> str:
    with _drawn_lock:
        svg = _drawn.get(key)
        if svg is not None:
            _drawn.move_to_end(key)
            return svg
    svg = draw(*args)
    with _drawn_lock:
        _drawn[key] = svg
        while len(_drawn) > _CHARTS_KEPT:
            _drawn.popitem(last=False)
    return svg


def charts(board: dv.Dashboard, zone: str) -> dict[str, dict[str, Any]]:
    """assignment -> {"histogram": svg, "timelines": [(class, svg)]}."""
    from hub.reports.charts import histogram, timeline

    drawn = {}
    for b in board.boards:
        title = f"Phân bố điểm / Score distribution — {b.assignment.title.vi}"
        mark = board.pass_mark
        label = "Điểm đạt / Pass mark" if mark is not None else ""
        values = sorted(b.percents)
        hist = _chart(("h", title, tuple(values), mark, label),
                      histogram, values, dv.BIN_EDGES, title, "Điểm (%) / Score (%)", mark, label)  # fmt: skip
        lines = []
        for t in b.timelines:
            who = "mọi lớp / every class" if t.class_name == "*" else t.class_name
            name, times = f"Nộp bài / Submissions — {who}", sorted(t.times)
            svg = _chart(("t", name, tuple(times), t.deadline, zone), timeline, times, t.deadline, name, zone)
            lines.append((t.class_name, svg))
        drawn[b.assignment.id] = {"histogram": hist, "timelines": lines}
    return drawn


def _moment(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def draw(app: Any, caller: Any, course_id: str, only: str | None) -> tuple[dv.Dashboard, dict]:
    board = dv.dashboard(app, caller, course_id, only)
    return board, charts(board, app.settings.timezone)


class DashboardHandler(PortalHandler):
    @web.authenticated
    async def get(self, course_id: str) -> None:
        caller = await self.caller()
        self.course_taught(caller, course_id)
        only = self.get_argument("class", "") or None
        board, drawn = await run_blocking(draw, self.app, caller, course_id, only)
        if only is not None and not board.classes:  # not a class of theirs (or none at all)
            raise BilingualError("Không có lớp này trong các lớp của bạn", "no such class among yours", 404)
        grading = {b.assignment.id: self.app.jobs.running(course_id, b.assignment.id) for b in board.boards}
        jobs = feedback_jobs(self.app)
        feedback = {b.assignment.id: jobs.latest(course_id, b.assignment.id) for b in board.boards}
        collected = {b.assignment.id: jobs.collected.get((course_id, b.assignment.id)) for b in board.boards}
        self.render("dashboard.html", board=board, charts=drawn, grading=grading, feedback=feedback,
                    collected=collected, moment=_moment, many=dv.MAX_CLASS_TIMELINES, names_shown=NAMES_SHOWN,
                    bins=dv.BIN_EDGES)  # fmt: skip


class LearnerHandler(PortalHandler):
    @web.authenticated
    async def get(self, course_id: str, username: str) -> None:
        caller = await self.caller()
        course = self.course_taught(caller, course_id)
        found = await run_blocking(dv.learner_detail, self.app, caller, course_id, username)
        if found is None:  # not a learner of the caller's classes: do not confirm the name exists
            raise BilingualError("Không có học viên này trong lớp của bạn", "no such learner in your classes", 404)
        learner, rows = found
        self.render("dashboard_learner.html", course=course, learner=learner, rows=rows)


class GradesExportHandler(PortalHandler):
    @web.authenticated
    async def get(self, course_id: str, kind: str) -> None:
        caller = await self.caller()
        self.course_taught(caller, course_id)
        table = await run_blocking(dv.grade_table, self.app, caller, course_id)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
        if kind == "xlsx":
            data = await run_blocking(dv.to_xlsx, table)
            self.set_header("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        else:
            data = dv.to_csv(table)
            self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", f'attachment; filename="bang-diem-{course_id}-{stamp}.{kind}"')
        self.set_header("Cache-Control", "no-store")
        self.finish(data)


class CollectGradeHandler(PortalHandler):
    """Collect the newest submission of each learner of the caller's classes, then autograde the assignment in
    sandboxes (the portal's grading job, jobs.py, whose page shows its progress)."""

    @web.authenticated
    async def post(self, course_id: str, assignment_id: str) -> None:
        caller = await self.caller()
        self.assignment_taught(caller, course_id, assignment_id)
        if self.app.jobs.running(course_id, assignment_id):
            raise BilingualError("Bài này đang được chấm", "this assignment is being graded already", 409)
        _, learners = await run_blocking(dv.learners_of, self.app, caller, course_id)
        collected = await run_blocking(grading_loop.collect, self.app, course_id, assignment_id,
                                       [lr.username for lr in learners], caller.name)  # fmt: skip
        feedback_jobs(self.app).collected[(course_id, assignment_id)] = collected  # shown on the dashboard
        if not collected.collected and not collected.unchanged:
            self.redirect(f"{self.app.prefix}courses/{course_id}/dashboard#a-{assignment_id}")
            return
        job = self.app.jobs.start(self.app.course_dir(course_id), course_id, assignment_id, caller.name,
                                  **self.app.grading_options)  # fmt: skip
        self.redirect(f"{self.app.prefix}jobs/{job.id}")


class FeedbackHandler(PortalHandler):
    """Generate feedback from the autograded submissions of the caller's learners and release it to them."""

    @web.authenticated
    async def post(self, course_id: str, assignment_id: str) -> None:
        caller = await self.caller()
        self.assignment_taught(caller, course_id, assignment_id)
        _, learners = await run_blocking(dv.learners_of, self.app, caller, course_id)
        job = feedback_jobs(self.app).start(self.app, course_id, assignment_id, [lr.username for lr in learners],
                                            caller.name)  # fmt: skip
        self.redirect(f"{self.app.prefix}courses/{course_id}/feedback-jobs/{job.id}")


class FeedbackJobHandler(PortalHandler):
    @web.authenticated
    async def get(self, course_id: str, job_id: str) -> None:
        caller = await self.caller()
        course = self.course_taught(caller, course_id)
        job = feedback_jobs(self.app).get(job_id)
        if job is None or job.course_id != course_id:
            raise BilingualError("Không có việc này", "no such job", 404)
        self.render("dashboard_job.html", job=job, course=course)


handlers = [
    (f"courses/{PART}/dashboard", DashboardHandler),
    (f"courses/{PART}/learners/{PART}", LearnerHandler),
    (rf"courses/{PART}/grades\.(xlsx|csv)", GradesExportHandler),
    (f"courses/{PART}/assignments/{PART}/collect", CollectGradeHandler),
    (f"courses/{PART}/assignments/{PART}/feedback", FeedbackHandler),
    (rf"courses/{PART}/feedback-jobs/([0-9a-f]{{16}})", FeedbackJobHandler),
]
