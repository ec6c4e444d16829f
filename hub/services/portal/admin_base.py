"""What every page of the admin console (/services/portal/admin/…) shares: admins only, everyone else 403,
on every method, before anything is read or changed; every change goes to the audit log (hub.directory.audit)."""

from __future__ import annotations

from typing import Any

from graders.text import BilingualError
from hub.coursework.access import Caller
from hub.services.portal.handlers import PortalHandler


class AdminPage(PortalHandler):
    """Base of the console's handlers. Subclasses decorate their methods with `@web.authenticated` (a visitor
    who is not logged in goes to the hub's login) and call `await self.admin()` first."""

    async def admin(self) -> Caller:
        """The calling admin; 403 for anybody else (learners, instructors, services)."""
        caller = await self.caller()
        if not caller.admin:
            raise BilingualError("Chỉ quản trị viên được vào trang này", "only admins may open this page", 403)
        return caller

    def template_namespace(self) -> dict[str, Any]:
        return {**super().template_namespace(), "admin_base": f"{self.app.prefix}admin/"}
