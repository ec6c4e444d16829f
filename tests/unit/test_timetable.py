"""Timetable import (hub/timetable): spreadsheets read as the roster's are, every broken row listed with nothing
imported, idempotent re-import, overlaps in the file and with the database, the school's wall time converted
to UTC once, hostile cells and files; and the span queries the pre-warming service and the portal use."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

import openpyxl
import pytest
from test_roster import encode_cp1258

from graders.text import UserError
from graders.timeutil import NaiveDatetimeError
from hub.directory.db import Directory
from hub.directory.models import ClassSession, SchoolClass
from hub.roster import reader
from hub.timetable.importer import add_session, import_timetable, remove_session
from hub.timetable.queries import sessions_between, sessions_of_classes, sessions_overlapping
from hub.timetable.validate import parse_date, parse_time

ZONE = "Asia/Ho_Chi_Minh"
TODAY = date(2026, 12, 3)
HEADER = ["STT", "Lớp", "Ngày", "Thứ", "Bắt đầu", "Kết thúc", "Phòng"]
ROWS = [
    ["1", "PTDL-K01", "21/12/2026", "Thứ Hai", "08:00", "11:30", "Phòng máy 301, nhà A"],
    ["2", "PTDL-K01", "22/12/2026", "Thứ Ba", "13:30", "16:30", "Phòng máy 301, nhà A"],
    ["3", "KNS-K02", "2026-12-21", "T2", "8h00", "11h00", "Hội trường tầng 2"],
]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def csv_bytes(rows: list[list[str]], header: list[str] = HEADER, delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


@pytest.fixture
def directory(tmp_path: Path) -> Directory:
    d = Directory(f"sqlite:///{tmp_path / 'truongso.sqlite'}")
    d.ensure_schema()
    with d.session() as s:
        s.add_all(
            [
                SchoolClass(name="PTDL-K01", title="Phân tích dữ liệu K01", year=2026),
                SchoolClass(name="KNS-K02", title="Kỹ năng số K02"),  # no year: dates within 2 years of today
            ]
        )
    return d


def run_import(directory: Directory, tmp_path: Path, data: bytes, name: str = "tkb.csv", **kwargs):
    path = tmp_path / name
    path.write_bytes(data)
    kwargs.setdefault("today", TODAY)
    return import_timetable(directory, path, kwargs.pop("zone", ZONE), **kwargs)


def stored(directory: Directory) -> list[tuple]:
    with directory.session() as s:
        return [
            (x.id, x.class_name, x.starts_at, x.ends_at, x.room)
            for x in s.query(ClassSession).order_by(ClassSession.starts_at, ClassSession.class_name)
        ]


def reasons(report) -> list[tuple[int, str]]:
    return [(e.row, f"{e.reason.vi} / {e.reason.en}") for e in report.errors]


# -- reading and converting -------------------------------------------------------------------------------


def test_a_timetable_is_stored_in_utc_from_the_schools_wall_time(directory: Directory, tmp_path: Path) -> None:
    report = run_import(directory, tmp_path, csv_bytes(ROWS))
    assert report.ok, reasons(report)
    assert (report.rows, report.created, report.updated, report.unchanged) == (3, 3, 0, 0)
    rows = [(c, s, e, room) for _, c, s, e, room in stored(directory)]
    assert rows == [  # Vietnam is UTC+7: 08:00 there is 01:00 UTC
        ("KNS-K02", utc(2026, 12, 21, 1), utc(2026, 12, 21, 4), "Hội trường tầng 2"),
        ("PTDL-K01", utc(2026, 12, 21, 1), utc(2026, 12, 21, 4, 30), "Phòng máy 301, nhà A"),
        ("PTDL-K01", utc(2026, 12, 22, 6, 30), utc(2026, 12, 22, 9, 30), "Phòng máy 301, nhà A"),
    ]
    with directory.session() as s:
        assert all(x.starts_at.tzinfo is not None for x in s.query(ClassSession))


def test_another_school_zone_and_its_clock_changes(directory: Directory, tmp_path: Path) -> None:
    rows = [["PTDL-K01", "10/01/2026", "09:00", "10:00"], ["PTDL-K01", "10/07/2026", "09:00", "10:00"]]
    header = ["Lớp", "Ngày", "Bắt đầu", "Kết thúc"]
    report = run_import(directory, tmp_path, csv_bytes(rows, header), zone="Europe/Berlin")
    assert report.ok, reasons(report)
    starts = [s for _, _, s, _, _ in stored(directory)]
    assert starts == [utc(2026, 1, 10, 8), utc(2026, 7, 10, 7)]  # UTC+1 in winter, UTC+2 in summer
    # 29/03/2026 02:30 does not exist in Berlin (clocks jump from 02:00 to 03:00)
    gap = run_import(directory, tmp_path, csv_bytes([["PTDL-K01", "29/03/2026", "02:30", "04:00"]], header),
                     zone="Europe/Berlin")  # fmt: skip
    assert reasons(gap) == [(2, "02:30 ngày 29/03/2026 không tồn tại ở múi giờ Europe/Berlin (đổi giờ) / "
                               "02:30 on 29/03/2026 does not exist in Europe/Berlin (clock change)")]  # fmt: skip
    assert len(stored(directory)) == 2


@pytest.mark.parametrize(
    ("name", "encode"),
    [
        ("utf8.csv", lambda text: text.encode("utf-8")),
        ("bom.csv", lambda text: b"\xef\xbb\xbf" + text.encode("utf-8")),
        ("cp1258.csv", encode_cp1258),
    ],
)
def test_encodings_and_semicolons_give_the_same_sessions(directory: Directory, tmp_path: Path, name, encode) -> None:
    text = csv_bytes(ROWS, delimiter=";").decode("utf-8")
    report = run_import(directory, tmp_path, encode(text), name)
    assert report.ok, reasons(report)
    assert {room for *_, room in stored(directory)} == {"Phòng máy 301, nhà A", "Hội trường tầng 2"}


def test_xlsx_with_real_date_and_time_cells(directory: Directory, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Mã lớp", "Ngày học", "Giờ bắt đầu", "Giờ kết thúc", "Địa điểm"])
    sheet.append(["PTDL-K01", date(2026, 12, 21), time(8, 0), time(11, 30), "P.301"])
    sheet.append(["PTDL-K01", datetime(2026, 12, 22), "13:30", "16:30", None])  # a date cell holding a datetime
    sheet.append([None, None, None, None, None])  # blank rows at the end are not rows
    buffer = io.BytesIO()
    book.save(buffer)
    report = run_import(directory, tmp_path, buffer.getvalue(), "tkb.xlsx")
    assert report.ok, reasons(report)
    assert [(s, e, room) for _, _, s, e, room in stored(directory)] == [
        (utc(2026, 12, 21, 1), utc(2026, 12, 21, 4, 30), "P.301"),
        (utc(2026, 12, 22, 6, 30), utc(2026, 12, 22, 9, 30), ""),
    ]


def test_english_headers_and_the_class_option(directory: Directory, tmp_path: Path) -> None:
    rows = [["21/12/2026", "08:00", "11:30", "Lab 1"], ["23/12/2026", "08:00", "11:30", "Lab 1"]]
    report = run_import(directory, tmp_path, csv_bytes(rows, ["Date", "Start", "End", "Room"]),
                        default_class="ptdl-k01")  # fmt: skip
    assert report.ok and report.created == 2
    assert {c for _, c, *_ in stored(directory)} == {"PTDL-K01"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("21/12/2026", date(2026, 12, 21)), ("1/2/2026", date(2026, 2, 1)), ("21.12.2026", date(2026, 12, 21)),
     ("2026-12-21", date(2026, 12, 21)), ("2026-12-21 00:00:00", date(2026, 12, 21)), ("31/02/2026", None),
     ("12/21/2026", None), ("2026-12-21 08:00:00", None), ("=TODAY()", None), ("", None), ("46000", None)],
)  # fmt: skip
def test_dates_people_type(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("08:00", time(8)), ("8:05", time(8, 5)), ("13h30", time(13, 30)), ("7g45", time(7, 45)), ("8h", time(8)),
     ("08:00:00", time(8)), ("24:00", None), ("08:60", None), ("8", None), ("08:00:30", None), ("8 giờ", None)],
)  # fmt: skip
def test_times_people_type(text: str, expected: time | None) -> None:
    assert parse_time(text) == expected


# -- broken rows: every one listed, nothing imported ----------------------------------------------------------


def test_each_broken_row_is_listed_and_nothing_is_imported(directory: Directory, tmp_path: Path) -> None:
    run_import(directory, tmp_path, csv_bytes([ROWS[0]]))  # one stored session: 21/12 08:00-11:30, PTDL-K01
    before = stored(directory)
    rows = [
        ["1", "PTDL-K01", "23/12/2026", "", "08:00", "11:00", "P.301"],  # fine on its own
        ["2", "PTDL-K01", "31/02/2026", "", "08:00", "11:00", ""],  # no such date
        ["3", "PTDL-K01", "24/12/2026", "", "8 giờ", "11:00", ""],  # bad time
        ["4", "PTDL-K01", "24/12/2026", "", "14:00", "13:00", ""],  # end before start
        ["5", "PTDL-K01", "25/12/2026", "", "07:00", "20:00", ""],  # 13 hours
        ["6", "PTDL-K99", "25/12/2026", "", "08:00", "11:00", ""],  # unknown class
        ["7", "PTDL-K01", "23/12/2026", "", "08:00", "11:00", "P.301"],  # the same as row 2
        ["8", "PTDL-K01", "23/12/2026", "", "10:00", "12:00", ""],  # overlaps row 2
        ["9", "PTDL-K01", "21/12/2026", "", "11:00", "12:00", ""],  # overlaps the stored session
        ["10", "PTDL-K01", "21/12/2029", "", "08:00", "11:00", ""],  # far from the class's year 2026
        ["11", "KNS-K02", "01/01/2030", "", "08:00", "11:00", ""],  # more than 2 years from today
        ["12", "PTDL-K01", "26/12/2026", "Thứ Hai", "08:00", "11:00", ""],  # 26/12/2026 is a Saturday
        ["13", "PTDL-K01", "27/12/2026", "", "08:00", "11:00", '=HYPERLINK("http://x","y")'],  # a formula
        ["14", "PTDL-K01", "", "", "", "", ""],  # empty cells
    ]
    report = run_import(directory, tmp_path, csv_bytes(rows))
    assert not report.ok
    got = reasons(report)
    expected = [
        (3, "ngày không hợp lệ: '31/02/2026'"),
        (4, "giờ không hợp lệ: '8 giờ'"),
        (5, "giờ kết thúc 13:00 không sau giờ bắt đầu 14:00"),
        (6, "buổi học dài 13.0 giờ, quá 12 giờ / the session lasts 13.0 h, over 12 h"),
        (7, "unknown class PTDL-K99"),
        (8, "trùng với dòng 2 (cùng lớp, cùng giờ bắt đầu) / duplicate of row 2"),
        (9, "trùng giờ với buổi ở dòng 2 của cùng lớp / overlaps the session of row 2"),
        (10, "overlaps a stored session of class PTDL-K01: 21/12/2026 08:00–11:30"),
        (11, "ngày 21/12/2029 quá xa năm 2026 của lớp"),
        (12, "date 01/01/2030 is more than 2 years from today"),
        (13, "26/12/2026 is a Saturday, not a Monday"),
        (14, "tên phòng không hợp lệ"),
        (15, "thiếu ngày / date is empty"),
        (15, "start time is empty"),
        (15, "end time is empty"),
    ]
    assert len(got) == len(expected), got
    for (row, text), (want_row, fragment) in zip(got, expected, strict=True):
        assert row == want_row and fragment in text, (row, text, want_row, fragment)
    assert stored(directory) == before  # nothing imported, not even row 2


def test_missing_unknown_and_twice_named_columns(directory: Directory, tmp_path: Path) -> None:
    report = run_import(directory, tmp_path, csv_bytes([["21/12/2026", "08:00"]], ["Ngày", "Bắt đầu"]))
    assert reasons(report) == [(1, "thiếu cột: Kết thúc / end, Lớp / class / "
                                   "missing column(s): Kết thúc / end, Lớp / class")]  # fmt: skip
    report = run_import(directory, tmp_path, csv_bytes([], ["Lớp", "Ngày", "Bắt đầu", "Kết thúc", "Giảng viên"]))
    assert len(report.errors) == 1 and "unknown column 'Giảng viên'" in str(report.errors[0].reason)
    report = run_import(directory, tmp_path, csv_bytes([], ["Lớp", "Ngày", "Date", "Bắt đầu", "Kết thúc"]))
    assert len(report.errors) == 1 and "column Ngày / date appears twice" in str(report.errors[0].reason)
    assert stored(directory) == []


def test_class_option_unknown_or_contradicted(directory: Directory, tmp_path: Path) -> None:
    data = csv_bytes([["KNS-K02", "21/12/2026", "08:00", "11:00"]], ["Lớp", "Ngày", "Bắt đầu", "Kết thúc"])
    report = run_import(directory, tmp_path, data, default_class="PTDL-K01")
    assert reasons(report)[0][0] == 2 and "differs from --class PTDL-K01" in reasons(report)[0][1]
    report = run_import(directory, tmp_path, data, default_class="KHONG-CO")
    assert reasons(report)[0][0] == 0 and "unknown class KHONG-CO" in reasons(report)[0][1]
    assert stored(directory) == []


@pytest.mark.parametrize(
    ("name", "data", "fragment"),
    [
        ("tkb.csv", b"", "empty"),
        ("tkb.csv", b"\xef\xbb\xbfL\xff\xfep,Ng\n", "invalid byte"),  # marked UTF-8, is not
        ("tkb.csv", b"Lop,Ngay\x00,Bat dau,Ket thuc\n", "NUL"),
        ("tkb.xlsx", b"PK\x03\x04 not a zip", "damaged"),
        ("tkb.ods", b"whatever", "unsupported file type"),
    ],
)
def test_broken_files_give_one_clear_error(directory: Directory, tmp_path: Path, name, data, fragment) -> None:
    with pytest.raises(UserError) as caught:
        run_import(directory, tmp_path, data, name)
    assert fragment in str(caught.value)
    assert stored(directory) == []


def test_header_only_and_blank_rows(directory: Directory, tmp_path: Path) -> None:
    report = run_import(directory, tmp_path, csv_bytes([["", "", "", "", "", "", ""]]))
    assert reasons(report) == [(2, "tệp không có dòng dữ liệu nào / the file has no data rows")]


def test_hostile_cells_are_text_never_formulas(directory: Directory, tmp_path: Path) -> None:
    rows = [
        ["=1+1", "21/12/2026", "08:00", "11:00", "P1"],
        ["PTDL-K01", "=DATE(2026,12,21)", "08:00", "11:00", "P1"],
        ["PTDL-K01", "22/12/2026", "+08:00", "@SUM(A1)", "P1"],
        ["PTDL-K01", "23/12/2026", "08:00", "11:00", "-2+3"],
        ["PTDL-K01", "24/12/2026", "08:00", "11:00", "P1\x07\x1b[31m"],
        ["PTDL-K01", "26/12/2026", "08:00", "11:00", "x" * 201],
        ["PTDL-K01", "27/12/2026", "08:00", "11:00", "-"],  # "no room", as people fill an empty cell: fine
        ["\x1b]0;owned\x07\x1b[2J", "28/12/2026", "08:00", "11:00", "P1"],  # terminal escapes
    ]
    report = run_import(directory, tmp_path, csv_bytes(rows, ["Lớp", "Ngày", "Bắt đầu", "Kết thúc", "Phòng"]))
    assert sorted({row for row, _ in reasons(report)}) == [2, 3, 4, 5, 6, 7, 9]
    assert "invalid class code '=1+1'" in dict(reasons(report))[2]
    assert "dài quá 200" in dict(reasons(report))[7]
    assert "invalid class code '\\x1b]0;OWNED" in dict(reasons(report))[9]
    assert not any("\x1b" in text or "\x07" in text for _, text in reasons(report))  # quoted, never raw
    header = run_import(directory, tmp_path, csv_bytes([], ["Lớp", "Ngày", "Bắt đầu", "Kết thúc", "\x1b[2JX"]))
    assert header.errors[0].column == "?[2JX" and "\x1b" not in str(header.errors[0].reason)
    assert stored(directory) == []


def test_huge_files_are_refused_before_any_row_is_checked(directory: Directory, tmp_path: Path) -> None:
    rows = [["PTDL-K01", "21/12/2026", "08:00", "09:00"]] * (reader.MAX_ROWS + 1)
    with pytest.raises(UserError, match=f"more than {reader.MAX_ROWS} rows"):
        run_import(directory, tmp_path, csv_bytes(rows, ["Lớp", "Ngày", "Bắt đầu", "Kết thúc"]))
    big = tmp_path / "big.csv"
    with big.open("wb") as out:
        out.truncate(reader.MAX_FILE_BYTES + 1)  # sparse: its size alone is the point
    with pytest.raises(UserError, match="file too large"):
        import_timetable(directory, big, ZONE, today=TODAY)
    assert stored(directory) == []


# -- idempotence, updates, dry run -----------------------------------------------------------------------------


def test_importing_the_same_file_again_changes_nothing(directory: Directory, tmp_path: Path) -> None:
    first = run_import(directory, tmp_path, csv_bytes(ROWS))
    before = stored(directory)
    again = run_import(directory, tmp_path, csv_bytes(ROWS))
    assert first.created == 3 and (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert stored(directory) == before  # same ids: the same sessions, untouched


def test_same_class_and_start_is_the_same_session(directory: Directory, tmp_path: Path) -> None:
    run_import(directory, tmp_path, csv_bytes(ROWS))
    ids = {(c, s): i for i, c, s, _, _ in stored(directory)}
    changed = [[*ROWS[0][:5], "12:00", "Phòng 302"], ROWS[1], ROWS[2]]  # row 1 ends later, in another room
    report = run_import(directory, tmp_path, csv_bytes(changed))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    after = {(c, s): (i, e, room) for i, c, s, e, room in stored(directory)}
    assert after[("PTDL-K01", utc(2026, 12, 21, 1))] == (ids[("PTDL-K01", utc(2026, 12, 21, 1))],
                                                         utc(2026, 12, 21, 5), "Phòng 302")  # fmt: skip
    # a file without a room column leaves the stored rooms as they are
    no_room = [[r[1], r[2], r[4], r[5]] for r in changed]
    report = run_import(directory, tmp_path, csv_bytes(no_room, ["Lớp", "Ngày", "Bắt đầu", "Kết thúc"]))
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    assert {room for *_, room in stored(directory)} == {"Phòng 302", "Phòng máy 301, nhà A", "Hội trường tầng 2"}


def test_a_longer_replacement_may_not_run_into_the_next_stored_session(directory: Directory, tmp_path: Path) -> None:
    header = ["Lớp", "Ngày", "Bắt đầu", "Kết thúc"]
    run_import(directory, tmp_path, csv_bytes([["PTDL-K01", "21/12/2026", "08:00", "10:00"],
                                               ["PTDL-K01", "21/12/2026", "13:00", "15:00"]], header))  # fmt: skip
    before = stored(directory)
    longer = run_import(directory, tmp_path, csv_bytes([["PTDL-K01", "21/12/2026", "08:00", "13:30"]], header))
    assert [row for row, _ in reasons(longer)] == [2] and "13:00–15:00" in reasons(longer)[0][1]
    # a file that shortens the stored 08:00 session makes room for a new one: it is checked against the new end
    both = [["PTDL-K01", "21/12/2026", "08:00", "09:00"], ["PTDL-K01", "21/12/2026", "09:30", "12:00"]]
    report = run_import(directory, tmp_path, csv_bytes(both, header))
    assert report.ok and (report.created, report.updated, report.unchanged) == (1, 1, 0), reasons(report)
    assert [(s, e) for _, _, s, e, _ in stored(directory)] == [
        (utc(2026, 12, 21, 1), utc(2026, 12, 21, 2)),
        (utc(2026, 12, 21, 2, 30), utc(2026, 12, 21, 5)),
        (utc(2026, 12, 21, 6), utc(2026, 12, 21, 8)),
    ]
    assert stored(directory)[0][0] == before[0][0]  # the same session, its end moved
    # touching sessions do not overlap
    touching = run_import(directory, tmp_path, csv_bytes([["PTDL-K01", "21/12/2026", "07:00", "08:00"]], header))
    assert touching.ok and touching.created == 1


def test_dry_run_writes_nothing(directory: Directory, tmp_path: Path) -> None:
    report = run_import(directory, tmp_path, csv_bytes(ROWS), dry_run=True)
    assert report.ok and report.dry_run and report.created == 3
    assert stored(directory) == []


# -- one session at a time -------------------------------------------------------------------------------------


def test_add_and_remove_one_session(directory: Directory) -> None:
    added = add_session(directory, "ptdl-k01", "21/12/2026", "8h", "11:30", ZONE, room="P.301", today=TODAY)
    assert added.ok and added.created == 1
    again = add_session(directory, "PTDL-K01", "2026-12-21", "08:00", "11:30", ZONE, today=TODAY)
    assert again.unchanged == 1  # no --room: the stored one is kept
    clash = add_session(directory, "PTDL-K01", "21/12/2026", "11:00", "12:00", ZONE, today=TODAY)
    assert [e.row for e in clash.errors] == [0] and "overlaps a stored session" in str(clash.errors[0].reason)
    bad = add_session(directory, "PTDL-K01", "21/13/2026", "11:00", "10:00", ZONE, today=TODAY)
    assert len(bad.errors) == 2
    line = remove_session(directory, "ptdl-k01", "21/12/2026", "08:00", ZONE)
    assert (line.date, line.weekday.vi, line.start, line.end, line.room) == ("21/12/2026", "Thứ Hai", "08:00",
                                                                              "11:30", "P.301")  # fmt: skip
    assert stored(directory) == []
    with pytest.raises(UserError, match="has no session starting 08:00 on 21/12/2026"):
        remove_session(directory, "PTDL-K01", "21/12/2026", "08:00", ZONE)


# -- queries ---------------------------------------------------------------------------------------------------


def test_sessions_overlapping_a_span(directory: Directory, tmp_path: Path) -> None:
    run_import(directory, tmp_path, csv_bytes(ROWS))
    with directory.session() as s:
        # 21/12 08:00-11:30 (01:00-04:30 UTC) PTDL-K01, 08:00-11:00 KNS-K02; 22/12 13:30-16:30 PTDL-K01
        found = sessions_overlapping(s, utc(2026, 12, 21, 4), utc(2026, 12, 21, 5))
        assert [x.class_name for x in found] == ["PTDL-K01"]  # KNS-K02 ended at 04:00: touching is not overlapping
        found = sessions_overlapping(s, utc(2026, 12, 20), utc(2026, 12, 23))
        assert [(x.class_name, x.starts_at) for x in found] == [
            ("KNS-K02", utc(2026, 12, 21, 1)), ("PTDL-K01", utc(2026, 12, 21, 1)),
            ("PTDL-K01", utc(2026, 12, 22, 6, 30))]  # fmt: skip
        assert sessions_overlapping(s, utc(2026, 12, 22, 9, 30), utc(2026, 12, 23)) == []
        mine = sessions_of_classes(s, ["KNS-K02"], utc(2026, 12, 1), utc(2027, 1, 1))
        assert [x.class_name for x in mine] == ["KNS-K02"]
        assert sessions_of_classes(s, [], utc(2026, 12, 1), utc(2027, 1, 1)) == []
        assert len(sessions_between(s, class_names=["PTDL-K01"])) == 2
        with pytest.raises(NaiveDatetimeError):
            sessions_overlapping(s, datetime(2026, 12, 21), datetime(2026, 12, 22))
        plus7 = timezone(timedelta(hours=7))  # the same moments, whatever zone they are given in
        found = sessions_overlapping(s, datetime(2026, 12, 22, tzinfo=plus7), datetime(2026, 12, 23, tzinfo=plus7))
        assert [x.starts_at for x in found] == [utc(2026, 12, 22, 6, 30)]


@pytest.mark.parametrize("when", ["before the plan", "before the write"])
def test_a_session_added_meanwhile_by_another_import(
    directory: Directory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    """Another admin commits one of this file's sessions while this import runs: seen before the plan, it is
    "unchanged"; committed between the plan and the write, the unique (class, start) refuses this import,
    which ends with one bilingual reason and nothing half-written. Never two copies of a session."""
    from hub.timetable import importer

    original = importer._plan

    def other_admin(candidate) -> None:
        other = Directory(str(directory.engine.url))
        with other.session() as o:
            o.add(ClassSession(class_name=candidate.class_name, starts_at=candidate.starts_at,
                               ends_at=candidate.ends_at))  # fmt: skip
        other.dispose()

    def meanwhile(s, candidates, report) -> None:
        if when == "before the plan":
            other_admin(candidates[0])
        else:
            flush = s.flush
            s.flush = lambda: (other_admin(candidates[0]), flush())
        original(s, candidates, report)

    monkeypatch.setattr(importer, "_plan", meanwhile)
    if when == "before the plan":
        report = run_import(directory, tmp_path, csv_bytes(ROWS))
        assert report.ok and (report.created, report.updated) == (2, 1)  # the file gives it its room
        assert len(stored(directory)) == 3
    else:
        with pytest.raises(UserError, match="changed at the same time; nothing imported"):
            run_import(directory, tmp_path, csv_bytes(ROWS))
        assert len(stored(directory)) == 1  # only the other admin's
