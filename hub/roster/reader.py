"""Read a roster file (CSV or XLSX) into numbered rows of text, whatever its encoding.

CSV files from Vietnamese offices come as UTF-8, UTF-8 with a BOM (Excel's "CSV UTF-8") or
Windows-1258 (older Excel), separated by commas or semicolons (Excel with a Vietnamese locale).
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from graders.text import UserError
from hub.roster.xlsx_limits import refuse_oversized_sheet, refuse_zip_bomb

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000


@dataclass
class Sheet:
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # (row number as a spreadsheet shows it, cells)
    encoding: str


def clean_text(value: object) -> str:
    """NFC (Windows-1258 decodes to combining marks), trimmed, inner whitespace collapsed."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    return " ".join(text.split())


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise UserError(
                f"không đọc được tệp với bảng mã {encoding} ({exc})",
                f"cannot read the file as {encoding} ({exc})",
            ) from None
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise UserError(
                f"tệp đánh dấu UTF-8 (BOM) nhưng có byte sai ở vị trí {exc.start}",
                f"the file is marked UTF-8 (BOM) but has an invalid byte at offset {exc.start}",
            ) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1258"), "cp1258"
    except UnicodeDecodeError:
        raise UserError(
            "tệp không phải UTF-8 hay Windows-1258; hãy lưu lại dưới dạng CSV UTF-8",
            "the file is neither UTF-8 nor Windows-1258; save it again as CSV UTF-8",
        ) from None


def read_csv(data: bytes, encoding: str | None = None) -> Sheet:
    text, used = decode(data, encoding)
    if "\x00" in text:
        raise UserError("tệp chứa ký tự NUL: không phải tệp CSV", "the file contains NUL bytes: not a CSV file")
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    headers: list[str] | None = None
    try:
        line_start = 1
        for cells in reader:
            if headers is None:
                headers = [clean_text(c) for c in cells]
            else:
                rows.append((line_start, [clean_text(c) for c in cells]))
                if len(rows) > MAX_ROWS:
                    raise _too_many()
            line_start = reader.line_num + 1
    except csv.Error as exc:
        raise UserError(
            f"tệp CSV hỏng ở dòng {reader.line_num}: {exc}", f"broken CSV at line {reader.line_num}: {exc}"
        ) from None
    if headers is None:
        raise _empty()
    return Sheet(headers, rows, used)


def read_xlsx(data: bytes) -> Sheet:
    import openpyxl  # slow to import; only when needed

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            refuse_zip_bomb(archive)
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UserError(
            f"tệp XLSX hỏng hoặc không phải XLSX ({exc.__class__.__name__})",
            f"the XLSX file is damaged or not an XLSX file ({exc.__class__.__name__})",
        ) from None
    try:
        sheet = book.worksheets[0]
        refuse_oversized_sheet(sheet, MAX_ROWS)
        headers: list[str] | None = None
        rows: list[tuple[int, list[str]]] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_xlsx_cell(v) for v in values]
            if headers is None:
                headers = cells
            else:
                rows.append((number, cells))
                if len(rows) > MAX_ROWS:
                    raise _too_many()
    finally:
        book.close()
    if headers is None:
        raise _empty()
    while headers and not headers[-1]:
        headers.pop()
    return Sheet(headers, rows, "xlsx")


def _xlsx_cell(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel stores 2026 as 2026.0
    return clean_text(value)


def read_roster(path: Path, encoding: str | None = None) -> Sheet:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".txt"):
        raise UserError(
            f"không hỗ trợ định dạng {suffix or '(không có đuôi)'}: dùng .csv hoặc .xlsx",
            f"unsupported file type {suffix or '(no extension)'}: use .csv or .xlsx",
        )
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UserError(
                f"tệp quá lớn ({size // 1024 // 1024} MB > {MAX_FILE_BYTES // 1024 // 1024} MB)",
                f"file too large ({size // 1024 // 1024} MB > {MAX_FILE_BYTES // 1024 // 1024} MB)",
            )
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise UserError(f"không mở được tệp {path}: {exc.strerror}", f"cannot open {path}: {exc.strerror}") from None
    return read_xlsx(data) if suffix == ".xlsx" else read_csv(data, encoding)


def _empty() -> UserError:
    return UserError("tệp rỗng: cần một dòng tiêu đề cột", "the file is empty: a header row is needed")


def _too_many() -> UserError:
    return UserError(f"tệp có hơn {MAX_ROWS} dòng", f"the file has more than {MAX_ROWS} rows")
