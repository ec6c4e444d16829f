"""The registry (sổ cấp giấy chứng nhận) as CSV (UTF-8 with BOM, so Excel shows diacritics) and XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from graders.certificates.codes import format_code
from graders.certificates.models import Certificate
from graders.spreadsheet import neutralise

COLUMNS = (
    ("Số hiệu / Serial", lambda c: c.serial),
    ("Năm / Year", lambda c: c.year),
    ("Số thứ tự / No.", lambda c: c.seq),
    ("Họ và tên / Full name", lambda c: c.full_name),
    ("Đơn vị / Organisation", lambda c: c.organisation),
    ("Tên đăng nhập / Username", lambda c: c.username),
    ("Mã khoá học / Course", lambda c: c.course_id),
    ("Tên khoá học / Course title", lambda c: c.course_title_vi),
    ("Số giờ / Hours", lambda c: f"{c.hours:g}"),
    ("Lớp / Class", lambda c: c.class_name or ""),
    ("Ngày hoàn thành / Completed on", lambda c: c.completed_on.isoformat() if c.completed_on else ""),
    ("Ngày cấp / Issued on", lambda c: c.issued_on.isoformat()),
    ("Quyết định / Decision", lambda c: c.decision),
    ("Trạng thái / Status", lambda c: "Đã thu hồi / revoked" if c.revoked_at else "Hợp lệ / valid"),
    ("Ngày thu hồi / Revoked on", lambda c: _stamp(c.revoked_at)),
    ("Lý do thu hồi / Reason", lambda c: c.revoked_reason or ""),
    # for telling holders of certificates issued before codes existed the full address of theirs
    ("Mã xác thực / Verification code", lambda c: format_code(c.verification_code) if c.verification_code else ""),
)


def _stamp(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def rows(certs: Sequence[Certificate]) -> list[list[object]]:
    return [[neutralise(get(c)) for _, get in COLUMNS] for c in certs]


def to_csv(certs: Sequence[Certificate]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([title for title, _ in COLUMNS])
    writer.writerows(rows(certs))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(certs: Sequence[Certificate], title: str = "Sổ cấp GCN") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook(write_only=False)
    sheet = book.active
    sheet.title = title[:31]
    sheet.append([t for t, _ in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows(certs):
        sheet.append([str(v) if isinstance(v, str) else v for v in row])
    for column, (header, _) in zip(sheet.columns, COLUMNS, strict=True):
        width = max([len(header)] + [len(str(c.value or "")) for c in column[1:200]])
        sheet.column_dimensions[column[0].column_letter].width = min(60, width + 2)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_exports(certs: Sequence[Certificate], folder: Path, stem: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, xlsx_path = folder / f"{stem}.csv", folder / f"{stem}.xlsx"
    csv_path.write_bytes(to_csv(certs))
    xlsx_path.write_bytes(to_xlsx(certs))
    return csv_path, xlsx_path
