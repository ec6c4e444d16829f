"""The console's people pages (admin/people): every account in the directory, found by name with or without
diacritics, username, email or unit, filtered by class, role and state; one person's page with their
enrolments and the admin's actions on them (hub.directory.people does the work, one audit row each)."""

from __future__ import annotations

import inspect
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import select
from tornado import web

from graders.text import Text, UserError
from hub.blocking import run_blocking
from hub.directory import people
from hub.directory.models import SchoolClass
from hub.services.portal.admin_base import AdminPage

# After a change the browser is sent back to the person's page (so a reload repeats nothing) with one of these.
DONE = {
    "unlocked": Text("Đã mở khoá tài khoản.", "The account is unlocked."),
    "not_locked": Text(
        "Tài khoản không bị khoá; không có gì thay đổi.", "The account was not locked; nothing changed."
    ),
    "moved": Text(
        "Đã chuyển lớp. Bài làm và điểm được giữ nguyên; học viên thấy lớp mới ở lần đăng nhập sau.",
        "Moved. Work and grades are kept; the learner sees the new class at their next login.",
    ),
    "deactivated": Text(
        "Đã khoá tài khoản: người này không đăng nhập được nữa.", "Deactivated: this person can no longer log in."
    ),
    "activated": Text("Đã mở lại tài khoản.", "The account is active again."),
    "unchanged": Text("Không có gì thay đổi.", "Nothing changed."),
    "edited": Text("Đã lưu thông tin.", "Saved."),
}


class AdminOnly(AdminPage):
    """Refuses non-admins on every method, even those a handler does not answer, before anything else."""

    async def prepare(self) -> None:
        ready = super().prepare()  # the session-bound XSRF check (hub.services.xsrf)
        if inspect.isawaitable(ready):
            await ready
        if self.current_user is not None:
            await self.admin()

    def limits(self) -> people.Lockout:
        return people.Lockout(self.app.settings.login_max_failures, self.app.settings.login_lockout_seconds)

    def person_url(self, username: str, done: str = "") -> str:
        url = f"{self.app.prefix}admin/people/{quote(username, safe='')}"
        return f"{url}?{urlencode({'done': done})}" if done else url

    def in_directory(self, work: Any, *args: Any) -> Any:
        """`work(session, *args)` in one directory transaction, off the event loop."""

        def run() -> Any:
            with self.app.directory.session() as session:
                return work(session, *args)

        return run_blocking(run)


class PeopleHandler(AdminOnly):
    @web.authenticated
    async def get(self) -> None:
        await self.admin()
        query = self.get_argument("q", "")
        filters = {key: self.get_argument(key, "")[:100] for key in ("class", "role", "state")}
        page = _page_number(self.get_argument("page", "1"))

        def read(session: Any) -> tuple[Any, list[str]]:
            found = people.search_people(
                session,
                query,
                class_name=filters["class"],
                role=filters["role"],
                state=filters["state"],
                page=page,
                limits=self.limits(),
            )
            classes = list(session.scalars(select(SchoolClass.name).order_by(SchoolClass.name)))
            return found, classes

        found, classes = await self.in_directory(read)
        links = {key: {**filters, "q": query} for key in ("prev", "next")}
        links["prev"]["page"], links["next"]["page"] = str(found.page - 1), str(found.page + 1)
        self.render(
            "admin_people.html",
            found=found,
            classes=classes,
            q=query,
            filters=filters,
            roles=list(people.Role),
            states=list(people.State),
            prev=urlencode(links["prev"]),
            next=urlencode(links["next"]),
            quote=quote,
        )


class PersonHandler(AdminOnly):
    @web.authenticated
    async def get(self, raw: str) -> None:
        await self.admin()
        username = people.check_username(raw)

        def read(session: Any) -> tuple[Any, Any]:
            return people.person_details(session, username, self.limits()), people.move_targets(session, username)

        person, targets = await self.in_directory(read)
        done = DONE.get(self.get_argument("done", ""))
        self.render(
            "admin_person.html",
            person=person,
            targets=targets,
            done=done,
            last_activity=await self._last_activity(username),
            quote=quote,
        )

    async def _last_activity(self, username: str) -> str:
        """When the hub last saw them (optional: the hub may not know them yet, or not answer). Asked with the
        portal's own token (read:users), through the resolver that already asks the hub about users."""
        try:
            model = await self.app.access._hub_user(username)
        except Exception:  # the page works without it
            return ""
        raw = model.get("last_activity") if isinstance(model, dict) else None
        if not raw:
            return ""
        try:
            return _shown(raw, self.app.settings.timezone)
        except ValueError:
            return ""


class PersonAction(AdminOnly):
    """A POST on one person: `apply(session, actor, username, form)` makes the change in one transaction and
    returns the DONE key shown afterwards."""

    @web.authenticated
    async def post(self, raw: str) -> None:
        caller = await self.admin()
        username = people.check_username(raw)
        form = {
            key: self.get_body_argument(key, "")
            for key in ("from_class", "to_class", "full_name", "email", "organisation")
        }
        done = await self.in_directory(self.apply, caller.name, username, form)
        self.redirect(self.person_url(username, done))

    def apply(self, session: Any, actor: str, username: str, form: dict[str, str]) -> str:
        raise NotImplementedError


class UnlockHandler(PersonAction):
    def apply(self, session: Any, actor: str, username: str, form: dict[str, str]) -> str:
        return "unlocked" if people.unlock(session, actor, username, self.limits()) else "not_locked"


class MoveHandler(PersonAction):
    def apply(self, session: Any, actor: str, username: str, form: dict[str, str]) -> str:
        people.move_learner(session, actor, username, form["from_class"], form["to_class"])
        return "moved"


class DeactivateHandler(PersonAction):
    def apply(self, session: Any, actor: str, username: str, form: dict[str, str]) -> str:
        return "deactivated" if people.set_active(session, actor, username, False) else "unchanged"


class ActivateHandler(PersonAction):
    def apply(self, session: Any, actor: str, username: str, form: dict[str, str]) -> str:
        return "activated" if people.set_active(session, actor, username, True) else "unchanged"


class EditHandler(PersonAction):
    def apply(self, session: Any, actor: str, username: str, form: dict[str, str]) -> str:
        changed = people.edit_person(session, actor, username, form["full_name"], form["email"], form["organisation"])
        return "edited" if changed else "unchanged"


class ResetPasswordHandler(AdminOnly):
    """The new password is in this one answer's page only: not in a URL, a log line or the audit row; the page
    is not stored by the browser (Cache-Control: no-store, every service answer)."""

    @web.authenticated
    async def post(self, raw: str) -> None:
        caller = await self.admin()
        username = people.check_username(raw)

        def reset(session: Any) -> tuple[str, Any]:
            password = people.reset_password(session, caller.name, username)
            return password, people.person_details(session, username, self.limits())

        password, person = await self.in_directory(reset)
        self.render("admin_person_password.html", person=person, password=password, quote=quote)


def _page_number(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 6 or int(raw) < 1:
        raise UserError("số trang không hợp lệ", "invalid page number", 400)
    return int(raw)


def _shown(raw: str, zone: str) -> str:
    from hub.services.portal.views import when

    return when(datetime.fromisoformat(raw.replace("Z", "+00:00")), zone)


PERSON = r"admin/people/([^/]+)"
handlers = [
    (r"admin/people/?", PeopleHandler),
    (PERSON, PersonHandler),
    (PERSON + "/reset-password", ResetPasswordHandler),
    (PERSON + "/unlock", UnlockHandler),
    (PERSON + "/move", MoveHandler),
    (PERSON + "/deactivate", DeactivateHandler),
    (PERSON + "/activate", ActivateHandler),
    (PERSON + "/edit", EditHandler),
]
