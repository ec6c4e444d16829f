"""Course settings are data: read without running anything from the course folder, checked against an
allow-list with bounds, one bilingual line per mistake (issue 10). The formgrader's refusals and its short
action messages, as functions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from traitlets.config.loader import PyFileConfigLoader

from graders.autograde.course import AutogradeError, setup_course
from graders.course_settings import (
    INSTRUCTOR_SCHEMA,
    CourseSettingsError,
    describe,
    literal_settings,
    read_course_settings,
)
from graders.coursedir import ensure_course_dir, grading_config, nbgrader_settings, render_config
from graders.curriculum import load_course
from hub.services.formgrader.logs import scrub, summarise
from hub.services.formgrader.restrictions import refusal

REPO = Path(__file__).resolve().parents[2]


def planted(folder: Path, marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').write('ran')\n"


def test_grading_reads_the_course_folder_without_running_it(tmp_path: Path) -> None:
    root, marker = tmp_path / "khoa", tmp_path / "ran"
    root.mkdir()
    (root / "nbgrader_config.py").write_text(
        "import os\nc = get_config()\n"
        "c.CourseDirectory.course_id = 'phan-tich-du-lieu'\n"
        f"os.system('touch {marker}')\n"
        f"c.Execute.timeout = int(open({str(marker)!r}, 'w').write('x'))\n"  # an expression: not data, skipped
        "c.ExecutePreprocessor.timeout = 90\n"
        "c.SandboxGrader.image = 'truongso/grader:latest'\n"
        "c.Exchange.root = '/somewhere'\n"  # nbgrader's own commands' setting: ignored here
        f"load_subconfig({str(root / 'nbgrader_config_local.py')!r})\n",
        encoding="utf-8",
    )
    for name in ("nbgrader_config_local.py", "numpy.py", "sitecustomize.py"):
        (root / name).write_text(planted(root, marker), encoding="utf-8")
    (root / "nbgrader_config.json").write_text(json.dumps({"Execute": {"timeout": 1}}), encoding="utf-8")
    (root / "grading.toml").write_text("[SandboxGrader]\nworkers = 2\nmemory = '2g'\n", encoding="utf-8")
    setup = setup_course(root)
    assert not marker.exists()
    assert setup.course_id == "phan-tich-du-lieu"
    assert (setup.settings.workers, setup.settings.memory, setup.settings.image) == (2, "2g", "truongso/grader:latest")
    assert setup.config.ExecutePreprocessor.timeout == 90 and "Exchange" not in setup.config
    # the caller's identity wins over what the folder says
    trusted = setup_course(root, grading_config("ky-nang-so", root, "sqlite:///elsewhere.db"))
    assert (trusted.course_id, trusted.coursedir.db_url) == ("ky-nang-so", "sqlite:///elsewhere.db")


GOOD = """
[Execute]
timeout = 120
interrupt_on_timeout = true
[Autograde]
exclude_overwriting = {"02-lam-sach-du-lieu" = ["data/ho-so.csv"]}
[AssignLatePenalties]
plugin_class = "nbgrader.plugins.LateSubmissionPlugin"
[LateSubmissionPlugin]
penalty_method = "zero"
[SandboxGrader]
workers = 2
memory = "1536m"
cpus = 1.5
pids = 256
wall_timeout = 600
matplotlib_backend = "agg"
"""


def test_every_allowed_setting_applies(tmp_path: Path) -> None:
    (tmp_path / "grading.toml").write_text(GOOD, encoding="utf-8")
    setup = setup_course(tmp_path)
    assert setup.config.Execute.timeout == 120 and setup.settings.cpus == 1.5
    assert setup.converter.exclude_overwriting == {"02-lam-sach-du-lieu": ["data/ho-so.csv"]}
    assert setup.config.AssignLatePenalties.plugin_class == "nbgrader.plugins.LateSubmissionPlugin"


@pytest.mark.parametrize(
    ("text", "vi", "en"),
    [
        ("[Execute]\ntimeout = 'mot phut'\n", "[Execute] timeout): phải là số nguyên", "must be an integer"),
        ("[Execute]\ntimeout = true\n", "[Execute] timeout): phải là số nguyên", "must be an integer"),
        ("[Execute]\ntimeout = 0\n", "phải từ 1 đến 1800", "must be between 1 and 1800"),
        ("[Execute]\ntimeout = 1e9\n", "phải là số nguyên", "must be an integer"),
        ("[Execute]\ntimeout = 60.0\n", "phải là số nguyên", "must be an integer"),
        ("[Execute]\nkernel_name = 'bash'\n", "[Execute] kernel_name): không được đặt", "cannot be set here"),
        ("[Execute]\nextra_arguments = ['--x']\n", "[Execute] extra_arguments)", "cannot be set here"),
        ("[SandboxGrader]\nimage = 'alpine'\n", "[SandboxGrader] image)", "cannot be set here"),
        ("[SandboxGrader]\nname_prefix = 'x'\n", "[SandboxGrader] name_prefix)", "cannot be set here"),
        ("[SandboxGrader]\nmemory = '64g'\n", "phải từ 256m đến 4g", "must be between 256m and 4g"),
        ("[SandboxGrader]\nmemory = 'lots'\n", "dạng 512m hoặc 2g", "like 512m or 2g"),
        ("[SandboxGrader]\ncpus = 64\n", "[SandboxGrader] cpus)", "must be between 0.25 and 4"),
        ("[SandboxGrader]\npids = 1\n", "[SandboxGrader] pids)", "must be between 32 and 1024"),
        ("[SandboxGrader]\nworkers = -1\n", "[SandboxGrader] workers)", "must be between 0 and 16"),
        ("[AssignLatePenalties]\nplugin_class = 'os.system'\n", "phải là một trong", "must be one of"),
        ("[LateSubmissionPlugin]\npenalty_method = 'half'\n", "phải là một trong", "must be one of"),
        ("[Autograde]\nexclude_overwriting = {'a' = ['../../gradebook.db']}\n", "đường dẫn tương đối", "relative"),
        ("[Autograde]\nexclude_overwriting = {'a' = ['/etc/passwd']}\n", "đường dẫn tương đối", "relative path"),
        ("[Autograde]\nautograde_preprocessors = ['os.system']\n", "[Autograde] autograde_preprocessors)", "cannot"),
        ("[CourseDirectory]\ndb_url = 'sqlite:////tmp/x.db'\n", "[CourseDirectory])", "cannot be set here"),
        ("[Exchange]\nroot = '/'\n", "[Exchange])", "cannot be set here"),
        ("Execute = 3\n", "[Execute]): phải là bảng", "must be a table"),
        ("[Execute\ntimeout = 9\n", "không phải TOML hợp lệ", "not valid TOML"),
        ("[Execute]\ntimeout = 9\ntimeout = 10\n", "không phải TOML hợp lệ", "not valid TOML"),
    ],
)
def test_bad_settings_are_one_bilingual_line(tmp_path: Path, text: str, vi: str, en: str) -> None:
    (tmp_path / "grading.toml").write_text(text, encoding="utf-8")
    with pytest.raises(AutogradeError) as caught:
        setup_course(tmp_path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("cài đặt chấm bài sai (grading.toml")
    head, tail = message.split(" / bad grading setting (grading.toml", 1)
    assert vi in head and en in tail, message


def test_settings_file_must_be_a_small_regular_file(tmp_path: Path) -> None:
    (tmp_path / "that").write_text("[Execute]\ntimeout = 5\n", encoding="utf-8")
    (tmp_path / "grading.toml").symlink_to(tmp_path / "that")
    with pytest.raises(CourseSettingsError, match=r"không phải tệp thường / .*not a regular file"):
        read_course_settings(tmp_path)
    (tmp_path / "grading.toml").unlink()
    (tmp_path / "grading.toml").write_text("# " + "x" * (70 << 10), encoding="utf-8")
    with pytest.raises(CourseSettingsError, match="KiB"):
        read_course_settings(tmp_path)


def test_generated_config_is_constants_that_nbgrader_reads_the_same(tmp_path: Path) -> None:
    course = load_course(REPO / "courses" / "phan-tich-du-lieu")
    root = ensure_course_dir(tmp_path / "khoa", course, "postgresql://u:p@db/gb")
    text = (root / "nbgrader_config.py").read_text(encoding="utf-8")
    assert "import" not in text and "load_subconfig" not in text and "local" not in text
    expected = nbgrader_settings(course.id, root, "postgresql://u:p@db/gb")
    assert literal_settings(text) == expected  # what grading reads as data …
    executed = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    assert {s: dict(v) for s, v in executed.items()} == expected  # … is what nbgrader's apps get by running it
    assert render_config(expected) == text
    before = (root / "nbgrader_config.py").stat().st_mtime_ns
    ensure_course_dir(tmp_path / "khoa", course, "postgresql://u:p@db/gb")  # safe to repeat: unchanged
    assert (root / "nbgrader_config.py").stat().st_mtime_ns == before


@pytest.mark.parametrize(
    "path",
    ["nbgrader_config_local.py", "x/y/z.py", "NUMPY.PY", "ｎｕｍｐｙ．ｐｙ", "a.py.", "a.py ", "m.pyc", "m.pyw", "m.so",
     "m.cpython-311-x86_64-linux-gnu.so", "m.pth", "s.ipy", "__pycache__/m.pyc", "__pycache__",
     "jupyter_server_config.json", "jupyter_notebook_config.json", "jupyter_server_config.d/x.json",
     "ipython_kernel_config.json", "nbgrader_config.json", "my-config.toml", ".ipython/x", ".jupyter",
     "source/.hidden.ipynb"],
)  # fmt: skip
def test_formgrader_refuses_these_names(path: str) -> None:
    assert refusal(path), path


@pytest.mark.parametrize(
    "path",
    ["grading.toml", "source/01-python-co-ban/python-co-ban.ipynb", "source/01/data/ho-so.csv", "ghi-chu.txt",
     "config.csv", "bao-cao.pdf", "release/01/hinh.png", "pyproject.txt"],
)  # fmt: skip
def test_formgrader_allows_course_files(path: str) -> None:
    assert refusal(path) is None, path


def test_action_results_carry_no_server_paths() -> None:
    root = "/srv/truongso/data/courses/phan-tich-du-lieu"
    result = {
        "success": False,
        "log": "[INFO] Updating/creating assignment 'x'\n"
        f"[ERROR] No such file: {root}/autograded/hv1/x/bai.ipynb\n"
        "[ERROR] see /root/.venv/lib/python3.11/site-packages/nbgrader/apps/baseapp.py\n",
        "error": 'Traceback (most recent call last):\n  File "/work/main/.venv/lib/python3.11/site-packages/x.py", '
        f"line 3\nnbgrader.NbGraderException: Please see the error log above: {root}/x",
    }
    summary = summarise("generate_feedback", result, root)
    assert set(summary) == {"success", "log"} and summary["success"] is False
    text = summary["log"]
    assert text.splitlines()[0] == "Không tạo được nhận xét. / Feedback could not be generated."
    assert "autograded/hv1/x/bai.ipynb" in text  # the course's own paths, relative
    assert "/srv" not in text and ".venv" not in text and "/root" not in text and "[INFO]" not in text
    assert summarise("release", {"success": True, "log": f"[INFO] {root}"}, root) == {
        "success": True,
        "log": "Đã phát bài tập cho học viên. / Assignment released.",
    }
    assert scrub("copied /usr/lib/x to ./y", root) == "copied … to ./y"


def test_readme_lists_every_instructor_setting() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name, _ in describe():
        assert f"`{name}`" in readme, name
    assert set(INSTRUCTOR_SCHEMA["properties"]) <= {n.split(".")[0] for n, _ in describe()}
