"""The portal's data side, real but without a web server: a directory database with one class, the exchange
store (releases, submissions, feedback) and the settings pointing at a gradebook — what the portal handlers
hand to `hub.services.portal.views`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

CLASS = "KNS-K01-2026"


@dataclass
class PortalData:
    """Has what views.learner_view / instructor_view read of the portal app."""

    settings: Any
    directory: Any
    store: Any
    courses: dict[str, Any]


def build_portal(
    data_dir: Path,
    gradebook_url: str,
    course: Any,
    submitted: dict[str, Iterable[str]],
    others: Iterable[str] = (),
    class_name: str = CLASS,
) -> PortalData:
    """A class of `course` with the learners of `submitted` (username -> assignment ids they submitted, each
    with feedback released) and `others` (enrolled, nothing submitted); every assignment released."""
    from hub.coursework.store import SCHEMA_BRANCH, ExchangeStore, SubmitPolicy
    from hub.directory.db import Directory, upgrade_schema
    from hub.directory.models import Enrolment, EnrolmentRole, Person, SchoolClass
    from hub.settings import HubSettings

    data_dir.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{data_dir / 'truongso.sqlite'}"
    settings = HubSettings.create({"data_dir": str(data_dir), "db_url": db_url, "gradebook_url": gradebook_url}, "t")
    directory = Directory(db_url)
    directory.ensure_schema()
    upgrade_schema(directory.engine, SCHEMA_BRANCH)
    everyone = [*submitted, *others]
    with directory.session() as s:
        s.add(SchoolClass(name=class_name, title=class_name, course_id=course.id, year=2026))
        s.flush()
        for username in everyone:
            s.add(Person(username=username, full_name=f"Học viên {username}", organisation="Sở Nội vụ", email=None))
            s.add(Enrolment(class_name=class_name, username=username, role=EnrolmentRole.learner))
    store = ExchangeStore(directory, data_dir / "exchange" / "blobs")
    due = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    for a in course.assignments:
        store.release(course.id, a.id, b"release", ["bai"], "gv", False, due)
    for username, assignments in submitted.items():
        for assignment_id in assignments:
            sub = store.submit(course.id, assignment_id, username, class_name, b"work", ["bai"], SubmitPolicy(),
                               now=due - timedelta(hours=1))  # fmt: skip
            store.put_feedback(sub.id, {"bai.html": b"<p>feedback</p>"}, "gv")
    return PortalData(settings, directory, store, {course.id: course})


def instructor(name: str = "gv") -> Any:
    from hub.coursework.access import Caller

    return Caller(name=name, kind="user", admin=True)


def learner(name: str, course_id: str, class_name: str = CLASS) -> Any:
    from hub.coursework.access import Caller

    return Caller(name=name, kind="user", learner_classes={course_id: class_name})
