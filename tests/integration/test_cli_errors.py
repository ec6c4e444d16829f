"""Bad invocations of `truongso` end with one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from support.hub import free_port, truongso


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_unknown_option() -> None:
    assert_one_line_error(truongso("up", "--no-such-option"), "unrecognized arguments: --no-such-option")


def test_unknown_verb_and_bad_values() -> None:
    assert_one_line_error(truongso("fly"), "invalid choice")
    assert_one_line_error(truongso("up", "--port", "eighty"), "invalid int value")
    assert_one_line_error(truongso("up", "--spawner", "kubernetes"), "invalid choice")


def test_port_already_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = truongso("up", "--port", str(port), "--data-dir", str(tmp_path / "d"), "--spawner", "local")
    assert_one_line_error(result, f"port {port}", "already in use", "đang được")


def test_port_out_of_range(tmp_path: Path) -> None:
    result = truongso("up", "--port", "70000", "--data-dir", str(tmp_path / "d"))
    assert_one_line_error(result, "port", "70000")


@pytest.mark.parametrize("where", ["under-a-file", "proc"])
def test_unwritable_data_dir(tmp_path: Path, where: str) -> None:
    if where == "under-a-file":
        blocker = tmp_path / "a-file"
        blocker.write_text("not a directory")
        data_dir = blocker / "data"
    else:
        data_dir = Path("/proc/truongso-cannot-live-here")
    result = truongso("up", "--port", str(free_port()), "--data-dir", str(data_dir))
    assert_one_line_error(result, "cannot write to the data directory", str(data_dir))


@pytest.mark.parametrize("database", ["truongso.sqlite", "jupyterhub.sqlite"])
def test_corrupt_database_file(tmp_path: Path, database: str) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / database).write_bytes(b"this is not a database, just some bytes" * 100)
    result = truongso("up", "--port", str(free_port()), "--data-dir", str(data_dir), "--spawner", "local")
    assert_one_line_error(result, database, "not a SQLite database")
    assert (data_dir / database).read_bytes().startswith(b"this is not a database")  # left as found


def test_bad_settings_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "truongso.toml").write_text("mem_limit = [1, 2\n", encoding="utf-8")
    assert_one_line_error(truongso("up", "--data-dir", str(data_dir)), "not valid TOML")
    (data_dir / "truongso.toml").write_text("memory = '2G'\n", encoding="utf-8")
    assert_one_line_error(truongso("up", "--data-dir", str(data_dir)), "unknown setting(s) memory")


def test_short_admin_password_from_environment(tmp_path: Path) -> None:
    result = truongso(
        "up",
        "--port",
        str(free_port()),
        "--data-dir",
        str(tmp_path / "d"),
        "--spawner",
        "local",
        env={"TRUONGSO_ADMIN_PASSWORD": "short"},
    )
    assert_one_line_error(result, "TRUONGSO_ADMIN_PASSWORD", "at least")


def test_import_needs_a_prepared_data_dir(tmp_path: Path) -> None:
    roster = tmp_path / "lop.csv"
    roster.write_text("Họ và tên,Email,Đơn vị,Lớp\n", encoding="utf-8")
    result = truongso("users", "import", str(roster), "--data-dir", str(tmp_path / "nowhere"))
    assert_one_line_error(result, "not a Trường Số data directory")
    assert not (tmp_path / "nowhere").exists()


def test_import_of_missing_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    (data_dir / "secrets").mkdir(parents=True)
    result = truongso("users", "import", str(tmp_path / "khong-co.csv"), "--data-dir", str(data_dir))
    assert_one_line_error(result, "cannot open")


def test_class_add_rejects_bad_codes(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    (data_dir / "secrets").mkdir(parents=True)
    assert_one_line_error(truongso("classes", "add", "Lớp 1", "--data-dir", str(data_dir)), "invalid class code")
    assert_one_line_error(
        truongso("classes", "add", "K1", "--year", "1800", "--data-dir", str(data_dir)), "invalid year"
    )
    ok = truongso("classes", "add", "k1", "--funding", "budget", "--data-dir", str(data_dir))
    assert ok.returncode == 0 and "K1" in ok.stdout
    listed = truongso("classes", "list", "--data-dir", str(data_dir))
    assert listed.stdout.startswith("K1\t") and "budget" in listed.stdout
