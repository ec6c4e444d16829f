"""`truongso report`: the page's figures as an aligned table, CSV or XLSX, on the small school of test_reports;
bad arguments end with one bilingual line and exit 1 (bad value) or 2 (usage)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_reports import HANOI, School, build_school, flat

from hub.cli import main
from hub.reports.engine import FIGURES, ReportQuery, build_report, figure_value, shown


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> Iterator[School]:
    world = build_school(tmp_path_factory.mktemp("report-cli"))
    yield world
    world.directory.dispose()


def run(school: School, *args: str) -> int:
    return main(["report", "--data-dir", str(school.data_dir), *args])


def test_the_table_prints_every_figure_of_the_page(school: School, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(school, "--year", "2026") == 0
    out = capsys.readouterr().out
    report = build_report(school.directory, school.settings, ReportQuery.clean(2026))
    totals = out.split("Tổng hợp / Totals\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(totals) == len(FIGURES)
    for line, (name, label) in zip(totals, FIGURES, strict=True):
        assert line.strip().startswith(str(label)) and line.endswith(" " + shown(figure_value(report.totals, name)))
    assert "Năm / Year: 2026" in out and "Theo nguồn kinh phí / By funding source" in out
    assert "Ngoài ngân sách (xã hội hoá) / Non-budget" in out and "2026-05" in out
    hanoi = next(line for line in out.split("Theo đơn vị tổ chức")[1].splitlines() if line.strip().startswith("Sở"))
    unit = dict(report.splits["unit"])[HANOI]
    assert hanoi.split()[-10:] == [shown(figure_value(unit, name)) for name, _ in FIGURES]


def test_csv_and_xlsx_files_hold_the_same_figures(
    school: School, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from openpyxl import load_workbook

    assert run(school, "--year", "2026", "--funding", "non_budget", "--format", "csv") == 0
    cells = flat(list(csv.reader(io.StringIO(capsys.readouterr().out.lstrip("\ufeff")))))
    assert cells["Tổng hợp / Totals", "Số lớp / Classes"] == ["2"]
    out = tmp_path / "bao-cao.xlsx"
    assert run(school, "--year", "2026", "--course", "ky-nang-so", "--format", "xlsx", "--output", str(out)) == 0
    cells = flat([list(r) for r in load_workbook(out).active.iter_rows(values_only=True)])
    report = build_report(school.directory, school.settings, ReportQuery.clean(2026, "ky-nang-so"))
    for name, label in FIGURES:
        value = figure_value(report.totals, name)
        assert cells["Tổng hợp / Totals", str(label)] == ["" if value is None else value]


@pytest.mark.parametrize(
    "args, code, why",
    [
        (["--year", "abc"], 1, "not a year"),
        (["--year", "99999"], 1, "between 2000 and 2100"),
        (["--year", "2026", "--unit", "x" * 10_000], 1, "at most 300"),
        (["--year", "2026", "--format", "xlsx"], 1, "needs --output"),
        (["--year", "2026", "--funding", "gift"], 2, "usage error"),
        (["--year", "2026", "--format", "pdf"], 2, "usage error"),
    ],
)
def test_bad_arguments_end_with_one_bilingual_line(
    school: School, capsys: pytest.CaptureFixture[str], args: list[str], code: int, why: str
) -> None:
    with pytest.raises(SystemExit) if code == 2 else _nothing() as caught:
        result = run(school, *args)
    result = caught.value.code if code == 2 else result
    err = capsys.readouterr().err
    assert result == code and why in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and "lỗi" in err


def test_a_folder_that_is_not_a_data_directory_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["report", "--data-dir", str(tmp_path / "nowhere"), "--year", "2026"]) == 1
    assert "truongso up" in capsys.readouterr().err


class _nothing:
    value = None

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> bool:
        return False
