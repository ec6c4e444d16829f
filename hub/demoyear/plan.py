"""The synthetic school year as plain data, made from one seed: classes, people, enrolments, timetables and
how each learner does. Nothing here reads a clock or a database: the same (year, seed, scale, courses, taken
usernames) always gives the same plan.

Shape at scale 1.0 (the seed article): 142 classes, 8,686 learner enrolments, 30-100 learners a class, 12% of
the classes budget-funded. Classes start from January to mid-December; a class is closed two weeks after its
last session (the last deadline is a week after it, grading a week later); one still running on 31 December is
open, its last assignments unsubmitted or waiting for manual grading.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hub.demoyear import people as names
from hub.demoyear import places

CLASSES_AT_SCALE_1 = 142
ENROLMENTS_AT_SCALE_1 = 8686
BUDGET_SHARE = 0.12
MIN_CLASS, MAX_CLASS = 30, 100
SESSION_HOURS = 4
SLOTS = ((time(7, 30), time(11, 30)), (time(13, 30), time(17, 30)))  # school hours, local time
WEEKDAY_PAIRS = ((0, 2), (1, 3), (2, 4), (0, 3), (1, 4))
MONTH_WEIGHTS = (4, 3, 10, 10, 9, 9, 8, 8, 10, 10, 10, 6)  # Tết empties February; the autumn is busiest
# learner outcomes: (kind, probability); the rest of the shape comes from scores the completion rule judges
OUTCOMES = (("complete", 0.87), ("low", 0.04), ("missing", 0.045), ("dropout", 0.045))
LATE_SHARE, FLAGGED_SHARE, TWO_COURSES_SHARE = 0.04, 0.005, 0.06
DEADLINE_AFTER_SESSION = timedelta(days=7)
GRADING_TIME = timedelta(days=7)
OPEN_SHARE = 0.4  # chance that a class drawn to run past 31 December is kept (a few classes are open at year end)


def class_prefix(year: int) -> str:
    """Every class the demo makes is named `DEMO-<year>-…`: how its data is found again (and removed)."""
    return f"DEMO-{year}-"


@dataclass(frozen=True)
class CourseInfo:
    id: str
    title: str
    hours: float
    assignments: tuple[str, ...]


@dataclass
class DemoPerson:
    username: str
    name: names.Name
    email: str
    organisation: str
    created_at: datetime


@dataclass
class Seat:
    """One learner enrolment and how that learner does in this class."""

    username: str
    outcome: str
    ability: float  # the share of points the learner tends to earn
    stop_after: int  # dropout: assignments submitted before giving up; missing: the one not submitted
    enrolled_at: datetime


@dataclass
class DemoClass:
    code: str
    title: str
    course: CourseInfo
    unit: str
    province: str
    budget: bool
    funding_name: str
    sessions: list[tuple[datetime, datetime, str]]
    deadlines: dict[str, datetime]  # assignment id -> deadline (UTC)
    instructor: str
    created_at: datetime
    closed_at: datetime | None  # None: still open at the end of the year
    seats: list[Seat] = field(default_factory=list)


@dataclass
class YearPlan:
    year: int
    seed: int
    timezone: str
    classes: list[DemoClass]
    people: dict[str, DemoPerson]  # learners and instructors
    instructors: list[str]

    @property
    def year_end(self) -> datetime:
        return datetime(self.year + 1, 1, 1, tzinfo=ZoneInfo(self.timezone)).astimezone(UTC)


def counts(scale: float) -> tuple[int, int]:
    classes = max(1, round(CLASSES_AT_SCALE_1 * scale))
    enrolments = min(max(round(ENROLMENTS_AT_SCALE_1 * scale), classes * MIN_CLASS), classes * MAX_CLASS)
    return classes, enrolments


def class_sizes(rng: random.Random, classes: int, total: int) -> list[int]:
    """`classes` sizes of MIN_CLASS..MAX_CLASS adding up to exactly `total`."""
    raw = [rng.triangular(MIN_CLASS, MAX_CLASS, 50) for _ in range(classes)]
    factor = total / sum(raw)
    sizes = [min(MAX_CLASS, max(MIN_CLASS, round(r * factor))) for r in raw]
    while (diff := total - sum(sizes)) != 0:
        step = 1 if diff > 0 else -1
        movable = [i for i, s in enumerate(sizes) if MIN_CLASS <= s + step <= MAX_CLASS]
        sizes[rng.choice(movable)] += step
    return sizes


def _course_weights(courses: list[CourseInfo]) -> list[float]:
    if len(courses) > 1 and any(c.id == "phan-tich-du-lieu" for c in courses):
        return [0.55 if c.id == "phan-tich-du-lieu" else 0.45 / (len(courses) - 1) for c in courses]
    return [1.0] * len(courses)


def _course_code(course_id: str) -> str:
    return "".join(word[0] for word in course_id.split("-") if word).upper()[:6] or "C"


def _holiday(day: date) -> bool:
    """Days no class meets: New Year, an approximate Tết break, 30/4, 1/5 and 2/9."""
    return (
        (day.month, day.day) in ((1, 1), (4, 30), (5, 1), (9, 2))
        or (day.month == 1 and day.day >= 20)
        or (day.month == 2 and day.day <= 12)
    )


def _timetable(rng: random.Random, year: int, zone: ZoneInfo, count: int) -> list[tuple[datetime, datetime, str]]:
    month = rng.choices(range(1, 13), MONTH_WEIGHTS)[0]
    day = date(year, month, rng.randint(1, 28 if month != 12 else 14))
    days = rng.choice(WEEKDAY_PAIRS)
    start_time, end_time = rng.choice(SLOTS)
    room = "Trực tuyến" if rng.random() < 0.2 else f"Phòng máy {rng.choice((101, 102, 201, 202, 301))}"
    sessions = []
    while len(sessions) < count:
        if day.weekday() in days and not _holiday(day):
            starts = datetime.combine(day, start_time, zone).astimezone(UTC)
            ends = datetime.combine(day, end_time, zone).astimezone(UTC)
            sessions.append((starts, ends, room))
        day += timedelta(days=1)
    return sessions


def _class_timetable(
    rng: random.Random, year: int, zone: ZoneInfo, count: int, year_end: datetime
) -> list[tuple[datetime, datetime, str]]:
    """A timetable that ends, with its grading, within the year, except for about OPEN_SHARE of the classes."""
    while True:
        sessions = _timetable(rng, year, zone, count)
        if sessions[-1][1] + DEADLINE_AFTER_SESSION + GRADING_TIME < year_end or rng.random() < OPEN_SHARE:
            return sessions


def _deadlines(course: CourseInfo, sessions: list[tuple[datetime, datetime, str]]) -> dict[str, datetime]:
    """Assignment k is due a week after the session that ends its share of the course."""
    n, s = len(course.assignments), len(sessions)
    return {aid: sessions[min(s - 1, max(0, (k + 1) * s // n - 1))][1] + DEADLINE_AFTER_SESSION
            for k, aid in enumerate(course.assignments)}  # fmt: skip


def _seat(rng: random.Random, username: str, course: CourseInfo, enrolled_at: datetime) -> Seat:
    outcome = rng.choices([o for o, _ in OUTCOMES], [p for _, p in OUTCOMES])[0]
    if outcome == "low":
        ability = rng.uniform(0.3, 0.62)
    elif outcome == "complete":
        ability = min(1.0, max(0.74, rng.gauss(0.88, 0.07)))
    else:
        ability = min(1.0, max(0.5, rng.gauss(0.82, 0.1)))
    stop_after = rng.randrange(max(1, len(course.assignments)))
    return Seat(username, outcome, round(ability, 4), stop_after, enrolled_at)


def make_plan(
    year: int, seed: int, scale: float, courses: list[CourseInfo], taken: set[str], timezone: str
) -> YearPlan:
    """The whole year from `seed`; `taken` are usernames that exist already (never reused)."""
    rng = random.Random(f"truongso-demo-year:{year}:{seed}")
    zone = ZoneInfo(timezone)
    year_end = datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC)
    n_classes, n_enrolments = counts(scale)
    sizes = class_sizes(rng, n_classes, n_enrolments)
    courses = sorted(courses, key=lambda c: c.id)
    chosen = rng.choices(courses, _course_weights(courses), k=n_classes)
    budget = set(rng.sample(range(n_classes), round(n_classes * BUDGET_SHARE)))
    usernames = names.Usernames(taken)
    people: dict[str, DemoPerson] = {}

    def person(province: str, created_at: datetime, organisation: str | None = None) -> str:
        name = names.random_name(rng)
        username = usernames.make(name)
        org = organisation or places.organisation(rng, province)
        people[username] = DemoPerson(username, name, names.email_for(username), org, created_at)
        return username

    first_day = datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)
    instructors = [person("Hà Nội", first_day - timedelta(days=60), "Trường Số — giảng viên")
                   for _ in range(max(2, round(n_classes / 5)))]  # fmt: skip
    drafts = []
    for i in range(n_classes):
        course = chosen[i]
        unit, home = rng.choice(places.UNITS)
        province = home if home and rng.random() < 0.7 else places.random_province(rng)
        sessions = _class_timetable(rng, year, zone, max(1, round(course.hours / SESSION_HOURS)), year_end)
        drafts.append((sessions[0][0], i, course, unit, province, sessions))
    drafts.sort(key=lambda d: (d[0], d[1]))  # numbered by start date within each course
    numbers: dict[str, int] = {}
    codes: dict[str, str] = {}
    for n, c in enumerate(courses):  # PTDL, KNS…; two courses with the same initials get a number
        code = _course_code(c.id)
        codes[c.id] = code if code not in codes.values() else f"{code}{n}"
    classes: list[DemoClass] = []
    for starts, i, course, unit, province, sessions in drafts:
        numbers[course.id] = numbers.get(course.id, 0) + 1
        deadlines = _deadlines(course, sessions)
        closes = max(deadlines.values(), default=sessions[-1][1] + DEADLINE_AFTER_SESSION) + GRADING_TIME
        classes.append(
            DemoClass(
                code=f"{class_prefix(year)}{codes[course.id]}-{numbers[course.id]:03d}",
                title=f"{course.title} — lớp {numbers[course.id]:02d}/{year} ({places.province_label(province)})",
                course=course,
                unit=unit,
                province=province,
                budget=i in budget,
                funding_name=places.funding_name(rng, i in budget, unit, province),
                sessions=sessions,
                deadlines=deadlines,
                instructor=rng.choice(instructors),
                created_at=starts - timedelta(days=30),
                closed_at=closes if closes < year_end else None,
            )
        )
    # learners: first-course classes first, so a few learners of later courses are people from them
    pools: dict[str, list[str]] = {}  # province -> learners of the first course not yet reused
    first_course = courses[0].id if courses else ""
    for cls, size in sorted(zip(classes, [sizes[i] for _, i, *_ in drafts], strict=True),
                            key=lambda pair: (pair[0].course.id != first_course, pair[0].code)):  # fmt: skip
        pool = pools.setdefault(cls.province, [])
        for _ in range(size):
            enrolled = cls.created_at + timedelta(days=rng.randint(0, 25), minutes=rng.randint(0, 600))
            reuse = cls.course.id != first_course and pool and rng.random() < TWO_COURSES_SHARE
            username = pool.pop(rng.randrange(len(pool))) if reuse else person(cls.province, enrolled)
            if cls.course.id == first_course:
                pool.append(username)
            cls.seats.append(_seat(rng, username, cls.course, enrolled))
    teaching = {c.instructor for c in classes}  # an instructor drawn for no class is no part of the year
    for username in instructors:
        if username not in teaching:
            del people[username]
    return YearPlan(year, seed, timezone, classes, people, [u for u in instructors if u in teaching])
