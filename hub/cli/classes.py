"""`truongso classes`: create and list classes (a class is a JupyterHub group of the same name)."""

from __future__ import annotations

import argparse

from graders.text import UserError
from hub.cli.common import add_action, add_verb, existing_data_dir, load_settings, open_directory
from hub.directory.models import Enrolment, Funding, SchoolClass
from hub.roster.validate import CLASS_CODE_RE, normalize_class_code


def register(verbs: argparse._SubParsersAction) -> None:
    sub = add_verb(verbs, "classes", "lớp học / classes")

    p = add_action(sub, "add", "tạo lớp / create a class", run_add)
    p.add_argument("name", help="mã lớp, vd. PTDL-K01-2026 / class code")
    p.add_argument("--title", default="", help="tên lớp / class title")
    p.add_argument("--course", help="mã khoá học, vd. phan-tich-du-lieu / course id")
    p.add_argument("--year", type=int, help="năm / year")
    p.add_argument("--funding", choices=[f.value for f in Funding], help="nguồn kinh phí / funding source")

    add_action(sub, "list", "liệt kê lớp / list classes", run_list)


def run_add(args: argparse.Namespace) -> int:
    name = normalize_class_code(args.name)
    if not CLASS_CODE_RE.match(name):
        raise UserError(
            f"mã lớp {args.name!r} không hợp lệ: chữ cái không dấu, số, . _ - (tối đa 63)",
            f"invalid class code {args.name!r}: ASCII letters, digits, . _ - (at most 63)",
        )
    if args.year is not None and not 2000 <= args.year <= 2100:
        raise UserError(f"năm {args.year} không hợp lệ", f"invalid year {args.year}")
    settings = load_settings(existing_data_dir(args.data_dir))
    course_id = args.course
    if course_id is not None:
        known = {c.id for c in settings.load_courses()}  # under the hub's courses_root
        if course_id not in known:
            raise UserError(
                f"không có khoá học {course_id!r} (có: {', '.join(sorted(known))})",
                f"no course {course_id!r} (known: {', '.join(sorted(known))})",
            )
    directory = open_directory(settings)
    with directory.session() as session:
        existing = session.get(SchoolClass, name)
        if existing is not None:
            print(f"Lớp {name} đã có, không đổi / class {name} exists, unchanged")
            return 0
        session.add(
            SchoolClass(
                name=name,
                title=args.title,
                course_id=course_id,
                year=args.year,
                funding=Funding(args.funding) if args.funding else None,
            )
        )
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
