"""deadlines stored in UTC (SQLite rows written by the portal were Vietnam wall times)

Revision ID: x0002
Revises: x0001
Create Date: 2026-12-03 09:00:00

What the code before this revision wrote, and so what an existing row means:

- The columns were `DateTime(timezone=True)`. PostgreSQL keeps the moment (`timestamptz`), so rows there are
  right and nothing changes. SQLite keeps only the wall time of whatever zone the datetime carried.
- Every `*_at` column but deadlines was written from `datetime.now(UTC)`: UTC wall times, right as they are.
- `exchange_deadlines.due_at` of a class (class_name != '*') came from the portal's form, which tagged the
  typed `datetime-local` value (whole minutes) with Asia/Ho_Chi_Minh: a Vietnam wall time, read back as UTC,
  so seven hours late. The exchange API could also write them, with any offset; its callers are scripts whose
  values are machine-made (`datetime.now(UTC).isoformat()`: seconds and microseconds), so a class deadline
  that is not a whole minute is taken as UTC.
- The '*' rows (every class without its own) came from a release: nbgrader's due date, naive UTC, tagged UTC.
- `exchange_submissions.due_at` is a copy of the deadline that applied at submission time, so it means what
  that row meant; `seconds_late` was measured against the misread deadline and is measured again.

The zone is written out here on purpose: it is what the old portal did, and must not follow a later setting.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "x0002"
down_revision = "x0001"
branch_labels = None
depends_on = None

OLD_PORTAL_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")  # hub/services/portal/handlers.py before x0002
SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's SQLite DATETIME text
DEFAULT_CLASS = "*"


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _utc_text(wall: datetime, zone: tzinfo) -> str:
    return wall.replace(tzinfo=zone).astimezone(UTC).strftime(SQLITE_FORMAT)


def _class_deadline_zone(class_name: str, wall: datetime) -> tzinfo:
    typed_in_portal = class_name != DEFAULT_CLASS and wall.second == 0 and wall.microsecond == 0
    return OLD_PORTAL_ZONE if typed_in_portal else UTC


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return  # timestamp with time zone kept the true moment
    deadlines = bind.execute(
        sa.text("SELECT course_id, assignment_id, class_name, due_at FROM exchange_deadlines")
    ).fetchall()
    # what each stored text meant, per (course, assignment): {class_name: (old text, zone)}
    meaning: dict[tuple[str, str], dict[str, tuple[str, tzinfo]]] = {}
    for course_id, assignment_id, class_name, due_text in deadlines:
        zone = _class_deadline_zone(class_name, _parse(due_text))
        meaning.setdefault((course_id, assignment_id), {})[class_name] = (due_text, zone)
        if zone is not UTC:
            bind.execute(
                sa.text(
                    "UPDATE exchange_deadlines SET due_at = :due WHERE course_id = :c AND assignment_id = :a"
                    " AND class_name = :k"
                ),
                {"due": _utc_text(_parse(due_text), zone), "c": course_id, "a": assignment_id, "k": class_name},
            )

    submissions = bind.execute(
        sa.text(
            "SELECT id, course_id, assignment_id, class_name, submitted_at, due_at FROM exchange_submissions"
            " WHERE due_at IS NOT NULL"
        )
    ).fetchall()
    for sid, course_id, assignment_id, class_name, submitted_text, due_text in submissions:
        rows = meaning.get((course_id, assignment_id), {})
        # the row it was copied from: the class's own deadline, else the default one
        zone = next((rows[k][1] for k in (class_name, DEFAULT_CLASS) if k in rows and rows[k][0] == due_text), None)
        if zone is None:  # the deadline changed after this submission: judge the text by its own shape
            zone = _class_deadline_zone(class_name if class_name in rows else DEFAULT_CLASS, _parse(due_text))
        due = _parse(due_text).replace(tzinfo=zone).astimezone(UTC)
        submitted = _parse(submitted_text).replace(tzinfo=UTC)
        bind.execute(
            sa.text("UPDATE exchange_submissions SET due_at = :due, seconds_late = :late WHERE id = :id"),
            {
                "due": due.strftime(SQLITE_FORMAT),
                "late": max(0, int((submitted - due).total_seconds())),
                "id": sid,
            },
        )


def downgrade() -> None:
    # The old code misreads a Vietnam wall time and a UTC one alike; there is nothing right to go back to.
    pass
