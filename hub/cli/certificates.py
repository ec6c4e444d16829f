"""`truongso certificates`: check completion, issue, revoke, show and export completion certificates."""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path

from graders.text import UserError
from hub.cli.common import add_action, add_verb, existing_data_dir, load_settings


def register(verbs: argparse._SubParsersAction) -> None:
    sub = add_verb(verbs, "certificates", "giấy chứng nhận / completion certificates")

    p = add_action(sub, "check", "ai đã hoàn thành, ai chưa và vì sao / who completed, who not and why", run_check)
    p.add_argument("course", help="mã khoá học / course id")
    p.add_argument("--class", dest="class_name", help="chỉ một lớp / one class only")

    p = add_action(sub, "issue", "cấp giấy chứng nhận / issue certificates", run_issue)
    p.add_argument("course", help="mã khoá học / course id")
    p.add_argument("--class", dest="class_name", help="chỉ một lớp / one class only")
    p.add_argument("--decision", help='số quyết định, vd. "Số 706/QĐ-TBDCB" / decision number')
    p.add_argument("--dry-run", action="store_true", help="chỉ xem trước, không cấp / preview only")
    p.add_argument(
        "--reissue",
        action="append",
        default=[],
        metavar="USERNAME",
        help="cấp lại cho người đã bị thu hồi / issue again to a learner whose certificate was revoked",
    )

    p = add_action(sub, "revoke", "thu hồi / revoke a certificate", run_revoke)
    p.add_argument("serial", help="số hiệu, vd. TS-2026-000001 / serial")
    p.add_argument("--reason", required=True, help="lý do / reason")

    p = add_action(sub, "show", "xem một giấy chứng nhận / show one certificate", run_show)
    p.add_argument("serial", help="số hiệu hoặc địa chỉ kiểm tra / serial or verification URL")

    p = add_action(sub, "export", "xuất sổ cấp (CSV, XLSX) / export the registry", run_export)
    p.add_argument("--year", type=int, help="năm / year")
    p.add_argument("--course", help="mã khoá học / course id")
    p.add_argument("--output-dir", type=Path, default=Path("."), help="thư mục ghi / output folder (default .)")


def _context(args: argparse.Namespace):
    from graders.certificates.config import CertificateSettings, CertificateSettingsError

    hub = load_settings(existing_data_dir(args.data_dir))
    overrides = {}
    try:  # the address the hub really runs on (`truongso up --port …`), which truongso.toml may not say
        from hub.settings import HubSettings

        overrides["public_url"] = HubSettings.from_run_file(hub.data_path).public_url
    except Exception:  # never started, or an older run file: the configured address
        pass
    from hub.directory.learners import roster_for

    try:
        settings = CertificateSettings.from_hub(hub, overrides)
    except CertificateSettingsError as exc:
        raise UserError(f"cấu hình sai: {exc}", f"bad setting: {exc}") from None
    settings.roster = roster_for(settings.db_url)  # the hub hands its learners down
    return settings


def _store(settings, create: bool = True):
    from graders.certificates.store import StoreError, open_store

    try:
        return open_store(settings.db_url, create=create)
    except StoreError as exc:
        raise UserError(f"không dùng được cơ sở dữ liệu: {exc}", f"cannot use the database: {exc}") from None


def _serial(text: str) -> str:
    from graders.certificates.store import parse_serial

    serial = parse_serial(text)
    if serial is None:
        raise UserError(
            f"{text!r} không phải số hiệu giấy chứng nhận (dạng TS-2026-000001)",
            f"{text!r} is not a certificate serial (like TS-2026-000001)",
        )
    return serial


def actor() -> str:
    """Who is at the keyboard, for the audit log: the CLI runs with the data directory owner's rights."""
    try:
        return f"cli:{getpass.getuser()}"[:80]
    except (KeyError, OSError):
        return "cli"


def run_check(args: argparse.Namespace) -> int:
    from graders.certificates.issue import find_course, make_plan

    settings = _context(args)
    course = find_course(settings, args.course)
    plan = make_plan(settings, _store(settings, create=False), course, args.class_name)
    _print_plan(plan)
    return 0


def _print_plan(plan) -> None:
    from graders.certificates.rules import format_percent

    course = plan.course
    print(f"Khoá học / course: {course.id} — {course.title.vi}")
    if plan.note:
        print(f"  ! {plan.note}")
    print(
        f"Đủ điều kiện, chưa cấp / eligible: {len(plan.eligible)}   Đã cấp / certified: {len(plan.certified)}   "
        f"Chưa hoàn thành / not completed: {len(plan.incomplete)}   Bị thu hồi / revoked: {len(plan.revoked)}"
    )
    for learner, verdict in plan.eligible:
        print(f"  + {learner.username}\t{learner.full_name}\t{format_percent(verdict.percent)}%")
    for learner, serial in plan.certified:
        print(f"  = {learner.username}\t{learner.full_name}\t{serial}")
    for learner, serial in plan.revoked:
        print(
            f"  x {learner.username}\t{learner.full_name}\t{serial} (thu hồi / revoked: --reissue {learner.username})"
        )
    for learner, verdict in plan.incomplete:
        print(f"  - {learner.username}\t{learner.full_name}\t{verdict.reasons_text()}")


def run_issue(args: argparse.Namespace) -> int:
    from graders.certificates.issue import clean_decision, find_course, issue
    from hub.cli.progress import progress_bar

    settings = _context(args)
    find_course(settings, args.course)  # unknown course: one line before anything is opened or written
    if not args.dry_run:
        clean_decision(args.decision or settings.decision)
    store = _store(settings, create=not args.dry_run)
    with progress_bar("Cấp giấy chứng nhận / issuing certificates") as progress:
        result = issue(
            settings,
            store,
            args.course,
            decision=args.decision,
            actor=actor(),
            class_name=args.class_name,
            dry_run=args.dry_run,
            reissue=args.reissue,
            progress=progress,
        )
    _print_plan(result.plan)
    if args.dry_run:
        print(f"Xem trước, chưa cấp gì / dry run, nothing issued ({len(result.plan.eligible)} would be issued)")
        return 0
    for cert in result.issued:
        print(f"  cấp / issued {cert.serial}\t{cert.username}\t{cert.full_name}")
    if result.repaired:
        print(f"Đã tạo lại tệp của {result.repaired} giấy / rewrote files of {result.repaired} certificate(s)")
    print(f"Đã cấp / issued: {len(result.issued)}  →  {settings.output_dir}")
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    from graders.certificates.store import AlreadyRevoked, NotFound

    reason = " ".join(args.reason.split())
    if not reason or len(reason) > 500 or not reason.isprintable():
        raise UserError("cần lý do thu hồi (tối đa 500 ký tự)", "a reason is required (at most 500 characters)")
    serial = _serial(args.serial)
    settings = _context(args)
    store = _store(settings)
    try:
        cert = store.revoke(serial, reason, actor())
    except NotFound:
        raise UserError(f"không có giấy chứng nhận {serial}", f"no certificate {serial}") from None
    except AlreadyRevoked:
        raise UserError(f"{serial} đã bị thu hồi trước đó", f"{serial} was already revoked") from None
    print(f"Đã thu hồi / revoked {cert.serial} ({cert.full_name}): {reason}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    serial = _serial(args.serial)
    settings = _context(args)
    store = _store(settings)
    cert = store.get(serial)
    if cert is None:
        raise UserError(f"không có giấy chứng nhận {serial}", f"no certificate {serial}")
    status = "HỢP LỆ / VALID" if cert.revoked_at is None else f"ĐÃ THU HỒI / REVOKED: {cert.revoked_reason}"
    print(f"{cert.serial}\t{status}")
    print(f"  {cert.full_name} — {cert.organisation}")
    print(
        f"  {cert.course_id}: {cert.course_title_vi} ({cert.hours:g} giờ / hours), lớp / class {cert.class_name or '-'}"
    )
    print(f"  cấp ngày / issued on {cert.issued_on.isoformat()} — {cert.decision} — {cert.issued_by}")
    print(f"  {settings.verify_url(cert.serial, cert.verification_code)}")  # the full address, code included
    for entry in store.audit(serial):
        print(f"  {entry.at:%Y-%m-%d %H:%M}\t{entry.action}\t{entry.actor}\t{entry.detail}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from graders.certificates.export import write_exports
    from graders.certificates.issue import find_course

    if args.year is not None and not 2000 <= args.year <= 2100:
        raise UserError(f"năm {args.year} không hợp lệ (2000-2100)", f"invalid year {args.year} (2000-2100)")
    settings = _context(args)
    if args.course is not None:
        find_course(settings, args.course)
    store = _store(settings)
    certs = store.listing(year=args.year, course_id=args.course)
    stem = "so-cap-giay-chung-nhan-" + (str(args.year) if args.year else "tat-ca")
    if args.course:
        stem += f"-{args.course}"
    try:
        csv_path, xlsx_path = write_exports(certs, args.output_dir, stem)
    except OSError as exc:
        raise UserError(
            f"không ghi được {args.output_dir}: {exc.strerror}", f"cannot write {args.output_dir}: {exc.strerror}"
        ) from None
    print(f"{len(certs)} giấy chứng nhận / certificates → {csv_path}, {xlsx_path}")
    return 0
