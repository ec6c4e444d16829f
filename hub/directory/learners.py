"""Who a certificate is decided for: the learners of a course's classes, read from the directory.

The hub hands this down to the certificates (CertificateSettings.roster): graders/ never reads hub tables.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from graders.certificates.issue import Learner
from graders.text import UserError
from hub.directory.db import Directory
from hub.directory.models import Enrolment, EnrolmentRole, Person, SchoolClass


def roster_for(directory_url: str) -> Callable[[str, str | None], list[Learner]]:
    """The roster of one directory, as CertificateSettings.roster wants it."""
    return lambda course_id, class_name: learners_of(directory_url, course_id, class_name)


def learners_of(directory_url: str, course_id: str, class_name: str | None) -> list[Learner]:
    """Learners enrolled in the course's classes (or one class), from the directory; one entry per person."""
    directory = Directory(directory_url)
    try:
        with directory.session() as s:
            if class_name is not None:
                cls = s.get(SchoolClass, class_name)
                if cls is None:
                    raise UserError(f"không có lớp {class_name!r}", f"no class {class_name!r}")
                if cls.course_id != course_id:
                    raise UserError(
                        f"lớp {class_name} học khoá {cls.course_id or '-'}, không phải {course_id}",
                        f"class {class_name} takes course {cls.course_id or '-'}, not {course_id}",
                    )
            query = (
                select(Person, SchoolClass)
                .join(Enrolment, Enrolment.username == Person.username)
                .join(SchoolClass, SchoolClass.name == Enrolment.class_name)
                .where(SchoolClass.course_id == course_id, Enrolment.role == EnrolmentRole.learner)
            )
            if class_name is not None:
                query = query.where(SchoolClass.name == class_name)
            chosen: dict[str, Learner] = {}
            order: dict[str, tuple] = {}
            for person, cls in s.execute(query):
                key = (cls.year or 0, cls.created_at.isoformat() if cls.created_at else "", cls.name)
                if person.username not in chosen or key > order[person.username]:  # latest class wins
                    chosen[person.username] = Learner(person.username, person.full_name, person.organisation, cls.name)
                    order[person.username] = key
    finally:
        directory.dispose()
    return [chosen[name] for name in sorted(chosen)]
