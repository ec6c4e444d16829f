"""The school's yearly report (báo cáo năm): every figure for a year, optionally narrowed to a course, an organising
unit, a province or a funding source, split by funding, course, unit and province, and month by month.

Where each figure comes from (the page and the README say the same):
- classes, enrolments, learners: the directory (SchoolClass.year is the class's year; learner enrolments only);
- completed: the course's completion rule (graders.certificates.rules.evaluate, course.yaml) over the one score
  function (graders.scores via rules.read_results), counted per enrolment, so the splits add up to the total;
  each course's gradebook is read ONCE per report, for everybody, and kept while its file is unchanged;
- average score: the rule's overall percent, over the enrolments whose learner has graded work in the course;
- certificates issued / revoked: the registry (graders.certificates.models.Certificate), issued (revoked) during
  the year in the school's time zone, of the classes that match the filters (the class's own year aside: a class
  of December is certified in January); certificates of classes no longer in the directory count only in an
  unfiltered report, under "(không rõ / unknown)";
- hours delivered: per class, the sum of its timetabled sessions (ends_at - starts_at); a class without a
  timetable counts its course's hours (course.yaml `hours`);
- months: classes and their enrolments by the month the class started (its first session, else its creation),
  completions by completion date (the last required submission), certificates by issue date.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, inspect, or_, select
from sqlalchemy.exc import SQLAlchemyError

from graders.certificates.models import Certificate
from graders.certificates.rules import evaluate, read_results
from graders.db import sqlite_change_mark
from graders.scores import GradebookMissing, GradebookUnreadable
from graders.text import Text, UserError
from hub.directory.models import ClassSession, Enrolment, EnrolmentRole, Funding, SchoolClass

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_FILTER = 300  # the longest unit name the directory stores
UNKNOWN = "(không rõ / unknown)"
NOT_SET = "(chưa ghi / not set)"
FUNDING_LABELS = {
    Funding.budget.value: "Ngân sách nhà nước / State budget",
    Funding.non_budget.value: "Ngoài ngân sách (xã hội hoá) / Non-budget",
}


class ReportError(UserError):
    """A report that cannot be made as asked (bad filter: 400; an unreadable gradebook: 503)."""

    status = 400


@dataclass(frozen=True)
class ReportQuery:
    """What to report on; made through `ReportQuery.clean` from anything a person typed."""

    year: int
    course_id: str | None = None
    unit: str | None = None
    province: str | None = None
    funding: str | None = None

    @classmethod
    def clean(
        cls,
        year: Any,
        course_id: Any = None,
        unit: Any = None,
        province: Any = None,
        funding: Any = None,
    ) -> ReportQuery:
        """A query from untrusted text (form fields, CLI arguments); ReportError (400) says what is wrong."""
        try:
            number = int(str(year).strip())
        except ValueError:
            raise ReportError(f"năm không hợp lệ: {str(year)[:20]!r}", f"not a year: {str(year)[:20]!r}") from None
        if not MIN_YEAR <= number <= MAX_YEAR:
            raise ReportError(
                f"năm phải từ {MIN_YEAR} đến {MAX_YEAR}", f"the year must be between {MIN_YEAR} and {MAX_YEAR}"
            )
        texts = {}
        for name, value, vi in (
            ("course", course_id, "khoá học"),
            ("unit", unit, "đơn vị"),
            ("province", province, "tỉnh"),
        ):
            value = " ".join(str(value).split()) if value is not None else ""
            if len(value) > MAX_FILTER or not value.isprintable():
                raise ReportError(
                    f"{vi}: tối đa {MAX_FILTER} ký tự, không có ký tự điều khiển",
                    f"{name}: at most {MAX_FILTER} printable characters",
                )
            texts[name] = value or None
        funding = (str(funding).strip() if funding is not None else "") or None
        if funding is not None and funding not in FUNDING_LABELS:
            raise ReportError(
                "nguồn kinh phí phải là budget hoặc non_budget", "the funding source must be budget or non_budget"
            )
        return cls(number, texts["course"], texts["unit"], texts["province"], funding)

    def describe(self) -> list[tuple[str, str]]:
        """The query as (label, value) pairs, for the page and the files."""
        return [
            ("Năm / Year", str(self.year)),
            ("Khoá học / Course", self.course_id or "(tất cả / all)"),
            ("Đơn vị tổ chức / Organising unit", self.unit or "(tất cả / all)"),
            ("Tỉnh, thành phố / Province", self.province or "(tất cả / all)"),
            ("Nguồn kinh phí / Funding", FUNDING_LABELS.get(self.funding or "", "(tất cả / all)")),
        ]


@dataclass
class Figures:
    """The figures of one line of the report (the whole year, or one funding source, course, unit, province)."""

    classes: int = 0
    enrolments: int = 0
    completed: int = 0  # enrolments whose learner met the course's completion rule
    certificates_issued: int = 0
    certificates_revoked: int = 0
    hours: float = 0.0
    learner_names: set[str] = field(default_factory=set, repr=False)
    completed_names: set[str] = field(default_factory=set, repr=False)
    score_sum: float = 0.0
    scored: int = 0  # enrolments with graded work, the average's denominator

    @property
    def learners(self) -> int:
        return len(self.learner_names)

    @property
    def learners_completed(self) -> int:
        return len(self.completed_names)

    @property
    def completion_rate(self) -> float | None:
        """Percent of enrolments completed; None when there are none."""
        return 100.0 * self.completed / self.enrolments if self.enrolments else None

    @property
    def average_score(self) -> float | None:
        return self.score_sum / self.scored if self.scored else None


# Every figure, in the order the page, the CLI and the files show them: (attribute, Vietnamese / English label).
FIGURES: tuple[tuple[str, Text], ...] = (
    ("classes", Text("Số lớp", "Classes")),
    ("enrolments", Text("Lượt học viên", "Enrolments")),
    ("learners", Text("Số học viên (không trùng)", "Distinct learners")),
    ("completed", Text("Lượt hoàn thành", "Completed enrolments")),
    ("learners_completed", Text("Học viên hoàn thành (không trùng)", "Distinct learners completed")),
    ("completion_rate", Text("Tỷ lệ hoàn thành (%)", "Completion rate (%)")),
    ("certificates_issued", Text("Giấy chứng nhận đã cấp", "Certificates issued")),
    ("certificates_revoked", Text("Giấy chứng nhận bị thu hồi", "Certificates revoked")),
    ("average_score", Text("Điểm trung bình (%)", "Average score (%)")),
    ("hours", Text("Số giờ đào tạo", "Training hours delivered")),
)
SPLITS: tuple[tuple[str, Text], ...] = (
    ("funding", Text("Theo nguồn kinh phí", "By funding source")),
    ("funding_name", Text("Theo tên nguồn kinh phí", "By funder")),
    ("course", Text("Theo khoá học", "By course")),
    ("unit", Text("Theo đơn vị tổ chức", "By organising unit")),
    ("province", Text("Theo tỉnh, thành phố", "By province")),
)
MONTH_FIGURES: tuple[tuple[str, Text], ...] = (
    ("classes", Text("Lớp khai giảng", "Classes started")),
    ("enrolments", Text("Lượt học viên (theo tháng khai giảng)", "Enrolments (by start month)")),
    ("completed", Text("Lượt hoàn thành (theo ngày hoàn thành)", "Completions (by completion date)")),
    ("certificates_issued", Text("Giấy chứng nhận cấp", "Certificates issued")),
)


def figure_value(figures: Figures, name: str) -> int | float | None:
    """One figure as a number (rates and averages rounded to 0.1, hours to 0.01); None: not defined."""
    value = getattr(figures, name)
    if value is None:
        return None
    if name in ("completion_rate", "average_score"):
        return round(value, 1)
    if name == "hours":
        return round(value, 2)
    return value


def shown(value: int | float | None) -> str:
    """A figure as people read it here: thousands grouped with dots, decimals with a comma (1.234,5); — for none."""
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"{int(value):,}".replace(",", ".")


@dataclass
class Report:
    query: ReportQuery
    generated_at: datetime  # aware, UTC
    timezone: str
    totals: Figures
    splits: dict[str, list[tuple[str, Figures]]]  # split name -> (label, figures), largest first
    months: list[dict[str, int]]  # 12 entries, January first: MONTH_FIGURES name -> count
    notes: list[Text] = field(default_factory=list)

    @property
    def generated_local(self) -> datetime:
        return self.generated_at.astimezone(ZoneInfo(self.timezone))


def build_report(directory: Any, settings: Any, query: ReportQuery, now: datetime | None = None) -> Report:
    """The report for `query` from the directory database, the courses' gradebooks and the certificate registry.

    `settings`: the hub's (HubSettings: load_courses, gradebook_url_for, timezone); ReportError (503) when a
    gradebook that exists cannot be read: a report never says "nobody completed" for want of scores."""
    tz = ZoneInfo(settings.timezone)
    courses = {c.id: c for c in settings.load_courses()}
    notes: list[Text] = []
    with directory.session() as session:
        matching = _classes(session, query)  # of any year: certificates of last December's class count too
        classes = [c for c in matching.values() if c.year == query.year]
        names = [c.name for c in classes]
        enrolled = _learner_enrolments(session, names)
        sessions = _session_spans(session, names)
        certificates = _certificates(session, query, tz, set(matching))
    if query.course_id and query.course_id not in courses and not classes:
        notes.append(Text(f"không có khoá học {query.course_id!r}", f"no course {query.course_id!r}"))

    verdicts = {}  # (course id, username) -> Evaluation
    by_course: dict[str, set[str]] = defaultdict(set)
    for c in classes:
        if c.course_id in courses:
            by_course[c.course_id].update(enrolled.get(c.name, ()))
        elif enrolled.get(c.name):
            notes.append(
                Text(f"lớp {c.name}: khoá học {c.course_id!r} không có", f"class {c.name}: no course {c.course_id!r}")
            )
    graded: set[tuple[str, str]] = set()
    for course_id, usernames in sorted(by_course.items()):
        course = courses[course_id]
        results = _course_results(course, settings.gradebook_url_for(course_id), notes)
        for e in evaluate(course, results, sorted(usernames), settings.timezone):
            verdicts[course_id, e.username] = e
        graded.update((course_id, u) for u, mine in results.items() if any(s.graded for s in mine.values()))

    totals = Figures()
    splits: dict[str, dict[str, Figures]] = {name: defaultdict(Figures) for name, _ in SPLITS}
    months = [dict.fromkeys((n for n, _ in MONTH_FIGURES), 0) for _ in range(12)]
    for c in classes:
        lines = [totals, *(splits[name][label] for name, label in _labels(c, c.course_id, courses).items())]
        spans = sessions.get(c.name, [])
        hours = (
            sum((end - start).total_seconds() for start, end in spans) / 3600 if spans else _course_hours(c, courses)
        )
        start = _local(min((s for s, _ in spans), default=None) or c.created_at, tz)
        learners = enrolled.get(c.name, [])
        if start.year == query.year:
            months[start.month - 1]["classes"] += 1
            months[start.month - 1]["enrolments"] += len(learners)
        for line in lines:
            line.classes += 1
            line.hours += hours
            line.enrolments += len(learners)
            line.learner_names.update(learners)
        for username in learners:
            verdict = verdicts.get((c.course_id, username))
            if verdict is None:
                continue
            if verdict.completed:
                for line in lines:
                    line.completed += 1
                    line.completed_names.add(username)
                if verdict.completed_on and verdict.completed_on.year == query.year:
                    months[verdict.completed_on.month - 1]["completed"] += 1
            if (c.course_id, username) in graded:
                for line in lines:
                    line.score_sum += verdict.percent
                    line.scored += 1
    for cert, issued_in_year, revoked_in_year in certificates:
        owner = matching.get(cert.class_name or "")
        labels = _labels(owner, cert.course_id, courses)
        lines = [totals, *(splits[name][label] for name, label in labels.items())]
        for line in lines:
            line.certificates_issued += issued_in_year
            line.certificates_revoked += revoked_in_year
        if issued_in_year:
            months[cert.issued_on.month - 1]["certificates_issued"] += 1
    ordered = {
        name: sorted(lines.items(), key=lambda item: (-item[1].enrolments, -item[1].certificates_issued, item[0]))
        for name, lines in splits.items()
    }
    return Report(query, now or datetime.now(UTC), settings.timezone, totals, ordered, months, notes)


# ------------------------------------------------------------------ reading


def _classes(session, query: ReportQuery) -> dict[str, SchoolClass]:
    """The classes that match the query's filters, of every year, by name."""
    statement = select(SchoolClass)
    for column, value in (
        (SchoolClass.course_id, query.course_id),
        (SchoolClass.unit, query.unit),
        (SchoolClass.province, query.province),
        (SchoolClass.funding, query.funding),
    ):
        if value is not None:
            statement = statement.where(column == value)
    return {c.name: c for c in session.scalars(statement.order_by(SchoolClass.name))}


def _learner_enrolments(session, class_names: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    if not class_names:
        return out
    rows = session.execute(
        select(Enrolment.class_name, Enrolment.username).where(
            Enrolment.role == EnrolmentRole.learner, Enrolment.class_name.in_(class_names)
        )
    )
    for class_name, username in rows:
        out[class_name].append(username)
    return out


def _session_spans(session, class_names: list[str]) -> dict[str, list[tuple[datetime, datetime]]]:
    out: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    if not class_names:
        return out
    rows = session.execute(
        select(ClassSession.class_name, ClassSession.starts_at, ClassSession.ends_at).where(
            ClassSession.class_name.in_(class_names)
        )
    )
    for class_name, start, end in rows:
        if end > start:  # a session typed backwards delivers nothing rather than negative hours
            out[class_name].append((start, end))
    return out


def _certificates(session, query: ReportQuery, tz: ZoneInfo, in_scope: set[str]) -> list[tuple[Any, int, int]]:
    """(certificate row, issued in the year 0/1, revoked in the year 0/1) for the certificates of the classes in
    scope (and of classes no longer in the directory, when nothing narrows the report but the year and course)."""
    if "certificates" not in inspect(session.connection()).get_table_names():
        return []  # no certificate ever issued on this hub
    first = datetime(query.year, 1, 1, tzinfo=tz).astimezone(UTC)
    after = datetime(query.year + 1, 1, 1, tzinfo=tz).astimezone(UTC)
    statement = select(
        Certificate.class_name, Certificate.course_id, Certificate.issued_on, Certificate.revoked_at
    ).where(
        or_(
            Certificate.issued_on.between(date(query.year, 1, 1), date(query.year, 12, 31)),
            and_(Certificate.revoked_at >= first, Certificate.revoked_at < after),
        )
    )
    if query.course_id is not None:
        statement = statement.where(Certificate.course_id == query.course_id)
    unfiltered = query.unit is None and query.province is None and query.funding is None
    try:
        rows = session.execute(statement).all()
        existing = set(session.scalars(select(SchoolClass.name))) if unfiltered else set()
    except SQLAlchemyError as exc:
        raise ReportError(
            "không đọc được sổ cấp giấy chứng nhận", f"cannot read the certificate registry: {exc}", 503
        ) from None
    out = []
    for cert in rows:
        issued = int(cert.issued_on.year == query.year)
        revoked = int(cert.revoked_at is not None and _local(cert.revoked_at, tz).year == query.year)
        if (cert.class_name or "") in in_scope or (unfiltered and (cert.class_name or "") not in existing):
            out.append((cert, issued, revoked))
    return out


# One gradebook read per course and report, kept while the gradebook file is unchanged (SQLite) like the portal's.
_results_cache: dict[tuple[str, tuple[str, ...]], tuple[tuple, dict]] = {}
_results_lock = threading.Lock()


def _course_results(course: Any, url: str, notes: list[Text]) -> dict:
    key = (url, tuple(sorted(a.id for a in course.assignments)))
    mark = sqlite_change_mark(url)
    if mark is not None:
        with _results_lock:
            cached = _results_cache.get(key)
        if cached is not None and cached[0] == mark:
            return cached[1]
    try:
        results = read_results(course, url)  # everyone the gradebook has: one statement
    except GradebookMissing:
        notes.append(Text(f"khoá học {course.id} chưa có sổ điểm", f"course {course.id} has no gradebook yet"))
        return {}
    except GradebookUnreadable as exc:
        raise ReportError(
            f"không đọc được sổ điểm của khoá {course.id}: {exc}",
            f"cannot read the gradebook of {course.id}: {exc}",
            503,
        ) from None
    if mark is not None and mark == sqlite_change_mark(url):  # unchanged while it was read
        with _results_lock:
            _results_cache[key] = (mark, results)
            while len(_results_cache) > 16:
                _results_cache.pop(next(iter(_results_cache)))
    return results


# ------------------------------------------------------------------ helpers


def _labels(school_class: SchoolClass | None, course_id: str | None, courses: dict) -> dict[str, str]:
    """The line of each split a class (or a certificate whose class is gone: None) belongs to."""
    course = courses.get(course_id or "")
    course_label = f"{course_id} — {course.title.vi}" if course else (course_id or NOT_SET)
    if school_class is None:
        return {
            "funding": UNKNOWN,
            "funding_name": UNKNOWN,
            "course": course_label,
            "unit": UNKNOWN,
            "province": UNKNOWN,
        }
    funding = school_class.funding.value if school_class.funding else ""
    return {
        "funding": FUNDING_LABELS.get(funding, NOT_SET),
        "funding_name": school_class.funding_name or NOT_SET,
        "course": course_label,
        "unit": school_class.unit or NOT_SET,
        "province": school_class.province or NOT_SET,
    }


def _course_hours(school_class: SchoolClass, courses: dict) -> float:
    course = courses.get(school_class.course_id or "")
    return float(course.hours) if course else 0.0


def _local(moment: datetime, tz: ZoneInfo) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz)


def month_names() -> list[str]:
    return [f"{m:02d}" for m in range(1, 13)]
