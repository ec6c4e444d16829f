"""Times are right everywhere: stored zone-aware in UTC, typed in Vietnam time, shown in Vietnam time.

Against real SQLite files and the machine's PostgreSQL: the column type, the exchange store (deadline,
lateness), the migration of a database the old code wrote, and the late penalty of a configured course.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.exc import StatementError
from support.schema import migration_diffs, old_sqlite_database
from traitlets.config import Config

from graders.certificates.models import AuditEntry
from graders.certificates.store import CertificateStore
from graders.curriculum import default_courses_root, load_course
from graders.db import MIGRATIONS, Base
from graders.late_penalty import CourseLatePenalty
from graders.timeutil import NaiveDatetimeError, UTCDateTime, naive_utc, school_wall_time, show
from hub.coursework.models import Deadline, Submission
from hub.coursework.store import SCHEMA_BRANCH, ExchangeStore, SubmitPolicy
from hub.directory.db import Directory, schema_transaction, upgrade_schema
from hub.directory.models import Person

C, A = "phan-tich-du-lieu", "01-python-co-ban"
TEN_UTC = datetime(2026, 12, 20, 10, 0, tzinfo=UTC)  # 17:00 in Vietnam


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/truongso.sqlite"
    return request.getfixturevalue("postgres").database(f"times_{uuid.uuid4().hex[:10]}")


def prepared(url: str) -> Directory:
    directory = Directory(url)
    directory.ensure_schema()
    upgrade_schema(directory.engine, SCHEMA_BRANCH)
    CertificateStore(url).ensure_schema()
    return directory


def stored_utc_text(directory: Directory, sql: str) -> str:
    """The stored value as the database itself has it, in UTC, to the minute."""
    with directory.engine.connect() as conn:
        if directory.engine.dialect.name == "postgresql":
            return conn.execute(sa.text(f"SELECT to_char(({sql}) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')")).scalar()
        return conn.execute(sa.text(f"SELECT substr(({sql}), 1, 16)")).scalar()


# -- the small functions ---------------------------------------------------------------------------------------


def test_a_typed_vietnam_time_is_one_moment_and_is_shown_back_labelled() -> None:
    due = school_wall_time("2026-12-20T17:00")
    assert due == TEN_UTC
    assert show(due) == show(TEN_UTC) == "20/12/2026 17:00 (UTC+7)"
    assert show(datetime(2026, 12, 31, 17, 30, tzinfo=UTC)) == "01/01/2027 00:30 (UTC+7)"  # the date turns too
    assert school_wall_time("2026-12-20T17:00+00:00") == datetime(2026, 12, 20, 17, 0, tzinfo=UTC)  # says its zone
    assert naive_utc(due) == datetime(2026, 12, 20, 10, 0)  # nbgrader's gradebook form
    assert show(None) == ""
    with pytest.raises(ValueError):
        school_wall_time("20/12/2026 5 giờ chiều")
    with pytest.raises(NaiveDatetimeError, match="no time zone"):
        show(datetime(2026, 12, 20, 17, 0))


# -- the column type on both databases ---------------------------------------------------------------------------


def test_column_type_stores_utc_returns_aware_utc_and_refuses_naive(db_url: str) -> None:
    directory = prepared(db_url)
    with directory.session() as s:
        s.add(Deadline(course_id=C, assignment_id=A, class_name="DEMO", set_by="gv",
                       due_at=school_wall_time("2026-12-20T17:00")))  # fmt: skip
    assert stored_utc_text(directory, "SELECT due_at FROM exchange_deadlines") == "2026-12-20 10:00"
    with directory.session() as s:
        row = s.get(Deadline, (C, A, "DEMO"))
        assert row.due_at == TEN_UTC and row.due_at.utcoffset().total_seconds() == 0
        assert row.set_at.tzinfo is not None
        # comparisons in SQL go through the same conversion
        assert s.query(Deadline).filter(Deadline.due_at < school_wall_time("2026-12-20T17:01")).count() == 1
        assert s.query(Deadline).filter(Deadline.due_at < school_wall_time("2026-12-20T16:59")).count() == 0
    with pytest.raises(StatementError) as refused, directory.session() as s:
        s.add(Deadline(course_id=C, assignment_id=A, class_name="K02", set_by="gv", due_at=datetime(2026, 12, 20, 17)))
    assert isinstance(refused.value.orig, NaiveDatetimeError)
    with directory.session() as s:
        assert s.get(Deadline, (C, A, "K02")) is None  # nothing half-written
    directory.dispose()


def test_the_column_type_needs_no_ddl_change(db_url: str) -> None:
    """UTCDateTime is DateTime(timezone=True) to the database: the migrations' columns compare equal."""
    directory = prepared(db_url)
    with directory.engine.connect() as conn:
        assert [d for d in migration_diffs(conn) if d[0] == "modify_type"] == []
    directory.dispose()


# -- the exchange: a 17:00 deadline, submissions at 16:59 and 17:01 ------------------------------------------------


def fixed_clock(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def test_exchange_measures_lateness_against_the_vietnam_deadline(db_url: str, tmp_path: Path) -> None:
    directory = prepared(db_url)
    store = ExchangeStore(directory, tmp_path / "blobs")
    store.release(C, A, b"release", ["a.ipynb"], "giangvien", False, None)
    store.set_deadline(C, A, "DEMO", school_wall_time("2026-12-20T17:00"), "giangvien")
    assert stored_utc_text(directory, "SELECT due_at FROM exchange_deadlines") == "2026-12-20 10:00"
    assert store.due_for(C, A, "DEMO") == TEN_UTC
    late = {}
    for student, typed in (("hocvien1", "2026-12-20T16:59"), ("hocvien2", "2026-12-20T17:01"),
                           ("hocvien3", "2026-12-20T18:00")):  # fmt: skip
        store.clock = fixed_clock(school_wall_time(typed))  # the only thing not real: the server's clock
        row = store.submit(C, A, student, "DEMO", b"work", ["a.ipynb"], SubmitPolicy())
        late[student] = row.seconds_late
        assert row.timestamp.endswith(" UTC") and row.submitted_at == school_wall_time(typed)
    assert late == {"hocvien1": 0, "hocvien2": 60, "hocvien3": 3600}
    with pytest.raises(NaiveDatetimeError):
        store.set_deadline(C, A, "DEMO", datetime(2026, 12, 20, 17, 0), "giangvien")
    assert store.due_for(C, A, "DEMO") == TEN_UTC
    directory.dispose()


# -- a database the old code wrote ------------------------------------------------------------------------------


def test_old_sqlite_database_is_migrated_to_what_its_rows_meant(tmp_path: Path) -> None:
    """Made by the code of 5b394db (old_databases/make_before_utc.py): the portal's 17:00 was kept as
    "17:00" and read back as 17:00 UTC, so 17:01 and even 23:30 counted as on time."""
    url = old_sqlite_database(tmp_path)
    directory = prepared(url)
    store = ExchangeStore(directory, tmp_path / "blobs")
    assert store.deadlines(C, A) == {
        "DEMO": TEN_UTC,  # typed in the portal as 17:00 Vietnam time
        "MOVED": datetime(2026, 12, 19, 10, 0, tzinfo=UTC),  # likewise, moved once
        "*": datetime(2026, 12, 27, 10, 0, tzinfo=UTC),  # the release's (nbgrader's UTC) due date: unchanged
        "API": datetime(2026, 12, 21, 3, 4, 5, 678901, tzinfo=UTC),  # a script's UTC value: unchanged
    }
    rows = {s.student: s for s, _ in store.submissions(C)}
    assert {k: (v.due_at, v.seconds_late) for k, v in rows.items()} == {
        "hocvien1": (TEN_UTC, 0),  # 16:59
        "hocvien2": (TEN_UTC, 60),  # 17:01
        "hocvien3": (TEN_UTC, 6 * 3600 + 30 * 60),  # 23:30
        "hocvien4": (datetime(2026, 12, 27, 10, 0, tzinfo=UTC), 3600),
        "hocvien5": (datetime(2026, 12, 21, 3, 4, 5, 678901, tzinfo=UTC), 0),
        # submitted at 19:00 against the deadline of then (18/12 17:00), not the one it was later moved to
        "hocvien6": (datetime(2026, 12, 18, 10, 0, tzinfo=UTC), 2 * 3600),
    }
    assert rows["hocvien2"].submitted_at == datetime(2026, 12, 20, 10, 1, tzinfo=UTC)  # UTC before, UTC now
    with directory.session() as s:  # the directory and the registry wrote UTC: read back as the same moments
        assert s.get(Person, "hocvien1").created_at == datetime(2026, 11, 30, 1, 2, 3, tzinfo=UTC)
    with CertificateStore(url).session() as s:
        assert s.scalar(sa.select(AuditEntry.at)) == datetime(2026, 12, 1, 2, 3, 4, tzinfo=UTC)
    # safe to repeat: a second start migrates nothing twice
    upgrade_schema(directory.engine, SCHEMA_BRANCH)
    assert store.due_for(C, A, "DEMO") == TEN_UTC
    directory.dispose()


def test_old_postgres_rows_kept_their_moments(postgres, tmp_path: Path) -> None:
    """On PostgreSQL the old columns were already `timestamp with time zone`: the old code's aware values were
    stored right, and the migration must leave them alone."""
    url = postgres.database("times_old")
    directory = Directory(url)
    directory.ensure_schema()
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with schema_transaction(directory.engine) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "x0001")  # the exchange's schema as the old code had it
    with directory.engine.begin() as conn:  # written as the old code did: aware datetimes, plain DateTime columns
        tables = sa.MetaData()
        deadlines = sa.Table("exchange_deadlines", tables, autoload_with=conn)
        submissions = sa.Table("exchange_submissions", tables, autoload_with=conn)
        conn.execute(deadlines.insert().values(course_id=C, assignment_id=A, class_name="DEMO", set_by="gv",
                     due_at=school_wall_time("2026-12-20T17:00"), set_at=datetime.now(UTC)))  # fmt: skip
        conn.execute(submissions.insert().values(
            id="a" * 32, course_id=C, assignment_id=A, student="hocvien2", class_name="DEMO",
            submitted_at=datetime(2026, 12, 20, 10, 1, tzinfo=UTC), timestamp="2026-12-20 10:01:00.000000 UTC",
            attempt=1, blob="0" * 64, size=1, notebooks="[]", due_at=school_wall_time("2026-12-20T17:00"),
            seconds_late=60))  # fmt: skip
    upgrade_schema(directory.engine, SCHEMA_BRANCH)
    store = ExchangeStore(directory, tmp_path / "blobs")
    assert store.due_for(C, A, "DEMO") == TEN_UTC
    with directory.session() as s:
        row = s.get(Submission, "a" * 32)
        assert (row.due_at, row.seconds_late) == (TEN_UTC, 60)
    directory.dispose()


# -- the late penalty of the course that was loaded ------------------------------------------------------------


def test_late_penalty_reads_the_course_folder_it_is_given(tmp_path: Path) -> None:
    """CourseLatePenalty.course_path: a course loaded from elsewhere than the repository's courses/ keeps its
    own late_policy (by default the repository's course.yaml of course_id)."""
    courses = tmp_path / "courses"
    shutil.copytree(default_courses_root() / C, courses / C, ignore=shutil.ignore_patterns("test-*"))
    yaml_path = courses / C / "course.yaml"
    yaml_path.write_text(
        yaml_path.read_text(encoding="utf-8").replace("percent_per_day: 10", "percent_per_day: 25"), encoding="utf-8"
    )
    assert load_course(courses / C).late_policy.percent_per_day == 25
    config = Config({"CourseLatePenalty": {"course_id": C, "course_path": str(courses / C)}})
    plugin = CourseLatePenalty(config=config)
    assert plugin.late_submission_penalty("hocvien3", 8.0, 3600) == pytest.approx(2.0)  # 25 % for a started day
    assert plugin.late_submission_penalty("hocvien1", 8.0, 0) == 0
    # without a course folder configured: the repository's course.yaml (10 %)
    assert CourseLatePenalty(course_id=C).late_submission_penalty("x", 8.0, 3600) == pytest.approx(0.8)


def test_utc_datetime_type_is_what_the_models_use() -> None:
    assert {"people", "exchange_deadlines", "certificates"} <= set(Base.metadata.tables)  # every model imported
    for table in Base.metadata.tables.values():
        for column in table.columns:
            if isinstance(column.type, sa.DateTime | UTCDateTime):
                assert isinstance(column.type, UTCDateTime), f"{table.name}.{column.name}"
