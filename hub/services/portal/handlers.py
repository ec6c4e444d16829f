"""Portal pages. Login through the hub (OAuth); forms carry XSRF tokens; no script runs on these pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from jupyterhub.services.auth import HubOAuthenticated
from tornado import web

from graders.text import BilingualError
from graders.timeutil import school_wall_time
from hub.blocking import run_blocking
from hub.coursework.access import Caller
from hub.coursework.deadlines import set_deadline
from hub.services.base import ServiceHandler
from hub.services.portal import dashboard_views, timetable, views
from hub.services.xsrf import SessionXsrfMixin


class PortalHandler(SessionXsrfMixin, HubOAuthenticated, ServiceHandler):  # XSRF bound to the hub session
    csp = "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"  # base.html's own style
    referrer_policy = "same-origin"

    def initialize(self) -> None:
        self.hub_auth = self.app.hub_auth

    async def caller(self) -> Caller:
        return await self.app.access.resolve(self.current_user)

    def template_namespace(self) -> dict[str, Any]:
        return {
            **super().template_namespace(),
            "base": self.app.prefix,
            "hub": self.app.hub_prefix,
            "services": self.app.services_prefix,
            "user": self.current_user,
        }

    def course_taught(self, caller: Caller, course_id: str) -> Any:
        if course_id not in self.app.courses:
            raise BilingualError("Không có khoá học này", "no such course", 404)
        if not caller.teaches(course_id):
            raise BilingualError("Chỉ giảng viên của khoá học", "only the course's instructors", 403)
        return self.app.courses[course_id]

    def assignment_taught(self, caller: Caller, course_id: str, assignment_id: str) -> tuple[Any, Any]:
        """The course and one of its assignments, for the course's instructors; 404 for an unknown one."""
        course = self.course_taught(caller, course_id)
        assignment = next((a for a in course.assignments if a.id == assignment_id), None)
        if assignment is None:
            raise BilingualError("Không có bài này", "no such assignment", 404)
        return course, assignment


class HomeHandler(PortalHandler):
    @web.authenticated
    async def get(self) -> None:
        caller = await self.caller()
        learning = []
        for course_id in sorted(caller.learner_classes):
            rows = await run_blocking(views.learner_view, self.app, caller, course_id)
            learning.append((self.app.courses[course_id], caller.learner_classes[course_id], rows))
        teaching = await run_blocking(dashboard_views.teaching, self.app, caller)  # [(course, [class, counts])]
        sessions = await run_blocking(timetable.upcoming_sessions, self.app, list(caller.learner_classes.values()))
        self.render("home.html", learning=learning, teaching=teaching, caller=caller, sessions=sessions)


class CourseHandler(PortalHandler):
    @web.authenticated
    async def get(self, course_id: str) -> None:
        caller = await self.caller()
        course = self.course_taught(caller, course_id)
        classes, assignments = await run_blocking(views.instructor_view, self.app, caller, course_id)
        jobs = {a.id: self.app.jobs.running(course_id, a.id) for a in assignments}
        sessions = await run_blocking(timetable.class_timetables, self.app, [c.name for c in classes])
        message = self.get_argument("message", "") or self.deadline_saved(classes)
        self.render("course.html", course=course, classes=classes, assignments=assignments, jobs=jobs,
                    message=message, sessions=sessions)  # fmt: skip

    def deadline_saved(self, classes: list) -> str:
        """After the deadline form: what was saved, read back from the store (not from the address)."""
        saved, assignment_id = self.get_argument("saved", ""), self.get_argument("assignment", "")
        for c in classes:
            due = c.deadlines.get(assignment_id) if c.name == saved else None
            if due:
                return (f"Đã lưu hạn nộp bài {assignment_id} của lớp {c.name}: {due}. / "
                        f"Deadline of {assignment_id} for class {c.name} saved: {due}.")  # fmt: skip
        return ""


class DeadlineHandler(PortalHandler):
    @web.authenticated
    async def post(self, course_id: str, assignment_id: str) -> None:
        caller = await self.caller()
        self.course_taught(caller, course_id)
        class_name = self.get_body_argument("class_name", "")
        try:
            # the form says "giờ Việt Nam": the typed wall time is the school's; converted to a moment here, once
            due = school_wall_time(self.get_body_argument("due", ""), self.app.settings.timezone)
        except ValueError:
            raise BilingualError(
                "Hạn nộp không hợp lệ (ngày giờ Việt Nam)", "invalid deadline (a Vietnam date and time)", 400
            ) from None
        await run_blocking(set_deadline, self.app.store, self.app.access, caller, course_id, assignment_id,
                           class_name, due)  # fmt: skip
        query = urlencode({"saved": class_name, "assignment": assignment_id})
        self.redirect(f"{self.app.prefix}courses/{course_id}?{query}#a-{assignment_id}")


class GradeHandler(PortalHandler):
    @web.authenticated
    async def post(self, course_id: str, assignment_id: str) -> None:
        caller = await self.caller()
        self.assignment_taught(caller, course_id, assignment_id)
        job = self.app.jobs.start(self.app.course_dir(course_id), course_id, assignment_id, caller.name,
                                  **self.app.grading_options)  # fmt: skip
        self.redirect(f"{self.app.prefix}jobs/{job.id}")


class ReportHandler(PortalHandler):
    @web.authenticated
    async def get(self, course_id: str, assignment_id: str) -> None:
        caller = await self.caller()
        course, assignment = self.assignment_taught(caller, course_id, assignment_id)
        rows = await run_blocking(views.integrity_report, self.app, caller, course_id, assignment_id)
        self.render("report.html", course=course, assignment=assignment, rows=rows)


class JobHandler(PortalHandler):
    @web.authenticated
    async def get(self, job_id: str) -> None:
        caller = await self.caller()
        job = self.app.jobs.get(job_id)
        if job is None or not caller.teaches(job.course_id):
            raise BilingualError("Không có việc chấm này", "no such grading job", 404)
        if self.get_argument("format", "") == "json":
            self.set_header("Content-Type", "application/json")
            self.finish({k: v for k, v in vars(job).items()})
            return
        self.render("job.html", job=job, course=self.app.courses[job.course_id])


PART = r"([^/]+)"


def console_handlers() -> list:
    """The admin console's and the instructor dashboard's pages, each module with its own `handlers` list
    (imported here, late, because they build on PortalHandler)."""
    from hub.services.portal import (
        admin_audit,
        admin_certificates,
        admin_classes,
        admin_home,
        admin_people,
        admin_reports,
        dashboard,
    )

    modules = (admin_home, admin_classes, admin_people, admin_certificates, admin_reports, admin_audit, dashboard)
    return [route for module in modules for route in module.handlers]


# Paths under the service's prefix (hub/services/base.py); JupyterHub's OAuth callback is added by app.py.
default_handlers = [
    ("", HomeHandler),
    (f"courses/{PART}", CourseHandler),
    (f"courses/{PART}/assignments/{PART}/deadline", DeadlineHandler),
    (f"courses/{PART}/assignments/{PART}/grade", GradeHandler),
    (f"courses/{PART}/assignments/{PART}/report", ReportHandler),
    (r"jobs/([0-9a-f]+)", JobHandler),
]
