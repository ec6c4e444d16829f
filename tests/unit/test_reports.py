"""The yearly report (hub.reports): every figure against an independent count on the same small school.

The school is written down below as plain data (classes, sessions, enrolments, the fraction of each assignment's
points every learner scored, certificates); the directory, two real nbgrader gradebooks and the certificate registry
are built from it. The expected figures are counted from that data in plain Python and plain SQL, never with the
engine's code (no `evaluate`, no graders.scores). Then the exports (openpyxl, csv), the charts and the page.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from support.gradebooks import Sub, make_gradebook

from hub.directory.db import Directory
from hub.settings import HubSettings

K, P = "ky-nang-so", "phan-tich-du-lieu"
HANOI = "Sở Thông tin và Truyền thông Hà Nội"
HOSTILE_UNIT = '=HYPERLINK("http://evil.example","bấm vào đây")'
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# name -> course, year, funding, funding name, unit, province, sessions (UTC), created
CLASSES: dict[str, dict[str, Any]] = {
    "KNS-A": dict(course=K, year=2026, funding="budget", funding_name="Ngân sách tỉnh Hà Nội", unit=HANOI,
                  province="Hà Nội", created=utc(2026, 2, 1),
                  sessions=[(utc(2026, 3, 2, 1), utc(2026, 3, 2, 4)), (utc(2026, 3, 9, 1), utc(2026, 3, 9, 3, 30))]),
    "KNS-B": dict(course=K, year=2026, funding="non_budget", funding_name="Dự án Chuyển đổi số", unit=HOSTILE_UNIT,
                  province="Đà Nẵng", created=utc(2026, 4, 15), sessions=[]),
    # its first session is 1 May 00:30 in Hanoi, still 30 April in UTC: a May class
    "PTDL-C": dict(course=P, year=2026, funding="non_budget", funding_name="Dự án Chuyển đổi số", unit=HANOI,
                   province="Hà Nội", created=utc(2026, 3, 1),
                   sessions=[(utc(2026, 4, 30, 17, 30), utc(2026, 4, 30, 21, 30))]),
    "KNS-OLD": dict(course=K, year=2025, funding="budget", funding_name="Ngân sách tỉnh Huế", unit="Sở Nội vụ Huế",
                    province="Huế", created=utc(2025, 9, 1), sessions=[(utc(2025, 10, 1, 1), utc(2025, 10, 1, 5))]),
}  # fmt: skip
LEARNERS = {
    "KNS-A": ["an", "binh", "chi", "dung"],
    "KNS-B": ["em", "giang"],
    "PTDL-C": ["an", "hoa", "khanh"],
    "KNS-OLD": ["lan"],
}
INSTRUCTORS = {"KNS-A": ["gv-mot"], "PTDL-C": ["gv-mot", "gv-hai"]}
PENDING = "pending"
# course -> learner -> fraction of each assignment (in course order) scored; PENDING: waits for a person
SCORES: dict[str, dict[str, list[Any]]] = {
    K: {
        "an": [0.9] * 4,  # completes (90%)
        "binh": [0.6] * 4,  # 60%: under the bar
        "chi": [1.0] * 3,  # one missing
        "em": [1.0, 1.0, 1.0, PENDING],  # waiting for manual grading
        "giang": [0.7] * 4,  # exactly the bar: completes
        "lan": [1.0] * 4,  # completes, but in a class of 2025
    },
    P: {"an": [0.8] * 7, "hoa": [0.5] * 7},  # khanh, dung: nothing submitted
}
# serial, username, course, class, issued on, revoked at (UTC)
CERTS = [
    ("TS-2026-000001", "an", K, "KNS-A", date(2026, 6, 1), None),
    ("TS-2026-000002", "giang", K, "KNS-B", date(2026, 6, 2), utc(2026, 7, 1)),
    ("TS-2026-000003", "lan", K, "KNS-OLD", date(2026, 1, 10), None),  # a 2025 class certified in 2026
    ("TS-2026-000004", "xuan", K, "GONE-2026", date(2026, 2, 1), None),  # its class was deleted
    ("TS-2025-000001", "an", P, "PTDL-C", date(2025, 12, 30), None),  # issued the year before
    ("TS-2025-000002", "old1", K, "KNS-OLD", date(2025, 6, 1), utc(2026, 12, 31, 17, 30)),  # revoked 2027 in Hanoi
    ("TS-2025-000003", "old2", K, "KNS-OLD", date(2025, 6, 1), utc(2025, 12, 31, 18, 0)),  # revoked 2026 in Hanoi
]


@dataclass
class School:
    data_dir: Path
    settings: HubSettings
    directory: Directory
    courses: dict[str, Any]


def build_school(root: Path) -> School:
    from graders.certificates.models import Certificate
    from graders.certificates.store import open_store
    from hub.directory.models import ClassSession, Enrolment, EnrolmentRole, Person, SchoolClass

    data_dir = root / "data"
    data_dir.mkdir(parents=True)
    (data_dir / "secrets").mkdir()  # what `truongso up` leaves: the CLI accepts the folder
    db_url = f"sqlite:///{data_dir / 'truongso.sqlite'}"
    settings = HubSettings.create({"data_dir": str(data_dir), "db_url": db_url}, "test")
    directory = Directory(db_url)
    directory.ensure_schema()
    open_store(db_url).dispose()
    courses = {c.id: c for c in settings.load_courses()}
    people = {u for names in (*LEARNERS.values(), *INSTRUCTORS.values()) for u in names}
    with directory.session() as s:
        s.add_all(Person(username=u, full_name=f"Nguyễn Văn {u.title()}", email=None) for u in sorted(people))
        for name, c in CLASSES.items():
            s.add(SchoolClass(name=name, title=f"Lớp {name}", course_id=c["course"], year=c["year"],
                              funding=c["funding"], funding_name=c["funding_name"], unit=c["unit"],
                              province=c["province"], created_at=c["created"]))  # fmt: skip
        s.flush()
        for name in CLASSES:
            s.add_all(Enrolment(class_name=name, username=u, role=EnrolmentRole.learner) for u in LEARNERS[name])
            s.add_all(
                Enrolment(class_name=name, username=u, role=EnrolmentRole.instructor) for u in INSTRUCTORS.get(name, [])
            )
            s.add_all(ClassSession(class_name=name, starts_at=a, ends_at=b) for a, b in CLASSES[name]["sessions"])
        for serial, username, course_id, class_name, issued_on, revoked_at in CERTS:
            s.add(Certificate(serial=serial, year=int(serial[3:7]), seq=int(serial[-6:]), username=username,
                              course_id=course_id, class_name=class_name, full_name=username, course_title_vi=course_id,
                              hours=16, issued_on=issued_on,
                              issued_at=utc(issued_on.year, issued_on.month, issued_on.day),
                              decision="Số 1/QĐ", issued_by="test", credential="{}", revoked_at=revoked_at,
                              revoked_reason="sai" if revoked_at else None))  # fmt: skip
    for course_id, learners in SCORES.items():
        course = courses[course_id]
        subs = {
            u: [
                Sub(a.id, 0.0, pending_manual=True) if f == PENDING else Sub(a.id, f)
                for a, f in zip(course.assignments, fractions, strict=False)
            ]
            for u, fractions in learners.items()
        }
        make_gradebook(Path(settings.gradebook_url_for(course_id).removeprefix("sqlite:///")), course, subs)
    return School(data_dir, settings, directory, courses)


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> Iterator[School]:
    world = build_school(tmp_path_factory.mktemp("reports"))
    yield world
    world.directory.dispose()


# -- the independent count -----------------------------------------------------------------------------------


def verdict(course: Any, fractions: list[Any]) -> tuple[bool, float]:
    """(completed, overall percent) by the course.yaml rule, computed here from the fractions in SCORES."""
    points = [a.points for a in course.assignments]
    earned = sum(round(p * f, 2) for p, f in zip(points, fractions, strict=False) if f != PENDING)
    percent = 100 * earned / sum(points)
    completed = len(fractions) == len(points) and PENDING not in fractions and percent >= 70 - 1e-9
    return completed, percent


def last_submission_dates(gradebook: Path) -> dict[str, date]:
    """Each learner's last submission, school date, straight from nbgrader's table."""
    import sqlite3

    with sqlite3.connect(gradebook) as conn:
        rows = conn.execute(
            "SELECT student_id, MAX(timestamp) FROM submitted_assignment GROUP BY student_id"
        ).fetchall()
    return {u: datetime.fromisoformat(t).replace(tzinfo=UTC).astimezone(TZ).date() for u, t in rows}


def expected(school: School, year: int, **filters: str) -> tuple[dict[str, Any], dict[str, dict[str, dict]], list]:
    """(totals, splits, months) for the query, counted from the data above."""
    courses = school.courses
    labels = {"budget": "Ngân sách nhà nước / State budget", "non_budget": "Ngoài ngân sách (xã hội hoá) / Non-budget"}

    def matches(c: dict) -> bool:
        wanted = {"course": c["course"], "unit": c["unit"], "province": c["province"], "funding": c["funding"]}
        return all(wanted[k] == v for k, v in filters.items())

    def lines_of(name: str | None, course_id: str) -> list[tuple[str, str]]:
        course_label = f"{course_id} — {courses[course_id].title.vi}"
        if name not in CLASSES:
            u = "(không rõ / unknown)"
            return [("funding", u), ("funding_name", u), ("course", course_label), ("unit", u), ("province", u)]
        c = CLASSES[name]
        return [("funding", labels[c["funding"]]), ("funding_name", c["funding_name"]), ("course", course_label),
                ("unit", c["unit"]), ("province", c["province"])]  # fmt: skip

    def blank() -> dict:
        return dict(classes=0, enrolments=0, learners=set(), completed=0, completed_names=set(), issued=0,
                    revoked=0, hours=0.0, scores=[])  # fmt: skip

    totals, splits, months = blank(), {}, [[0, 0, 0, 0] for _ in range(12)]
    last = {cid: last_submission_dates(Path(school.settings.gradebook_url_for(cid)[10:])) for cid in SCORES}
    for name, c in CLASSES.items():
        if c["year"] != year or not matches(c):
            continue
        targets = [totals] + [splits.setdefault(k, {}).setdefault(v, blank()) for k, v in lines_of(name, c["course"])]
        hours = sum((b - a).total_seconds() for a, b in c["sessions"]) / 3600 or courses[c["course"]].hours
        start = (min(a for a, _ in c["sessions"]) if c["sessions"] else c["created"]).astimezone(TZ)
        months[start.month - 1][0] += 1
        months[start.month - 1][1] += len(LEARNERS[name])
        for t in targets:
            t["classes"] += 1
            t["hours"] += hours
            t["enrolments"] += len(LEARNERS[name])
            t["learners"].update(LEARNERS[name])
        for u in LEARNERS[name]:
            fractions = SCORES[c["course"]].get(u)
            if fractions is None:
                continue
            done, percent = verdict(courses[c["course"]], fractions)
            if done:
                months[last[c["course"]][u].month - 1][2] += 1
            for t in targets:
                t["scores"].append(percent)
                if done:
                    t["completed"] += 1
                    t["completed_names"].add(u)
    unfiltered = not ({"unit", "province", "funding"} & set(filters))
    for _serial, _u, course_id, class_name, issued_on, revoked_at in CERTS:
        c = CLASSES.get(class_name)
        if "course" in filters and course_id != filters["course"]:
            continue
        if not ((c is not None and matches(c)) or (c is None and unfiltered)):
            continue
        issued = issued_on.year == year
        revoked = revoked_at is not None and revoked_at.astimezone(TZ).year == year
        if not (issued or revoked):
            continue
        targets = [totals] + [
            splits.setdefault(k, {}).setdefault(v, blank()) for k, v in lines_of(class_name, course_id)
        ]
        for t in targets:
            t["issued"] += issued
            t["revoked"] += revoked
        if issued:
            months[issued_on.month - 1][3] += 1

    def figures(t: dict) -> dict[str, Any]:
        return {
            "classes": t["classes"],
            "enrolments": t["enrolments"],
            "learners": len(t["learners"]),
            "completed": t["completed"],
            "learners_completed": len(t["completed_names"]),
            "completion_rate": round(100 * t["completed"] / t["enrolments"], 1) if t["enrolments"] else None,
            "certificates_issued": t["issued"],
            "certificates_revoked": t["revoked"],
            "average_score": round(sum(t["scores"]) / len(t["scores"]), 1) if t["scores"] else None,
            "hours": round(t["hours"], 2),
        }

    return figures(totals), {k: {v: figures(t) for v, t in d.items()} for k, d in splits.items()}, months


def figures_of(report: Any) -> tuple[dict[str, Any], dict[str, dict[str, dict]], list]:
    from hub.reports.engine import FIGURES, MONTH_FIGURES, figure_value

    def as_dict(f: Any) -> dict[str, Any]:
        return {name: figure_value(f, name) for name, _ in FIGURES}

    splits = {k: {label: as_dict(f) for label, f in lines} for k, lines in report.splits.items() if lines}
    months = [[m[name] for name, _ in MONTH_FIGURES] for m in report.months]
    return as_dict(report.totals), splits, months


QUERIES = [
    {},
    {"funding": "budget"},
    {"funding": "non_budget"},
    {"course": K},
    {"course": P},
    {"unit": HANOI},
    {"province": "Đà Nẵng"},
    {"unit": HOSTILE_UNIT, "funding": "non_budget"},
    {"province": "Nowhere"},
]


@pytest.mark.parametrize("filters", QUERIES, ids=lambda f: ",".join(f"{k}={v[:12]}" for k, v in f.items()) or "all")
def test_every_figure_equals_an_independent_count(school: School, filters: dict[str, str]) -> None:
    from hub.reports.engine import ReportQuery, build_report

    query = ReportQuery.clean(2026, filters.get("course"), filters.get("unit"), filters.get("province"),
                              filters.get("funding"))  # fmt: skip
    report = build_report(school.directory, school.settings, query)
    assert figures_of(report) == expected(school, 2026, **filters)


def test_the_small_school_is_what_the_count_says(school: School) -> None:
    """The independent count itself, on the whole year, written out: it must not agree with a broken engine by
    being broken the same way."""
    totals, splits, months = expected(school, 2026)
    assert totals == {
        "classes": 3, "enrolments": 9, "learners": 8, "completed": 3, "learners_completed": 2,
        "completion_rate": 33.3, "certificates_issued": 4, "certificates_revoked": 2,
        "average_score": round((90 + 60 + 65 / 90 * 100 + 65 / 90 * 100 + 70 + 80 + 50) / 7, 1), "hours": 25.5,
    }  # fmt: skip
    assert set(splits["funding"]) == {"Ngân sách nhà nước / State budget", "Ngoài ngân sách (xã hội hoá) / Non-budget",
                                      "(không rõ / unknown)"}  # fmt: skip
    assert [m[0] for m in months] == [0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]  # March, April (no timetable), May
    assert sum(m[3] for m in months) == 4
    assert expected(school, 2025)[0]["classes"] == 1


def test_a_year_without_classes_is_an_empty_report_and_an_unknown_course_says_so(school: School) -> None:
    from hub.reports.engine import ReportQuery, build_report

    report = build_report(school.directory, school.settings, ReportQuery.clean(2031))
    assert report.totals.classes == 0 and report.totals.completion_rate is None and report.totals.average_score is None
    assert all(not lines for lines in report.splits.values()) and report.months[0]["classes"] == 0
    report = build_report(school.directory, school.settings, ReportQuery.clean(2026, "khong-co"))
    assert report.totals.enrolments == 0 and any("khong-co" in n.en for n in report.notes)


@pytest.mark.parametrize(
    "year, unit, funding, why",
    [
        ("abc", None, None, "not a year"),
        ("99999", None, None, "between 2000 and 2100"),
        ("1999", None, None, "between 2000 and 2100"),
        ("2026", "x" * 10_000, None, "at most 300"),
        ("2026", "a\x00b", None, "printable"),
        ("2026", None, "gift", "budget or non_budget"),
    ],
)
def test_bad_queries_are_refused_with_a_bilingual_reason(
    year: str, unit: str | None, funding: str | None, why: str
) -> None:
    from hub.reports.engine import ReportError, ReportQuery

    with pytest.raises(ReportError) as caught:
        ReportQuery.clean(year, None, unit, None, funding)
    assert why in caught.value.en and caught.value.vi and caught.value.status == 400


def test_a_gradebook_that_cannot_be_read_fails_the_report_instead_of_counting_nobody(
    school: School, tmp_path: Path
) -> None:
    from hub.reports.engine import ReportError, ReportQuery, build_report

    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(b"this is not a database" * 100)
    settings = SimpleNamespace(
        timezone=school.settings.timezone,
        load_courses=school.settings.load_courses,
        gradebook_url_for=lambda c: f"sqlite:///{broken}" if c == K else school.settings.gradebook_url_for(c),
    )
    with pytest.raises(ReportError) as caught:
        build_report(school.directory, settings, ReportQuery.clean(2026))
    assert caught.value.status == 503 and K in caught.value.en


def test_a_gradebook_changed_after_a_report_is_read_again(school: School, tmp_path: Path) -> None:
    """The per-course cache is keyed on the gradebook file's change mark: a new grade shows in the next report."""
    import shutil
    import sqlite3

    from hub.reports.engine import ReportQuery, build_report

    copy = tmp_path / "gradebook.sqlite"
    shutil.copy(school.settings.gradebook_url_for(K).removeprefix("sqlite:///"), copy)
    settings = SimpleNamespace(
        timezone=school.settings.timezone,
        load_courses=school.settings.load_courses,
        gradebook_url_for=lambda c: f"sqlite:///{copy}" if c == K else school.settings.gradebook_url_for(c),
    )
    query = ReportQuery.clean(2026, K)
    before = build_report(school.directory, settings, query).totals.completed
    with sqlite3.connect(copy) as conn:  # binh's grades raised to full marks
        conn.execute("UPDATE grade SET auto_score ="
                     " (SELECT max_score FROM grade_cells WHERE grade_cells.id = grade.cell_id)"
                     " WHERE notebook_id IN (SELECT sn.id FROM submitted_notebook sn JOIN submitted_assignment sa"
                     " ON sa.id = sn.assignment_id WHERE sa.student_id = 'binh')")  # fmt: skip
    assert build_report(school.directory, settings, query).totals.completed == before + 1


# -- exports ---------------------------------------------------------------------------------------------------


def flat(rows: list[list[Any]]) -> dict[tuple[str, str], Any]:
    """(section, line label) -> the row's values, from the file's rows (sections start after a blank row)."""
    out, section = {}, ""
    fresh = True
    for row in rows:
        row = ["" if v is None else v for v in row]
        while row and row[-1] == "":
            row.pop()
        if not row:
            fresh = True
            continue
        if fresh:
            section, fresh = str(row[0]), False
            continue
        out[section, str(row[0])] = row[1:]
    return out


def test_xlsx_and_csv_hold_every_figure_of_the_report_the_query_and_the_time(school: School) -> None:
    from openpyxl import load_workbook

    from hub.reports.engine import FIGURES, ReportQuery, build_report, figure_value
    from hub.reports.export import to_csv, to_xlsx

    report = build_report(school.directory, school.settings, ReportQuery.clean(2026),
                          now=datetime(2026, 12, 31, 18, 5, tzinfo=UTC))  # fmt: skip
    book = load_workbook(io.BytesIO(to_xlsx(report)))
    xlsx_rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    raw = to_csv(report)
    assert raw.startswith(b"\xef\xbb\xbf")
    csv_rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    for rows, as_text in ((xlsx_rows, False), (csv_rows, True)):
        cells = flat(rows)
        title = str(rows[0][0])
        assert "Yearly training report" in title
        assert cells[title, "Năm / Year"] == ["2026"]
        assert cells[title, "Thời điểm lập / Generated at"] == ["2027-01-01 01:05:00 (Asia/Ho_Chi_Minh)"]
        for name, label in FIGURES:
            value = figure_value(report.totals, name)
            want = "" if value is None else value
            assert cells["Tổng hợp / Totals", str(label)] == [str(want) if as_text else want], name
        for split, lines in report.splits.items():
            section = next(
                str(t) for s, t in __import__("hub.reports.engine", fromlist=["SPLITS"]).SPLITS if s == split
            )
            for line, f in lines:
                key = line if not line.startswith("=") else "'" + line  # the neutralised unit
                got = cells[section, key]
                want = [figure_value(f, n) for n, _ in FIGURES]
                want = [str(v) if as_text and v is not None else v for v in want]
                assert [None if v == "" else v for v in got] == [None if v in ("", None) else v for v in want], line
        months = [cells["Theo tháng / By month", f"2026-{m:02d}"] for m in range(1, 13)]
        assert [[int(v) for v in m] for m in months] == [[m[n] for n in m] for m in report.months]


def test_a_formula_typed_as_a_unit_stays_text_in_both_files(school: School) -> None:
    from openpyxl import load_workbook

    from hub.reports.engine import ReportQuery, build_report
    from hub.reports.export import to_csv, to_xlsx

    report = build_report(school.directory, school.settings, ReportQuery.clean(2026))
    book = load_workbook(io.BytesIO(to_xlsx(report)))
    values = [c.value for row in book.active.iter_rows() for c in row if isinstance(c.value, str)]
    assert "'" + HOSTILE_UNIT in values and HOSTILE_UNIT not in values
    assert all(c.data_type != "f" for row in book.active.iter_rows() for c in row)
    text = to_csv(report).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text and "\n=HYPERLINK" not in text


# -- charts ----------------------------------------------------------------------------------------------------


def test_charts_are_inline_svg_deterministic_and_escape_their_text() -> None:
    from hub.reports import charts

    hostile = "<script>alert(1)</script> & Sở"
    first = charts.bar_chart(
        ["Ngân sách", hostile], {"Lớp / Classes": [17, 125], "Học viên": [1000, 7686]}, hostile, "Số"
    )
    again = charts.bar_chart(
        ["Ngân sách", hostile], {"Lớp / Classes": [17, 125], "Học viên": [1000, 7686]}, hostile, "Số"
    )
    assert first == again  # same figures, same bytes
    assert first.startswith("<svg ") and "<?xml" not in first and "DOCTYPE" not in first
    assert "<script" not in first and "&lt;script&gt;" in first and "Ngân sách" in first
    assert ">7686<" in first and ">125<" in first  # values written on the bars
    assert "dc:date" not in first.lower()
    other = charts.bar_chart(["a"], {"x": [1]}, "khác")
    ids = set(re.findall(r'id="([^"]+)"', first)) & set(re.findall(r'id="([^"]+)"', other))
    assert not ids  # two charts on one page do not share element ids

    hist = charts.histogram([10, 55, 70, 70, 95], [0, 50, 100], "Phân bố điểm", "Điểm (%)", 50, "Điểm đạt / Pass mark")
    assert ">2<" in hist and ">3<" in hist and "Điểm đạt / Pass mark 50" in hist
    with pytest.raises(ValueError):
        charts.histogram([1], [5, 1], "x", "y")

    times = [
        datetime(2026, 5, 1, 3, tzinfo=UTC),
        datetime(2026, 5, 2, 3, tzinfo=UTC),
        datetime(2026, 5, 3, 3, tzinfo=UTC),
    ]
    line = charts.timeline(times, datetime(2026, 5, 2, 10, tzinfo=UTC), "Nộp bài", "Asia/Ho_Chi_Minh")
    assert "Hạn nộp / Deadline 02/05 17:00" in line and "Nộp muộn / Late: 1" in line  # school time, one late
    assert "Không có dữ liệu / No data" in charts.timeline([], None, "Nộp bài", "Asia/Ho_Chi_Minh")
    with pytest.raises(ValueError):
        charts.bar_chart(["a", "b"], {"x": [1]}, "thiếu / missing")


# -- the page --------------------------------------------------------------------------------------------------

PREFIX = "/services/portal/"
SCOPE = "access:services!service=portal"
CLIENT_ID = "service-portal"


@dataclass
class Portal:
    url: str
    cookie_secret: bytes
    tokens: dict[str, str]

    def get(self, who: str, path: str) -> requests.Response:
        from tornado.web import create_signed_value

        session = requests.Session()
        session.cookies.set(CLIENT_ID, create_signed_value(self.cookie_secret, CLIENT_ID, self.tokens[who]).decode())
        r = session.get(self.url + path, timeout=60, allow_redirects=False)
        r.encoding = "utf-8"
        return r


@pytest.fixture(scope="module")
def portal(school: School) -> Iterator[Portal]:
    from support.hub_stubs import FakeHub, StubAccessResolver, StubHubOAuth, add_people, close_auth, serve, stub_auth

    from hub.services.portal import app as portal_app

    hub = FakeHub()
    tokens = add_people(hub, SCOPE, ("KNS-A", "KNS-B", "PTDL-C"))

    def instance(**traits: Any) -> StubHubOAuth:
        return stub_auth(StubHubOAuth, hub, **traits, oauth_client_id=CLIENT_ID, base_url=PREFIX, hub_prefix="/hub/",
                         oauth_redirect_uri=PREFIX + "oauth_callback", access_scopes={SCOPE})  # fmt: skip

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(portal_app, "HubOAuth", SimpleNamespace(instance=instance))
        app = portal_app.PortalApp(school.settings, "http://127.0.0.1:1/hub/api", "portal-service-token", PREFIX)
    app.access = StubAccessResolver(hub, "http://127.0.0.1:1/hub/api", "portal-service-token", app.directory,
                                    set(app.courses))  # fmt: skip
    application = app.web_app()
    try:
        with serve(lambda: portal_app.make_server(application)) as port:
            yield Portal(f"http://127.0.0.1:{port}{PREFIX}", application.settings["cookie_secret"], tokens)
    finally:
        close_auth(app.hub_auth)
        app.directory.dispose()


def page_figures(text: str) -> dict[str, str]:
    return dict(re.findall(r'data-figure="(\w+)"><strong>([^<]+)</strong>', text))


def test_the_page_shows_the_figures_charts_and_download_links(school: School, portal: Portal) -> None:
    from hub.reports.engine import FIGURES, ReportQuery, build_report, figure_value, shown

    r = portal.get("quantri", "admin/reports?year=2026")
    assert r.status_code == 200, r.text[:500]
    report = build_report(school.directory, school.settings, ReportQuery.clean(2026))
    assert page_figures(r.text) == {name: shown(figure_value(report.totals, name)) for name, _ in FIGURES}
    assert page_figures(r.text)["enrolments"] == "9" and page_figures(r.text)["hours"] == "25,5"
    assert r.text.count("<svg ") == 5 and "<script" not in r.text.lower()
    assert html.escape(HOSTILE_UNIT) in r.text or HOSTILE_UNIT.replace('"', "&#34;") in r.text
    assert 'href="?year=2026&amp;format=xlsx"' in r.text and 'href="?year=2026&amp;format=csv"' in r.text
    assert "Số giờ đào tạo" in r.text and "Training hours" in r.text

    budget = portal.get("quantri", "admin/reports?year=2026&funding=budget&course=&unit=&province=")
    assert page_figures(budget.text)["classes"] == "1"
    assert "year=2026&amp;funding=budget&amp;format=xlsx" in budget.text


def test_the_downloads_are_the_pages_figures_as_attachments(school: School, portal: Portal) -> None:
    from openpyxl import load_workbook

    r = portal.get("quantri", "admin/reports?year=2026&format=xlsx")
    assert r.status_code == 200
    assert r.headers["Content-Disposition"] == 'attachment; filename="bao-cao-2026.xlsx"'
    cells = flat([list(row) for row in load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True)])
    assert cells["Tổng hợp / Totals", "Lượt học viên / Enrolments"] == [9]
    c = portal.get("quantri", "admin/reports?year=2026&format=csv&province=%C4%90%C3%A0%20N%E1%BA%B5ng")
    assert c.headers["Content-Disposition"] == 'attachment; filename="bao-cao-2026.csv"'
    assert c.headers["Content-Type"].startswith("text/csv") and c.content.startswith(b"\xef\xbb\xbf")
    cells = flat(list(csv.reader(io.StringIO(c.content.decode("utf-8-sig")))))
    assert cells["Tổng hợp / Totals", "Lượt học viên / Enrolments"] == ["2"]
    assert cells[next(k for k in cells if k[1] == "Tỉnh, thành phố / Province")] == ["Đà Nẵng"]


@pytest.mark.parametrize("path", ["admin/reports", "admin/reports?format=xlsx", "admin/reports?format=csv&year=2026"])
@pytest.mark.parametrize("who", ["an", "gv-mot", "khach"])
def test_learners_and_instructors_get_403(portal: Portal, who: str, path: str) -> None:
    r = portal.get(who, path)
    assert r.status_code == 403 and "Content-Disposition" not in r.headers
    assert "quản trị viên" in r.text and "only admins" in r.text and "Lượt học viên" not in r.text


@pytest.mark.parametrize(
    "query, status, why",
    [
        ("year=abc", 400, "not a year"),
        ("year=99999", 400, "between 2000 and 2100"),
        ("year=2026&unit=" + "x" * 10_000, 400, "at most 300"),
        ("year=2026&funding=%3Cscript%3E", 400, "budget or non_budget"),
        ("year=2026&format=pdf", 400, "xlsx or csv"),
        ("year=2026&course=khong-co-khoa-nay", 200, "no course"),
        ("year=2026&province=%3Cscript%3Ealert(1)%3C/script%3E", 200, "Yearly training report"),
    ],
)
def test_hostile_query_values_get_a_clear_answer_never_a_500(portal: Portal, query: str, status: int, why: str) -> None:
    r = portal.get("quantri", "admin/reports?" + query)
    assert r.status_code == status, r.text[:300]
    assert why in html.unescape(r.text) and "Traceback" not in r.text and "<script>alert" not in r.text


def test_warming_up_reads_every_courses_gradebook_once_for_the_first_page(school: School) -> None:
    from hub.reports import engine
    from hub.reports.report_charts import warm

    engine._results_cache.clear()
    warm(school.directory, school.settings)
    cached = {url for url, _ in engine._results_cache}
    assert cached == {school.settings.gradebook_url_for(K), school.settings.gradebook_url_for(P)}
