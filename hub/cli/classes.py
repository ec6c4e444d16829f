"""`truongso classes`: create and list classes (a class is a JupyterHub group of the same name), and their
sessions (`truongso classes sessions add|list|import|remove`, times in the school's wall time)."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from pathlib import Path

from graders.text import UserError
from graders.timeutil import school_zone, utcnow
from hub.cli.common import add_action, add_verb, existing_data_dir, load_settings, open_directory, print_row_errors
from hub.directory.audit import cli_actor
from hub.directory.classes import ClassFields, check_code, checked_values, create_class
from hub.directory.models import Enrolment, Funding, SchoolClass
from hub.roster.validate import normalize_class_code
from hub.settings import HubSettings
from hub.timetable.display import SessionLine, session_line
from hub.timetable.importer import TimetableReport, add_session, import_timetable, remove_session
from hub.timetable.queries import sessions_between
from hub.timetable.validate import parse_date, parse_time


def register(verbs: argparse._SubParsersAction) -> None:
    sub = add_verb(verbs, "classes", "lớp học / classes")

    p = add_action(sub, "add", "tạo lớp / create a class", run_add)
    p.add_argument("name", help="mã lớp, vd. PTDL-K01-2026 / class code")
    p.add_argument("--title", default="", help="tên lớp / class title")
    p.add_argument("--course", help="mã khoá học, vd. phan-tich-du-lieu / course id")
    p.add_argument("--year", type=int, help="năm / year")
    p.add_argument("--funding", choices=[f.value for f in Funding], help="nguồn kinh phí / funding source")
    p.add_argument("--funding-name", default="", help="tên nguồn kinh phí / who pays, by name")
    p.add_argument("--unit", default="", help="đơn vị tổ chức / organising unit")
    p.add_argument("--province", default="", help="tỉnh/thành phố / province")

    add_action(sub, "list", "liệt kê lớp / list classes", run_list)

    sessions = add_verb(sub, "sessions", "buổi học, thời khoá biểu / class sessions (timetable)")
    p = add_action(sessions, "add", "thêm một buổi học / add a session", run_session_add)
    p.add_argument("class_name", metavar="CLASS", help="mã lớp / class code")
    p.add_argument("--date", required=True, help="ngày, dd/mm/yyyy hoặc yyyy-mm-dd / date")
    p.add_argument("--start", required=True, help="giờ bắt đầu HH:MM, giờ của trường / start, school time")
    p.add_argument("--end", required=True, help="giờ kết thúc HH:MM / end")
    p.add_argument("--room", help="phòng học / room")

    p = add_action(sessions, "list", "liệt kê buổi học / list sessions", run_session_list)
    p.add_argument("--class", dest="class_name", help="chỉ lớp này / only this class")
    p.add_argument("--from", dest="date_from", metavar="DATE", help="từ ngày / from this date")
    p.add_argument("--to", dest="date_to", metavar="DATE", help="đến hết ngày / up to this date (included)")

    p = add_action(
        sessions, "import", "nhập thời khoá biểu từ CSV/XLSX / import a timetable from CSV or XLSX", run_session_import
    )
    p.add_argument("file", type=Path, help="tệp .csv hoặc .xlsx / a .csv or .xlsx file")
    p.add_argument("--class", dest="class_name", help="mã lớp cho mọi dòng / class for every row")
    p.add_argument("--dry-run", action="store_true", help="chỉ kiểm tra, không ghi / check only, write nothing")
    p.add_argument("--encoding", help="bảng mã của tệp CSV (mặc định: tự nhận) / CSV encoding (default: detect)")

    p = add_action(sessions, "remove", "xoá một buổi học / remove a session", run_session_remove)
    p.add_argument("class_name", metavar="CLASS", help="mã lớp / class code")
    p.add_argument("--date", required=True, help="ngày / date")
    p.add_argument("--start", required=True, help="giờ bắt đầu HH:MM / start")


def run_add(args: argparse.Namespace) -> int:
    """Create a class by the console's rules (hub.directory.classes), audited as the CLI's; an existing code is
    left unchanged."""
    fields = ClassFields(args.name, args.title, args.course, args.year, args.funding, args.funding_name, args.unit,
                         args.province)  # fmt: skip
    name = check_code(args.name)
    settings = load_settings(existing_data_dir(args.data_dir))
    known = {c.id for c in settings.load_courses()}  # under the hub's courses_root
    checked_values(fields, known)  # every field checked before the database is opened
    directory = open_directory(settings)
    with directory.session() as session:
        if session.get(SchoolClass, name) is not None:
            print(f"Lớp {name} đã có, không đổi / class {name} exists, unchanged")
            return 0
        create_class(session, cli_actor(), fields, known)
    print(f"Đã tạo lớp / created class {name}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    settings = load_settings(existing_data_dir(args.data_dir))
    directory = open_directory(settings)
    with directory.session() as session:
        for cls in session.query(SchoolClass).order_by(SchoolClass.name):
            count = session.query(Enrolment).filter(Enrolment.class_name == cls.name).count()
            funding = cls.funding.value if cls.funding else "-"
            print(f"{cls.name}\t{cls.title}\t{cls.course_id or '-'}\t{cls.year or '-'}\t{funding}\t{count}")
    return 0


def run_session_add(args: argparse.Namespace) -> int:
    settings = load_settings(existing_data_dir(args.data_dir))
    zone = settings.timezone
    report = add_session(open_directory(settings), args.class_name, args.date, args.start, args.end, zone, args.room)
    if report.errors:
        raise UserError("; ".join(e.reason.vi for e in report.errors), "; ".join(e.reason.en for e in report.errors))
    done = (
        "Đã thêm / added"
        if report.created
        else ("Đã cập nhật / updated" if report.updated else "Đã có, không đổi / exists, unchanged")
    )
    day, start, end = parse_date(args.date), parse_time(args.start), parse_time(args.end)  # valid: checked
    print(f"{done}: {normalize_class_code(args.class_name)} {day:%d/%m/%Y} {start:%H:%M}–{end:%H:%M} ({zone})")
    print_capacity(settings)
    return 0


def run_session_list(args: argparse.Namespace) -> int:
    settings = load_settings(existing_data_dir(args.data_dir))
    zone = settings.timezone
    start, end = _day_start(args.date_from, zone), _day_start(args.date_to, zone, next_day=True)
    directory = open_directory(settings)
    with directory.session() as session:
        class_names = None
        if args.class_name:
            class_names = [normalize_class_code(args.class_name)]
            if session.get(SchoolClass, class_names[0]) is None:
                raise UserError(f"không có lớp {class_names[0]}", f"no class {class_names[0]}")
        lines = [session_line(x, zone) for x in sessions_between(session, start, end, class_names)]
    print("Lớp/class\tNgày/date\tThứ/weekday\tBắt đầu/start\tKết thúc/end\tPhòng/room")
    for line in lines:
        print(_line(line))
    print(f"{len(lines)} buổi học, giờ {zone} / {len(lines)} session(s), {zone} time")
    return 0


def _line(line: SessionLine) -> str:
    return f"{line.class_name}\t{line.date}\t{line.weekday.vi}\t{line.start}\t{line.end}\t{line.room}"


def _day_start(text: str | None, zone: str, next_day: bool = False) -> datetime | None:
    """The first moment of the school's day `text` (or of the day after it); None when not given."""
    if text is None:
        return None
    day = parse_date(text)
    if day is None:
        raise UserError(f"ngày không hợp lệ: {text!r} (dd/mm/yyyy)", f"invalid date {text!r} (dd/mm/yyyy)")
    if next_day:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=school_zone(zone))


def run_session_import(args: argparse.Namespace) -> int:
    settings = load_settings(existing_data_dir(args.data_dir))
    report = import_timetable(open_directory(settings), args.file, settings.timezone, default_class=args.class_name,
                              dry_run=args.dry_run, encoding=args.encoding)  # fmt: skip
    print_sessions_report(report)
    if report.ok:
        print_capacity(settings)
    return 0 if report.ok else 1


def print_sessions_report(report: TimetableReport) -> None:
    if report.errors:
        print_row_errors(report.errors)
        return
    mode = "Kiểm tra (không ghi) / dry run (nothing written)" if report.dry_run else "Đã nhập / imported"
    print(
        f"{mode}: {report.rows} buổi/sessions ({report.encoding}) — mới/new {report.created}, "
        f"cập nhật/updated {report.updated}, không đổi/unchanged {report.unchanged}"
    )


def run_session_remove(args: argparse.Namespace) -> int:
    settings = load_settings(existing_data_dir(args.data_dir))
    line = remove_session(open_directory(settings), args.class_name, args.date, args.start, settings.timezone)
    print(f"Đã xoá / removed: {_line(line)}")
    return 0


CAPACITY_HORIZON = timedelta(days=366)  # sessions whose capacity is checked when the timetable changes


def print_capacity(settings: HubSettings) -> None:
    """The class-day service's capacity check for every coming session, now that the timetable changed: the
    admin learns at planning time, not on the morning, that a day's classes will not fit the host."""
    from hub.services.classday.service import measure, read_timetable, session_capacity

    due = read_timetable(open_directory(settings), utcnow(), CAPACITY_HORIZON, timedelta(0))
    if not due:
        return
    running, total = measure(settings, docker_engine(settings))
    warnings = [w for s in due if (w := session_capacity(settings, s, due, running, total)[1]) is not None]
    if not warnings:
        print(f"Bộ nhớ đủ cho {len(due)} buổi học sắp tới / memory fits the {len(due)} coming session(s)")
        return
    print(f"{warnings[0].vi}\n{warnings[0].en}")
    if len(warnings) > 1:
        print(f"… và {len(warnings) - 1} buổi học khác / … and {len(warnings) - 1} more session(s)")


def docker_engine(settings: HubSettings) -> object | None:
    """The engine workspaces run on, to measure them; None (the host's own memory) without one."""
    if settings.spawner == "local":
        return None
    try:
        import docker

        client = docker.from_env(timeout=10)
        client.ping()
        return client
    except Exception:  # no engine here: the check uses this machine's memory and the setting's idle figure
        return None
