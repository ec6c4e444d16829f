"""Load a synthetic school year into a hub's databases, or remove one: `truongso demo year / remove-year`.

Order, so that a crash never leaves a half year that looks whole: the gradebooks first (one transaction per
course; rows of a crashed earlier load are replaced), then ONE transaction of the hub's database with the
people, classes, enrolments, timetables, certificates (through the real issuing code) and the audit row. The
demo's classes exist only if all of it was committed, which is what makes a second run a no-op.

Synthetic data is recognisable: classes `DEMO-<year>-…`, e-mails `@demo.truongso.invalid`, nbgrader students
with that e-mail, certificates of those classes. It is refused into a year that has real classes, and synthetic
people get no password (no login row): nobody can log in as them.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nativeauthenticator.orm import UserInfo
from sqlalchemy import delete, func, select

from graders.coursedir import course_dir
from graders.curriculum import Course, CourseError
from graders.text import UserError
from hub.demoyear import gradebook
from hub.demoyear.people import DEMO_EMAIL_DOMAIN
from hub.demoyear.plan import CourseInfo, YearPlan, class_prefix, make_plan
from hub.directory.audit import record_action
from hub.directory.db import Directory
from hub.directory.models import (
    ClassSession,
    ClassStatus,
    Enrolment,
    EnrolmentRole,
    Funding,
    LoginFailure,
    Person,
    SchoolClass,
)
from hub.settings import HubSettings

MIN_YEAR = 2000
MIN_SCALE, MAX_SCALE = 0.01, 3.0  # 3.0: about 26,000 enrolments, already more than a school's year
ISSUER = "truongso-demo"  # certificates' issued_by / revoked_by: the demo, never a person
CERTIFIED_SHARE = 0.97  # of those who completed a closed class; the rest still wait for their paperwork
REVOKED_SHARE = 0.003
REVOKE_REASONS = (
    "Sai họ tên học viên trên giấy chứng nhận",
    "Cấp nhầm: học viên chưa nộp đủ bài",
    "Trùng hồ sơ học viên giữa hai đơn vị",
    "Theo đề nghị của đơn vị cử học viên",
)


@dataclass
class LoadResult:
    loaded: bool  # False: the year was already there, nothing done
    year: int
    classes: int = 0
    enrolments: int = 0
    people: int = 0
    instructors: int = 0
    sessions: int = 0
    non_budget_classes: int = 0
    non_budget_enrolments: int = 0
    completed: int = 0
    certificates: int = 0
    revoked: int = 0
    gradebook_rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class RemoveResult:
    removed: bool
    year: int
    classes: int = 0
    people: int = 0
    certificates: int = 0
    gradebook_students: int = 0


def check_year(year: int, today: datetime | None = None) -> None:
    """A year that has ended: a synthetic year with sessions still ahead would reach the class-day service."""
    now = today or datetime.now(UTC)
    if not MIN_YEAR <= year < now.year:
        raise UserError(
            f"năm {year} không hợp lệ: chỉ nhận năm đã qua, từ {MIN_YEAR} đến {now.year - 1}",
            f"invalid year {year}: only a past year, {MIN_YEAR} to {now.year - 1}",
        )


def check_scale(scale: float) -> None:
    if not MIN_SCALE <= scale <= MAX_SCALE:  # also refuses NaN
        raise UserError(
            f"--scale {scale} không hợp lệ: từ {MIN_SCALE} đến {MAX_SCALE} (1.0 = 142 lớp, 8.686 lượt học viên)",
            f"invalid --scale {scale}: {MIN_SCALE} to {MAX_SCALE} (1.0 = 142 classes, 8,686 enrolments)",
        )


def _courses(settings: HubSettings) -> dict[str, Course]:
    try:
        courses = {c.id: c for c in settings.load_courses()}
    except CourseError as exc:
        raise UserError(f"không đọc được chương trình học: {exc}", f"cannot read the curriculum: {exc}") from None
    if not courses:
        raise UserError("chương trình học chưa có khoá nào", "the curriculum has no course")
    return courses


def _source_root(settings: HubSettings, course: Course) -> Path:
    """The course folder's notebooks if the hub has made it (instructors may have edited them), else the
    curriculum's."""
    local = course_dir(settings.data_path, course.id) / "source"
    return local if local.is_dir() else course.source_dir


def _year_classes(session, year: int) -> tuple[list[str], list[str]]:
    names = list(session.scalars(select(SchoolClass.name).where(SchoolClass.year == year).order_by(SchoolClass.name)))
    demo = [n for n in names if n.startswith(class_prefix(year))]
    return demo, [n for n in names if not n.startswith(class_prefix(year))]


def load_year(
    settings: HubSettings, year: int, seed: int, scale: float, actor: str, render: bool = False
) -> LoadResult:
    """Load the year (or nothing, if it is there already: `loaded` False). `render`: write the certificates'
    PDF and JSON files now, as `truongso certificates issue` does; otherwise the certificate service renders one
    when it is first opened."""
    check_year(year)
    check_scale(scale)
    courses = _courses(settings)
    clock = time.perf_counter()
    seconds: dict[str, float] = {}
    directory = Directory(settings.db_url)
    try:
        directory.ensure_schema()
        from graders.certificates.store import open_store

        open_store(settings.db_url).dispose()  # the registry's tables, before one transaction writes them
        with directory.session() as s:
            demo, real = _year_classes(s, year)
            if real:
                shown = ", ".join(real[:5]) + (" …" if len(real) > 5 else "")
                raise UserError(
                    f"năm {year} đã có {len(real)} lớp thật ({shown}); không trộn dữ liệu mẫu vào dữ liệu của trường",
                    f"{year} already has {len(real)} real class(es) ({shown}); synthetic data is never mixed "
                    "into a school's own",
                )
            if demo:
                return LoadResult(False, year, classes=len(demo))
            people = set(s.scalars(select(Person.username)))
            taken = people | set(s.scalars(select(UserInfo.username)))
        urls = {cid: settings.gradebook_url_for(cid) for cid in courses}
        for url in urls.values():  # a gradebook's own students are taken too; leftovers of a crashed load go
            everyone, synthetic = gradebook.students(url)
            taken |= everyone - synthetic
            gradebook.remove_students(url, synthetic - people)
        infos = [CourseInfo(c.id, c.title.vi, c.hours, tuple(a.id for a in c.assignments)) for c in courses.values()]
        plan = make_plan(year, seed, scale, infos, taken, settings.timezone)
        seconds["plan"] = time.perf_counter() - clock
        rows = gradebook.write_grades(plan, courses, urls.__getitem__, lambda cid: _source_root(settings, courses[cid]))
        seconds["gradebooks"] = time.perf_counter() - clock - sum(seconds.values())
        result, issued = _commit_year(settings, directory, plan, courses, actor, scale)
        result.gradebook_rows = rows
        seconds["directory_and_certificates"] = time.perf_counter() - clock - sum(seconds.values())
        if render:
            from graders.certificates.config import CertificateSettings
            from graders.certificates.outputs import write_outputs

            write_outputs(CertificateSettings.from_hub(settings), issued)
            seconds["certificate_files"] = time.perf_counter() - clock - sum(seconds.values())
        result.seconds = seconds
        return result
    finally:
        directory.dispose()


def _completions(settings: HubSettings, plan: YearPlan, courses: dict[str, Course]) -> dict[tuple[str, str], object]:
    """(class, username) -> the completion rule's verdict, for learners of closed classes, from the gradebook
    through the one score function (what `truongso certificates check` would say)."""
    from graders.certificates.rules import evaluate, read_results

    verdicts = {}
    for course_id, course in courses.items():
        seats = [(c.code, seat.username) for c in plan.classes if c.course.id == course_id and c.closed_at
                 for seat in c.seats]  # fmt: skip
        if not seats:
            continue
        usernames = [u for _, u in seats]
        results = read_results(course, settings.gradebook_url_for(course_id), usernames)
        by_name = {e.username: e for e in evaluate(course, results, usernames, settings.timezone)}
        verdicts.update({(code, u): by_name[u] for code, u in seats})
    return verdicts


def _commit_year(
    settings: HubSettings, directory: Directory, plan: YearPlan, courses: dict[str, Course], actor: str, scale: float
) -> tuple[LoadResult, list]:
    from graders.certificates.config import CertificateSettings, CertificateSettingsError
    from graders.certificates.credential import ensure_signing_key
    from graders.certificates.issue import Learner, lock_counter, new_certificate
    from graders.certificates.models import SerialCounter
    from graders.certificates.store import add_audit

    try:
        cert_settings = CertificateSettings.from_hub(settings)
    except CertificateSettingsError as exc:
        raise UserError(f"cấu hình sai: {exc}", f"bad setting: {exc}") from None
    verdicts = _completions(settings, plan, courses)
    rng = random.Random(f"truongso-demo-certificates:{plan.year}:{plan.seed}")
    result = LoadResult(True, plan.year, classes=len(plan.classes), people=len(plan.people),
                        instructors=len(plan.instructors))  # fmt: skip
    with directory.session() as s:
        for p in sorted(plan.people.values(), key=lambda p: p.username):
            s.add(Person(username=p.username, full_name=p.name.full, email=p.email, organisation=p.organisation,
                         created_at=p.created_at, updated_at=p.created_at))  # fmt: skip
        s.flush()
        for c in plan.classes:
            s.add(SchoolClass(
                name=c.code, title=c.title, course_id=c.course.id, year=plan.year,
                funding=Funding.budget if c.budget else Funding.non_budget, funding_name=c.funding_name,
                unit=c.unit, province=c.province, created_at=c.created_at, closed_at=c.closed_at,
                status=ClassStatus.closed if c.closed_at else ClassStatus.open,
            ))  # fmt: skip
            s.add(Enrolment(class_name=c.code, username=c.instructor, role=EnrolmentRole.instructor,
                            created_at=c.created_at))  # fmt: skip
            for seat in c.seats:
                s.add(Enrolment(class_name=c.code, username=seat.username, role=EnrolmentRole.learner,
                                created_at=seat.enrolled_at))  # fmt: skip
            for starts, ends, room in c.sessions:
                s.add(ClassSession(class_name=c.code, starts_at=starts, ends_at=ends, room=room,
                                   created_at=c.created_at))  # fmt: skip
            result.enrolments += len(c.seats)
            result.sessions += len(c.sessions)
            if not c.budget:
                result.non_budget_classes += 1
                result.non_budget_enrolments += len(c.seats)
        s.flush()
        # certificates: the registry's own numbering, signing and audit, in this same transaction
        key = ensure_signing_key(Path(cert_settings.key_file))
        last = lock_counter(s, plan.year)
        issued = []
        closed = sorted((c for c in plan.classes if c.closed_at), key=lambda c: (c.closed_at, c.code))
        for number, c in enumerate(closed, start=1):
            issued_at = c.closed_at  # the day the class is closed, within the year
            decision = f"Số {100 + number}/QĐ-TS (dữ liệu mẫu {plan.year})"
            for seat in sorted(c.seats, key=lambda seat: seat.username):
                verdict = verdicts[(c.code, seat.username)]
                if not verdict.completed:
                    continue
                result.completed += 1
                if rng.random() >= CERTIFIED_SHARE:
                    continue
                p = plan.people[seat.username]
                last += 1
                cert = new_certificate(cert_settings, courses[c.course.id], Learner(p.username, p.name.full,
                                       p.organisation, c.code), verdict, seq=last, issued_at=issued_at,
                                       decision=decision, actor=ISSUER, key=key)  # fmt: skip
                s.add(cert)
                detail = {"decision": decision, "class": c.code, "percent": verdict.percent, "reissue": False}
                add_audit(s, "issue", cert, ISSUER, detail, issued_at)
                issued.append(cert)
        s.execute(SerialCounter.__table__.update().where(SerialCounter.year == plan.year).values(last_seq=last))
        end = plan.year_end - timedelta(hours=1)
        for cert in rng.sample(issued, min(len(issued), max(1, round(len(issued) * REVOKED_SHARE)))) if issued else []:
            at = min(end, cert.issued_at + timedelta(days=rng.randint(3, 40), hours=rng.randint(0, 8)))
            reason = rng.choice(REVOKE_REASONS)
            cert.revoked_at, cert.revoked_reason, cert.revoked_by = at, reason, ISSUER
            add_audit(s, "revoke", cert, ISSUER, {"reason": reason}, at)
            result.revoked += 1
        result.certificates = len(issued)
        record_action(s, actor, "demo.load_year", str(plan.year), None, {
            "seed": plan.seed, "scale": scale, "classes": result.classes, "enrolments": result.enrolments,
            "people": result.people, "certificates": result.certificates, "revoked": result.revoked,
        })  # fmt: skip
    return result, issued


def remove_year(settings: HubSettings, year: int, actor: str) -> RemoveResult:
    """Remove the demo's classes of `year` and everything made with them; nothing else."""
    check_year(year)
    directory = Directory(settings.db_url)
    try:
        directory.ensure_schema()
        with directory.session() as s:
            classes, _ = _year_classes(s, year)
            if not classes:
                return RemoveResult(False, year)
            people = _demo_people(s, classes)
            course_ids = set(s.scalars(select(SchoolClass.course_id).where(SchoolClass.name.in_(classes))))
        removed_students = 0
        for course_id in sorted(c for c in course_ids if c):  # gradebooks first: a crash leaves the year findable
            removed_students += gradebook.remove_students(settings.gradebook_url_for(course_id), people)
        with directory.session() as s:
            certificates = _remove_certificates(settings, s, year, classes, people)
            for start in range(0, len(classes), gradebook.CHUNK):
                chunk = classes[start : start + gradebook.CHUNK]
                s.execute(delete(ClassSession).where(ClassSession.class_name.in_(chunk)))
                s.execute(delete(Enrolment).where(Enrolment.class_name.in_(chunk)))
                s.execute(delete(SchoolClass).where(SchoolClass.name.in_(chunk)))
            names = sorted(people)
            for start in range(0, len(names), gradebook.CHUNK):
                chunk = names[start : start + gradebook.CHUNK]
                s.execute(delete(LoginFailure).where(LoginFailure.username.in_(chunk)))
                s.execute(delete(Person).where(Person.username.in_(chunk)))
            record_action(s, actor, "demo.remove_year", str(year), {"classes": len(classes), "people": len(people),
                                                                    "certificates": certificates}, None)  # fmt: skip
        return RemoveResult(True, year, len(classes), len(people), certificates, removed_students)
    finally:
        directory.dispose()


def _demo_people(s, classes: list[str]) -> set[str]:
    """People of these classes who are synthetic (demo e-mail, no login) and in no other class."""
    enrolled: set[str] = set()
    for start in range(0, len(classes), gradebook.CHUNK):
        chunk = classes[start : start + gradebook.CHUNK]
        enrolled |= set(s.scalars(select(Enrolment.username).where(Enrolment.class_name.in_(chunk))))
    wanted = set(classes)
    elsewhere = {u for u, c in s.execute(select(Enrolment.username, Enrolment.class_name)) if c not in wanted}
    logins = set(s.scalars(select(UserInfo.username)))
    synthetic = {u for u, email in s.execute(select(Person.username, Person.email))
                 if (email or "").endswith(f"@{DEMO_EMAIL_DOMAIN}")}  # fmt: skip
    return (enrolled & synthetic) - elsewhere - logins


def _remove_certificates(settings: HubSettings, s, year: int, classes: list[str], people: set[str]) -> int:
    """The demo's certificates (its classes' and people's), their registry audit rows and any files rendered
    for them since; the year's serial counter goes when no certificate of that year is left."""
    from graders.certificates.config import CertificateSettings
    from graders.certificates.models import AuditEntry, Certificate, SerialCounter
    from graders.certificates.outputs import paths

    wanted = set(classes)
    doomed = [(cid, serial, cyear) for cid, serial, cyear, cls, user in s.execute(select(
        Certificate.id, Certificate.serial, Certificate.year, Certificate.class_name, Certificate.username))
        if cls in wanted and user in people]  # fmt: skip
    for start in range(0, len(doomed), gradebook.CHUNK):
        chunk = doomed[start : start + gradebook.CHUNK]
        s.execute(delete(AuditEntry).where(AuditEntry.serial.in_([serial for _, serial, _ in chunk])))
        s.execute(delete(Certificate).where(Certificate.id.in_([cid for cid, _, _ in chunk])))
    for cyear in {cyear for _, _, cyear in doomed}:
        if not s.scalar(select(func.count(Certificate.id)).where(Certificate.year == cyear)):
            s.execute(delete(SerialCounter).where(SerialCounter.year == cyear))
    if doomed:
        cert_settings = CertificateSettings.from_hub(settings)
        for _, serial, cyear in doomed:
            for path in paths(cert_settings, serial, cyear):
                path.unlink(missing_ok=True)
    return len(doomed)
