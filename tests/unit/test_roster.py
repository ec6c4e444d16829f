"""Roster import: encodings, every kind of bad row, all-or-nothing, idempotence, 10,000 rows."""

from __future__ import annotations

import csv
import io
import stat
import time
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import pytest
from nativeauthenticator.orm import UserInfo

from graders.text import UserError
from hub.directory.db import Directory
from hub.directory.models import Enrolment, Person, SchoolClass
from hub.roster.importer import import_roster

HEADER = ["Họ và tên", "Email", "Đơn vị", "Lớp"]
ROWS = [
    ["Nguyễn Thị Ánh Tuyết", "tuyet.nta@hanoi.gov.vn", "Sở Thông tin và Truyền thông Hà Nội", "PTDL-K01"],
    ["Trần Quốc Việt", "viet.tq@danang.gov.vn", "UBND quận Hải Châu", "PTDL-K01"],
    ["Lê Thị Hồng Nhung", "nhung.lth@cantho.gov.vn", "Sở Tài chính Cần Thơ", "KNS-K02"],
    ["Đặng Văn Ước", "uoc.dv@hue.gov.vn", "Văn phòng UBND tỉnh Thừa Thiên Huế", "KNS-K02"],
]


def encode_cp1258(text: str) -> bytes:
    """Windows-1258 as old Excel writes it: base letters precomposed where the code page has them,
    tone marks as combining characters."""
    out = bytearray()
    for char in text:
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFD", char)
            tones = "".join(c for c in decomposed if c in "\u0300\u0301\u0303\u0309\u0323")
            base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in tones))
            out += (base + tones).encode("cp1258")
    return bytes(out)


def csv_text(rows: list[list[str]], header: list[str] = HEADER, delimiter: str = ",") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


@pytest.fixture
def directory(tmp_path: Path) -> Directory:
    d = Directory(f"sqlite:///{tmp_path / 'truongso.sqlite'}")
    d.ensure_schema()
    with d.session() as s:
        s.add_all(
            [
                SchoolClass(name="PTDL-K01", title="Phân tích dữ liệu K01"),
                SchoolClass(name="KNS-K02", title="Kỹ năng số K02"),
            ]
        )
    return d


def run_import(directory: Directory, tmp_path: Path, name: str, data: bytes, **kwargs):
    path = tmp_path / name
    path.write_bytes(data)
    return import_roster(directory, path, passwords_dir=tmp_path / "passwords", **kwargs)


def people(directory: Directory) -> dict[str, Person]:
    with directory.session() as s:
        return {p.username: p for p in s.query(Person)}


@pytest.mark.parametrize(
    ("name", "encode"),
    [
        ("utf8.csv", lambda t: t.encode("utf-8")),
        ("utf8-bom.csv", lambda t: t.encode("utf-8-sig")),
        ("cp1258.csv", encode_cp1258),
    ],
)
def test_three_encodings_give_the_same_names(directory: Directory, tmp_path: Path, name: str, encode) -> None:
    report = run_import(directory, tmp_path, name, encode(csv_text(ROWS)))
    assert report.ok, report.errors
    assert report.created == 4
    names = {p.full_name for p in people(directory).values()}
    assert {r[0] for r in ROWS} <= names  # exact, NFC, with every diacritic
    assert all(unicodedata.is_normalized("NFC", n) for n in names)


def test_xlsx_and_semicolons(directory: Directory, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Họ tên", "E-mail", "Cơ quan", "Mã lớp"])
    for row in ROWS[:2]:
        sheet.append(row)
    sheet.append([None, None, None, None])  # a blank row at the end, as spreadsheets have
    buffer = io.BytesIO()
    book.save(buffer)
    assert run_import(directory, tmp_path, "lop.xlsx", buffer.getvalue()).created == 2
    report = run_import(directory, tmp_path, "lop.csv", csv_text(ROWS[2:], delimiter=";").encode())
    assert report.ok and report.created == 2


def test_new_accounts_get_a_private_password_file_and_must_change(directory: Directory, tmp_path: Path) -> None:
    report = run_import(directory, tmp_path, "a.csv", csv_text(ROWS).encode())
    mode = stat.S_IMODE(report.passwords_file.stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(report.passwords_file.parent.stat().st_mode) == 0o700
    lines = report.passwords_file.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 5 and lines[1].startswith("tuyet.nta@hanoi.gov.vn,Nguyễn Thị Ánh Tuyết,PTDL-K01,")
    password = lines[1].rsplit(",", 1)[1]
    with directory.session() as s:
        info = s.query(UserInfo).filter_by(username="tuyet.nta@hanoi.gov.vn").one()
        assert info.is_valid_password(password) and password.encode() not in info.password
        assert s.get(Person, "tuyet.nta@hanoi.gov.vn").must_change_password


def test_reimport_changes_nothing(directory: Directory, tmp_path: Path) -> None:
    data = csv_text(ROWS).encode()
    first = run_import(directory, tmp_path, "a.csv", data)
    with directory.session() as s:
        before = {(i.username, i.password) for i in s.query(UserInfo)}
    second = run_import(directory, tmp_path, "a.csv", data)
    assert (second.created, second.updated, second.enrolled, second.unchanged) == (0, 0, 0, 4)
    assert second.passwords_file is None and first.passwords_file.exists()
    with directory.session() as s:
        assert {(i.username, i.password) for i in s.query(UserInfo)} == before
        assert s.query(Enrolment).count() == 4


def test_dry_run_writes_nothing(directory: Directory, tmp_path: Path) -> None:
    report = run_import(directory, tmp_path, "a.csv", csv_text(ROWS).encode(), dry_run=True)
    assert report.ok and report.created == 4 and report.passwords_file is None
    assert people(directory) == {}
    assert not (tmp_path / "passwords").exists() or not any((tmp_path / "passwords").iterdir())


BAD_ROWS = [
    (["", "a1@x.gov.vn", "Sở A", "PTDL-K01"], "Họ và tên", "thiếu họ và tên"),
    (["Nguyễn Văn A", "not-an-email", "Sở A", "PTDL-K01"], "Email", "email không hợp lệ"),
    (["Nguyễn Văn B", "", "Sở A", "PTDL-K01"], "Email", "thiếu email"),
    (["Nguyễn Văn C", "c@x.gov.vn", "", "PTDL-K01"], "Đơn vị", "thiếu đơn vị"),
    (["Nguyễn Văn D", "d@x.gov.vn", "Sở A", "LOP-MA"], "Lớp", "lớp LOP-MA chưa có"),
    (['=HYPERLINK("http://x")', "e@x.gov.vn", "Sở A", "PTDL-K01"], "Họ và tên", "không hợp lệ"),
    (["Nguyễn Văn F", "tuyet.nta@hanoi.gov.vn", "Sở A", "PTDL-K01"], "Email", "trùng với dòng 2"),
    (["Nguyễn Văn G", "ng\u00e9@x.gov.vn", "Sở A", "PTDL-K01"], "Email", "email không hợp lệ"),
    (["Nguyễn Văn H", "h@x.gov.vn", "Sở\x07A", "PTDL-K01"], "Đơn vị", "không hợp lệ"),
]


@pytest.mark.parametrize(("row", "column", "reason"), BAD_ROWS)
def test_each_bad_row_is_reported_and_nothing_is_imported(
    directory: Directory, tmp_path: Path, row: list[str], column: str, reason: str
) -> None:
    report = run_import(directory, tmp_path, "bad.csv", csv_text([*ROWS, row]).encode())
    assert not report.ok
    assert [(e.row, e.column.split(" /")[0]) for e in report.errors] == [(6, column)], report.errors
    assert reason in report.errors[0].reason.vi and report.errors[0].reason.en
    assert people(directory) == {}  # all or nothing
    assert not (tmp_path / "passwords").exists()


def test_email_of_another_existing_account(directory: Directory, tmp_path: Path) -> None:
    assert run_import(directory, tmp_path, "a.csv", csv_text(ROWS[:1]).encode()).ok
    header = [*HEADER, "Tên đăng nhập"]
    rows = [[*ROWS[1], "viet"], ["Nguyễn Văn Tuyết", "TUYET.NTA@hanoi.gov.vn", "Sở B", "PTDL-K01", "tuyet2"]]
    report = run_import(directory, tmp_path, "b.csv", csv_text(rows, header).encode())
    assert [e.row for e in report.errors] == [3]
    assert "email đã thuộc về tài khoản tuyet.nta@hanoi.gov.vn" in report.errors[0].reason.vi
    assert set(people(directory)) == {"tuyet.nta@hanoi.gov.vn"}


def test_missing_columns_and_unknown_default_class(directory: Directory, tmp_path: Path) -> None:
    report = run_import(directory, tmp_path, "a.csv", csv_text([r[:2] for r in ROWS], HEADER[:2]).encode())
    assert report.errors[0].row == 1 and "Đơn vị" in report.errors[0].reason.vi and "Lớp" in report.errors[0].reason.vi
    no_class = csv_text([r[:3] for r in ROWS], HEADER[:3]).encode()
    report = run_import(directory, tmp_path, "b.csv", no_class, default_class="KHONG-CO")
    assert "KHONG-CO" in report.errors[0].reason.vi
    report = run_import(directory, tmp_path, "c.csv", no_class, default_class="ptdl-k01")
    assert report.ok and report.created == 4
    with directory.session() as s:
        assert {e.class_name for e in s.query(Enrolment)} == {"PTDL-K01"}


@pytest.mark.parametrize(
    ("name", "data", "fragment"),
    [
        ("a.xls", b"\xd0\xcf\x11\xe0", "unsupported file type"),
        ("a.xlsx", b"PK\x03\x04 not really a zip", "damaged"),
        ("a.csv", b"", "empty"),
        ("a.csv", b"Ho ten,Email\x00,Don vi\n", "NUL"),
        ("a.csv", b"\xef\xbb\xbfH\xff\xfe,Email\n", "invalid byte"),
        ("a.csv", b'Ho ten,Email,Don vi,Lop\n"unterminated,x,y,z\n', "broken CSV"),
    ],
)
def test_broken_files_give_one_clear_error(
    directory: Directory, tmp_path: Path, name: str, data: bytes, fragment: str
) -> None:
    with pytest.raises(UserError, match=fragment):
        run_import(directory, tmp_path, name, data)
    assert people(directory) == {}


def _workbook(rows: list[list[str]]) -> bytes:
    book = openpyxl.Workbook()
    for row in [HEADER, *rows]:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _far_cell_workbook(cell: str) -> bytes:
    """A 5 KB workbook with one cell far away: openpyxl would pad every row to its column (107 s once)."""
    source = zipfile.ZipFile(io.BytesIO(_workbook(ROWS)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                row = "".join(ch for ch in cell if ch.isdigit())
                extra = f'<row r="{row}"><c r="{cell}" t="inlineStr"><is><t>x</t></is></c></row>'
                data = data.replace(b"</sheetData>", extra.encode() + b"</sheetData>")
            archive.writestr(info.filename, data)
    return out.getvalue()


def _zip_bomb() -> bytes:
    out = io.BytesIO(_workbook(ROWS))
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/zeros.bin", b"\0" * (100 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: _far_cell_workbook("XFD40"), "too wide or too long"),
        (lambda: _far_cell_workbook("A60000"), "too wide or too long"),
        (_zip_bomb, "unpacks to too much"),
    ],
    ids=["far-column", "far-row", "zip-bomb"],
)
def test_hostile_workbooks_are_refused_before_their_rows_are_read(
    directory: Directory, tmp_path: Path, make, fragment: str
) -> None:
    """The same refusals as the browser upload, for `truongso users import`: they live in the reader."""
    with pytest.raises(UserError, match=fragment):  # the message proves the XML was looked at, not padded out
        run_import(directory, tmp_path, "lop.xlsx", make())
    assert people(directory) == {}


def test_header_only_file(directory: Directory, tmp_path: Path) -> None:
    report = run_import(directory, tmp_path, "a.csv", csv_text([]).encode())
    assert "không có dòng dữ liệu" in report.errors[0].reason.vi


@pytest.mark.slow
def test_ten_thousand_rows(directory: Directory, tmp_path: Path) -> None:
    given = ["An", "Bình", "Cường", "Dũng", "Hà", "Hương", "Khánh", "Lâm", "Minh", "Ngọc"]
    rows = [
        [
            f"Nguyễn {given[i % 10]} {given[(i // 10) % 10]}",
            f"hv{i:05d}@tinh{i % 63:02d}.gov.vn",
            f"Sở Nội vụ tỉnh {i % 63}",
            "PTDL-K01" if i % 2 else "KNS-K02",
        ]
        for i in range(10_000)
    ]
    data = encode_cp1258(csv_text(rows))
    started = time.monotonic()
    report = run_import(directory, tmp_path, "big.csv", data)
    first = time.monotonic() - started
    assert report.ok and report.created == 10_000 and report.encoding == "cp1258"
    started = time.monotonic()
    again = run_import(directory, tmp_path, "big.csv", data)
    assert again.unchanged == 10_000 and again.created == 0
    print(f"\n10,000 rows: first import {first:.1f} s, re-import {time.monotonic() - started:.1f} s")
    broken = [*rows, ["Lê Văn Lỗi", "not-an-email", "Sở X", "PTDL-K01"]]
    report = run_import(directory, tmp_path, "big2.csv", csv_text(broken).encode())
    assert [e.row for e in report.errors] == [10_002]
