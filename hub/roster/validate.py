"""Check every row of a roster before anything is written: row-level reasons, in both languages."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

from graders.text import Text
from hub.directory.accounts import is_valid_username, normalize_username
from hub.directory.models import EnrolmentRole
from hub.roster.reader import Sheet

# Column names people actually type, compared without diacritics, case or punctuation.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "full_name": ("ho va ten", "ho ten", "hoten", "ten hoc vien", "full name", "fullname", "name"),
    "email": ("email", "e mail", "thu dien tu", "dia chi email", "email address"),
    "organisation": (
        "don vi",
        "co quan",
        "co quan don vi",
        "don vi cong tac",
        "organisation",
        "organization",
        "unit",
    ),
    "class": ("lop", "ma lop", "lop hoc", "class", "class code", "class name"),
    "username": ("ten dang nhap", "tai khoan", "username", "user name", "login"),
    "role": ("vai tro", "role"),
}
REQUIRED = ("full_name", "email", "organisation")
COLUMN_LABELS = {
    "full_name": "Họ và tên / full name",
    "email": "Email",
    "organisation": "Đơn vị / organisation",
    "class": "Lớp / class",
    "username": "Tên đăng nhập / username",
    "role": "Vai trò / role",
}
ROLE_WORDS = {
    "hoc vien": EnrolmentRole.learner,
    "learner": EnrolmentRole.learner,
    "": EnrolmentRole.learner,
    "giang vien": EnrolmentRole.instructor,
    "instructor": EnrolmentRole.instructor,
}
CLASS_CODE_RE = re.compile(r"^[A-Z0-9](?:[A-Z0-9._-]{0,62})$")
# Letters (any script), combining marks, spaces and the punctuation real names use.
_NAME_RE = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ .'\-])*$")


def fold(text: str) -> str:
    """`Họ và Tên` -> `ho va ten`: for matching column names and role words."""
    text = text.replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def normalize_class_code(code: str) -> str:
    return code.strip().upper()


@dataclass
class RowError:
    row: int
    column: str
    reason: Text


@dataclass
class Candidate:
    row: int
    username: str
    full_name: str
    email: str
    organisation: str
    class_name: str
    role: EnrolmentRole


@dataclass
class Checked:
    candidates: list[Candidate] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def map_columns(headers: list[str]) -> tuple[dict[str, int], list[RowError]]:
    wanted = {alias: key for key, aliases in COLUMN_ALIASES.items() for alias in aliases}
    columns: dict[str, int] = {}
    errors = []
    for index, header in enumerate(headers):
        key = wanted.get(fold(header))
        if key is None:
            continue
        if key in columns:
            errors.append(
                RowError(
                    1,
                    header,
                    Text(
                        f"cột {COLUMN_LABELS[key]} xuất hiện hai lần",
                        f"column {COLUMN_LABELS[key]} appears twice",
                    ),
                )
            )
        columns[key] = index
    return columns, errors


def check_sheet(
    sheet: Sheet,
    known_classes: set[str],
    default_class: str | None,
) -> Checked:
    """Every problem of every row; candidates are only meaningful when `errors` is empty."""
    columns, errors = map_columns(sheet.headers)
    result = Checked(errors=errors)
    missing = [key for key in REQUIRED if key not in columns]
    if "class" not in columns and default_class is None:
        missing.append("class")
    if missing:
        labels = ", ".join(COLUMN_LABELS[k] for k in missing)
        result.errors.append(RowError(1, "", Text(f"thiếu cột: {labels}", f"missing column(s): {labels}")))
        return result
    if default_class is not None and default_class not in known_classes:
        result.errors.append(RowError(0, "--class", _unknown_class(default_class)))
        return result

    seen_email: dict[str, int] = {}
    seen_username: dict[str, int] = {}
    for number, cells in sheet.rows:
        if not any(cells):
            continue  # blank lines at the end of a spreadsheet are not rows

        def cell(key: str, cells: list[str] = cells) -> str:
            index = columns.get(key)
            return cells[index] if index is not None and index < len(cells) else ""

        row_errors: list[RowError] = []

        def fail(column: str, vi: str, en: str, number: int = number, row_errors: list = row_errors) -> None:
            row_errors.append(RowError(number, COLUMN_LABELS.get(column, column), Text(vi, en)))

        full_name = cell("full_name")
        if not full_name:
            fail("full_name", "thiếu họ và tên", "full name is empty")
        elif len(full_name) > 200 or not _NAME_RE.match(full_name):
            fail(
                "full_name",
                f"họ và tên không hợp lệ: {full_name[:60]!r}",
                f"invalid full name: {full_name[:60]!r}",
            )

        email = ""
        raw_email = cell("email")
        if not raw_email:
            fail("email", "thiếu email", "email is empty")
        else:
            try:
                email = validate_email(raw_email, check_deliverability=False, allow_smtputf8=False).normalized
                email = email.lower()
            except EmailNotValidError as exc:
                fail(
                    "email",
                    f"email không hợp lệ: {raw_email[:80]!r}",
                    f"invalid email {raw_email[:80]!r}: {exc}",
                )

        organisation = cell("organisation")
        if not organisation:
            fail("organisation", "thiếu đơn vị", "organisation is empty")
        elif len(organisation) > 300 or any(unicodedata.category(c) == "Cc" for c in organisation):
            fail("organisation", "tên đơn vị không hợp lệ", "invalid organisation")

        class_name = normalize_class_code(cell("class")) or (default_class or "")
        if default_class is not None and class_name != default_class:
            fail(
                "class",
                f"lớp {class_name} khác với --class {default_class}",
                f"class {class_name} differs from --class {default_class}",
            )
        elif not class_name:
            fail("class", "thiếu mã lớp", "class is empty")
        elif class_name not in known_classes:
            text = _unknown_class(class_name)
            fail("class", text.vi, text.en)

        role = ROLE_WORDS.get(fold(cell("role")))
        if role is None:
            fail(
                "role",
                f"vai trò không rõ: {cell('role')[:40]!r} (học viên / giảng viên)",
                f"unknown role {cell('role')[:40]!r} (learner / instructor)",
            )

        username = normalize_username(cell("username")) or email
        if username and not is_valid_username(username):
            column = "username" if cell("username") else "email"
            fail(
                column,
                f"tên đăng nhập không hợp lệ: {username[:64]!r} (chữ thường không dấu, số, . _ @ + -)",
                f"invalid username {username[:64]!r} (lower-case ASCII letters, digits, . _ @ + -)",
            )

        checks = [("email", email, seen_email)]
        if username != email:  # a username taken from the email would repeat the same complaint
            checks.append(("username", username, seen_username))
        for key, value, seen in checks:
            if value and value in seen:
                fail(
                    key,
                    f"trùng với dòng {seen[value]} trong tệp",
                    f"duplicate of row {seen[value]} in the file",
                )
            elif value:
                seen[value] = number

        if row_errors:
            result.errors.extend(row_errors)
        else:
            result.candidates.append(
                Candidate(
                    number,
                    username,
                    full_name,
                    email,
                    organisation,
                    class_name,
                    role or EnrolmentRole.learner,
                )
            )
    if not result.candidates and not result.errors:
        result.errors.append(RowError(2, "", Text("tệp không có dòng dữ liệu nào", "the file has no data rows")))
    return result


def _unknown_class(name: str) -> Text:
    return Text(
        f"lớp {name} chưa có; tạo lớp trước bằng `truongso classes add {name}`",
        f"unknown class {name}; create it first with `truongso classes add {name}`",
    )
