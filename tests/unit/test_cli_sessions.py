"""`truongso classes sessions add|list|import|remove`: exit codes, bilingual messages, the school's wall time
(the `timezone` setting) on the way in and out, and nothing written when a file has a broken row."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.hub import truongso
from test_roster import encode_cp1258

from hub.cli import main
from hub.directory.db import Directory
from hub.directory.models import ClassSession

HEADER = "Lớp,Ngày,Bắt đầu,Kết thúc,Phòng\n"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    (data / "secrets").mkdir(parents=True)
    for args in (["K01", "--year", "2026"], ["K02"]):
        assert main(["classes", "add", *args, "--data-dir", str(data)]) == 0
    return data


def run(capsys: pytest.CaptureFixture, data_dir: Path, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["classes", "sessions", *args, "--data-dir", str(data_dir)])
    out = capsys.readouterr()
    return code, out.out, out.err


def stored(data_dir: Path) -> list[tuple[str, datetime, datetime, str]]:
    directory = Directory(f"sqlite:///{data_dir.absolute() / 'truongso.sqlite'}")
    try:
        with directory.session() as s:
            return [(x.class_name, x.starts_at, x.ends_at, x.room)
                    for x in s.query(ClassSession).order_by(ClassSession.starts_at)]  # fmt: skip
    finally:
        directory.dispose()


def test_add_list_remove(capsys: pytest.CaptureFixture, data_dir: Path) -> None:
    code, out, _ = run(capsys, data_dir, "add", "k01", "--date", "21/12/2026", "--start", "8h", "--end", "11:30",
                       "--room", "Phòng 301")  # fmt: skip
    assert code == 0 and out.startswith("Đã thêm / added: K01 21/12/2026 08:00–11:30 (Asia/Ho_Chi_Minh)")
    code, out, _ = run(capsys, data_dir, "add", "K01", "--date", "2026-12-21", "--start", "08:00", "--end", "11:30")
    assert code == 0 and "không đổi / exists, unchanged" in out
    run(capsys, data_dir, "add", "K02", "--date", "22/12/2026", "--start", "13:30", "--end", "16:30")
    assert stored(data_dir) == [
        ("K01", datetime(2026, 12, 21, 1, tzinfo=UTC), datetime(2026, 12, 21, 4, 30, tzinfo=UTC), "Phòng 301"),
        ("K02", datetime(2026, 12, 22, 6, 30, tzinfo=UTC), datetime(2026, 12, 22, 9, 30, tzinfo=UTC), ""),
    ]

    code, out, _ = run(capsys, data_dir, "list")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "Lớp/class\tNgày/date\tThứ/weekday\tBắt đầu/start\tKết thúc/end\tPhòng/room"
    assert lines[1:] == [
        "K01\t21/12/2026\tThứ Hai\t08:00\t11:30\tPhòng 301",
        "K02\t22/12/2026\tThứ Ba\t13:30\t16:30\t",
        "2 buổi học, giờ Asia/Ho_Chi_Minh / 2 session(s), Asia/Ho_Chi_Minh time",
    ]
    _, out, _ = run(capsys, data_dir, "list", "--class", "k02")
    assert out.splitlines()[1:-1] == ["K02\t22/12/2026\tThứ Ba\t13:30\t16:30\t"]
    _, out, _ = run(capsys, data_dir, "list", "--from", "22/12/2026", "--to", "22/12/2026")
    assert [line.split("\t")[0] for line in out.splitlines()[1:-1]] == ["K02"]
    _, out, _ = run(capsys, data_dir, "list", "--to", "21/12/2026")
    assert [line.split("\t")[0] for line in out.splitlines()[1:-1]] == ["K01"]

    code, out, _ = run(capsys, data_dir, "remove", "K01", "--date", "21/12/2026", "--start", "08:00")
    assert code == 0 and out.startswith("Đã xoá / removed: K01\t21/12/2026")
    code, _, err = run(capsys, data_dir, "remove", "K01", "--date", "21/12/2026", "--start", "08:00")
    assert code == 1 and "lớp K01 không có buổi học" in err and "class K01 has no session" in err
    assert [c for c, *_ in stored(data_dir)] == ["K02"]


def test_add_refusals_are_one_bilingual_line(capsys: pytest.CaptureFixture, data_dir: Path) -> None:
    run(capsys, data_dir, "add", "K01", "--date", "21/12/2026", "--start", "08:00", "--end", "11:30")
    cases = [
        (["K01", "--date", "21/12/2026", "--start", "11:00", "--end", "12:00"], "overlaps a stored session"),
        (["K01", "--date", "21/12/2026", "--start", "14:00", "--end", "13:00"], "is not after start"),
        (["K09", "--date", "21/12/2026", "--start", "14:00", "--end", "15:00"], "unknown class K09"),
        (["K01", "--date", "21/12/2031", "--start", "14:00", "--end", "15:00"], "too far from the class's year"),
    ]
    for args, fragment in cases:
        code, out, err = run(capsys, data_dir, "add", *args)
        assert code == 1 and out == "", args
        assert err.count("\n") == 1 and err.startswith("truongso: lỗi / error: ") and fragment in err, err
    code, _, err = run(capsys, data_dir, "list", "--from", "32/12/2026")
    assert code == 1 and "invalid date '32/12/2026'" in err
    code, _, err = run(capsys, data_dir, "list", "--class", "K99")
    assert code == 1 and "không có lớp K99 / no class K99" in err
    with pytest.raises(SystemExit) as usage:
        main(["classes", "sessions", "add", "K01", "--data-dir", str(data_dir)])
    assert usage.value.code == 2  # --date, --start and --end are required
    assert len(stored(data_dir)) == 1


def test_import_all_or_nothing_then_idempotent(capsys: pytest.CaptureFixture, data_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "tkb.csv"
    broken.write_text(HEADER + "K01,21/12/2026,08:00,11:30,P1\nK01,21/12/2026,11:00,12:00,P1\nK03,x,,,\n")
    code, out, _ = run(capsys, data_dir, "import", str(broken))
    assert code == 1
    assert out.startswith("Tệp có 5 lỗi; KHÔNG nhập gì. / 5 error(s); NOTHING imported.")
    rows = [line.split()[0] for line in out.splitlines()[2:]]
    assert rows == ["3", "4", "4", "4", "4"], out
    assert "overlaps the session of row 2 of the same class" in out and "unknown class K03" in out
    assert stored(data_dir) == []

    good = tmp_path / "tkb-dung.csv"
    good.write_bytes(encode_cp1258(HEADER + "K01,21/12/2026,08:00,11:30,Phòng máy\n,22/12/2026,08:00,11:30,\n"))
    code, out, _ = run(capsys, data_dir, "import", str(good), "--class", "K01", "--encoding", "cp1258", "--dry-run")
    assert code == 0 and out.startswith("Kiểm tra (không ghi) / dry run (nothing written): 2 buổi/sessions (cp1258)")
    assert stored(data_dir) == []
    code, out, _ = run(capsys, data_dir, "import", str(good), "--class", "K01", "--encoding", "cp1258")
    assert code == 0 and "mới/new 2, cập nhật/updated 0, không đổi/unchanged 0" in out
    first = stored(data_dir)
    assert [(c, room) for c, _, _, room in first] == [("K01", "Phòng máy"), ("K01", "")]
    code, out, _ = run(capsys, data_dir, "import", str(good), "--class", "K01", "--encoding", "cp1258")
    assert code == 0 and "mới/new 0, cập nhật/updated 0, không đổi/unchanged 2" in out
    assert stored(data_dir) == first


def test_the_schools_time_zone_setting_is_the_wall_time(capsys: pytest.CaptureFixture, data_dir: Path) -> None:
    (data_dir / "truongso.toml").write_text('[school]\ntimezone = "Europe/Berlin"\n')
    run(capsys, data_dir, "add", "K01", "--date", "10/07/2026", "--start", "09:00", "--end", "10:00")
    assert stored(data_dir)[0][1] == datetime(2026, 7, 10, 7, tzinfo=UTC)  # Berlin summer: UTC+2
    _, out, _ = run(capsys, data_dir, "list")
    assert "K01\t10/07/2026\tThứ Sáu\t09:00\t10:00\t" in out and "Europe/Berlin" in out


def test_the_installed_command(tmp_path: Path, data_dir: Path) -> None:
    """The console script itself (one run: each costs seconds of start-up): exit code 1, no traceback."""
    broken = tmp_path / "tkb.csv"
    broken.write_text(HEADER + "K01,21/12/2026,14:00,13:00,\n")
    result = truongso("classes", "sessions", "import", str(broken), "--data-dir", str(data_dir))
    assert result.returncode == 1 and "KHÔNG nhập gì" in result.stdout and "Traceback" not in result.stderr
    assert "2  Kết thúc / end" in result.stdout


def test_an_action_is_required(capsys: pytest.CaptureFixture, data_dir: Path) -> None:
    with pytest.raises(SystemExit) as usage:
        main(["classes", "sessions", "--data-dir", str(data_dir)])
    assert usage.value.code == 2 and "lỗi cú pháp / usage error" in capsys.readouterr().err


def test_a_timetable_change_prints_the_capacity_check(capsys: pytest.CaptureFixture, data_dir: Path) -> None:
    from datetime import timedelta

    from hub.directory.models import Enrolment, Person

    # No Docker engine asked: this machine's memory, the setting's idle figure; 2 learners fit, 400 do not.
    (data_dir / "truongso.toml").write_text('spawner = "local"\nworkspace_idle_memory = "1G"\n', encoding="utf-8")
    directory = Directory(f"sqlite:///{data_dir.absolute() / 'truongso.sqlite'}")
    with directory.session() as s:
        for i in range(2):
            s.add(Person(username=f"hv{i}", full_name="Học Viên"))
            s.add(Enrolment(class_name="K02", username=f"hv{i}"))
    day = (datetime.now(UTC) + timedelta(days=7)).strftime("%d/%m/%Y")
    code, out, _ = run(capsys, data_dir, "add", "K02", "--date", day, "--start", "08:00", "--end", "11:30")
    assert code == 0 and "Bộ nhớ đủ cho 1 buổi học sắp tới / memory fits the 1 coming session(s)" in out

    with directory.session() as s:
        for i in range(2, 400):
            s.add(Person(username=f"hv{i}", full_name="Học Viên"))
            s.add(Enrolment(class_name="K02", username=f"hv{i}"))
    directory.dispose()
    code, out, _ = run(capsys, data_dir, "add", "K02", "--date", day, "--start", "08:00", "--end", "11:30")
    assert code == 0 and "THIẾU BỘ NHỚ cho buổi học lớp K02 lúc" in out
    assert "400 học viên × 1G khi nghỉ (ước lượng) = 400G" in out and "400 learners × 1G idle (estimated)" in out
