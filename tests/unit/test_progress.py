"""The long verbs' progress display (hub/cli/progress.py): silent unless stderr is a terminal, a bar that reaches
its total, and the lower layers' callbacks (certificates issue, roster import, image build steps)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from hub.cli import main, progress
from hub.cli.progress import progress_bar, step_status, terminal_console


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def forced() -> Console:
    return Console(force_terminal=True, file=io.StringIO(), width=120)


def plain(console: Console) -> str:
    """What a terminal would have been sent, control codes and colours removed."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", console.file.getvalue())


# ------------------------------------------------------------------ when nothing is drawn


def test_a_console_that_is_no_terminal_gets_nothing() -> None:
    console = Console(file=io.StringIO())  # a pipe or a file, as far as rich can tell
    with progress_bar("Thử / trying", console=console) as bar:
        for done in range(4):
            bar(done, 3)
    with step_status("Thử / trying", console=console) as on_step:
        on_step("base", 0, 2)
        on_step("base", 1, 2)
    assert console.file.getvalue() == ""


def test_by_default_only_a_real_terminal_on_stderr_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich alone would draw into a pipe with this
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert terminal_console() is None
    with progress_bar("Thử / trying") as bar:
        bar(1, 1)
    assert progress.sys.stderr.getvalue() == ""

    monkeypatch.setattr("sys.stderr", FakeTty())
    assert terminal_console() is not None
    monkeypatch.setenv("CI", "true")
    assert terminal_console() is None
    with progress_bar("Thử / trying") as bar, step_status("Thử / trying") as on_step:
        bar(1, 1)
        on_step("base", 1, 1)
    assert progress.sys.stderr.getvalue() == ""
    monkeypatch.setenv("CI", "")
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.delenv("FORCE_COLOR")
    assert terminal_console() is None


# ------------------------------------------------------------------ on a terminal


def test_the_bar_advances_to_its_total_and_is_labelled() -> None:
    console = forced()
    with progress_bar("Cấp giấy chứng nhận / issuing certificates", console=console) as bar:
        for done in range(8):
            bar(done, 7)
    shown = plain(console)
    assert "Cấp giấy chứng nhận / issuing certificates" in shown
    assert re.findall(r"(\d+)/7", shown)[-1] == "7"


def test_steps_are_named_and_counted_without_percentages() -> None:
    console = forced()
    with step_status("Xây dựng image / building images", console=console) as on_step:
        for done, name in enumerate(("base", "wheels", "workspace")):
            on_step(name, done, 3)
            on_step(name, done + 1, 3)
    shown = plain(console)
    assert "Xây dựng image / building images: workspace" in shown and "bước / step" in shown
    assert re.findall(r"(\d+)/3", shown)[-1] == "3" and "%" not in shown


def test_an_error_inside_stops_the_display() -> None:
    console = forced()
    with pytest.raises(RuntimeError), progress_bar("Thử / trying", console=console) as bar:
        bar(1, 5)
        raise RuntimeError("boom")
    assert not console._live_stack  # the live display is gone: later output prints normally


# ------------------------------------------------------------------ the lower layers' callbacks


def test_issue_reports_each_batch(tmp_path: Path) -> None:
    from support.gradebooks import all_passed, make_gradebook

    from graders.certificates.config import CertificateSettings
    from graders.certificates.issue import Learner, issue
    from graders.certificates.store import open_store
    from graders.curriculum import default_courses_root, load_course

    course = load_course(default_courses_root() / "ky-nang-so")
    people = {"an": 0.9, "binh": 0.8, "chi": 1.0, "dung": 0.3}  # dung: under the bar
    make_gradebook(
        tmp_path / "courses" / course.id / "gradebook.db", course, {u: all_passed(course, f) for u, f in people.items()}
    )
    url = f"sqlite:///{tmp_path / 'truongso.sqlite'}"
    settings = CertificateSettings.create(
        {"data_dir": str(tmp_path), "db_url": url, "public_url": "http://127.0.0.1:8000/", "batch_size": 2}, "test"
    )
    learners = [Learner(u, u.title(), "Sở Nội vụ", "KNS-K01-2026") for u in people]
    calls: list[tuple[int, int]] = []

    def run(**kwargs):
        return issue(
            settings, open_store(url), course.id, decision="Số 1/QĐ", actor="test", learners=learners, **kwargs
        )

    assert run(dry_run=True, progress=lambda *a: calls.append(a)).issued == [] and calls == []
    result = run(progress=lambda *a: calls.append(a))
    assert len(result.issued) == 3
    assert calls == [(0, 3), (2, 3), (3, 3)]
    calls.clear()
    assert run(progress=lambda *a: calls.append(a)).issued == [] and calls == [(0, 0)]  # nothing left


ROSTER = (
    "Họ và tên,Email,Đơn vị,Lớp\n"
    "Nguyễn Thị Ánh Tuyết,tuyet.nta@hanoi.gov.vn,Sở Thông tin và Truyền thông Hà Nội,PTDL-K01\n"
    "Trần Quốc Việt,viet.tq@danang.gov.vn,UBND quận Hải Châu,PTDL-K01\n"
    "Lê Thị Hồng Nhung,nhung.lth@cantho.gov.vn,Sở Tài chính Cần Thơ,PTDL-K01\n"
)


def test_roster_import_reports_each_new_account(tmp_path: Path) -> None:
    from hub.directory.db import Directory
    from hub.directory.models import SchoolClass
    from hub.roster.importer import import_roster

    directory = Directory(f"sqlite:///{tmp_path / 'truongso.sqlite'}")
    directory.ensure_schema()
    with directory.session() as s:
        s.add(SchoolClass(name="PTDL-K01", title="Phân tích dữ liệu K01"))
    roster = tmp_path / "lop.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    calls: list[tuple[int, int]] = []

    def run(**kwargs):
        return import_roster(directory, roster, tmp_path / "passwords", progress=lambda *a: calls.append(a), **kwargs)

    assert run(dry_run=True).created == 3 and calls == []
    assert run().created == 3
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]
    calls.clear()
    assert run().unchanged == 3 and calls == []  # nobody new: no passwords to make


class FakeImages:
    def get(self, tag: str) -> SimpleNamespace:
        return SimpleNamespace(attrs={"Size": 2e9}, id="sha256:" + "0" * 64, labels={}, tags=[tag])


def test_image_build_reports_its_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from images import build as build_mod

    monkeypatch.setattr(build_mod, "ensure_base", lambda *a, **k: ("t/base:1", "sha256:" + "1" * 64, "reused"))
    monkeypatch.setattr(build_mod, "ensure_wheels", lambda names, *a: ({n: [] for n in names}, "reused", "0 wheels"))
    monkeypatch.setattr(build_mod, "ensure_image", lambda client, name, *a, **k: (f"t/{name}:v1", "built"))
    client = SimpleNamespace(ping=lambda: True, images=FakeImages())
    calls: list[tuple[str, int, int]] = []
    lines: list[str] = []

    report = build_mod.build_images(
        client=client, cache_dir=tmp_path, progress=lines.append, on_step=lambda *a: calls.append(a)
    )
    assert [s.name for s in report.steps] == ["base", "wheels", "workspace", "grader"]
    assert calls == [
        ("base", 0, 4), ("base", 1, 4), ("wheels", 1, 4), ("wheels", 2, 4),
        ("workspace", 2, 4), ("workspace", 3, 4), ("grader", 3, 4), ("grader", 4, 4),
    ]  # fmt: skip
    assert [line.split(":")[0] for line in lines] == ["base", "wheels", "workspace", "grader"]  # as before
    calls.clear()
    build_mod.build_images(
        client=client, cache_dir=tmp_path, which=("grader",), progress=str, on_step=lambda *a: calls.append(a)
    )
    assert calls[-1] == ("grader", 3, 3)


# ------------------------------------------------------------------ the verb, wired


def data_dir_with_class(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    data_dir = tmp_path / "data"
    (data_dir / "secrets").mkdir(parents=True)
    assert main(["classes", "add", "PTDL-K01", "--data-dir", str(data_dir)]) == 0
    capsys.readouterr()
    (tmp_path / "lop.csv").write_text(ROSTER, encoding="utf-8")
    return data_dir


def test_users_import_without_a_terminal_prints_what_it_always_did(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = data_dir_with_class(tmp_path, capsys)
    assert main(["users", "import", str(tmp_path / "lop.csv"), "--data-dir", str(data_dir)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith("Đã nhập / imported: 3 dòng/rows") and "mới/new 3" in out


def test_users_import_on_a_terminal_draws_the_bar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = data_dir_with_class(tmp_path, capsys)
    console = forced()
    monkeypatch.setattr(progress, "terminal_console", lambda: console)
    assert main(["users", "import", str(tmp_path / "lop.csv"), "--data-dir", str(data_dir)]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.startswith("Đã nhập / imported: 3 dòng/rows")  # the report itself is unchanged
    shown = plain(console)
    assert "Nhập học viên / importing learners" in shown and re.findall(r"(\d+)/3", shown)[-1] == "3"
