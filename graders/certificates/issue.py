"""Issuing: who gets a certificate (plan), numbering and signing (registry), files (outputs).

Safe to repeat and safe to run twice at once. Each batch is one transaction that first takes the year's
serial counter row (a row lock in PostgreSQL, the write lock in SQLite), then re-reads who already holds a
certificate, then numbers the batch consecutively from the counter. A second process waits for the lock and
then sees the first one's certificates, so it neither duplicates a learner nor a number; the unique
constraints of the registry are the backstop, and a conflict only makes the batch retry.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from graders.certificates.codes import new_code
from graders.certificates.config import CertificateSettings
from graders.certificates.credential import ensure_signing_key, sign
from graders.certificates.documents import Award, credential_for
from graders.certificates.models import Certificate, SerialCounter, utcnow
from graders.certificates.outputs import missing_outputs, write_outputs
from graders.certificates.rules import Evaluation, evaluate, read_results
from graders.certificates.store import CertificateStore, add_audit
from graders.curriculum import Course, CourseError, load_courses
from graders.scores import GradebookMissing, GradebookUnreadable
from graders.text import Text, UserError

RETRIES = 8


@dataclass
class Learner:
    username: str
    full_name: str
    organisation: str
    class_name: str | None


@dataclass
class Plan:
    """Who would get a certificate now, who already has one, who has not completed and why."""

    course: Course
    eligible: list[tuple[Learner, Evaluation]] = field(default_factory=list)
    certified: list[tuple[Learner, str]] = field(default_factory=list)  # (learner, serial)
    revoked: list[tuple[Learner, str]] = field(default_factory=list)  # only revoked ones: needs --reissue
    incomplete: list[tuple[Learner, Evaluation]] = field(default_factory=list)
    note: Text | None = None


@dataclass
class IssueResult:
    plan: Plan
    issued: list[Certificate] = field(default_factory=list)
    repaired: int = 0  # certificates whose files were missing and were written again


def find_course(settings: CertificateSettings, course_id: str) -> Course:
    try:
        courses = {c.id: c for c in load_courses(settings.courses_root)}
    except CourseError as exc:
        raise UserError(f"không đọc được chương trình học: {exc}", f"cannot read the curriculum: {exc}") from None
    if course_id not in courses:
        known = ", ".join(sorted(courses)) or "-"
        raise UserError(f"không có khoá học {course_id!r} (có: {known})", f"no course {course_id!r} (known: {known})")
    return courses[course_id]


def clean_decision(text: str | None) -> str:
    decision = " ".join((text or "").split())
    if not decision:
        raise UserError(
            'cần số quyết định cấp chứng nhận (--decision "Số 706/QĐ-TBDCB" hoặc decision trong certificates.toml)',
            'the decision number is required (--decision "Số 706/QĐ-TBDCB" or decision in certificates.toml)',
        )
    if len(decision) > 120 or not decision.isprintable():
        raise UserError("số quyết định quá dài hoặc có ký tự lạ", "decision number too long or not printable")
    return decision


def make_plan(
    settings: CertificateSettings,
    store: CertificateStore | None,
    course: Course,
    class_name: str | None = None,
    reissue: Sequence[str] = (),
    learners: list[Learner] | None = None,
) -> Plan:
    if learners is None:
        if settings.roster is None:
            raise TypeError("make_plan needs the learners or a roster (set by the hub: hub.directory.learners)")
        learners = settings.roster(course.id, class_name)
    plan = Plan(course)
    try:  # only the learners being decided on, not everybody the gradebook has
        results = read_results(course, settings.gradebook_url_for(course.id), [lr.username for lr in learners])
    except GradebookMissing as exc:
        results = {}
        plan.note = Text(f"khoá học chưa có sổ điểm ({exc})", f"the course has no gradebook yet ({exc})")
    except GradebookUnreadable as exc:  # never "nobody completed": a verdict needs the scores
        raise UserError(f"không đọc được sổ điểm: {exc}", f"cannot read the gradebook: {exc}") from None
    holders = store.holders(course.id) if store is not None and store.has_schema() else {}
    verdicts = {e.username: e for e in evaluate(course, results, [lr.username for lr in learners], settings.timezone)}
    for learner in learners:
        held = holders.get(learner.username, [])
        active = [c for c in held if c.revoked_at is None]
        verdict = verdicts[learner.username]
        if active:
            plan.certified.append((learner, active[0].serial))
        elif not verdict.completed:
            plan.incomplete.append((learner, verdict))
        elif held and learner.username not in reissue:
            plan.revoked.append((learner, held[-1].serial))
        else:
            plan.eligible.append((learner, verdict))
    return plan


def issue(
    settings: CertificateSettings,
    store: CertificateStore,
    course_id: str,
    *,
    decision: str | None,
    actor: str,
    class_name: str | None = None,
    dry_run: bool = False,
    reissue: Sequence[str] = (),
    learners: list[Learner] | None = None,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> IssueResult:
    """Issue one certificate to every eligible learner of the course (or class) who has none.

    `progress(done, total)`, if given, is called with (0, eligible) before the first batch and after each
    batch is committed and its files are written (the CLI draws a bar with it); never on a dry run.
    """
    course = find_course(settings, course_id)
    decision = clean_decision(decision or settings.decision) if not dry_run else (decision or settings.decision)
    plan = make_plan(settings, store, course, class_name, reissue, learners)
    result = IssueResult(plan)
    if dry_run:
        return result
    key = ensure_signing_key(Path(settings.key_file))
    pending = list(plan.eligible)
    if progress is not None:
        progress(0, len(pending))
    for start in range(0, len(pending), settings.batch_size):
        batch = pending[start : start + settings.batch_size]
        created = _with_retries(
            lambda b=batch: _issue_batch(settings, store, course, b, decision, actor, key, reissue, now)
        )
        write_outputs(settings, created)
        result.issued.extend(created)
        if progress is not None:  # learners dealt with, issued or found issued meanwhile by another run
            progress(start + len(batch), len(pending))
    # repair files a previous run may have lost between its commit and its rendering
    everyone = [c for certs in store.holders(course.id).values() for c in certs]
    result.repaired = write_outputs(settings, missing_outputs(settings, everyone))
    return result


def _with_retries(work):
    delay = 0.05
    for attempt in range(RETRIES):
        try:
            return work()
        except (IntegrityError, OperationalError):
            if attempt == RETRIES - 1:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable")


def lock_counter(session: Session, year: int) -> int:
    """Take the year's counter (creating it at 0), held until the transaction ends; returns its value."""
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        module = __import__(f"sqlalchemy.dialects.{dialect}", fromlist=["insert"])
        session.execute(module.insert(SerialCounter).values(year=year, last_seq=0).on_conflict_do_nothing())
    elif session.get(SerialCounter, year) is None:
        session.add(SerialCounter(year=year, last_seq=0))
        session.flush()
    return session.scalar(select(SerialCounter.last_seq).where(SerialCounter.year == year).with_for_update())


def serial_for(prefix: str, year: int, seq: int) -> str:
    return f"{prefix}-{year}-{seq:06d}"


def new_certificate(
    settings: CertificateSettings,
    course: Course,
    learner: Learner,
    verdict: Evaluation,
    *,
    seq: int,
    issued_at: datetime,
    decision: str,
    actor: str,
    key,
) -> Certificate:
    """The registry row of one learner's certificate, number `seq` of the year of `issued_at` (school time),
    its credential signed with `key` and a new verification code (signed into the credential, its id and QR,
    and kept in the registry); not yet added to any session."""
    import json

    local = issued_at.astimezone(ZoneInfo(settings.timezone))
    year, issued_on = local.year, local.date()
    serial = serial_for(settings.serial_prefix, year, seq)
    code = new_code()
    award = Award(learner.username, learner.full_name, learner.organisation, learner.class_name, verdict.completed_on)
    document = credential_for(
        settings,
        course,
        award,
        serial=serial,
        seq=seq,
        year=year,
        issued_at=issued_at,
        issued_on=issued_on,
        decision=decision,
        code=code,
    )
    return Certificate(
        serial=serial,
        year=year,
        seq=seq,
        username=learner.username,
        course_id=course.id,
        class_name=learner.class_name,
        full_name=learner.full_name,
        organisation=learner.organisation,
        course_title_vi=course.title.vi,
        course_title_en=course.title.get("en"),
        hours=course.hours,
        completed_on=verdict.completed_on,
        issued_at=issued_at,
        issued_on=issued_on,
        decision=decision,
        issued_by=actor,
        credential=json.dumps(sign(document, key, issued_at), ensure_ascii=False, indent=2),
        verification_code=code,
    )


def _issue_batch(
    settings: CertificateSettings,
    store: CertificateStore,
    course: Course,
    batch: list[tuple[Learner, Evaluation]],
    decision: str,
    actor: str,
    key,
    reissue: Sequence[str],
    now: datetime | None,
) -> list[Certificate]:
    issued_at = now or utcnow()
    year = issued_at.astimezone(ZoneInfo(settings.timezone)).year  # the serials' year: the school's
    certificate = partial(new_certificate, settings, course, decision=decision, actor=actor, key=key)
    created: list[Certificate] = []
    with store.session() as s:
        last = lock_counter(s, year)
        names = [learner.username for learner, _ in batch]
        held: dict[str, list[bool]] = {}
        for username, revoked_at in s.execute(
            select(Certificate.username, Certificate.revoked_at).where(
                Certificate.course_id == course.id, Certificate.username.in_(names)
            )
        ):
            held.setdefault(username, []).append(revoked_at is None)
        for learner, verdict in batch:
            states = held.get(learner.username, [])
            if any(states) or (states and learner.username not in reissue):
                continue  # issued meanwhile by another run, or revoked and not asked to reissue
            last += 1
            cert = certificate(learner, verdict, seq=last, issued_at=issued_at)
            s.add(cert)
            add_audit(
                s,
                "issue",
                cert,
                actor,
                {
                    "decision": decision,
                    "class": learner.class_name,
                    "percent": verdict.percent,
                    "reissue": bool(states),
                },
                issued_at,
            )
            created.append(cert)
        if created:
            s.execute(SerialCounter.__table__.update().where(SerialCounter.year == year).values(last_seq=last))
    return created
