"""The yearly report as a spreadsheet: XLSX (openpyxl) and CSV (UTF-8 with BOM, so Excel shows diacritics).

Both files hold the same rows, built once by `report_rows`: the query, the generation time in the school's time
zone, every figure of the page (totals, each split, month by month), the notes and how each figure is counted.
Every text cell goes through the registry export's formula neutraliser: a unit typed as "=HYPERLINK(…)" stays text.
"""

from __future__ import annotations

import csv
import io

from graders.spreadsheet import neutralise
from hub.reports.engine import FIGURES, MONTH_FIGURES, SPLITS, Report, figure_value

TITLE = "Báo cáo đào tạo năm / Yearly training report"
DEFINITIONS = (
    "Lớp, lượt học viên: lớp có năm (SchoolClass.year) là năm báo cáo; chỉ tính học viên, không tính giảng viên. "
    "/ Classes, enrolments: classes whose year is the report's year; learners only, not instructors.",
    "Hoàn thành: đạt quy tắc hoàn thành của khoá học (course.yaml) trên điểm trong sổ điểm, tính theo lượt học viên. "
    "/ Completed: meets the course's completion rule (course.yaml) on the gradebook's scores, per enrolment.",
    "Điểm trung bình: điểm tổng theo quy tắc hoàn thành (%), của các lượt học viên đã có bài được chấm. "
    "/ Average score: the completion rule's overall percent, over enrolments with graded work.",
    "Giấy chứng nhận: cấp (thu hồi) trong năm, theo giờ của trường, của các lớp khớp bộ lọc. "
    "/ Certificates: issued (revoked) during the year, school time, for the classes matching the filters.",
    "Số giờ đào tạo: tổng thời lượng các buổi học theo thời khoá biểu; lớp chưa có thời khoá biểu "
    "tính số giờ của khoá học. "
    "/ Training hours: the sum of the timetabled sessions; a class without a timetable counts its course's hours.",
    "Theo tháng: lớp và lượt học viên theo tháng khai giảng (buổi đầu tiên), hoàn thành theo ngày hoàn thành, "
    "giấy chứng nhận theo ngày cấp. / Months: classes and enrolments by start month (first session), completions by "
    "completion date, certificates by issue date.",
)


def report_rows(report: Report) -> list[list[object]]:
    """Every row of the file, in order; numbers stay numbers, undefined figures are empty cells."""
    rows: list[list[object]] = [[TITLE]]
    rows += [[label, value] for label, value in report.query.describe()]
    rows.append(
        [
            "Thời điểm lập / Generated at",
            f"{report.generated_local:%Y-%m-%d %H:%M:%S} ({report.timezone})",
        ]
    )
    rows.append([])
    rows.append(["Tổng hợp / Totals", "Giá trị / Value"])
    rows += [[str(label), _value(figure_value(report.totals, name))] for name, label in FIGURES]
    header = [str(label) for _, label in FIGURES]
    for split, title in SPLITS:
        rows.append([])
        rows.append([str(title), *header])
        rows += [[line, *(_value(figure_value(f, name)) for name, _ in FIGURES)] for line, f in report.splits[split]]
    rows.append([])
    rows.append(["Theo tháng / By month", *(str(label) for _, label in MONTH_FIGURES)])
    rows += [
        [f"{report.query.year}-{m + 1:02d}", *(month[name] for name, _ in MONTH_FIGURES)]
        for m, month in enumerate(report.months)
    ]
    if report.notes:
        rows.append([])
        rows.append(["Ghi chú / Notes"])
        rows += [[str(note)] for note in report.notes]
    rows.append([])
    rows.append(["Cách tính / How the figures are counted"])
    rows += [[line] for line in DEFINITIONS]
    return [[neutralise(cell) for cell in row] for row in rows]


def _value(value: int | float | None) -> object:
    return "" if value is None else value


def to_csv(report: Report) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(report_rows(report))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = f"Báo cáo {report.query.year}"
    bold = Font(bold=True)
    for row in report_rows(report):
        sheet.append(row)
        if len(row) > 1 and all(isinstance(v, str) for v in row) and row[0] and not row[0].startswith("Năm"):
            for cell in sheet[sheet.max_row]:
                cell.font = bold  # a table's header line
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.column_dimensions["A"].width = 48
    for letter in "BCDEFGHIJK":
        sheet.column_dimensions[letter].width = 16
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def file_name(report: Report, extension: str) -> str:
    """`bao-cao-2026.xlsx`: ASCII, with the year (and nothing a person typed)."""
    return f"bao-cao-{report.query.year}.{extension}"
