"""nbgrader's learner lab extension in Vietnamese (images/workspace/nbgrader_lab_vi.py), run on the pinned
nbgrader's own bundle as the image build does; node parses the result."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def lab_vi(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(REPO / "images" / "workspace"))
    sys.modules.pop("nbgrader_lab_vi", None)
    return importlib.import_module("nbgrader_lab_vi")


def copy_of_the_extension(lab_vi, tmp_path: Path) -> Path:
    source = Path(sys.prefix) / lab_vi.EXTENSION
    target = tmp_path / lab_vi.EXTENSION
    shutil.copytree(source, target)
    return target / lab_vi.BUNDLE


def test_the_pinned_bundle_is_translated_and_still_javascript(lab_vi, tmp_path: Path) -> None:
    bundle = copy_of_the_extension(lab_vi, tmp_path)
    result = subprocess.run([sys.executable, str(REPO / "images/workspace/nbgrader_lab_vi.py"), str(tmp_path)],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = bundle.read_text(encoding="utf-8")
    assert text.isascii()
    for english, vietnamese in lab_vi.TRANSLATIONS:
        assert english not in text and lab_vi.escape_js(vietnamese) in text
    # what the learner reads, decoded as the browser does
    shown = text.encode().decode("unicode_escape", errors="ignore")
    for word in ("Tải về", "Nộp bài", "Kiểm tra bài", "Bài đã phát", "Bài đã nộp", "Tải nhận xét"):
        assert word in shown
    if shutil.which("node"):
        parsed = subprocess.run(["node", "--check", str(bundle)], capture_output=True, text=True)
        assert parsed.returncode == 0, parsed.stderr


def test_a_changed_bundle_stops_the_build_with_its_name(lab_vi, tmp_path: Path) -> None:
    bundle = copy_of_the_extension(lab_vi, tmp_path)
    bundle.write_text(bundle.read_text(encoding="utf-8").replace('innerText="Fetch"', 'innerText="Get"'))
    result = subprocess.run([sys.executable, str(REPO / "images/workspace/nbgrader_lab_vi.py"), str(tmp_path)],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 1 and "nbgrader's lab extension changed" in result.stderr
    assert 'innerText="Get"' in bundle.read_text(encoding="utf-8")  # left as it was
    with pytest.raises(lab_vi.TranslationError, match='innerText="Fetch"'):
        lab_vi.translate(bundle.read_text(encoding="utf-8"))


def test_a_missing_bundle_is_named(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(REPO / "images/workspace/nbgrader_lab_vi.py"), str(tmp_path)],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 1 and "is missing" in result.stderr


@pytest.mark.skipif(not shutil.which("node"), reason="node is installed by make (the proxy needs it)")
def test_submission_times_are_shown_in_vietnam_time(lab_vi, tmp_path: Path) -> None:
    script = tmp_path / "time.js"
    show = lab_vi.escape_js(lab_vi.VIETNAM_TIME)
    cases = ["2026-12-04 14:57:06.296852 UTC", "2026-12-31 17:00:00.000001 UTC", "not a time", ""]
    script.write_text("".join(f"console.log({show}({case!r}));\n" for case in cases), encoding="utf-8")
    shown = subprocess.run(["node", str(script)], capture_output=True, text=True, check=True).stdout.splitlines()
    assert shown == ["04/12/2026 21:57:06 (giờ Việt Nam)", "01/01/2027 00:00:00 (giờ Việt Nam)", "not a time", ""]
