"""`truongso service install`: the systemd unit it writes (checked by systemd's own `systemd-analyze verify`), and a
clear line where systemd does not run; odd data-directory names stay one word of the command line."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from hub.cli import main


def install(tmp_path: Path, data_dir: Path, capsys, *extra: str) -> tuple[int, str, str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "secrets").mkdir(exist_ok=True)
    code = main(["service", "install", "--data-dir", str(data_dir), "--unit-dir", str(tmp_path / "units"), *extra])
    said = capsys.readouterr()
    unit = tmp_path / "units" / "truongso.service"
    return code, said.out + said.err, unit.read_text(encoding="utf-8") if unit.exists() else ""


@pytest.mark.parametrize("name", ["data", "dữ liệu 100% (2026)"])
def test_the_unit_restarts_the_hub_after_docker_and_systemd_accepts_it(tmp_path: Path, capsys, name: str) -> None:
    data_dir = tmp_path / name
    code, said, unit = install(tmp_path, data_dir, capsys, "--port", "8443", "--no-start")
    assert code == 0, said
    lines = dict(line.split("=", 1) for line in unit.splitlines() if "=" in line)
    assert lines["Restart"] == "on-failure" and lines["WantedBy"] == "multi-user.target"
    assert "docker.service" in lines["After"]
    start = shlex.split(lines["ExecStart"].replace("%%", "%"))
    assert start[1:] == ["up", "--data-dir", str(data_dir), "--ip", "0.0.0.0", "--port", "8443"]
    assert Path(start[0]).name == "truongso" and Path(start[0]).is_file()
    assert shlex.split(lines["ExecStopPost"].replace("%%", "%"))[1:] == ["down", "--data-dir", str(data_dir)]
    analyze = shutil.which("systemd-analyze")
    if analyze:  # Debian's systemd package; a unit it refuses would not start
        verified = subprocess.run([analyze, "verify", str(tmp_path / "units" / "truongso.service")],
                                  capture_output=True, text=True)  # fmt: skip
        assert verified.returncode == 0, verified.stderr


def test_without_systemd_the_unit_is_written_and_the_next_step_said(tmp_path: Path, capsys, monkeypatch) -> None:
    from hub.cli import service

    monkeypatch.setattr(service, "systemd_running", lambda: False)
    code, said, unit = install(tmp_path, tmp_path / "data", capsys)
    assert code == 0 and unit and "systemctl daemon-reload && systemctl enable --now truongso.service" in said
    assert main(["service", "remove", "--unit-dir", str(tmp_path / "units")]) == 0
    assert not (tmp_path / "units" / "truongso.service").exists()


def test_bad_arguments_are_one_line(tmp_path: Path, capsys) -> None:
    code, said, unit = install(tmp_path, tmp_path / "data", capsys, "--no-start", "--port", "0")
    assert code == 1 and "not a port number" in said and not unit
    with pytest.raises(SystemExit) as ended:
        main(["service", "install", "--data-dir", str(tmp_path / "data"), "--port", "x"])
    assert ended.value.code == 2 and "invalid int value" in capsys.readouterr().err


def test_a_folder_that_is_not_a_data_directory_is_refused(tmp_path: Path, capsys) -> None:
    code = main(["service", "install", "--data-dir", str(tmp_path / "nowhere"), "--unit-dir", str(tmp_path / "u")])
    assert code == 1 and "not a Trường Số data directory" in capsys.readouterr().err
    assert not (tmp_path / "u" / "truongso.service").exists()
