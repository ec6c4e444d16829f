"""The charts of the yearly report page: built from a Report's figures with hub.reports.charts, kept while the
figures are unchanged (drawing costs tens of milliseconds a chart, the figures change only when data does)."""

from __future__ import annotations

import threading
from typing import Any

from hub.reports import charts
from hub.reports.engine import MONTH_FIGURES, Report

TOP = 12  # lines of a split drawn; the table beside the chart has them all
_cache: dict[tuple, list[tuple[str, str]]] = {}
_lock = threading.Lock()


def report_charts(report: Report) -> list[tuple[str, str]]:
    """(anchor id, inline SVG) of each chart of the report page."""
    specs = _specs(report)
    key = repr(specs)
    with _lock:
        if key in _cache:
            return _cache[key]
    drawn = [(anchor, draw()) for anchor, draw in _drawers(specs)]
    with _lock:
        _cache[key] = drawn
        while len(_cache) > 32:
            _cache.pop(next(iter(_cache)))
    return drawn


def _specs(report: Report) -> dict:
    """Exactly what the charts show, as plain values: the cache key and the drawing's input."""
    year = report.query.year
    specs = {
        "months": (
            [f"{m:02d}/{year}" for m in range(1, 13)],
            {str(label): [month[name] for month in report.months] for name, label in MONTH_FIGURES},
        )
    }
    for split in ("funding", "course", "unit", "province"):
        lines = report.splits[split][:TOP]
        specs[split] = (
            [label for label, _ in lines],
            {
                "Lượt học viên / Enrolments": [f.enrolments for _, f in lines],
                "Lượt hoàn thành / Completed": [f.completed for _, f in lines],
            },
        )
    return specs


def _drawers(specs: dict):
    titles = {
        "funding": "Theo nguồn kinh phí / By funding source",
        "course": "Theo khoá học / By course",
        "unit": f"Theo đơn vị tổ chức ({TOP} lớn nhất) / By organising unit (top {TOP})",
        "province": f"Theo tỉnh, thành phố ({TOP} lớn nhất) / By province (top {TOP})",
    }
    labels, series = specs["months"]
    yield "chart-months", lambda: charts.bar_chart(labels, series, "Theo tháng / By month", "Số lượng / Count", False)
    for split, title in titles.items():
        labels_s, series_s = specs[split]
        yield (
            f"chart-{split}",
            lambda lab=labels_s, ser=series_s, t=title: charts.bar_chart(lab, ser, t, "Số lượng / Count"),
        )


def warm(directory: Any, settings: Any) -> None:
    """Build this year's report once and draw its charts: every course's gradebook is read into the report's cache,
    SQLAlchemy compiles its statements and matplotlib loads its fonts, so the first report page after the portal
    starts costs what later ones do. For a background thread at start-up; a report that cannot be built is left
    for the page to explain."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from hub.reports.engine import ReportError, ReportQuery, _course_results, build_report

    year = datetime.now(UTC).astimezone(ZoneInfo(settings.timezone)).year
    try:
        for course in settings.load_courses():  # every course, whichever year its classes are of
            _course_results(course, settings.gradebook_url_for(course.id), [])
        report_charts(build_report(directory, settings, ReportQuery.clean(year)))
    except ReportError:
        pass
