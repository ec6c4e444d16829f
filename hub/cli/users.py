"""`truongso users`: bulk import from spreadsheets, list, reset a password."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from graders.text import UserError
from hub.cli.common import add_action, add_verb, existing_data_dir, load_settings, open_directory, print_row_errors
from hub.directory import accounts
from hub.directory.audit import cli_actor, record_action
from hub.directory.models import Enrolment, Person
from hub.roster.importer import ImportReport, import_roster


def register(verbs: argparse._SubParsersAction) -> None:
    sub = add_verb(verbs, "users", "tài khoản / accounts")

    p = add_action(sub, "import", "nhập danh sách học viên từ CSV/XLSX / enrol from a CSV or XLSX file", run_import)
    p.add_argument("file", type=Path, help="tệp .csv hoặc .xlsx / a .csv or .xlsx file")
    p.add_argument("--class", dest="class_name", help="mã lớp cho mọi dòng / class for every row")
    p.add_argument("--dry-run", action="store_true", help="chỉ kiểm tra, không ghi / check only, write nothing")
    p.add_argument("--encoding", help="bảng mã của tệp CSV (mặc định: tự nhận) / CSV encoding (default: detect)")

    p = add_action(sub, "list", "liệt kê tài khoản / list accounts", run_list)
    p.add_argument("--class", dest="class_name", help="chỉ lớp này / only this class")

    p = add_action(sub, "reset-password", "đặt lại mật khẩu / reset a password", run_reset)
    p.add_argument("username")


def run_import(args: argparse.Namespace) -> int:
    from hub.cli.progress import progress_bar  # rich only for the verbs that draw

    settings = load_settings(existing_data_dir(args.data_dir))
    directory = open_directory(settings)
    started = time.monotonic()
    with progress_bar("Nhập học viên / importing learners") as progress:
        report = import_roster(
            directory,
            args.file,
            passwords_dir=settings.data_path / "passwords",
            default_class=args.class_name,
            dry_run=args.dry_run,
            encoding=args.encoding,
            progress=progress,
        )
    print_report(report, time.monotonic() - started)
    if report.ok and not report.dry_run:
        with directory.session() as session:
            after = {"file": args.file.name, "rows": report.rows, "created": report.created,
                     "updated": report.updated, "enrolled": report.enrolled}  # fmt: skip
            record_action(session, cli_actor(), "roster.import", args.file.name, None, after)
    return 0 if report.ok else 1


def print_report(report: ImportReport, seconds: float) -> None:
    if report.errors:
        print_row_errors(report.errors)
        return
    mode = "Kiểm tra (không ghi) / dry run (nothing written)" if report.dry_run else "Đã nhập / imported"
    print(
        f"{mode}: {report.rows} dòng/rows ({report.encoding}) trong/in {seconds:.1f} s — "
        f"mới/new {report.created}, cập nhật/updated {report.updated}, "
        f"không đổi/unchanged {report.unchanged}, ghi danh/enrolments {report.enrolled}"
    )
    if report.passwords_file:
        print(
            f"Mật khẩu ban đầu (chỉ quản trị viên đọc được) / initial passwords (admin-only): {report.passwords_file}"
        )


def run_list(args: argparse.Namespace) -> int:
    settings = load_settings(existing_data_dir(args.data_dir))
    directory = open_directory(settings)
    with directory.session() as session:
        query = session.query(Person).order_by(Person.username)
        if args.class_name:
            query = query.join(Enrolment).filter(Enrolment.class_name == args.class_name.upper())
        for person in query:
            classes = ",".join(sorted(e.class_name for e in person.enrolments))
            print(f"{person.username}\t{person.full_name}\t{person.organisation}\t{classes}")
    return 0


def run_reset(args: argparse.Namespace) -> int:
    settings = load_settings(existing_data_dir(args.data_dir))
    directory = open_directory(settings)
    username = accounts.normalize_username(args.username)
    try:
        with directory.session() as session:
            password = accounts.reset_password(session, username)
            record_action(session, cli_actor(), "person.reset_password", username)  # never the password itself
    except LookupError:
        raise UserError(f"không có tài khoản {username!r}", f"no account named {username!r}") from None
    print(f"{username}  {password}  (phải đổi khi đăng nhập / must be changed at next login)")
    return 0
