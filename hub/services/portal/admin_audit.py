"""The audit log of the console and the CLI (nhật ký quản trị): newest first, paged, filtered by actor, action,
target and day (the school's); each row's before/after as a readable list of changed fields; the same rows as
CSV (UTF-8 with BOM) or XLSX, formulas neutralised, with the query and the time of the export in the file."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Query
from tornado import web

from graders.spreadsheet import neutralise
from graders.text import BilingualError
from graders.timeutil import school_zone, show, utcnow
from hub.blocking import run_blocking
from hub.directory.models import AdminAction
from hub.services.portal.admin_base import AdminPage

PAGE_SIZE = 50
MAX_EXPORT = 100_000
MAX_FILTER = 200


@dataclass(frozen=True)
class AuditQuery:
    actor: str = ""
    action: str = ""
    target: str = ""
    day_from: str = ""  # yyyy-mm-dd, the school's day
    day_to: str = ""

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in vars(self).items() if v]
        return ", ".join(parts) or "(tất cả / all)"


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


def parse_day(text: str, zone: str, next_day: bool = False) -> datetime | None:
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise BilingualError(
            f"ngày không hợp lệ: {text[:20]!r} (yyyy-mm-dd)", f"invalid date {text[:20]!r}", 400
        ) from None
    if next_day:
        day += timedelta(days=1)
    return day.replace(tzinfo=school_zone(zone))


def filtered(session: Any, query: AuditQuery, zone: str) -> Query:
    rows = session.query(AdminAction)
    if query.actor:
        rows = rows.filter(AdminAction.actor == query.actor)
    if query.action:
        rows = rows.filter(AdminAction.action.startswith(query.action, autoescape=True))
    if query.target:
        rows = rows.filter(AdminAction.target.contains(query.target, autoescape=True))
    start, end = parse_day(query.day_from, zone), parse_day(query.day_to, zone, next_day=True)
    if start is not None:
        rows = rows.filter(AdminAction.at >= start)
    if end is not None:
        rows = rows.filter(AdminAction.at < end)
    return rows.order_by(AdminAction.at.desc(), AdminAction.id.desc())


def changes(before: str, after: str) -> list[Change]:
    """The fields that differ between two JSON snapshots (every field when one side is empty)."""
    old, new = _load(before), _load(after)
    keys = sorted(set(old) | set(new))
    return [Change(k, _text(old.get(k)), _text(new.get(k))) for k in keys if old.get(k) != new.get(k)]


def _load(text: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"": text}
    return value if isinstance(value, dict) else {"": value}


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def page_of(app: Any, query: AuditQuery, page: int) -> tuple[list[dict[str, Any]], int]:
    zone = app.settings.timezone
    with app.directory.session() as s:
        rows = filtered(s, query, zone)
        total = rows.count()
        entries = rows.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE).all()
        return [_entry(e, zone) for e in entries], total


def _entry(e: AdminAction, zone: str) -> dict[str, Any]:
    return {"id": e.id, "at": show(e.at, zone), "actor": e.actor, "action": e.action, "target": e.target,
            "changes": changes(e.before, e.after), "before": e.before, "after": e.after}  # fmt: skip


EXPORT_HEADER = ["Thời điểm / When", "Người thực hiện / Actor", "Thao tác / Action", "Đối tượng / Target",
                 "Trước / Before (JSON)", "Sau / After (JSON)"]  # fmt: skip


def export_rows(app: Any, query: AuditQuery) -> list[list[Any]]:
    zone = app.settings.timezone
    with app.directory.session() as s:
        entries = filtered(s, query, zone).limit(MAX_EXPORT).all()
        return [[neutralise(v) for v in (show(e.at, zone), e.actor, e.action, e.target, e.before, e.after)]
                for e in entries]  # fmt: skip


def preamble(query: AuditQuery, zone: str) -> list[list[str]]:
    return [
        ["Nhật ký quản trị / Admin audit log"],
        ["Truy vấn / Query", neutralise(query.describe())],
        ["Tạo lúc / Generated at", show(utcnow(), zone)],
        [],
    ]


def to_csv(rows: list[list[Any]], query: AuditQuery, zone: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([*preamble(query, zone), EXPORT_HEADER, *rows])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: list[list[Any]], query: AuditQuery, zone: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Nhat ky"
    for row in (*preamble(query, zone), EXPORT_HEADER, *rows):
        sheet.append([str(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class AuditHandler(AdminPage):
    @web.authenticated
    async def get(self) -> None:
        await self.admin()
        query = AuditQuery(*(self.get_query_argument(k, "").strip()[:MAX_FILTER]
                             for k in ("actor", "action", "target", "from", "to")))  # fmt: skip
        page_text = self.get_query_argument("page", "1")[:6]
        page = int(page_text) if page_text.isascii() and page_text.isdigit() and int(page_text) > 0 else 1
        zone = self.app.settings.timezone
        kind = self.get_query_argument("format", "")
        if kind in ("csv", "xlsx"):
            rows = await run_blocking(export_rows, self.app, query)
            stamp = datetime.now(school_zone(zone)).strftime("%Y%m%d-%H%M")
            if kind == "csv":
                data, mime = await run_blocking(to_csv, rows, query, zone), "text/csv; charset=utf-8"
            else:
                data = await run_blocking(to_xlsx, rows, query, zone)
                mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            self.set_header("Content-Type", mime)
            self.set_header("Content-Disposition", f'attachment; filename="nhat-ky-quan-tri-{stamp}.{kind}"')
            self.finish(data)
            return
        if kind:
            raise BilingualError("định dạng không hỗ trợ (csv, xlsx)", "unsupported format (csv, xlsx)", 400)
        entries, total = await run_blocking(page_of, self.app, query, page)
        pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
        self.render("admin_audit.html", entries=entries, total=total, page=page, pages=pages, query=query,
                    query_string=self._query_string(query))  # fmt: skip

    @staticmethod
    def _query_string(query: AuditQuery) -> str:
        from urllib.parse import urlencode

        names = {"day_from": "from", "day_to": "to"}
        return urlencode({names.get(k, k): v for k, v in vars(query).items() if v})


handlers = [("admin/audit", AuditHandler)]
