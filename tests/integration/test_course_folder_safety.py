"""Nothing an instructor puts in a course folder runs with more rights than theirs (issue 10).

Through a real hub's formgrader, as the demo instructor: Python and configuration files are refused
whatever way they are written (save, chunked upload, rename, copy, new file), nested or not; the formgrader
stays on its own course. Files planted directly on disk (as if the refusal had been bypassed) are never
executed or imported: not by `truongso grade`, not by the portal's Autograde job, not by the formgraders when
the hub starts again. Bad grading settings stop grading with one bilingual line before anything is graded.
The formgrader's action dialogs carry a short bilingual message, not the server's paths.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.hub import ADMIN_PASSWORD, Hub, HubSession, running_demo_hub, truongso, wait_for_job

COURSE = "phan-tich-du-lieu"
ASSIGNMENT = "01-python-co-ban"  # generated and released by demo mode
NOTEBOOK = "python-co-ban"
REPO = Path(__file__).resolve().parents[2]
SOLVED = REPO / "tests" / "grading" / "submissions" / "solution" / f"{NOTEBOOK}.ipynb"
PLANTED = [  # (path in the course folder, how it would get run)
    "nbgrader_config_local.py",  # loaded by the generated nbgrader_config.py before issue 10
    "numpy.py",  # imported by anything that imports numpy with the course folder on sys.path
    "pandas.py",
    "sitecustomize.py",
    "usercustomize.py",
    "nbgrader.py",
    "jupyter_server_config.py",
    "jupyter_config.py",
    "ipython_config.py",
    "source/nbgrader_config.py",
    f"source/{ASSIGNMENT}/nbgrader_config.py",
]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, docker_prefix: str, grader_image: str) -> Hub:
    # the portal's sandboxes are named after the hub's Docker prefix: this session's, removed at its end
    toml = f'docker_prefix = "{docker_prefix}-cfs"\n'
    with running_demo_hub(tmp_path_factory.mktemp("course-safety") / "data", toml=toml) as hub:
        yield hub


@pytest.fixture(scope="module")
def markers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("markers")
    folder.chmod(0o777)  # whoever ran a planted file (root, the formgraders' user) could write here
    return folder


class Formgrader:
    """The instructor's browser on /services/<course>/: the formgrader and Jupyter's file API behind it."""

    def __init__(self, hub: Hub, course: str = COURSE) -> None:
        self.session = HubSession(hub.url)
        assert self.session.login("giangvien", hub.accounts["giangvien"]).status_code == 200
        self.path = f"/services/{course}/"
        self.base = hub.url + self.path
        page = self.session.http.get(self.base + "formgrader", timeout=60)
        assert page.status_code == 200 and "manage_assignments" in page.url, page.status_code

    def request(self, method: str, path: str, **kwargs) -> object:
        xsrf = self.session.http.cookies.get("_xsrf", path=self.path) or ""
        return self.session.http.request(method, self.base + path, headers={"X-XSRFToken": xsrf}, timeout=300,
                                         **kwargs)  # fmt: skip

    def put_file(self, path: str, content: str = "print('x')\n", **extra) -> object:
        model = {"type": "file", "format": "text", "content": content, **extra}
        return self.request("PUT", f"api/contents/{path}", json=model)


def course_root(hub: Hub) -> Path:
    return hub.data_dir / "courses" / COURSE


def plant(root: Path, markers: Path) -> list[Path]:
    """Files that write a marker when anything runs or imports them, written straight to disk."""
    written = []
    for relative in PLANTED:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        marker = markers / relative.replace("/", "__")
        path.write_text(f"open({str(marker)!r}, 'w').write('ran')\n", encoding="utf-8")
        written.append(path)
    # Jupyter's JSON configuration can name a module to import: the planted numpy.py.
    (root / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"numpy": True}}}), encoding="utf-8"
    )
    (root / "nbgrader_config.json").write_text(json.dumps({"Execute": {"timeout": 1}}), encoding="utf-8")
    return written


def submit(root: Path, student: str) -> None:
    dest = root / "submitted" / student / ASSIGNMENT
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(SOLVED, dest / f"{NOTEBOOK}.ipynb")
    (dest / "timestamp.txt").write_text("2026-01-05 08:00:00.000000 UTC", encoding="utf-8")


def name_sandboxes(root: Path, prefix: str) -> None:
    """As the operator: `truongso grade`'s sandboxes carry this test session's Docker prefix."""
    with open(root / "nbgrader_config.py", "a", encoding="utf-8") as fh:
        fh.write(f"c.SandboxGrader.name_prefix = {prefix!r}\n")


def grade_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """`truongso grade …`, once more if it tripped over another test session's sandbox vanishing while the
    grader listed stale ones (a known race in graders/autograde/sandbox.py under concurrent sessions)."""
    run = truongso("grade", *args, timeout=900, **kwargs)
    if run.returncode != 0 and "No such container" in run.stderr:
        run = truongso("grade", *args, timeout=900, **kwargs)
    return run


def graded(root: Path, student: str) -> bool:
    return (root / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb").is_file()


def portal_grade(hub: Hub, retry: bool = True) -> dict:
    instructor = HubSession(hub.url)
    assert instructor.login("giangvien", hub.accounts["giangvien"]).status_code == 200
    instructor.http.get(f"{hub.url}/services/portal/courses/{COURSE}", timeout=60)
    xsrf = instructor.http.cookies.get("_xsrf", path="/services/portal/")
    started = instructor.http.post(f"{hub.url}/services/portal/courses/{COURSE}/assignments/{ASSIGNMENT}/grade",
                                   data={"_xsrf": xsrf}, timeout=60)  # fmt: skip
    assert started.status_code == 200 and "/services/portal/jobs/" in started.url, started.status_code
    job = wait_for_job(instructor, started.url)
    if retry and job["state"] == "failed" and "No such container" in job["message"]:  # grade_cli's race
        return portal_grade(hub, retry=False)
    return job


@pytest.mark.parametrize(
    "path",
    [
        "nbgrader_config_local.py",
        "nbgrader_config.py",
        "sitecustomize.py",
        "numpy.py",
        "NUMPY.PY",
        "ghi-chu.py.",
        f"source/{ASSIGNMENT}/tro-giup.py",
        "a/b/c/sau.py",
        "__pycache__/x.cpython-311.pyc",
        "x.pth",
        "mod.cpython-311-x86_64-linux-gnu.so",
        "startup.ipy",
        "jupyter_server_config.json",
        "nbgrader_config.json",
        "ipython_kernel_config.json",
        "jupyter_server_config.d/x.json",
        ".ipython/profile_default/startup/00.py",
        ".jupyter/jupyter_server_config.json",
    ],
)
def test_formgrader_refuses_python_and_config_files(hub: Hub, path: str) -> None:
    fg = Formgrader(hub)
    refused = fg.put_file(path)
    if path.startswith("."):  # jupyter-server refuses hidden paths itself (400), before our check
        assert refused.status_code in (400, 403), (refused.status_code, refused.text[:300])
    else:
        assert refused.status_code == 403, (refused.status_code, refused.text[:300])
        message = refused.json()["message"]
        assert message.startswith("Không được ghi") and " / " in message and "grading.toml" in message, message
    target = course_root(hub) / path
    assert not target.exists() if path != "nbgrader_config.py" else "print('x')" not in target.read_text("utf-8")
    if "/" not in path.rstrip("/") and not path.startswith("."):  # the refusal, not a missing folder
        assert fg.put_file(path + ".txt").status_code in (200, 201)


def test_every_other_way_of_writing_is_refused_too(hub: Hub) -> None:
    fg, root = Formgrader(hub), course_root(hub)
    assert fg.put_file("ghi-chu.txt", "ghi chú").status_code in (200, 201)  # ordinary files: still fine
    assert fg.put_file("grading.toml", "[Execute]\ntimeout = 60\n").status_code in (200, 201)
    (root / "grading.toml").unlink()
    # chunked upload (JupyterLab's large-file upload): refused at the first chunk, nothing left behind
    first = fg.put_file("lon.py", "eA==", format="base64", chunk=1)
    last = fg.put_file("lon.py", "eA==", format="base64", chunk=-1)
    assert (first.status_code, last.status_code) == (403, 403) and not (root / "lon.py").exists()
    # rename and copy into such names
    renamed = fg.request("PATCH", "api/contents/ghi-chu.txt", json={"path": "ghi-chu.py"})
    assert renamed.status_code == 403 and (root / "ghi-chu.txt").exists() and not (root / "ghi-chu.py").exists()
    moved = fg.request("PATCH", "api/contents/ghi-chu.txt", json={"path": "source/nbgrader_config_local.py"})
    assert moved.status_code == 403
    fg.request("PUT", "api/contents/mau", json={"type": "directory"})
    copied = fg.request("POST", "api/contents/mau", json={"copy_from": "nbgrader_config.py"})
    assert copied.status_code == 403 and list((root / "mau").iterdir()) == []
    untitled = fg.request("POST", "api/contents/mau", json={"type": "file", "ext": ".py"})
    assert untitled.status_code == 403 and list((root / "mau").iterdir()) == []
    # Trường Số's generated file: not readable (a PostgreSQL gradebook URL has its password), not removable
    assert fg.request("GET", "api/contents/nbgrader_config.py").status_code == 403
    assert fg.request("DELETE", "api/contents/nbgrader_config.py").status_code == 403
    assert (root / "nbgrader_config.py").is_file()


def test_generated_config_is_constants_and_owned_by_truongso(hub: Hub) -> None:
    from graders.course_settings import literal_settings

    for folder in (course_root(hub), hub.data_dir / "run" / "formgraders" / COURSE):
        text = (folder / "nbgrader_config.py").read_text(encoding="utf-8")
        assert "load_subconfig" not in text and "import" not in text and "local" not in text
        settings = literal_settings(text)
        assert settings["CourseDirectory"]["course_id"] == COURSE
        assert settings["ExchangeFactory"]["collect"] == "graders.exchange.ExchangeCollect"
        if os.geteuid() == 0:
            assert (folder / "nbgrader_config.py").stat().st_uid == 0  # not the formgraders' user's to change


def test_formgrader_stays_on_its_course(hub: Hub) -> None:
    """nbgrader's `/formgrader?path=DIR` re-initialises from DIR's nbgrader_config.py: another course's
    gradebook, or a folder with a config file to run. It is ignored."""
    fg = Formgrader(hub)
    other = hub.data_dir / "courses" / "ky-nang-so"
    page = fg.session.http.get(fg.base + "formgrader", params={"path": str(other)}, timeout=60)
    assert page.status_code == 200 and "manage_assignments" in page.url
    names = [a["name"] for a in fg.request("GET", "formgrader/api/assignments").json()]
    assert "01-python-co-ban" in names and not any(n.startswith("01-tep") for n in names), names
    listing = fg.session.http.get(fg.base + "formgrader/manage_assignments", timeout=60).text
    assert "gradebook.db" not in listing and str(hub.data_dir) not in listing  # no configuration dump


def test_grading_runs_nothing_from_the_course_folder(hub: Hub, markers: Path, docker_prefix: str,
                                                     grader_image: str) -> None:  # fmt: skip
    root = course_root(hub)
    planted = plant(root, markers)
    name_sandboxes(root, f"{docker_prefix}-cfs-cli")
    (root / "grading.toml").write_text("[Execute]\ntimeout = 60\n[SandboxGrader]\nworkers = 1\n", encoding="utf-8")
    submit(root, "hocvien1")
    # `truongso grade` from inside the course folder: as the console script, and from a Python whose
    # sys.path starts with the working directory (`python -c`, as `python -m` would)
    run = grade_cli(COURSE, ASSIGNMENT, "--data-dir", str(hub.data_dir), "--image", grader_image, cwd=root)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "1 đã chấm / graded" in run.stdout and graded(root, "hocvien1")
    argv = ["truongso", "grade", COURSE, ASSIGNMENT, "--data-dir", str(hub.data_dir), "--image", grader_image,
            "--force"]  # fmt: skip
    code = f"import sys; from hub.cli import main; sys.exit(main({argv[1:]!r}))"
    module = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=900,
                            check=False)  # fmt: skip
    if module.returncode != 0 and "No such container" in module.stderr:  # the race grade_cli describes
        module = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                                timeout=900, check=False)  # fmt: skip
    assert module.returncode == 0, module.stdout[-2000:] + module.stderr[-2000:]
    assert sorted(os.listdir(markers)) == []
    # the portal's Autograde button, in the portal service (the hub's rights)
    submit(root, "hocvien2")
    job = portal_grade(hub)
    assert (job["state"], job["failed"]) == ("done", 0), job
    assert graded(root, "hocvien2")
    assert sorted(os.listdir(markers)) == [], "planted files ran"
    assert all(p.exists() for p in planted)  # still there: not run, not a missing file


def test_bad_grading_settings_stop_before_anything_is_graded(hub: Hub, grader_image: str) -> None:
    root = course_root(hub)
    submit(root, "hocvien3")
    shutil.rmtree(root / "autograded" / "hocvien3", ignore_errors=True)
    bad = {
        "[Execute]\ntimeout = 'mot phut'\n": "[Execute] timeout",
        "[SandboxGrader]\nmemory = '64g'\n": "[SandboxGrader] memory",
        "[SandboxGrader]\nimage = 'alpine'\n": "[SandboxGrader] image",
        "[Exchange]\nroot = '/'\n": "[Exchange]",
        "[Execute\n": "TOML",
    }
    for text, where in bad.items():
        (root / "grading.toml").write_text(text, encoding="utf-8")
        run = grade_cli(COURSE, ASSIGNMENT, "--data-dir", str(hub.data_dir), "--image", grader_image,
                        "--student", "hocvien3")  # fmt: skip
        lines = run.stderr.strip().splitlines()
        assert run.returncode == 1 and len(lines) == 1, run.stderr
        assert lines[0].startswith("truongso: lỗi / error: cài đặt chấm bài sai (grading.toml") and where in lines[0]
        assert " / bad grading setting (grading.toml" in lines[0]
        assert not graded(root, "hocvien3")
    job = portal_grade(hub)
    assert job["state"] == "failed" and job["message"].startswith("cài đặt chấm bài sai (grading.toml"), job
    assert "bad grading setting" in job["message"] and not graded(root, "hocvien3")
    (root / "grading.toml").unlink()


def test_action_dialogs_show_no_server_paths(hub: Hub) -> None:
    fg = Formgrader(hub)
    for assignment in (ASSIGNMENT, "khong-co"):
        url = f"formgrader/api/assignment/{assignment}/generate_feedback"
        answer = fg.request("POST", url)
        assert answer.status_code == 200, answer.text[:300]
        result = answer.json()
        assert set(result) == {"success", "log"}, result
        text = result["log"]
        assert str(hub.data_dir) not in text and ".venv" not in text and "site-packages" not in text, text
        assert "Traceback" not in text and "[DEBUG]" not in text and "[INFO]" not in text, text
        if result["success"]:
            assert text == "Đã tạo nhận xét. / Feedback generated."
        else:
            assert text.startswith("Không tạo được nhận xét. / Feedback could not be generated."), text
    assert fg.request("POST", "formgrader/api/assignment/khong-co/generate_feedback").json()["success"] is False


def test_formgraders_load_nothing_from_the_course_folder_when_the_hub_starts(hub: Hub, markers: Path) -> None:
    root = course_root(hub)
    plant(root, markers)
    accounts = dict(hub.accounts)  # printed at the demo start only
    hub.restart("--spawner", "local", env={"TRUONGSO_ADMIN_PASSWORD": ADMIN_PASSWORD})
    hub.accounts = accounts
    fg = Formgrader(hub)
    assert fg.request("GET", "formgrader/api/assignments").status_code == 200
    assert sorted(os.listdir(markers)) == [], "planted files ran"
    # the formgrader's working directory, where nbgrader looks for config and which it puts on sys.path
    server = next(p for p in Path("/proc").iterdir() if p.name.isdigit() and _is_formgrader(p, root))
    assert Path(os.readlink(server / "cwd")) == hub.data_dir / "run" / "formgraders" / COURSE


def _is_formgrader(proc: Path, root: Path) -> bool:
    try:
        return f"--ServerApp.root_dir={root}".encode() in (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
