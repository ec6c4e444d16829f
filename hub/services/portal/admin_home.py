"""The admin console's front page: what needs doing today, and the way to every part of the console."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from tornado import web

from hub.blocking import run_blocking
from hub.directory.models import ClassStatus, Enrolment, EnrolmentRole, LoginFailure, Person, SchoolClass
from hub.services.portal.admin_base import AdminPage


def console_summary(app: Any) -> dict[str, int]:
    """Counts for the front page, straight from the directory."""
    with app.directory.session() as s:
        return {
            "open_classes": s.query(func.count(SchoolClass.name))
            .filter(SchoolClass.status == ClassStatus.open)
            .scalar(),
            "classes": s.query(func.count(SchoolClass.name)).scalar(),
            "people": s.query(func.count(Person.username)).filter(Person.active.is_(True)).scalar(),
            "learners": s.query(func.count(func.distinct(Enrolment.username)))
            .filter(Enrolment.role == EnrolmentRole.learner)
            .scalar(),
            "locked_candidates": s.query(func.count(LoginFailure.username)).scalar(),
        }


class AdminHomeHandler(AdminPage):
    @web.authenticated
    async def get(self) -> None:
        await self.admin()
        summary = await run_blocking(console_summary, self.app)
        self.render("admin_home.html", summary=summary)


handlers = [("admin/?", AdminHomeHandler)]
