"""`truongso report`: the yearly report (the figures of /services/portal/admin/reports) as a table, CSV or XLSX."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from graders.text import UserError
from hub.cli.common import add_data_dir, existing_data_dir, load_settings, open_directory


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("report", help="báo cáo đào tạo năm / the yearly training report")
    add_data_dir(p)
    p.add_argument("--year", help="năm (mặc định: năm nay) / year (default: this year)")
    p.add_argument("--course", help="mã khoá học / course id")
    p.add_argument("--unit", help="đơn vị tổ chức / organising unit")
    p.add_argument("--province", help="tỉnh, thành phố / province")
    p.add_argument("--funding", choices=("budget", "non_budget"), help="nguồn kinh phí / funding source")
    p.add_argument("--format", choices=("table", "csv", "xlsx"), default="table", help="định dạng / format")
    p.add_argument("--output", type=Path, help="ghi ra tệp / write to this file (xlsx: required)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from hub.reports.engine import ReportQuery, build_report
    from hub.reports.export import to_csv, to_xlsx

    if args.format == "xlsx" and args.output is None:
        raise UserError("định dạng xlsx cần --output TỆP", "the xlsx format needs --output FILE")
    settings = load_settings(existing_data_dir(args.data_dir))
    year = args.year if args.year is not None else datetime.now(UTC).astimezone(ZoneInfo(settings.timezone)).year
    query = ReportQuery.clean(year, args.course, args.unit, args.province, args.funding)
    directory = open_directory(settings)
    try:
        report = build_report(directory, settings, query)
    finally:
        directory.dispose()
    if args.format == "table":
        text = render_table(report)
        if args.output is None:
            sys.stdout.write(text)
        else:
            _write(args.output, text.encode("utf-8"))
        return 0
    body = to_xlsx(report) if args.format == "xlsx" else to_csv(report)
    if args.output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    else:
        _write(args.output, body)
        print(f"Đã ghi / written: {args.output}", file=sys.stderr)
    return 0


def _write(path: Path, body: bytes) -> None:
    try:
        path.write_bytes(body)
    except OSError as exc:
        raise UserError(f"không ghi được {path}: {exc.strerror}", f"cannot write {path}: {exc.strerror}") from None


def render_table(report) -> str:
    """The report as aligned text: the query, the totals, each split (columns numbered, legend above), months."""
    from hub.reports.engine import FIGURES, MONTH_FIGURES, SPLITS, figure_value, shown

    lines = ["Báo cáo đào tạo năm / Yearly training report"]
    lines += [f"  {label}: {value}" for label, value in report.query.describe()]
    lines.append(f"  Thời điểm lập / Generated at: {report.generated_local:%Y-%m-%d %H:%M:%S} ({report.timezone})")
    lines += [f"  ! {note}" for note in report.notes]
    lines.append("")
    width = max(len(str(label)) for _, label in FIGURES)
    lines.append("Tổng hợp / Totals")
    for name, label in FIGURES:
        lines.append(f"  {label!s:<{width}}  {shown(figure_value(report.totals, name)):>10}")
    lines.append("")
    lines += ["Cột / Columns:", *(f"  [{i}] {label}" for i, (_, label) in enumerate(FIGURES, 1))]
    for split, title in SPLITS:
        rows = [[line, *(shown(figure_value(f, name)) for name, _ in FIGURES)] for line, f in report.splits[split]]
        lines += ["", str(title), *_table(["", *(f"[{i}]" for i in range(1, len(FIGURES) + 1))], rows)]
    lines += ["", "Theo tháng / By month"]
    lines += ["Cột / Columns:", *(f"  [{i}] {label}" for i, (_, label) in enumerate(MONTH_FIGURES, 1))]
    rows = [
        [f"{report.query.year}-{m:02d}", *(shown(month[name]) for name, _ in MONTH_FIGURES)]
        for m, month in enumerate(report.months, 1)
    ]
    lines += _table(["", *(f"[{i}]" for i in range(1, len(MONTH_FIGURES) + 1))], rows)
    return "\n".join(lines) + "\n"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return ["  (không có dữ liệu / no data)"]
    first = min(48, max(len(r[0]) for r in [header, *rows]))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(1, len(header))]

    def line(row: list[str]) -> str:
        label = row[0] if len(row[0]) <= first else row[0][: first - 1] + "…"
        return "  " + f"{label:<{first}}" + "".join(f"  {cell:>{w}}" for cell, w in zip(row[1:], widths, strict=True))

    return [line(header), *(line(r) for r in rows)]
