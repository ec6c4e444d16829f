"""A backup of a running hub, restored into an empty folder and started as a hub of its own: everyone logs in with
the password they had, the learner's files, the directory and the gradebooks are back (issue 16's first part)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from support.hub import ADMIN_PASSWORD, Hub, HubSession, start_hub, truongso


def table_rows(db: Path, table: str) -> list[tuple]:
    with sqlite3.connect(db) as c:
        return c.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


def test_a_running_hub_backed_up_and_restored_lets_everyone_back_in(demo_hub: Hub, tmp_path: Path) -> None:
    work = demo_hub.data_dir / "workspaces" / "hocvien1" / "bai-tap-cua-toi.py"
    work.parent.mkdir(parents=True, exist_ok=True)
    work.write_text("diem = [8.5, 9.0]  # Nguyễn Văn An\n", encoding="utf-8")
    learner = HubSession(demo_hub.url)
    learner.login("hocvien1", demo_hub.accounts["hocvien1"])  # the hub writes while it is backed up
    assert learner.username == "hocvien1"

    done = truongso("backup", "--data-dir", str(demo_hub.data_dir), "--output", str(tmp_path / "sao-luu.tar.gz"))
    assert done.returncode == 0, done.stderr
    restored_dir = tmp_path / "restored" / "data"
    done = truongso("restore", str(tmp_path / "sao-luu.tar.gz"), "--data-dir", str(restored_dir))
    assert done.returncode == 0, done.stderr

    for table in ("people", "classes", "enrolments"):
        assert table_rows(restored_dir / "truongso.sqlite", table) == table_rows(
            demo_hub.data_dir / "truongso.sqlite", table
        ), table
    for gradebook in demo_hub.data_dir.glob("courses/*/gradebook.db"):
        relative = gradebook.relative_to(demo_hub.data_dir)
        assert table_rows(restored_dir / relative, "assignment") == table_rows(gradebook, "assignment")
    assert (restored_dir / "workspaces/hocvien1/bai-tap-cua-toi.py").read_text(encoding="utf-8") == work.read_text(
        encoding="utf-8"
    )

    restored = start_hub(restored_dir, "--spawner", "local")  # not --demo: nobody's password is made anew
    try:
        for username, password in [
            ("admin", ADMIN_PASSWORD),
            ("giangvien", demo_hub.accounts["giangvien"]),
            ("hocvien1", demo_hub.accounts["hocvien1"]),
        ]:
            person = HubSession(restored.url)
            r = person.login(username, password)
            assert person.username == username, (username, r.status_code, r.url)  # hocvien1: a new workspace
        stranger = HubSession(restored.url)
        stranger.login("hocvien2", "not-her-password")
        assert stranger.username is None
    finally:
        restored.stop()
