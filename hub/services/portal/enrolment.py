"""Enrolment from a spreadsheet in the browser: the uploaded file kept on the server between the preview and the
confirmation, checked by the rules of `truongso users import` (hub.roster) and applied by its importer, and the
new accounts' initial passwords handed out once.

Files live in `<data dir>/enrol-uploads/` (0700), each named by a random token, 0600; an upload and a
passwords file are removed after an hour, a passwords file also as soon as it is downloaded. What the client
sends after the upload is the token only: the file, its name and the chosen class are read back from here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import tempfile
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from graders.text import BilingualError, Text, UserError
from hub.directory.audit import record_action
from hub.directory.classes import AuditedDirectory, Changes
from hub.directory.db import Directory
from hub.directory.models import ClassStatus, Enrolment, Person, SchoolClass
from hub.roster.importer import ImportReport, import_roster
from hub.roster.reader import MAX_FILE_BYTES, MAX_ROWS, Sheet, clean_text, read_roster
from hub.roster.validate import RowError, check_sheet, map_columns, normalize_class_code

KEEP_SECONDS = 3600  # an upload or a passwords file left longer is removed
KEEP_RECORD_SECONDS = 24 * 3600  # the small record of an upload, to say "already downloaded" (410) for a day
UPLOAD_BODY_BYTES = MAX_FILE_BYTES + 64 * 1024  # the largest roster plus the multipart envelope and form fields
MAX_CELL = 1000  # characters; no name, email or unit is near it
FORMULA_START = ("=", "+", "-", "@")
SUFFIXES = (".csv", ".xlsx", ".txt")
UNREADABLE = Text(
    "không đọc được tệp ({kind}): hãy mở bằng Excel và lưu lại dưới dạng .xlsx hoặc CSV UTF-8",
    "the file cannot be read ({kind}): open it in Excel and save it again as .xlsx or CSV UTF-8",
)
IMPORT_ACTION = "roster.import"  # as `truongso users import` logs it: one filter finds both
DOWNLOAD_ACTION = "roster.passwords_download"
log = logging.getLogger("truongso.portal")
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")


@dataclass
class Upload:
    """The record of one upload (its JSON file beside the upload)."""

    token: str
    actor: str
    file_name: str  # as the admin's computer named it: shown and audited, never used as a path
    suffix: str
    sha256: str
    size: int
    default_class: str | None
    created: float
    state: str = "uploaded"  # uploaded -> imported -> downloaded
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class Preview:
    """What the file would do: `refusal` (the file as a whole) or row `errors`, else the counts of `report`."""

    refusal: Text | None = None
    errors: list[RowError] = field(default_factory=list)
    report: ImportReport | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None and not self.errors and self.report is not None


class Staging:
    """The folder of uploads between preview and confirmation."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _ensure(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)

    def put(self, actor: str, file_name: str, data: bytes, default_class: str | None) -> Upload:
        suffix = Path(file_name).suffix.lower()
        if suffix not in SUFFIXES:
            raise UserError(
                f"không hỗ trợ định dạng {suffix[:20] or '(không có đuôi)'}: dùng .csv hoặc .xlsx",
                f"unsupported file type {suffix[:20] or '(no extension)'}: use .csv or .xlsx",
                400,
            )
        if len(data) > MAX_FILE_BYTES:
            mb = MAX_FILE_BYTES // 1024 // 1024
            raise UserError(f"tệp quá lớn (tối đa {mb} MB)", f"file too large (at most {mb} MB)", 413)
        self._ensure()
        self.sweep()
        upload = Upload(secrets.token_urlsafe(24), actor, _shown_name(file_name), suffix,
                        hashlib.sha256(data).hexdigest(), len(data), default_class, time.time())  # fmt: skip
        _write_private(self.file(upload), data)
        self.save(upload)
        return upload

    def file(self, upload: Upload) -> Path:
        return self.root / f"{upload.token}{upload.suffix}"

    def passwords(self, upload: Upload) -> Path:
        return self.root / f"{upload.token}.passwords.csv"

    def save(self, upload: Upload) -> None:
        record = self.root / f"{upload.token}.json"
        partial = record.with_suffix(".json.partial")
        _write_private(partial, json.dumps(asdict(upload)).encode(), replace=True)
        partial.replace(record)

    def get(self, token: str, actor: str) -> Upload:
        """The upload `token` of `actor` (another admin's is not theirs to confirm); 404 otherwise."""
        missing = BilingualError("Không có tệp tải lên này (hoặc đã quá hạn)", "no such upload (or it expired)", 404)
        if not _TOKEN_RE.match(token):
            raise missing
        self.sweep()
        try:
            upload = Upload(**json.loads((self.root / f"{token}.json").read_text()))
        except (OSError, ValueError, TypeError):
            raise missing from None
        if upload.actor != actor:
            raise missing
        return upload

    def take_passwords(self, upload: Upload) -> bytes:
        """The passwords file, once: claimed by a rename (two clicks cannot both get it), read, deleted."""
        claimed = self.root / f"{upload.token}.taken-{secrets.token_hex(8)}"
        try:
            self.passwords(upload).rename(claimed)
        except FileNotFoundError:
            raise BilingualError(
                "Tệp mật khẩu chỉ tải được một lần và đã được tải (hoặc đã quá một giờ). Nếu làm mất, hãy đặt lại "
                "mật khẩu từng người ở trang Người dùng.",
                "The passwords file can be downloaded once and already was (or an hour has passed). If it is lost, "
                "reset each person's password on the People page.",
                410,
            ) from None
        try:
            return claimed.read_bytes()
        finally:
            claimed.unlink(missing_ok=True)

    def sweep(self, now: float | None = None) -> None:
        """Remove uploads and passwords files older than an hour, records older than a day."""
        now = time.time() if now is None else now
        try:
            entries = list(self.root.iterdir())
        except FileNotFoundError:
            return
        for path in entries:
            try:
                if not path.is_file():
                    continue
                age = now - path.stat().st_mtime
            except FileNotFoundError:
                continue
            limit = KEEP_RECORD_SECONDS if path.suffix == ".json" else KEEP_SECONDS
            if age > limit:
                path.unlink(missing_ok=True)


def check_upload(directory: Directory, path: Path, default_class: str | None) -> Preview:
    """Everything `truongso users import --dry-run` checks, after the hostile-content checks; writes nothing."""
    try:
        sheet = read_roster(path)  # refuses zip bombs and oversized sheets before reading rows
        errors = _xlsx_guard(path) if path.suffix == ".xlsx" else []
    except BilingualError as exc:
        return Preview(refusal=exc.text)
    except Exception as exc:  # what a hostile file makes a parser raise: a refusal, not a 500
        log.warning("roster upload %s unreadable: %r", path.name, exc)
        return Preview(refusal=UNREADABLE.format(kind=exc.__class__.__name__))
    errors += _cell_errors(sheet)
    if errors:
        return Preview(errors=_sorted(errors))
    try:
        report = import_roster(directory, path, Path(tempfile.gettempdir()), default_class=default_class, dry_run=True)
    except BilingualError as exc:
        return Preview(refusal=exc.text)
    if report.errors:
        return Preview(errors=_sorted(report.errors), report=report)
    closed = _closed_class_errors(directory, sheet, default_class)
    if closed:
        return Preview(errors=closed, report=report)
    return Preview(report=report)


def apply_upload(directory: Directory, staging: Staging, upload: Upload, actor: str) -> Preview:
    """Check the kept file again (the directory may have changed since the preview), then import it, all or
    nothing, with its audit row in the import's own transaction. The file is claimed first (a rename), so two
    clicks on Confirm import it once."""
    path = staging.file(upload)
    claimed = path.with_name(f"{upload.token}.importing{upload.suffix}")
    try:
        if upload.state != "uploaded":
            raise FileNotFoundError
        path.rename(claimed)
    except FileNotFoundError:
        raise BilingualError(
            "Tệp này đã được nhập hoặc đã quá hạn", "this file was already imported or expired", 409
        ) from None
    try:
        preview = _import(directory, staging, upload, actor, claimed)
    except BaseException:
        claimed.rename(path)  # not imported: the admin may try again
        raise
    if not preview.ok:
        claimed.rename(path)
        return preview
    claimed.unlink(missing_ok=True)
    upload.state = "imported"
    upload.counts = as_counts(preview.report)
    staging.save(upload)
    return preview


def _import(directory: Directory, staging: Staging, upload: Upload, actor: str, path: Path) -> Preview:
    preview = check_upload(directory, path, upload.default_class)
    if not preview.ok:
        return preview
    audit_after = {"file": upload.file_name, "sha256": upload.sha256, "default_class": upload.default_class}

    def audit(session: Session, changes: Changes) -> None:
        if changes:
            counts = {
                "created": sum(isinstance(o, Person) for o in changes.new),
                "updated": len({o.username for o in changes.dirty if isinstance(o, Person)}),
                "enrolled": sum(isinstance(o, Enrolment) for o in (*changes.new, *changes.dirty)),
            }
            record_action(session, actor, IMPORT_ACTION, upload.file_name, None, {**audit_after, **counts})

    report = import_roster(AuditedDirectory(directory, audit), path, staging.root,  # type: ignore[arg-type]
                           default_class=upload.default_class)  # fmt: skip
    if not report.ok:
        return Preview(errors=_sorted(report.errors), report=report)
    if report.created + report.updated + report.enrolled == 0:  # nothing changed: still the admin's action
        with directory.session() as s:
            record_action(s, actor, IMPORT_ACTION, upload.file_name, None,
                          {**audit_after, "created": 0, "updated": 0, "enrolled": 0})  # fmt: skip
    if report.passwords_file is not None:
        report.passwords_file.replace(staging.passwords(upload))
    return Preview(report=report)


def open_classes(directory: Directory) -> list[SchoolClass]:
    with directory.session() as s:
        rows = s.query(SchoolClass).filter(SchoolClass.status == ClassStatus.open).order_by(SchoolClass.name).all()
        s.expunge_all()
        return rows


# -- hostile content --------------------------------------------------------------------------------------------


def _xlsx_guard(path: Path) -> list[RowError]:
    """Formulas (read as formulas, not as their cached values) and over-long cells in the first sheet, which the
    roster reader reads. Runs after the reader, which refuses zip bombs and oversized sheets (xlsx_limits)."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception:  # the reader gives the clear message for a damaged file
        return []
    errors: list[RowError] = []
    try:
        headers: list[str] = []
        kept: set[int] = set()
        for number, values in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
            if number > MAX_ROWS + 1:
                break  # the reader refuses the file for its length
            if number == 1:
                headers = [clean_text(v) for v in values]
                kept = set(map_columns(headers)[0].values())
            errors += _bad_cells(number, [v if isinstance(v, str) else "" for v in values], headers, kept)
    except Exception:
        return errors
    finally:
        book.close()
    return errors


def _cell_errors(sheet: Sheet) -> list[RowError]:
    kept = set(map_columns(sheet.headers)[0].values())
    errors = _bad_cells(1, sheet.headers, sheet.headers, kept)
    for number, cells in sheet.rows:
        errors += _bad_cells(number, cells, sheet.headers, kept)
    return errors


def _bad_cells(number: int, cells: list[str], headers: list[str], kept: set[int]) -> list[RowError]:
    """Over-long cells anywhere; formulas: `=` anywhere, `+ - @` in the columns the import keeps (a phone
    number "+84…" in a column nobody reads is harmless)."""
    errors = []
    for index, value in enumerate(cells):
        if not value:
            continue
        column = headers[index][:60] if index < len(headers) and headers[index] else _letter(index)
        if len(value) > MAX_CELL:
            reason = Text(
                f"ô quá dài ({len(value)} ký tự, tối đa {MAX_CELL})",
                f"cell too long ({len(value)} characters, at most {MAX_CELL})",
            )
            errors.append(RowError(number, column, reason))
        elif value.startswith("=") or (index in kept and value.startswith(FORMULA_START)):
            reason = Text(
                f"ô bắt đầu bằng {value[0]!r} (công thức bảng tính): {value[:40]!r}; hãy nhập chữ thường",
                f"cell starts with {value[0]!r} (a spreadsheet formula): {value[:40]!r}; type plain text",
            )
            errors.append(RowError(number, column, reason))
    return errors


def _closed_class_errors(directory: Directory, sheet: Sheet, default_class: str | None) -> list[RowError]:
    """Rows that would enrol someone new in a closed or archived class."""
    with directory.session() as s:
        status = dict(s.query(SchoolClass.name, SchoolClass.status))
        checked = check_sheet(sheet, set(status), normalize_class_code(default_class) if default_class else None)
        shut = {c.class_name for c in checked.candidates if status.get(c.class_name) != ClassStatus.open}
        enrolled = {(e.class_name, e.username) for e in s.query(Enrolment).filter(Enrolment.class_name.in_(shut))}
    shut_text = Text(
        "lớp {name} đã đóng hoặc lưu trữ: không nhận ghi danh mới",
        "class {name} is closed or archived: it takes no new enrolments",
    )
    return [
        RowError(c.row, "Lớp / class", shut_text.format(name=c.class_name))
        for c in checked.candidates
        if c.class_name in shut and (c.class_name, c.username) not in enrolled
    ]


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _sorted(errors: list[RowError]) -> list[RowError]:
    """By row, each complaint once (an XLSX cell is looked at as a formula and as its value)."""
    unique = {(e.row, e.column, e.reason): e for e in errors}
    return sorted(unique.values(), key=lambda e: e.row)


def _shown_name(name: str) -> str:
    """The uploaded file's own name, for people to recognise: the last path part, printable, at most 200."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in unicodedata.normalize("NFC", base) if unicodedata.category(c)[0] != "C")[:200] or "?"


def _write_private(path: Path, data: bytes, replace: bool = False) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def upload_dir(data_path: Path) -> Path:
    return data_path / "enrol-uploads"


def as_counts(report: ImportReport | None) -> dict[str, Any]:
    if report is None:
        return {}
    return {"rows": report.rows, "created": report.created, "updated": report.updated,
            "unchanged": report.unchanged, "enrolled": report.enrolled}  # fmt: skip
