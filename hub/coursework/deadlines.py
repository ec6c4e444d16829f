"""Setting a deadline: the one permission check, whichever door (exchange API, portal form) it came through."""

from __future__ import annotations

from datetime import datetime

from graders.text import BilingualError
from hub.coursework.access import AccessResolver, Caller
from hub.coursework.models import DEFAULT_CLASS
from hub.coursework.store import ExchangeStore


def check_may_set_deadline(caller: Caller, course_id: str, class_name: str, classes_of_course: list[str]) -> None:
    """A course's instructors (admins, its formgrader) set its default deadline (`*`); a class's deadline is
    set by that class's instructors, admins and the course's formgrader, and only for a class of the course."""
    if not caller.teaches(course_id):
        raise BilingualError("Chỉ giảng viên của khoá học được làm việc này", "only the course's instructors may", 403)
    if class_name == DEFAULT_CLASS:
        return
    if class_name not in classes_of_course:
        raise BilingualError(
            f"lớp {class_name[:64]!r} không học khoá này", f"class {class_name[:64]!r} is not in this course", 404
        )
    if not (caller.admin or caller.kind == "service" or class_name in caller.instructor_classes):
        raise BilingualError("Bạn không dạy lớp này", "you do not teach this class", 403)


def set_deadline(
    store: ExchangeStore,
    access: AccessResolver,
    caller: Caller,
    course_id: str,
    assignment_id: str,
    class_name: str,
    due: datetime,
) -> None:
    """Check, then store (blocking: run it off the event loop). An unreleased assignment is a 404 (the store)."""
    check_may_set_deadline(caller, course_id, class_name, access.classes_of_course(course_id))
    store.set_deadline(course_id, assignment_id, class_name, due, caller.name)
