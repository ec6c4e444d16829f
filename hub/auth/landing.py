"""Where a person lands after login: learners in their JupyterLab (JupyterHub's own behaviour), instructors on
the portal's course dashboards and admins in the portal's admin console — an instructor has no use for an
empty workspace, and JupyterHub's own admin page knows nothing of classes or courses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.directory.membership import INSTRUCTOR_ROLE


def landing_url(base_url: str) -> Callable[[Any], str]:
    """JupyterHub's `default_url` callable; "" lets JupyterHub decide (start and open the learner's server)."""
    portal = f"{base_url}services/portal/"

    def land(handler: Any) -> str:
        user = handler.current_user
        if user is None:
            return ""
        if user.admin:
            return portal + "admin/"
        if any(role.name == INSTRUCTOR_ROLE for role in user.roles):
            return portal
        return ""

    return land
