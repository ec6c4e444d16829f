"""What the hub should know about a user: JupyterHub groups and roles derived from the directory.

A class is a JupyterHub group of its learners, named like the class. An instructor of a class gets the
role `instructor-<class>`, whose scopes reach exactly that class's group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from hub.directory.models import Enrolment, EnrolmentRole, Person

LEARNER_ROLE = "learner"
INSTRUCTOR_ROLE = "instructor"


def instructor_role_name(class_name: str) -> str:
    return f"instructor-{class_name.lower()}"


def instructor_role(class_name: str, course_id: str | None) -> dict[str, Any]:
    """Role of the instructors of one class: see and list its learners, open its course's formgrader
    (a hub service named like the course), nothing beyond."""
    group = class_name
    scopes = [f"list:users!group={group}", f"read:users!group={group}", f"read:groups!group={group}"]
    if course_id:
        scopes.append(f"access:services!service={course_id}")
    return {
        "name": instructor_role_name(class_name),
        "description": f"Giảng viên lớp {class_name} / Instructor of class {class_name}",
        "scopes": scopes,
    }


# The hub services everyone in a class uses; what they may do there each service decides.
SERVICE_ACCESS = [f"access:services!service={name}" for name in ("exchange", "portal", "certificates")]

BASE_ROLES: dict[str, dict[str, Any]] = {
    # JupyterHub strips every role a managing authenticator does not return, so `user` is always returned.
    "user": {"name": "user"},
    "admin": {"name": "admin"},
    LEARNER_ROLE: {
        "name": LEARNER_ROLE,
        "description": "Học viên / Learner",
        "scopes": ["self", *SERVICE_ACCESS],
    },
    INSTRUCTOR_ROLE: {
        "name": INSTRUCTOR_ROLE,
        "description": "Giảng viên / Instructor",
        "scopes": ["self", *SERVICE_ACCESS],
    },
}


@dataclass
class Membership:
    admin: bool = False
    groups: list[str] = field(default_factory=list)
    roles: list[dict[str, Any]] = field(default_factory=list)


def membership_of(session: Session, username: str) -> Membership | None:
    """Groups and roles for `username`, or None when the directory does not know them or they are deactivated."""
    person = session.get(Person, username)
    if person is None or not person.active:  # deactivated by an admin: no login, and logged out at the next refresh
        return None
    enrolments = session.query(Enrolment).filter(Enrolment.username == username).all()
    roles = [BASE_ROLES["user"]]
    groups = sorted({e.class_name for e in enrolments if e.role == EnrolmentRole.learner})
    taught = sorted(
        {(e.class_name, e.school_class.course_id) for e in enrolments if e.role == EnrolmentRole.instructor}
    )
    if groups:
        roles.append(BASE_ROLES[LEARNER_ROLE])
    if taught:
        roles.append(BASE_ROLES[INSTRUCTOR_ROLE])
        roles.extend(instructor_role(name, course) for name, course in taught)
    if person.is_admin:
        roles.append(BASE_ROLES["admin"])
    return Membership(admin=person.is_admin, groups=groups, roles=roles)
