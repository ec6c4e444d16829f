"""The yearly report page (/services/portal/admin/reports): filters (a GET form), every figure, the splits, the
charts inline as SVG, and the same figures as XLSX or CSV (`?format=xlsx|csv`). Admins only (AdminPage)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from tornado import web

from graders.text import BilingualError
from hub.blocking import run_blocking
from hub.reports.engine import (
    FIGURES,
    FUNDING_LABELS,
    MONTH_FIGURES,
    SPLITS,
    Report,
    ReportQuery,
    build_report,
    figure_value,
    shown,
)
from hub.reports.export import DEFINITIONS, file_name, to_csv, to_xlsx
from hub.reports.report_charts import report_charts
from hub.services.portal.admin_base import AdminPage

FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def query_from(arguments: dict[str, str], timezone: str) -> ReportQuery:
    """The report asked for by the page's query string; this year (school time) when no year is given."""
    year = arguments.get("year") or datetime.now(UTC).astimezone(ZoneInfo(timezone)).year
    return ReportQuery.clean(
        year, arguments.get("course"), arguments.get("unit"), arguments.get("province"), arguments.get("funding")
    )


class ReportsHandler(AdminPage):
    @web.authenticated
    async def get(self) -> None:
        await self.admin()
        arguments = {
            name: self.get_argument(name, "") for name in ("year", "course", "unit", "province", "funding", "format")
        }
        kind = arguments.pop("format")
        if kind and kind not in FORMATS:
            raise BilingualError("định dạng phải là xlsx hoặc csv", "the format must be xlsx or csv", 400)
        query = query_from(arguments, self.app.settings.timezone)
        report: Report = await run_blocking(build_report, self.app.directory, self.app.settings, query)
        if kind:
            body = await run_blocking(to_xlsx if kind == "xlsx" else to_csv, report)
            self.set_header("Content-Type", FORMATS[kind])
            self.set_header("Content-Disposition", f'attachment; filename="{file_name(report, kind)}"')
            self.set_header("Cache-Control", "no-store")
            self.finish(body)
            return
        charts = await run_blocking(report_charts, report)
        wanted = {k: v for k, v in (("year", str(query.year)), *self._filters(query)) if v}
        self.render(
            "admin_reports.html",
            report=report,
            query=query,
            charts=charts,
            figures=FIGURES,
            splits=SPLITS,
            month_figures=MONTH_FIGURES,
            funding_labels=FUNDING_LABELS,
            courses=sorted(self.app.courses.values(), key=lambda c: c.id),
            definitions=DEFINITIONS,
            value=figure_value,
            shown=shown,
            download={kind: "?" + urlencode({**wanted, "format": kind}) for kind in FORMATS},
        )

    @staticmethod
    def _filters(query: ReportQuery) -> list[tuple[str, str]]:
        return [
            ("course", query.course_id or ""),
            ("unit", query.unit or ""),
            ("province", query.province or ""),
            ("funding", query.funding or ""),
        ]


handlers = [("admin/reports", ReportsHandler)]
