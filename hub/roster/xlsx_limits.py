"""Refuse a hostile XLSX before its rows are read, for every reader of rosters (the CLI and the browser upload).

An XLSX is a zip of XML: a few kilobytes can unpack to gigabytes (a zip bomb), and a sheet that declares or
has a cell at XFD40000 makes openpyxl pad every row to 16,384 columns (a 5 KB file took the reader 107 s).
"""

from __future__ import annotations

import zipfile
from typing import Any
from xml.parsers import expat

from graders.text import UserError

MAX_UNPACKED = 64 * 1024 * 1024  # an XLSX whose parts unpack to more is refused unread
MAX_PARTS = 2000
MAX_COLUMNS = 200  # a roster has a handful


def refuse_zip_bomb(archive: zipfile.ZipFile) -> None:
    parts = archive.infolist()
    unpacked = sum(p.file_size for p in parts)
    if len(parts) > MAX_PARTS or unpacked > MAX_UNPACKED:
        raise UserError(
            f"tệp XLSX giải nén ra quá lớn ({unpacked // 1024 // 1024} MB, {len(parts)} phần): không đọc",
            f"the XLSX file unpacks to too much ({unpacked // 1024 // 1024} MB, {len(parts)} parts): not read",
        )


def refuse_oversized_sheet(sheet: Any, max_rows: int) -> None:
    """`sheet` is an openpyxl read-only worksheet. Its declared size first, then one pass of expat over its XML
    (no tree kept), since a sheet may declare nothing and still hold a cell far away."""
    from openpyxl.utils import column_index_from_string as column_index

    declared = (sheet.max_column or 0, sheet.max_row or 0)
    if declared[0] > MAX_COLUMNS or declared[1] > max_rows + 1:
        raise _too_big_sheet(*declared, max_rows)
    width = 0
    row = 0

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal width, row
        local = name.rpartition("}")[2]
        if local == "row":
            width = 0
            row = int(attrs["r"]) if attrs.get("r", "").isdigit() else row + 1
            if row > max_rows + 1:
                raise _too_big_sheet(0, row, max_rows)
        elif local == "c":
            width += 1
            letters = "".join(ch for ch in attrs.get("r", "") if ch.isalpha())
            column = column_index(letters) if 0 < len(letters) <= 3 else (width if not letters else MAX_COLUMNS + 1)
            if max(width, column) > MAX_COLUMNS:
                raise _too_big_sheet(max(width, column), row, max_rows)

    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler = start
    try:
        with sheet._get_source() as source:  # openpyxl's own handle on the sheet's XML, streamed
            parser.ParseFile(source)
    except expat.ExpatError:
        return  # a damaged sheet: reading it says so


def _too_big_sheet(columns: int, rows: int, max_rows: int) -> UserError:
    return UserError(
        f"trang tính quá rộng hoặc quá dài ({columns} cột, dòng {rows}; tối đa {MAX_COLUMNS} cột, {max_rows} dòng):"
        " hãy xoá các cột và dòng trống thừa",
        f"the sheet is too wide or too long ({columns} columns, row {rows}; at most {MAX_COLUMNS} columns,"
        f" {max_rows} rows): delete the unused columns and rows",
    )
