"""`truongso certificates`: what an admin types, the one-line errors, and that bad input writes nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from support.certificates_world import CLASS, DECISION, World
from support.hub import truongso

from graders.certificates.store import open_store


def cli(world: World, *args: str):
    return truongso("certificates", *args, "--data-dir", str(world.data_dir), timeout=120)


def one_error_line(run) -> str:
    lines = run.stderr.strip().splitlines()
    assert run.returncode != 0 and len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr
    return lines[0]


def registry_is_empty(world: World) -> bool:
    store = open_store(world.db_url, create=False)
    return not store.has_schema() or store.count() == 0


def test_check_lists_who_and_why(world: World) -> None:
    run = cli(world, "check", world.course.id, "--class", CLASS)
    assert run.returncode == 0, run.stderr
    assert "+ an\tNguyễn Văn An\t90%" in run.stdout
    assert "- thang\tPhạm Đức Thắng\tđiểm tổng 60% thấp hơn mức yêu cầu 70%" in run.stdout
    assert "chưa nộp bài 04-chat-luong-du-lieu" in run.stdout and "not submitted" in run.stdout
    assert registry_is_empty(world)


def test_issue_twice_then_revoke_and_show(world: World) -> None:
    first = cli(world, "issue", world.course.id, "--class", CLASS, "--decision", DECISION)
    assert first.returncode == 0, first.stderr
    issued = [line.split()[3] for line in first.stdout.splitlines() if line.startswith("  cấp / issued")]
    assert len(issued) == 3
    second = cli(world, "issue", world.course.id, "--class", CLASS, "--decision", DECISION)
    assert "Đã cấp / issued: 0" in second.stdout
    revoke = cli(world, "revoke", issued[0], "--reason", "Sai tên đơn vị")
    assert revoke.returncode == 0 and "Đã thu hồi / revoked" in revoke.stdout
    show = cli(world, "show", issued[0])
    assert "ĐÃ THU HỒI / REVOKED: Sai tên đơn vị" in show.stdout
    assert "\tissue\tcli:" in show.stdout and "\trevoke\tcli:" in show.stdout
    again = cli(world, "revoke", issued[0], "--reason", "lần hai")
    assert "đã bị thu hồi trước đó" in one_error_line(again)


def test_dry_run_writes_nothing(world: World) -> None:
    run = cli(world, "issue", world.course.id, "--dry-run")
    assert run.returncode == 0 and "dry run, nothing issued (4 would be issued)" in run.stdout
    assert registry_is_empty(world) and not Path(world.settings.output_dir).exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("issue", "khong-co", "--decision", DECISION), "no course 'khong-co'"),
        (("issue", "ky-nang-so"), "the decision number is required"),
        (("issue", "ky-nang-so", "--class", "KHONG-CO", "--decision", DECISION), "no class 'KHONG-CO'"),
        (("check", "khong-co"), "no course 'khong-co'"),
        (("revoke", "TS-2026-999999", "--reason", "x"), "no certificate TS-2026-999999"),
        (("revoke", "khong-phai-so-hieu", "--reason", "x"), "is not a certificate serial"),
        (("revoke", "TS-2026-000001", "--reason", "   "), "a reason is required"),
        (("show", "TS-2026-999999"), "no certificate TS-2026-999999"),
        (("export", "--year", "20"), "invalid year 20"),
        (("export", "--year", "hai-nghin"), "invalid int value"),
        (("export", "--course", "khong-co"), "no course 'khong-co'"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(world: World, args: tuple, expected: str) -> None:
    run = cli(world, *args)
    line = one_error_line(run)
    assert expected in line and " / " in line  # bilingual
    assert registry_is_empty(world)
    assert not Path(world.settings.output_dir).exists() and not Path(world.settings.key_file).exists()


def test_export_csv_with_bom_and_xlsx(world: World, tmp_path: Path) -> None:
    assert cli(world, "issue", world.course.id, "--decision", DECISION).returncode == 0
    out = tmp_path / "xuat"
    run = cli(world, "export", "--output-dir", str(out))
    assert run.returncode == 0, run.stderr
    raw = next(out.glob("*.csv")).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][0] == "Số hiệu / Serial" and len(rows) == 1 + 4
    assert {r[3] for r in rows[1:]} == {"Nguyễn Văn An", "Trần Thị Kim Liên", "Đặng Thị Hường", "Hồ Ngọc Vỹ"}
    from openpyxl import load_workbook

    sheet = load_workbook(next(out.glob("*.xlsx"))).active
    assert sheet.max_row == 5 and sheet["D2"].value in {r[3] for r in rows[1:]}
    year = rows[1][1]
    assert cli(world, "export", "--year", str(int(year) - 1), "--output-dir", str(out)).returncode == 0
    empty = (out / f"so-cap-giay-chung-nhan-{int(year) - 1}.csv").read_bytes().decode("utf-8-sig")
    assert len(empty.strip().splitlines()) == 1


def test_formula_injection_is_neutralised(world: World) -> None:
    from graders.certificates.export import rows

    class Fake:
        serial, year, seq, username, course_id = "TS-2026-000001", 2026, 1, "u", "c"
        full_name, organisation, course_title_vi, hours, class_name = '=HYPERLINK("x")', "+1", "t", 1.0, None
        completed_on = revoked_at = revoked_reason = verification_code = None
        decision = "@SUM(A1)"

        class issued_on:
            @staticmethod
            def isoformat() -> str:
                return "2026-01-01"

    row = rows([Fake()])[0]
    assert row[3].startswith("'=") and row[4] == "'+1" and row[12] == "'@SUM(A1)"
