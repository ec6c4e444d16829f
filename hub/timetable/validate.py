"""Check every row of a timetable before anything is written: row-level reasons, in both languages.

Dates and times are the school's wall time (the `timezone` setting); each session is converted to UTC once,
here. Rows come from a spreadsheet (`check_sheet`) or from `truongso classes sessions add` (`check_rows`):
one set of rules for both.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from graders.text import Text
from graders.timeutil import school_wall_time, to_utc
from hub.roster.reader import Sheet
from hub.roster.validate import CLASS_CODE_RE, RowError, fold, normalize_class_code

# Column names people actually type, compared without diacritics, case or punctuation (`fold`).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "class": ("lop", "ma lop", "lop hoc", "class", "class code", "class name"),
    "date": ("ngay", "ngay hoc", "date"),
    "start": ("bat dau", "gio bat dau", "thoi gian bat dau", "start", "start time", "begin"),
    "end": ("ket thuc", "gio ket thuc", "thoi gian ket thuc", "end", "end time", "finish"),
    "room": ("phong", "phong hoc", "dia diem", "room", "location", "place"),
    "weekday": ("thu", "thu trong tuan", "weekday", "day of week"),
}
# Columns timetables often carry that say nothing about when a session is: read past, never stored.
IGNORED_COLUMNS = frozenset(
    {
        "stt",
        "tt",
        "so thu tu",
        "no",
        "ghi chu",
        "note",
        "notes",
        "noi dung",
        "content",
        "topic",
        "buoi",
        "buoi hoc",
        "session",
    }
)
REQUIRED = ("date", "start", "end")
COLUMN_LABELS = {
    "class": "Lớp / class",
    "date": "Ngày / date",
    "start": "Bắt đầu / start",
    "end": "Kết thúc / end",
    "room": "Phòng / room",
    "weekday": "Thứ / weekday",
}
MAX_SESSION = timedelta(hours=12)
MAX_ROOM = 200  # ClassSession.room's column
WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# A weekday as people write it (folded): "Thứ Hai", "Thứ 2", "T2", "CN", "Monday", "Mon" -> 0..6
_WEEKDAY_WORDS = {
    **{fold(w): i for i, w in enumerate(WEEKDAYS_VI)},
    **{f"thu {i + 2}": i for i in range(6)},
    **{f"t{i + 2}": i for i in range(6)},
    **{str(i + 2): i for i in range(6)},
    "cn": 6,
    "chu nhat": 6,
    **{w.lower(): i for i, w in enumerate(WEEKDAYS_EN)},
    **{w[:3].lower(): i for i, w in enumerate(WEEKDAYS_EN)},
}
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
# yyyy-mm-dd; an XLSX date cell reads as "2026-12-20 00:00:00"
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?$")
# 08:00, 8:00, 8h00, 8g00, 8h; an XLSX time cell reads as "08:00:00"
_TIME = re.compile(r"^(\d{1,2})\s*(?:[:hHgG]\s*(\d{2})(?::(00))?|[hHgG])$")
_FORMULA_START = ("=", "+", "-", "@")


@dataclass
class RawSession:
    """One row as typed: text cells; `room` None when the file has no room column (an existing room is kept)."""

    row: int
    class_name: str
    date: str
    start: str
    end: str
    room: str | None = None
    weekday: str = ""


@dataclass
class SessionCandidate:
    row: int
    class_name: str
    starts_at: datetime  # aware, UTC
    ends_at: datetime
    room: str | None  # None: keep the stored one (new sessions: "")


@dataclass
class Checked:
    candidates: list[SessionCandidate] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def parse_date(text: str) -> date | None:
    """dd/mm/yyyy (also with . or -), yyyy-mm-dd, or an XLSX date cell; None when it is none of them."""
    text = text.strip()
    if found := _DMY.match(text):
        day, month, year = (int(g) for g in found.groups())
    elif found := _YMD.match(text):
        year, month, day = (int(g) for g in found.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:  # 31/02/2026
        return None


def parse_time(text: str) -> time | None:
    """HH:MM (also 8h30, 8g30, 8h, or an XLSX time cell "08:30:00"); None when it is not one."""
    found = _TIME.match(text.strip())
    if not found:
        return None
    hour, minute = int(found.group(1)), int(found.group(2) or 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_weekday(text: str) -> int | None:
    return _WEEKDAY_WORDS.get(fold(text))


def wall_to_utc(day: date, at: time, zone: str) -> datetime | None:
    """The school's wall time `day at` as a UTC moment; None for a wall time the zone skips (a summer-time
    change: the clock jumps over it)."""
    wall = datetime.combine(day, at)
    moment = to_utc(school_wall_time(wall.isoformat(), zone))
    if moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None) != wall:
        return None
    return moment


def map_columns(headers: list[str]) -> tuple[dict[str, int], list[RowError]]:
    """Column key -> index; a column named twice or a header nobody knows is an error (row 1)."""
    wanted = {alias: key for key, aliases in COLUMN_ALIASES.items() for alias in aliases}
    columns: dict[str, int] = {}
    errors = []
    for index, header in enumerate(headers):
        folded = fold(header)
        if not folded or folded in IGNORED_COLUMNS:
            continue
        key = wanted.get(folded)
        if key is None:
            known = ", ".join(COLUMN_LABELS.values())
            errors.append(
                RowError(
                    1,
                    printable(header[:40]),
                    Text(
                        f"cột không rõ {header[:40]!r} (các cột: {known})",
                        f"unknown column {header[:40]!r} (columns: {known})",
                    ),
                )
            )
        elif key in columns:
            label = COLUMN_LABELS[key]
            errors.append(
                RowError(
                    1, printable(header[:40]), Text(f"cột {label} xuất hiện hai lần", f"column {label} appears twice")
                )
            )
        else:
            columns[key] = index
    return columns, errors


def check_sheet(
    sheet: Sheet,
    classes: Mapping[str, int | None],
    default_class: str | None,
    zone: str,
    today: date,
) -> Checked:
    """Every problem of every row; `classes` maps each known class to its year (or None). Candidates are only
    meaningful when `errors` is empty."""
    columns, errors = map_columns(sheet.headers)
    missing = [key for key in REQUIRED if key not in columns]
    if "class" not in columns and default_class is None:
        missing.append("class")
    if missing:
        labels = ", ".join(COLUMN_LABELS[k] for k in missing)
        errors.append(RowError(1, "", Text(f"thiếu cột: {labels}", f"missing column(s): {labels}")))
    if errors:
        return Checked(errors=errors)

    def cell(cells: list[str], key: str) -> str:
        index = columns.get(key)
        return cells[index] if index is not None and index < len(cells) else ""

    raw = [
        RawSession(
            number,
            cell(cells, "class"),
            cell(cells, "date"),
            cell(cells, "start"),
            cell(cells, "end"),
            cell(cells, "room") if "room" in columns else None,
            cell(cells, "weekday"),
        )
        for number, cells in sheet.rows
        if any(cells)  # blank lines at the end of a spreadsheet are not rows
    ]
    if not raw:
        return Checked(errors=[RowError(2, "", Text("tệp không có dòng dữ liệu nào", "the file has no data rows"))])
    return check_rows(raw, classes, default_class, zone, today)


def check_rows(
    rows: Iterable[RawSession],
    classes: Mapping[str, int | None],
    default_class: str | None,
    zone: str,
    today: date,
) -> Checked:
    """The rules for each row, then duplicates and overlaps between the rows (the database's are the
    importer's)."""
    result = Checked()
    if default_class is not None and default_class not in classes:
        result.errors.append(RowError(0, "--class", unknown_class(default_class)))
        return result
    for raw in rows:
        candidate, row_errors = _check_row(raw, classes, default_class, zone, today)
        result.errors.extend(row_errors)
        if candidate is not None:
            result.candidates.append(candidate)
    result.errors.extend(_clashes_in_file(result.candidates))
    result.errors.sort(key=lambda e: e.row)
    return result


def _check_row(
    raw: RawSession, classes: Mapping[str, int | None], default_class: str | None, zone: str, today: date
) -> tuple[SessionCandidate | None, list[RowError]]:
    row_errors: list[RowError] = []

    def fail(column: str, vi: str, en: str) -> None:
        row_errors.append(RowError(raw.row, COLUMN_LABELS.get(column, column), Text(vi, en)))

    class_name = normalize_class_code(raw.class_name) or (default_class or "")
    if default_class is not None and class_name != default_class:
        fail(
            "class",
            f"lớp {class_name[:64]!r} khác với --class {default_class}",
            f"class {class_name[:64]!r} differs from --class {default_class}",
        )
    elif not class_name:
        fail("class", "thiếu mã lớp", "class is empty")
    elif not CLASS_CODE_RE.match(class_name):  # shown quoted: a cell may hold anything, terminal escapes too
        fail("class", f"mã lớp không hợp lệ: {class_name[:64]!r}", f"invalid class code {class_name[:64]!r}")
    elif class_name not in classes:
        text = unknown_class(class_name)
        fail("class", text.vi, text.en)

    day = parse_date(raw.date)
    if not raw.date:
        fail("date", "thiếu ngày", "date is empty")
    elif day is None:
        fail(
            "date",
            f"ngày không hợp lệ: {raw.date[:40]!r} (dd/mm/yyyy)",
            f"invalid date {raw.date[:40]!r} (dd/mm/yyyy)",
        )
    elif class_name in classes and not _date_plausible(day, classes[class_name], today):
        year = classes[class_name]
        if year is not None:
            fail(
                "date",
                f"ngày {day:%d/%m/%Y} quá xa năm {year} của lớp",
                f"date {day:%d/%m/%Y} is too far from the class's year {year}",
            )
        else:
            fail(
                "date",
                f"ngày {day:%d/%m/%Y} cách hôm nay hơn 2 năm",
                f"date {day:%d/%m/%Y} is more than 2 years from today",
            )

    if raw.weekday and day is not None:
        weekday = parse_weekday(raw.weekday)
        if weekday is None:
            fail("weekday", f"thứ không rõ: {raw.weekday[:20]!r}", f"unknown weekday {raw.weekday[:20]!r}")
        elif weekday != day.weekday():
            fail(
                "weekday",
                f"ngày {day:%d/%m/%Y} là {WEEKDAYS_VI[day.weekday()]}, không phải {WEEKDAYS_VI[weekday]}",
                f"{day:%d/%m/%Y} is a {WEEKDAYS_EN[day.weekday()]}, not a {WEEKDAYS_EN[weekday]}",
            )

    times = {}
    for key, value in (("start", raw.start), ("end", raw.end)):
        times[key] = parse_time(value)
        if not value:
            fail(key, f"thiếu giờ {COLUMN_LABELS[key].split(' / ')[0].lower()}", f"{key} time is empty")
        elif times[key] is None:
            fail(key, f"giờ không hợp lệ: {value[:20]!r} (HH:MM)", f"invalid time {value[:20]!r} (HH:MM)")
    start, end = times["start"], times["end"]
    starts_at = ends_at = None
    if start is not None and end is not None:
        if end <= start:
            fail(
                "end",
                f"giờ kết thúc {end:%H:%M} không sau giờ bắt đầu {start:%H:%M} (buổi học không qua nửa đêm)",
                f"end {end:%H:%M} is not after start {start:%H:%M} (sessions do not cross midnight)",
            )
        elif day is not None:
            starts_at, ends_at = wall_to_utc(day, start, zone), wall_to_utc(day, end, zone)
            for key, moment, at in (("start", starts_at, start), ("end", ends_at, end)):
                if moment is None:
                    fail(
                        key,
                        f"{at:%H:%M} ngày {day:%d/%m/%Y} không tồn tại ở múi giờ {zone} (đổi giờ)",
                        f"{at:%H:%M} on {day:%d/%m/%Y} does not exist in {zone} (clock change)",
                    )
            if starts_at and ends_at and ends_at - starts_at > MAX_SESSION:
                hours = (ends_at - starts_at).total_seconds() / 3600
                fail(
                    "end",
                    f"buổi học dài {hours:.1f} giờ, quá 12 giờ",
                    f"the session lasts {hours:.1f} h, over 12 h",
                )

    room = raw.room
    if room is not None:
        room = "" if room in ("-", "—", "–") else room  # "nothing here", as people fill an empty cell
        if len(room) > MAX_ROOM:
            fail("room", f"tên phòng dài quá {MAX_ROOM} ký tự", f"room longer than {MAX_ROOM} characters")
        elif room.startswith(_FORMULA_START) or any(unicodedata.category(c) == "Cc" for c in room):
            # would run as a formula in the spreadsheets this text is exported to, or break a terminal
            fail("room", f"tên phòng không hợp lệ: {room[:40]!r}", f"invalid room {room[:40]!r}")

    if row_errors or starts_at is None or ends_at is None:
        return None, row_errors
    return SessionCandidate(raw.row, class_name, starts_at, ends_at, room), []


def _date_plausible(day: date, class_year: int | None, today: date) -> bool:
    if class_year is not None:
        return class_year - 1 <= day.year <= class_year + 1
    return abs((day - today).days) <= 2 * 366


def _clashes_in_file(candidates: list[SessionCandidate]) -> list[RowError]:
    """The same class and start twice, or two sessions of one class overlapping: reported on the later row."""
    errors = []
    by_class: dict[str, list[SessionCandidate]] = {}
    for c in candidates:
        by_class.setdefault(c.class_name, []).append(c)
    for sessions in by_class.values():
        sessions.sort(key=lambda c: (c.starts_at, c.row))
        latest: SessionCandidate | None = None  # the session seen so far that ends last
        for c in sessions:
            if latest is not None and c.starts_at == latest.starts_at:
                errors.append(
                    RowError(
                        c.row,
                        COLUMN_LABELS["start"],
                        Text(
                            f"trùng với dòng {latest.row} (cùng lớp, cùng giờ bắt đầu)",
                            f"duplicate of row {latest.row} (same class, same start)",
                        ),
                    )
                )
            elif latest is not None and c.starts_at < latest.ends_at:
                errors.append(
                    RowError(
                        c.row,
                        COLUMN_LABELS["start"],
                        Text(
                            f"trùng giờ với buổi ở dòng {latest.row} của cùng lớp",
                            f"overlaps the session of row {latest.row} of the same class",
                        ),
                    )
                )
            if latest is None or c.ends_at > latest.ends_at:
                latest = c
    return errors


def printable(text: str) -> str:
    """A header as the report may print it: no control characters reach the admin's terminal."""
    return "".join(c if c.isprintable() else "?" for c in text)


def unknown_class(name: str) -> Text:
    return Text(
        f"lớp {name} chưa có; tạo lớp trước bằng `truongso classes add {name}`",
        f"unknown class {name}; create it first with `truongso classes add {name}`",
    )
