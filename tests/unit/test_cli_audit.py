"""What an admin does at the server's shell is in the same audit log as the console's actions: a password
reset (never the password) and a roster import, as `cli:<system user>`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.cli import main
from hub.directory.db import Directory
from hub.directory.models import AdminAction


def test_reset_and_import_are_logged_without_the_password(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "secrets").mkdir(parents=True)
    assert main(["classes", "add", "K01", "--year", "2026", "--data-dir", str(data)]) == 0
    roster = tmp_path / "lop.csv"
    roster.write_text("Họ và tên,Email,Đơn vị,Lớp\nVõ Thị Sáu,sau@sotttt.gov.vn,Sở TT&TT,K01\n", "utf-8")
    assert main(["users", "import", str(roster), "--data-dir", str(data)]) == 0
    capsys.readouterr()
    assert main(["users", "reset-password", "sau@sotttt.gov.vn", "--data-dir", str(data)]) == 0
    password = capsys.readouterr().out.split()[1]
    assert main(["users", "import", str(roster), "--dry-run", "--data-dir", str(data)]) == 0  # a check: no row

    directory = Directory(f"sqlite:///{data / 'truongso.sqlite'}")
    with directory.session() as s:
        rows = [(a.actor, a.action, a.target, a.before, a.after) for a in s.query(AdminAction).order_by(AdminAction.id)]
    directory.dispose()
    actions = [r[1] for r in rows]
    assert actions[-2:] == ["roster.import", "person.reset_password"], actions
    assert all(r[0].startswith("cli:") for r in rows[-2:])
    assert json.loads(rows[-2][4])["created"] == 1 and rows[-1][2] == "sau@sotttt.gov.vn"
    assert all(password not in "".join(map(str, r)) for r in rows)
