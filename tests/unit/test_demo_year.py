"""`truongso demo year`: a synthetic school year, reproducible, shaped like the seed article, readable by the one
score function, never mixed into a real school's year and removable without touching anything else.

The loads here are at scale 0.05 (7 classes, 434 enrolments); the full-size load (scale 1.0) runs in no test.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from nativeauthenticator.orm import UserInfo

from graders.scores import assignment_scores
from hub.cli import main
from hub.cli.common import load_settings
from hub.demoyear import load as demo_load
from hub.demoyear import load_year
from hub.demoyear.plan import CourseInfo, make_plan
from hub.directory.accounts import USERNAME_PATTERN
from hub.directory.db import Directory
from hub.directory.models import ClassSession, Enrolment, EnrolmentRole, Funding, Person, SchoolClass
from hub.roster.validate import CLASS_CODE_RE

SCALE = 0.05
YEAR = 2023
REAL = "annv"  # a real person whose username the demo's "Nguyễn Văn An"s would otherwise take
REAL_CLASS = "PTDL-K01-2024"
DIRECTORY_TABLES = ("people", "classes", "enrolments", "class_sessions")


def new_data_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "truongso.toml").write_text("", encoding="utf-8")
    return path


def add_real_school(data_dir: Path) -> None:
    """A real class of another year, with a real learner who has a login (fixed times, to compare two schools)."""
    at = datetime(2024, 1, 2, tzinfo=UTC)
    settings = load_settings(data_dir)
    directory = Directory(settings.db_url)
    directory.ensure_schema()
    with directory.session() as s:
        s.add(SchoolClass(name=REAL_CLASS, title="Lớp thật", course_id="phan-tich-du-lieu", year=2024, created_at=at))
        s.add(Person(username=REAL, full_name="Nguyễn Văn An", email="an.nv@mof.gov.vn", organisation="Bộ Tài chính",
                     created_at=at, updated_at=at))  # fmt: skip
        s.flush()
        s.add(Enrolment(class_name=REAL_CLASS, username=REAL, role=EnrolmentRole.learner, created_at=at))
        s.add(UserInfo(username=REAL, password=b"$2b$12$notarealhash", is_authorized=True))
    directory.dispose()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real school (one class of 2024) with the demo year 2023 loaded at seed 1: loaded once, copied by the
    tests that change it."""
    data_dir = new_data_dir(tmp_path_factory.mktemp("demo") / "data")
    add_real_school(data_dir)
    result = load_year(load_settings(data_dir), YEAR, 1, SCALE, "test")
    assert result.loaded and result.classes == 7 and result.enrolments == 434
    return data_dir


@pytest.fixture
def copy(template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "data"))


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def directory_rows(data_dir: Path) -> dict[str, list[tuple]]:
    return {t: rows(data_dir / "truongso.sqlite", f"SELECT * FROM {t} ORDER BY 1, 2") for t in DIRECTORY_TABLES}


GRADEBOOK_CONTENT = """
SELECT st.id, st.first_name, st.last_name, st.email, a.name, sa.timestamp, n.name, sn.flagged,
       sn.late_submission_penalty, c.name, g.auto_score, g.manual_score, g.needs_manual_grade
FROM grade g JOIN submitted_notebook sn ON sn.id = g.notebook_id JOIN notebook n ON n.id = sn.notebook_id
JOIN submitted_assignment sa ON sa.id = sn.assignment_id JOIN assignment a ON a.id = sa.assignment_id
JOIN student st ON st.id = sa.student_id JOIN base_cell c ON c.id = g.cell_id
ORDER BY st.id, a.name, n.name, c.name"""
CERTIFICATE_CONTENT = """SELECT serial, username, course_id, class_name, full_name, organisation, completed_on,
issued_at, issued_on, decision, revoked_at, revoked_reason FROM certificates ORDER BY serial"""


def gradebook(data_dir: Path, course_id: str) -> Path:
    return data_dir / "courses" / course_id / "gradebook.db"


def demo_people(s) -> list[Person]:
    return list(s.query(Person).filter(Person.email.like("%@demo.truongso.invalid")))


# ------------------------------------------------------------------ reproducible


def test_same_seed_gives_the_same_rows_even_after_a_crashed_load(template: Path, tmp_path: Path, monkeypatch) -> None:
    again = new_data_dir(tmp_path / "again")
    add_real_school(again)

    def crash(*args, **kwargs):
        raise RuntimeError("killed between the gradebooks and the directory")

    with monkeypatch.context() as patched:  # the first attempt dies after writing the gradebooks
        patched.setattr(demo_load, "_commit_year", crash)
        with pytest.raises(RuntimeError):
            load_year(load_settings(again), YEAR, 1, SCALE, "test")
    assert rows(again / "truongso.sqlite", "SELECT count(*) FROM people") == [(1,)]
    assert rows(gradebook(again, "ky-nang-so"), "SELECT count(*) FROM student")[0][0] > 30  # left behind
    assert load_year(load_settings(again), YEAR, 1, SCALE, "test").loaded
    assert directory_rows(again) == directory_rows(template)
    for course_id in ("ky-nang-so", "phan-tich-du-lieu"):
        first = rows(gradebook(template, course_id), GRADEBOOK_CONTENT)
        assert first and rows(gradebook(again, course_id), GRADEBOOK_CONTENT) == first
    # certificates: the same serials, holders, dates and revocations (codes and signatures are fresh secrets)
    certificates = rows(template / "truongso.sqlite", CERTIFICATE_CONTENT)
    assert certificates and rows(again / "truongso.sqlite", CERTIFICATE_CONTENT) == certificates


def test_another_seed_gives_another_year() -> None:
    courses = [CourseInfo("phan-tich-du-lieu", "PTDL", 40, ("a1", "a2")), CourseInfo("ky-nang-so", "KNS", 16, ("b1",))]
    one = make_plan(YEAR, 1, SCALE, courses, set(), "Asia/Ho_Chi_Minh")
    same = make_plan(YEAR, 1, SCALE, courses, set(), "Asia/Ho_Chi_Minh")
    other = make_plan(YEAR, 2, SCALE, courses, set(), "Asia/Ho_Chi_Minh")
    assert one == same
    tiny = make_plan(YEAR, 1, 0.01, courses, set(), "Asia/Ho_Chi_Minh")  # one class: one of the instructors
    enrolled = {seat.username for c in tiny.classes for seat in c.seats} | {c.instructor for c in tiny.classes}
    assert len(tiny.classes) == 1 and set(tiny.people) == enrolled and tiny.instructors == [tiny.classes[0].instructor]
    assert sorted(one.people) != sorted(other.people)
    assert [c.sessions for c in one.classes] != [c.sessions for c in other.classes]


# ------------------------------------------------------------------ shape


def test_shape_of_the_year(template: Path) -> None:
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    directory = Directory(load_settings(template).db_url)
    with directory.session() as s:
        classes = list(s.query(SchoolClass).filter(SchoolClass.year == YEAR))
        assert len(classes) == 7 and all(c.name.startswith(f"DEMO-{YEAR}-") for c in classes)
        assert all(CLASS_CODE_RE.match(c.name) for c in classes)
        non_budget = [c for c in classes if c.funding == Funding.non_budget]
        assert len(non_budget) == 6  # 12% of 7 classes, rounded: one budget class
        for c in classes:
            assert c.course_id in ("phan-tich-du-lieu", "ky-nang-so") and c.unit and c.province and c.funding_name
            budget_name = c.funding_name.startswith("Ngân sách")
            assert budget_name == (c.funding == Funding.budget), c.funding_name
            roles = [e.role for e in c.enrolments]
            assert roles.count(EnrolmentRole.instructor) == 1
            assert 30 <= roles.count(EnrolmentRole.learner) <= 100
            sessions = sorted(c.sessions, key=lambda x: x.starts_at)
            assert sessions and (c.status.value == "closed") == (c.closed_at is not None)
            for x in sessions:
                local = x.starts_at.astimezone(zone)
                assert local.weekday() < 5 and 7 <= local.hour <= 13 and (x.ends_at - x.starts_at).seconds == 4 * 3600
            if c.closed_at is not None:
                assert sessions[-1].ends_at < c.closed_at < datetime(YEAR + 1, 1, 1, tzinfo=zone)
        assert {len(c.sessions) for c in classes} <= {4, 10}  # 16 and 40 hours of 4-hour sessions
        people = demo_people(s)
        assert len(people) == len({p.username for p in people}) == s.query(Person).count() - 1  # all but the real one
        assert REAL not in {p.username for p in people} and s.get(Person, REAL).email == "an.nv@mof.gov.vn"
        assert all(re.match(USERNAME_PATTERN, p.username) for p in people)
        accented = [p for p in people if unicodedata.normalize("NFD", p.full_name) != p.full_name]
        assert len(accented) > 0.9 * len(people)
        assert sum(p.full_name.startswith("Nguyễn ") for p in people) > 0.2 * len(people)
        assert s.query(UserInfo).count() == 1  # nobody synthetic can log in
        assert all(p.organisation and p.enrolments for p in people)
    directory.dispose()


def test_scores_function_reads_the_grades_and_certificates_follow_them(template: Path) -> None:
    settings = load_settings(template)
    courses = {c.id: c for c in settings.load_courses()}
    directory = Directory(settings.db_url)
    with directory.session() as s:
        learners = {c.name: (c.course_id, c.closed_at, [e.username for e in c.enrolments if e.role == "learner"])
                    for c in s.query(SchoolClass).filter(SchoolClass.year == YEAR)}  # fmt: skip
    directory.dispose()
    certified = {
        (r[0], r[1]) for r in rows(template / "truongso.sqlite", "SELECT username, class_name FROM certificates")
    }
    completed = total = missing = 0
    for name, (course_id, closed_at, usernames) in learners.items():
        course = courses[course_id]
        scores = assignment_scores(settings.gradebook_url_for(course_id), usernames, [a.id for a in course.assignments])
        for username in usernames:
            mine = scores.get(username, {})
            for a in course.assignments:
                if a.id in mine:  # max points as course.yaml says, scores within them
                    assert mine[a.id].max_score == a.points and 0 <= mine[a.id].score <= a.points
            if closed_at is None:
                continue
            total += 1
            missing += len(mine) < len(course.assignments)
            percent = 100 * sum(x.score for x in mine.values()) / course.required_points
            done = len(mine) == len(course.assignments) and percent >= 70 - 1e-9
            completed += done
            if (username, name) in certified:
                assert done  # never a certificate for who has not completed
    assert 0.75 <= completed / total <= 0.92, (completed, total)
    assert missing > 0
    assert 0.9 * completed <= len(certified) <= completed
    revoked = rows(template / "truongso.sqlite", "SELECT revoked_reason FROM certificates WHERE revoked_at IS NOT NULL")
    assert revoked and all(r[0] for r in revoked)


# ------------------------------------------------------------------ safe to repeat, refused, removable


def test_second_run_is_a_no_op(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = directory_rows(copy), rows(gradebook(copy, "ky-nang-so"), GRADEBOOK_CONTENT)
    assert main(["demo", "year", "--scale", str(SCALE), "--data-dir", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "đã có (7 lớp); không làm gì" in out and "already loaded (7 classes); nothing done" in out
    assert (directory_rows(copy), rows(gradebook(copy, "ky-nang-so"), GRADEBOOK_CONTENT)) == before


def test_refused_when_the_year_has_real_classes(copy: Path, tmp_path: Path, capsys) -> None:
    directory = Directory(load_settings(copy).db_url)
    with directory.session() as s:
        s.add(SchoolClass(name="KNS-K05-2023", title="Lớp thật năm 2023", course_id="ky-nang-so", year=YEAR))
    directory.dispose()
    before = directory_rows(copy)
    assert main(["demo", "year", "--data-dir", str(copy)]) == 1
    err = capsys.readouterr().err
    assert "KNS-K05-2023" in err and "không trộn dữ liệu mẫu" in err and "never mixed" in err
    assert directory_rows(copy) == before
    # a fresh school with one real class of the year: nothing at all is written, not even a gradebook
    fresh = new_data_dir(tmp_path / "fresh")
    directory = Directory(load_settings(fresh).db_url)
    directory.ensure_schema()
    with directory.session() as s:
        s.add(SchoolClass(name="PTDL-K01-2023", title="Lớp thật", course_id="phan-tich-du-lieu", year=YEAR))
    directory.dispose()
    assert main(["demo", "year", "--data-dir", str(fresh)]) == 1
    assert not (fresh / "courses").exists() and rows(fresh / "truongso.sqlite", "SELECT count(*) FROM people") == [(0,)]


def test_remove_year_removes_exactly_the_demo(copy: Path, capsys) -> None:
    from nbgrader.api import Gradebook

    settings = load_settings(copy)
    url = settings.gradebook_url_for("phan-tich-du-lieu")
    with Gradebook(url, course_id="phan-tich-du-lieu") as gb:  # the real learner's own submission
        gb.add_student(REAL, first_name="Văn An", last_name="Nguyễn")
        gb.add_submission("01-python-co-ban", REAL)
    real_before = rows(copy / "truongso.sqlite", f"SELECT * FROM people WHERE username = '{REAL}'")
    assert main(["demo", "remove-year", "--year", str(YEAR), "--data-dir", str(copy)]) == 0
    assert "Đã xoá năm mẫu / removed demo year 2023: 7 lớp / classes" in capsys.readouterr().out
    db = copy / "truongso.sqlite"
    assert rows(db, "SELECT name FROM classes") == [(REAL_CLASS,)]
    assert (
        rows(db, "SELECT username FROM people") == [(REAL,)]
        and rows(db, f"SELECT * FROM people WHERE username = '{REAL}'") == real_before
    )
    assert rows(db, "SELECT class_name, username FROM enrolments") == [(REAL_CLASS, REAL)]
    assert rows(db, "SELECT count(*) FROM class_sessions") == [(0,)]
    assert rows(db, "SELECT count(*) FROM certificates") == [(0,)] and rows(
        db, "SELECT count(*) FROM certificate_audit"
    ) == [(0,)]
    assert rows(db, "SELECT count(*) FROM users_info") == [(1,)]
    assert rows(db, "SELECT action, target FROM admin_audit ORDER BY id") == [
        ("demo.load_year", "2023"),
        ("demo.remove_year", "2023"),
    ]
    for course_id in ("ky-nang-so", "phan-tich-du-lieu"):
        students = rows(gradebook(copy, course_id), "SELECT id FROM student")
        assert students == ([(REAL,)] if course_id == "phan-tich-du-lieu" else [])
    assert rows(gradebook(copy, "phan-tich-du-lieu"), "SELECT student_id FROM submitted_assignment") == [(REAL,)]
    assert rows(gradebook(copy, "phan-tich-du-lieu"), "SELECT count(*) FROM grade")[0][0] > 0
    # and again: nothing left to remove
    assert main(["demo", "remove-year", "--year", str(YEAR), "--data-dir", str(copy)]) == 0
    assert "nothing done" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [
        ["year", "--year", "1800"],
        ["year", "--year", "3000"],
        ["year", "--year", str(datetime.now(UTC).year)],  # sessions still ahead would reach the class-day service
        ["year", "--scale", "0"],
        ["year", "--scale", "1000"],
        ["year", "--scale", "nan"],
        ["year", "--seed", str(2**70)],
        ["remove-year", "--year", "1800"],
    ],
)
def test_hostile_arguments_are_refused_and_change_nothing(args: list[str], tmp_path: Path, capsys) -> None:
    data_dir = new_data_dir(tmp_path / "data")
    assert main(["demo", *args, "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and " / " in err[0] and "Traceback" not in err[0], err
    assert sorted(p.name for p in data_dir.iterdir()) == ["truongso.toml"]


def test_sessions_fall_in_the_year_except_open_classes(template: Path) -> None:
    directory = Directory(load_settings(template).db_url)
    with directory.session() as s:
        for c in s.query(SchoolClass).filter(SchoolClass.year == YEAR):
            first = s.query(ClassSession).filter_by(class_name=c.name).order_by(ClassSession.starts_at).first()
            assert first.starts_at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).year == YEAR
    directory.dispose()
