"""Batch behaviour: repeatable, atomic per submission, survives a killed grader, runs in a thread."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from grading_support import ASSIGNMENT, COURSE, NOTEBOOK, case_path, make_course, nbgrader_run, scores, submit

import graders.autograde.finish as finish
from graders.autograde import AutogradeError, grade_assignment
from graders.autograde.sandbox import Sandbox, SandboxSpec

pytestmark = pytest.mark.docker
HONEST = ("solution", "typical", "blank")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_course(tmp_path_factory.mktemp("template"), COURSE, ASSIGNMENT)
    for student in HONEST:
        submit(root, student, case_path(student))
    return root


@pytest.fixture
def course(template: Path, tmp_path: Path) -> Path:
    """A private copy of the generated course (generating costs seconds, copying does not)."""
    root = tmp_path / COURSE
    shutil.copytree(template, root)
    config = root / "nbgrader_config.py"
    config.write_text(config.read_text(encoding="utf-8").replace(str(template), str(root)), encoding="utf-8")
    return root


def _db(root: Path) -> str:
    return f"sqlite:///{root / 'gradebook.db'}"


def _grade(root: Path, image: str, prefix: str, **kwargs: object):
    return grade_assignment(root, ASSIGNMENT, image=image, name_prefix=prefix, **kwargs)


def test_rerun_skips_unchanged_and_regrades_what_changed(course: Path, grader_image: str, sandbox_prefix: str) -> None:
    first = _grade(course, grader_image, sandbox_prefix)
    assert [r.status for r in first.results] == ["graded"] * 3
    before = scores(_db(course), COURSE, ASSIGNMENT)
    graded = course / "autograded" / "typical" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    stamp = graded.stat().st_mtime_ns

    again = _grade(course, grader_image, sandbox_prefix)
    assert [r.status for r in again.results] == ["unchanged"] * 3
    assert [r.score for r in again.results] == [r.score for r in first.results]
    assert scores(_db(course), COURSE, ASSIGNMENT) == before and graded.stat().st_mtime_ns == stamp

    submit(course, "typical", case_path("solution"))  # the learner resubmitted
    third = _grade(course, grader_image, sandbox_prefix)
    assert {r.student: r.status for r in third.results} == {"blank": "unchanged", "solution": "unchanged",
                                                            "typical": "graded"}  # fmt: skip
    assert third.result("typical").score == third.result("solution").score

    forced = _grade(course, grader_image, sandbox_prefix, force=True)
    assert [r.status for r in forced.results] == ["graded"] * 3


def test_one_student(course: Path, grader_image: str, sandbox_prefix: str) -> None:
    report = _grade(course, grader_image, sandbox_prefix, students=["typical"])
    assert [r.student for r in report.results] == ["typical"]
    assert set(k[0] for k in scores(_db(course), COURSE, ASSIGNMENT)) == {"typical"}
    with pytest.raises(AutogradeError, match="ghost"):
        _grade(course, grader_image, sandbox_prefix, students=["ghost"])


def test_a_failed_commit_leaves_the_old_grades(course: Path, grader_image: str, sandbox_prefix: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    _grade(course, grader_image, sandbox_prefix)
    before = scores(_db(course), COURSE, ASSIGNMENT)
    folder = course / "autograded" / "typical" / ASSIGNMENT
    old_notebook = (folder / f"{NOTEBOOK}.ipynb").read_bytes()
    submit(course, "typical", case_path("solution"))
    real = finish._write_folder

    def crash(tmp: Path, *args: object) -> None:
        real(tmp, *args)
        if "typical" in str(tmp):  # after nbgrader has written every grade into the transaction
            raise OSError("disk full")

    monkeypatch.setattr(finish, "_write_folder", crash)
    report = _grade(course, grader_image, sandbox_prefix)
    assert report.result("typical").status == "failed" and "disk full" in report.result("typical").error
    assert scores(_db(course), COURSE, ASSIGNMENT) == before  # nothing half-written
    assert (folder / f"{NOTEBOOK}.ipynb").read_bytes() == old_notebook
    assert not [p.name for p in folder.parent.iterdir() if p.name.startswith(".")]
    monkeypatch.undo()
    assert _grade(course, grader_image, sandbox_prefix).result("typical").status == "graded"


KILLER = """
import os, signal, sys
from graders.autograde import grade_assignment
def progress(done, total, result):
    if done == 1:  # the first submission is committed: die now, without any cleanup
        os.kill(os.getpid(), signal.SIGKILL)
grade_assignment(sys.argv[1], sys.argv[2], image=sys.argv[3], name_prefix=sys.argv[4], workers=2, progress=progress)
"""


def test_killed_grader_rerun(course: Path, grader_image: str, sandbox_prefix: str, docker_client: object) -> None:
    for n in range(3):
        submit(course, f"more-{n}", case_path("typical"))
    prefix = f"{sandbox_prefix}-killed"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    run = subprocess.run([sys.executable, "-c", KILLER, str(course), ASSIGNMENT, grader_image, prefix],
                         env=env, capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert run.returncode == -signal.SIGKILL, run.stderr[-3000:]

    # No half-written submission: every one in the gradebook has all its tests scored.
    from nbgrader.api import Gradebook

    with Gradebook(_db(course), course_id=COURSE) as gb:
        graded = [s.student.id for s in gb.assignment_submissions(ASSIGNMENT)]
        for sub in gb.assignment_submissions(ASSIGNMENT):
            assert all(g.auto_score is not None for nb in sub.notebooks for g in nb.grades if g.cell_type == "code")
    report = json.loads((course / "autograde-reports" / f"{ASSIGNMENT}.json").read_text(encoding="utf-8"))
    assert len(graded) == 1 and set(report["submissions"]) == set(graded)  # killed right after the first commit

    # Its sandboxes do not linger: warm ones see their stdin close, busy ones finish their one job.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        running = docker_client.containers.list(filters={"name": prefix})
        if not running:
            break
        time.sleep(1)
    assert not running, [c.name for c in running]

    rerun = grade_assignment(course, ASSIGNMENT, image=grader_image, name_prefix=prefix)
    statuses = {r.student: r.status for r in rerun.results}
    assert statuses == {s: "unchanged" if s in graded else "graded" for s in (*HONEST, "more-0", "more-1", "more-2")}
    assert rerun.result("more-0").score == rerun.result("typical").score
    assert not docker_client.containers.list(all=True, filters={"name": prefix})  # the rerun removed them


def test_missing_notebook_and_links_are_not_followed(course: Path, grader_image: str, sandbox_prefix: str) -> None:
    dest = course / "submitted" / "no-notebook" / ASSIGNMENT
    dest.mkdir(parents=True)
    (dest / "timestamp.txt").write_text("2026-05-01 10:00:00.000000 UTC", encoding="utf-8")
    (dest / "ghi-chu.txt").write_text("quên nộp notebook", encoding="utf-8")
    os.symlink("/etc/passwd", dest / "passwd")
    report = _grade(course, grader_image, sandbox_prefix, students=["no-notebook"])
    result = report.result("no-notebook")
    assert result.status == "graded" and result.score == 0
    assert "missing_notebook" in {f.kind for f in result.findings}
    folder = course / "autograded" / "no-notebook" / ASSIGNMENT
    assert sorted(p.name for p in folder.iterdir()) == ["ghi-chu.txt", "timestamp.txt"]


def test_late_penalty_comes_from_nbgrader_plugin(course: Path, grader_image: str, sandbox_prefix: str) -> None:
    from nbgrader.api import Gradebook

    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as fh:
        fh.write("c.LateSubmissionPlugin.penalty_method = 'zero'\n")
    with Gradebook(_db(course), course_id=COURSE) as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate="2026-03-01 00:00:00 UTC")
    submit(course, "late", case_path("solution"), timestamp="2026-03-02 08:00:00.000000 UTC")
    submit(course, "on-time", case_path("solution"), timestamp="2026-02-28 08:00:00.000000 UTC")
    stock = course.parent / "stock"
    shutil.copytree(course, stock / COURSE)
    config = stock / COURSE / "nbgrader_config.py"
    config.write_text(config.read_text(encoding="utf-8").replace(str(course), str(stock / COURSE)), encoding="utf-8")
    run = nbgrader_run.run_nbgrader(stock / COURSE, "autograde", ASSIGNMENT, "--student", "late")
    assert run.returncode == 0, run.stderr[-3000:]

    report = _grade(course, grader_image, sandbox_prefix, students=["late", "on-time"])
    assert report.result("late").late_penalty == report.result("late").score > 0
    assert report.result("on-time").late_penalty == 0
    ours, theirs = scores(_db(course), COURSE, ASSIGNMENT), scores(_db(stock / COURSE), COURSE, ASSIGNMENT)
    assert ours[("late", "total")] == theirs[("late", "total")]
    with Gradebook(_db(course), course_id=COURSE) as gb:
        assert gb.find_submission(ASSIGNMENT, "late").total_seconds_late == 32 * 3600


def test_grading_in_a_background_thread(course: Path, grader_image: str, sandbox_prefix: str) -> None:
    ticks: list[tuple[int, int]] = []
    box: dict[str, object] = {}

    def work() -> None:
        box["report"] = _grade(course, grader_image, sandbox_prefix, progress=lambda d, t, r: ticks.append((d, t)))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(300)
    assert not thread.is_alive()
    assert box["report"].graded == 3
    assert ticks[0] == (0, 3) and ticks[-1] == (3, 3) and [d for d, _ in ticks] == sorted(d for d, _ in ticks)


def test_a_running_sandbox_has_only_loopback(docker_client: object, grader_image: str, sandbox_prefix: str) -> None:
    box = Sandbox(docker_client, SandboxSpec(image=grader_image, name_prefix=sandbox_prefix), f"{sandbox_prefix}-probe")
    try:
        box.container.reload()
        host = box.container.attrs["HostConfig"]
        assert host["NetworkMode"] == "none" and host["ReadonlyRootfs"] and not host["Privileged"]
        assert host["CapDrop"] == ["ALL"] and host["SecurityOpt"] == ["no-new-privileges"]
        assert not host.get("Binds") and set(host["Tmpfs"]) == {"/tmp", "/home/grader/work"}
        assert host["Memory"] == host["MemorySwap"] == 1 << 30 and host["PidsLimit"] == 128
        assert box.container.attrs["Config"]["User"] == "1001:1001" and not box.container.attrs["Mounts"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the runner has made itself non-dumpable (its first step)
            probe = box.container.exec_run(  # one stream: Docker may reorder stdout and stderr frames
                ["sh", "-c", "exec 2>&1; ls /sys/class/net; id -u; touch /x; cat /proc/1/environ"]
            )
            if b"Permission denied" in probe.output:
                break
            time.sleep(0.2)
        lines = probe.output.decode().split("\n")
        assert lines[0] == "lo" and lines[1] == "1001", lines
        assert "Read-only file system" in lines[2] and "Permission denied" in probe.output.decode()
    finally:
        box.remove()
