"""The workspace's one-click pages (images/workspace/truongso_oneclick.py), without an engine: the link checks,
the plain-Vietnamese validation summary, the receipt times in Vietnam time, and nbgrader's real Validator in the
child process on a course notebook. The pages themselves run in a real workspace container in
tests/e2e/test_oneclick_browser.py and tests/integration/test_course_loop_docker.py."""

from __future__ import annotations

import asyncio
import importlib
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TYPICAL = REPO / "courses" / "phan-tich-du-lieu" / "test-submissions" / "01-python-co-ban" / "typical"


@pytest.fixture
def oneclick(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(REPO / "images" / "workspace"))
    monkeypatch.setenv("PYTHONPATH", f"{REPO / 'images' / 'workspace'}:{REPO}")  # the validating child imports it too
    monkeypatch.delenv("TZ", raising=False)
    sys.modules.pop("truongso_oneclick", None)
    return importlib.import_module("truongso_oneclick")


@pytest.mark.parametrize("value", ["phan-tich-du-lieu", "01-python-co-ban", "a", "x_y.z", "A" * 100])
def test_course_and_assignment_names_as_nbgrader_writes_them_pass(oneclick, value: str) -> None:
    assert oneclick.valid_identifier(value)


@pytest.mark.parametrize(
    "value",
    ["", "..", "a/../b", "../etc", "/etc", "a/b", ".hidden", "-rf", "a b", "bài", "a\x00b", "a\nb", "A" * 101,
     "a..b", "%2e%2e", "<script>", "ab\n"],
)  # fmt: skip
def test_names_that_could_leave_the_folder_or_inject_are_refused(oneclick, value: str) -> None:
    assert not oneclick.valid_identifier(value)


def test_receipt_times_are_vietnam_time_labelled(oneclick) -> None:
    moment = oneclick.receipt_moment("2026-12-04 14:30:05.123456 UTC")
    assert moment == datetime(2026, 12, 4, 14, 30, 5, 123456, tzinfo=UTC)
    assert oneclick.vietnam_time(moment, seconds=True) == "04/12/2026 21:30:05 (giờ Việt Nam, UTC+7)"
    assert oneclick.vietnam_time(moment) == "04/12/2026 21:30 (giờ Việt Nam, UTC+7)"
    # another school zone is said by its offset only, never called Vietnam time
    assert oneclick.vietnam_time(moment, zone="Asia/Bangkok") == "04/12/2026 21:30 (UTC+7)"
    for broken in ("", "04/12/2026", "2026-13-40 99:99:99.0 UTC", None):
        assert oneclick.receipt_moment(broken) is None


def test_a_broken_tz_falls_back_to_the_schools_zone(oneclick, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", ":/etc/localtime")
    moment = datetime(2026, 12, 4, 0, 0, tzinfo=UTC)
    assert oneclick.vietnam_time(moment) == "04/12/2026 07:00 (giờ Việt Nam, UTC+7)"


def test_validation_results_are_said_plainly(oneclick) -> None:
    passed = oneclick.summarise_validation({})
    assert passed["verdict"] == "passed" and passed["vi"].startswith("Mọi ô kiểm tra đều đạt")
    failed = oneclick.summarise_validation({"failed": [
        {"source": "assert x == 1", "raw_error": "\x1b[31mAssertionError\x1b[0m: x is 2"},
        {"source": "\n".join(f"line {i}" for i in range(50)), "raw_error": ""},
    ]})  # fmt: skip
    assert failed["verdict"] == "failed" and failed["vi"].startswith("2 ô kiểm tra chưa đạt")
    assert failed["cells"][0]["error"] == "AssertionError: x is 2"  # terminal colours gone
    assert failed["cells"][1]["source"].endswith("…") and failed["cells"][1]["source"].count("\n") == 20
    changed = oneclick.summarise_validation({"changed": [{"source": "assert True"}]})
    assert changed["verdict"] == "warning" and "đã bị sửa" in changed["vi"]
    typed = oneclick.summarise_validation(
        {"type_changed": [{"source": "x", "old_type": "markdown", "new_type": "code"}]}
    )
    assert typed["verdict"] == "warning" and "đổi loại" in typed["vi"]
    unknown = oneclick.summarise_validation({"error": "TimeoutError: cell ran too long"})
    assert unknown["verdict"] == "unknown" and "vẫn có thể nộp" in unknown["vi"]
    for summary in (passed, failed, changed, typed, unknown):
        assert summary["en"] and summary["vi"] != summary["en"]


def test_the_child_runs_nbgraders_validator_on_a_real_notebook(oneclick, tmp_path: Path) -> None:
    notebook = tmp_path / "python-co-ban.ipynb"
    shutil.copy(TYPICAL / notebook.name, notebook)
    result = asyncio.run(oneclick.validate_in_child(str(notebook), str(tmp_path)))
    summary = oneclick.summarise_validation(result)
    # the typical submission gets one exercise wrong: its test cell's assertion is reported
    assert summary["verdict"] == "failed", result
    assert any("AssertionError" in cell["error"] for cell in summary["cells"]), summary


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"cells": "no", "nbformat": 4}', b"\xff\xfe\x00"])
def test_a_broken_notebook_is_reported_not_raised(oneclick, tmp_path: Path, content: bytes) -> None:
    notebook = tmp_path / "hong.ipynb"
    notebook.write_bytes(content)
    result = asyncio.run(oneclick.validate_in_child(str(notebook), str(tmp_path)))
    assert set(result) == {"error"} and result["error"], result
    assert oneclick.summarise_validation(result)["verdict"] == "unknown"


def test_a_notebook_that_runs_too_long_is_cut_off(oneclick, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oneclick, "VALIDATE_TIMEOUT", 0.5)
    notebook = tmp_path / "cham.ipynb"
    shutil.copy(TYPICAL / "python-co-ban.ipynb", notebook)
    result = asyncio.run(oneclick.validate_in_child(str(notebook), str(tmp_path)))
    assert "giây" in result["error"] and "seconds" in result["error"]


def test_pages_escape_what_learners_wrote_once(oneclick, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_BASE_URL", "/")
    summary = oneclick.summarise_validation({"failed": [{"source": "print('<script>alert(1)</script>')",
                                                         "raw_error": "NameError: <b>x</b>"}]})  # fmt: skip
    page = oneclick.render_page(
        "confirm.html", "Nộp bài", "/user/an/", course="c", assignment="a<i>", xsrf="2|ab|cd|ef",
        notebooks=[{"name": "<img src=x onerror=alert(1)>.ipynb", "summary": summary}], open_url="/user/an/x",
        attempts=1, last="04/12/2026 21:30 (giờ Việt Nam, UTC+7)", due="",
    )  # fmt: skip
    assert '<form method="post">' in page and 'name="_xsrf" value="2|ab|cd|ef"' in page  # markup, not text
    assert "<script>" not in page and "&lt;script&gt;" in page and "&amp;lt;" not in page  # escaped exactly once
    assert "<img" not in page and "a&lt;i&gt;" in page
    assert 'href="/services/portal/"' in page and 'href="/hub/logout"' in page and 'href="/user/an/lab"' in page


@pytest.mark.parametrize(
    ("error", "explained"),
    [
        ("Traceback...\n----> 3 raise NotImplementedError()\n\nNotImplementedError: ", "Phần này chưa làm"),
        ("NameError: name 'tong_hoc_vien' is not defined", "Chưa có “tong_hoc_vien”"),
        (
            "AssertionError: Tổng số học viên chưa đúng (được 700). Dùng hàm sum().",
            "Tổng số học viên chưa đúng (được 700)",
        ),
        ("Traceback\n\x1b[31mAssertionError\x1b[0m", "Kết quả chưa đúng"),
        ("You did not provide a response.", "Bạn chưa trả lời câu này"),
        ("ZeroDivisionError: division by zero", "ZeroDivisionError: division by zero"),
        ("", ""),
    ],
)
def test_a_failing_tests_error_is_explained_in_one_line(oneclick, error: str, explained: str) -> None:
    summary = oneclick.summarise_validation({"failed": [{"source": "# Kiểm tra bài 1\nassert x", "raw_error": error}]})
    [cell] = summary["cells"]
    assert cell["title"] == "Kiểm tra bài 1" and cell["explained"].startswith(explained), cell


def test_nbgrader_validate_in_a_terminal_speaks_vietnamese_first(tmp_path: Path) -> None:
    """The workspace's nbgrader_config.py (its exchange line aside) with the real `nbgrader validate`."""
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    source = (REPO / "images" / "workspace" / "nbgrader_config.py").read_text(encoding="utf-8")
    assert "use_hub_exchange(c)" in source
    (config_dir / "nbgrader_config.py").write_text(
        source.replace("from graders.exchange import use_hub_exchange", "").replace("use_hub_exchange(c)", ""),
        encoding="utf-8",
    )
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(TYPICAL / "python-co-ban.ipynb", work)
    nbgrader = Path(sys.executable).with_name("nbgrader")
    env = {**os.environ, "JUPYTER_CONFIG_PATH": str(config_dir)}
    result = subprocess.run([str(nbgrader), "validate", "python-co-ban.ipynb"], cwd=work, env=env,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    said = " ".join(result.stdout.split())
    assert "Ô KIỂM TRA CHƯA ĐẠT" in said and said.index("CHƯA ĐẠT") < said.index("VALIDATION FAILED"), said[:500]
