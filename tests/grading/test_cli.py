"""`truongso grade`: the instructor's command, its summary table and its one-line errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from grading_support import ASSIGNMENT, COURSE, case_path, make_course, submit

pytestmark = pytest.mark.docker
TRUONGSO = Path(sys.executable).parent / "truongso"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, grader_image: str, sandbox_prefix: str) -> Path:
    """A data directory whose course lives where `truongso grade` looks by default."""
    data = tmp_path_factory.mktemp("cli") / "data"
    (data / "courses").mkdir(parents=True)
    prefix = f"c.SandboxGrader.name_prefix = {sandbox_prefix + '-cli'!r}\nc.SandboxGrader.image = {grader_image!r}\n"
    root = make_course(data / "courses", COURSE, ASSIGNMENT, extra_config=prefix)
    for student in ("solution", "typical", "always-equal"):
        submit(root, student, case_path(student))
    return data


def truongso(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=f"{TRUONGSO.parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run([str(TRUONGSO), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
                          check=False)  # fmt: skip


def test_grade_prints_a_bilingual_summary(data_dir: Path) -> None:
    run = truongso("grade", COURSE, ASSIGNMENT, "--data-dir", str(data_dir))
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert out.startswith(f"Chấm tự động / Autograding: {COURSE} / {ASSIGNMENT} — 3 bài nộp / submissions")
    header = next(line for line in out.splitlines() if "student" in line)
    assert header.index("học viên") < header.index("student") and header.index("điểm") < header.index("score")
    rows = {line.split()[0]: line for line in out.splitlines() if line.split() and line.split()[0] in
            ("solution", "typical", "always-equal")}  # fmt: skip
    assert "18 / 20" in rows["solution"] and "đã chấm / graded" in rows["solution"]
    assert "0 / 20" in rows["always-equal"] and "⚑" in rows["always-equal"]
    assert "always true" in out  # the finding, in both languages, under the flagged row
    assert "Tổng / total: 3 đã chấm / graded, 0 lỗi / failed, 1 cần xem / flagged" in out
    assert "autograde-reports/01-python-co-ban.json" in out

    again = truongso("grade", COURSE, ASSIGNMENT, "--data-dir", str(data_dir), "--student", "typical")
    assert again.returncode == 0 and "không đổi / unchanged" in again.stdout and "solution" not in again.stdout


def test_course_dir_option(data_dir: Path, tmp_path: Path) -> None:
    run = truongso("grade", "any-name", ASSIGNMENT, "--course-dir", str(data_dir / "courses" / COURSE),
                   "--student", "solution", "--workers", "1", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "1 luồng / workers" in run.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((COURSE, "khong-co"), "bài 'khong-co' chưa có trong sổ điểm"),
        (("khoa-la", ASSIGNMENT), "không có thư mục khoá học"),
        ((COURSE, ASSIGNMENT, "--student", "ai-do"), "ai-do chưa nộp bài"),
        ((COURSE, ASSIGNMENT, "--workers", "0"), "--workers phải ≥ 1"),
    ],
)
def test_errors_are_one_bilingual_line(data_dir: Path, args: tuple[str, ...], message: str) -> None:
    run = truongso("grade", *args, "--data-dir", str(data_dir))
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("truongso: lỗi / error: ") and message in lines[0], run.stderr
    assert " / " in lines[0].split("error: ", 1)[1]  # Vietnamese / English


def test_no_submissions_yet(data_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    shutil.copytree(data_dir / "courses" / COURSE, empty, ignore=shutil.ignore_patterns("submitted", "autograd*"))
    config = empty / "nbgrader_config.py"
    config.write_text(config.read_text(encoding="utf-8").replace(str(data_dir / "courses" / COURSE), str(empty)),
                      encoding="utf-8")  # fmt: skip
    run = truongso("grade", COURSE, ASSIGNMENT, "--course-dir", str(empty))
    assert run.returncode == 0 and "Chưa có bài nộp nào / no submissions yet" in run.stdout
