"""`truongso demo`: load a synthetic school year into the hub's databases, or remove it."""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterator
from contextlib import contextmanager

from graders.text import UserError
from hub.cli.common import add_action, add_verb, existing_data_dir, load_settings


def register(verbs: argparse._SubParsersAction) -> None:
    sub = add_verb(verbs, "demo", "dữ liệu mẫu / synthetic demo data")

    p = add_action(sub, "year", "nạp một năm học mẫu / load a synthetic school year", run_year)
    p.add_argument("--year", type=int, default=2023, help="năm (đã qua) / a past year (default 2023)")
    p.add_argument("--seed", type=int, default=1, help="hạt giống ngẫu nhiên / random seed (default 1)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="cỡ / size: 1.0 = 142 lớp, 8.686 lượt học viên / 142 classes, 8,686 enrolments")  # fmt: skip
    p.add_argument("--render-pdf", action="store_true",
                   help="tạo luôn tệp PDF của giấy chứng nhận (vài phút) / write the certificates' PDF files now "
                   "(minutes); otherwise each is rendered when first opened")  # fmt: skip

    p = add_action(sub, "remove-year", "xoá năm học mẫu / remove a synthetic year", run_remove_year)
    p.add_argument("--year", type=int, required=True, help="năm / year")


def _settings(args: argparse.Namespace):
    return load_settings(existing_data_dir(args.data_dir))


@contextmanager
def _databases() -> Iterator[None]:
    """A database that cannot be used (locked, full, unreachable, damaged) ends the verb with one line; each
    write is one transaction, so what was not committed was not written."""
    from sqlalchemy.exc import SQLAlchemyError

    from graders.certificates.store import StoreError
    from graders.scores import GradebookMissing, GradebookUnreadable
    from hub.directory.db import DirectoryError

    try:
        yield
    except SQLAlchemyError as exc:
        why = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
        raise UserError(f"lỗi cơ sở dữ liệu: {why}", f"database error: {why}") from None
    except (StoreError, DirectoryError, GradebookMissing, GradebookUnreadable) as exc:
        raise UserError(f"không dùng được cơ sở dữ liệu: {exc}", f"cannot use the database: {exc}") from None


def run_year(args: argparse.Namespace) -> int:
    from hub.cli.certificates import actor
    from hub.demoyear.load import check_scale, check_year, load_year

    check_year(args.year)  # bad arguments: one line before anything is opened
    check_scale(args.scale)
    if not -(2**63) <= args.seed < 2**63:
        raise UserError("--seed quá lớn", "--seed out of range")
    with _databases():
        result = load_year(_settings(args), args.year, args.seed, args.scale, actor(), args.render_pdf)
    if not result.loaded:
        print(f"Năm mẫu {args.year} đã có ({result.classes} lớp); không làm gì. Muốn nạp lại: "
              f"truongso demo remove-year --year {args.year} trước.")  # fmt: skip
        print(f"Demo year {args.year} is already loaded ({result.classes} classes); nothing done. "
              f"To load it again, run truongso demo remove-year --year {args.year} first.")  # fmt: skip
        return 0
    share = 100 * result.non_budget_enrolments / result.enrolments if result.enrolments else math.nan
    print(f"Đã nạp năm mẫu / loaded demo year {result.year} (seed {args.seed}, scale {args.scale:g}):")
    print(f"  lớp / classes: {result.classes}  (ngoài ngân sách / non-budget: {result.non_budget_classes})")
    print(f"  lượt học viên / enrolments: {result.enrolments}  (ngoài ngân sách / non-budget: {share:.1f}%)")
    print(f"  người / people: {result.people}  (giảng viên / instructors: {result.instructors})")
    print(f"  buổi học / sessions: {result.sessions}")
    print(f"  hoàn thành (lớp đã kết thúc) / completed (closed classes): {result.completed}")
    print(f"  giấy chứng nhận / certificates: {result.certificates}  (thu hồi / revoked: {result.revoked})")
    rows = ", ".join(f"{course}: {n}" for course, n in sorted(result.gradebook_rows.items()))
    print(f"  dòng sổ điểm / gradebook rows: {rows}")
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in result.seconds.items())
    print(f"  thời gian / time: {timing}")
    return 0


def run_remove_year(args: argparse.Namespace) -> int:
    from hub.cli.certificates import actor
    from hub.demoyear.load import check_year, remove_year

    check_year(args.year)
    with _databases():
        result = remove_year(_settings(args), args.year, actor())
    if not result.removed:
        print(f"Không có năm mẫu {args.year}; không làm gì. / No demo year {args.year}; nothing done.")
        return 0
    print(
        f"Đã xoá năm mẫu / removed demo year {args.year}: {result.classes} lớp / classes, {result.people} người / "
        f"people, {result.certificates} giấy chứng nhận / certificates, {result.gradebook_students} dòng học viên "
        "trong sổ điểm / gradebook student rows"
    )
    return 0
