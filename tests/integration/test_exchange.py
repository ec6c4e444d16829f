"""The hub-authenticated exchange with stock `nbgrader` commands: the whole loop, spoofing, course walls.

A real hub (`truongso up --demo`, local spawner: the exchange does not care where nbgrader runs) and real
nbgrader CLI processes, each with the token of the person it acts for.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from nbgrader.api import Gradebook
from support.hub import Hub, HubSession, exchange_token, exchange_url, truongso

from graders.coursedir import ensure_course_dir
from graders.curriculum import load_course

REPO = Path(__file__).resolve().parents[2]
COURSE = "phan-tich-du-lieu"
OTHER_COURSE = "ky-nang-so"
ASSIGNMENT = "01-python-co-ban"
NOTEBOOK = "python-co-ban.ipynb"
TYPICAL = REPO / "courses" / COURSE / "test-submissions" / ASSIGNMENT / "typical" / NOTEBOOK
VENV_BIN = str(Path(sys.executable).parent)


def nbgrader(cwd: Path, token: str, hub: Hub, *args: str, user: str = "", check: bool = True) -> str:
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
        "HOME": str(cwd),
        "TRUONGSO_EXCHANGE_URL": exchange_url(hub),
        "JUPYTERHUB_API_TOKEN": token,
        "JUPYTERHUB_USER": user,
    }
    done = subprocess.run([f"{VENV_BIN}/nbgrader", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    output = done.stdout + done.stderr
    if check:
        assert done.returncode == 0, output
    return output


def api(hub: Hub, token: str, method: str, path: str, **kwargs) -> requests.Response:
    headers = {"Authorization": f"token {token}", **kwargs.pop("headers", {})}
    return requests.request(method, exchange_url(hub) + "api/" + path, headers=headers, timeout=60, **kwargs)


def tar_gz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def learner_home(tmp: Path, name: str) -> Path:
    home = tmp / name
    home.mkdir()
    (home / "nbgrader_config.py").write_text(
        "from graders.exchange import use_hub_exchange\nc = get_config()\nuse_hub_exchange(c)\n", encoding="utf-8"
    )
    return home


@pytest.fixture(scope="module")
def world(demo_hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Course A (DEMO class) and course B (class KNS-B with its own instructor and learner)."""
    tmp = tmp_path_factory.mktemp("exchange")
    data_dir = str(demo_hub.data_dir)
    assert truongso("classes", "add", "KNS-B", "--course", OTHER_COURSE, "--data-dir", data_dir).returncode == 0
    roster = tmp / "kns.csv"
    roster.write_text(
        "Họ và tên,Email,Đơn vị,Lớp,Tên đăng nhập,Vai trò\n"
        "Đỗ Minh Khoa,khoa@sonv.gov.vn,Sở Nội vụ,KNS-B,khoa,giảng viên\n"
        "Bùi Thu Trang,trang@sonv.gov.vn,Sở Nội vụ,KNS-B,trang,học viên\n",
        encoding="utf-8",
    )
    assert truongso("users", "import", str(roster), "--data-dir", data_dir).returncode == 0
    passwords = {}
    for name in ("khoa", "trang"):  # set a known password through the real change-password page
        done = truongso("users", "reset-password", name, "--data-dir", data_dir)
        initial = done.stdout.split()[1]
        session = HubSession(demo_hub.url)
        session.login(name, initial)
        new = f"Mat-khau-{name}-2026"
        session.http.post(
            f"{demo_hub.url}/hub/change-password",
            timeout=30,
            data={
                "old_password": initial,
                "new_password": new,
                "new_password_confirmation": new,
                "_xsrf": session.xsrf(),
            },
        )
        passwords[name] = new
    tokens = {name: exchange_token(demo_hub, name) for name in ("giangvien", "hocvien1", "hocvien2")}
    tokens.update({name: exchange_token(demo_hub, name, passwords[name]) for name in ("khoa", "trang")})
    course_dir = ensure_course_dir(tmp / "course", load_course(REPO / "courses" / COURSE))
    return {
        "tmp": tmp,
        "tokens": tokens,
        "course_dir": course_dir,
        "homes": {n: learner_home(tmp, n) for n in ("hocvien1", "hocvien2", "trang")},
    }


def test_whoami_tells_each_caller_their_courses(demo_hub: Hub, world: dict) -> None:
    t = world["tokens"]
    # the demo learners are in one class of each course; trang only in KNS-B (course B)
    assert api(demo_hub, t["hocvien1"], "GET", "whoami").json()["learner_courses"] == [OTHER_COURSE, COURSE]
    assert api(demo_hub, t["giangvien"], "GET", "whoami").json()["instructor_courses"] == [OTHER_COURSE, COURSE]
    assert api(demo_hub, t["trang"], "GET", "whoami").json()["courses"] == [OTHER_COURSE]
    assert api(demo_hub, t["khoa"], "GET", "whoami").json()["instructor_courses"] == [OTHER_COURSE]
    assert api(demo_hub, "not-a-token", "GET", "whoami").status_code == 403
    assert requests.get(exchange_url(demo_hub) + "api/whoami", timeout=10).status_code == 403


def test_full_loop_release_fetch_submit_collect_grade_feedback(demo_hub: Hub, world: dict) -> None:
    t, course_dir, homes = world["tokens"], world["course_dir"], world["homes"]
    nbgrader(course_dir, t["giangvien"], demo_hub, "generate_assignment", ASSIGNMENT, "--force")
    # demo mode has released it already (hub.demo); releasing again needs --force, as with nbgrader's own exchange
    again = nbgrader(course_dir, t["giangvien"], demo_hub, "release_assignment", ASSIGNMENT, check=False)
    assert "already released" in again
    assert "Released as" in nbgrader(course_dir, t["giangvien"], demo_hub, "release_assignment", ASSIGNMENT, "--force")

    for learner in ("hocvien1", "hocvien2"):
        listed = nbgrader(homes[learner], t[learner], demo_hub, "list", user=learner)
        assert f"{COURSE} {ASSIGNMENT}" in listed
        nbgrader(homes[learner], t[learner], demo_hub, "fetch_assignment", ASSIGNMENT, "--course", COURSE, user=learner)
        assert (homes[learner] / COURSE / ASSIGNMENT / NOTEBOOK).is_file()
    # hocvien1 does the work (typical mistakes), hocvien2 submits the untouched release
    shutil.copy(TYPICAL, homes["hocvien1"] / COURSE / ASSIGNMENT / NOTEBOOK)
    for learner in ("hocvien1", "hocvien2"):
        out = nbgrader(homes[learner], t[learner], demo_hub, "submit", ASSIGNMENT, "--course", COURSE, user=learner)
        assert "Submitted as" in out

    assert "Collected" in nbgrader(course_dir, t["giangvien"], demo_hub, "collect", ASSIGNMENT)
    assert {p.name for p in (course_dir / "submitted").iterdir()} == {"hocvien1", "hocvien2"}
    nbgrader(course_dir, t["giangvien"], demo_hub, "autograde", ASSIGNMENT)
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        one = gb.find_submission(ASSIGNMENT, "hocvien1").score
        two = gb.find_submission(ASSIGNMENT, "hocvien2").score
        student = gb.find_student("hocvien1")
        assert (student.first_name, student.last_name) == ("An", "Nguyễn Văn")
        # manual grading: the instructor gives points to a written answer
        manual = next(
            g
            for g in gb.find_submission_notebook(NOTEBOOK[:-6], ASSIGNMENT, "hocvien1").grades
            if g.auto_score is None and g.max_score
        )
        manual.manual_score = manual.max_score
        gb.db.commit()
        assert gb.find_submission(ASSIGNMENT, "hocvien1").score == one + manual.max_score
    assert one > two == 0

    nbgrader(course_dir, t["giangvien"], demo_hub, "generate_feedback", ASSIGNMENT)
    assert "Released feedback" in nbgrader(course_dir, t["giangvien"], demo_hub, "release_feedback", ASSIGNMENT)
    for learner in ("hocvien1", "hocvien2"):
        nbgrader(homes[learner], t[learner], demo_hub, "fetch_feedback", ASSIGNMENT, "--course", COURSE, user=learner)
        html = list((homes[learner] / COURSE / ASSIGNMENT / "feedback").glob("*/*.html"))
        assert len(html) == 1
        text = html[0].read_text(encoding="utf-8")
        assert learner in text or "python-co-ban" in text
    one_html = next((homes["hocvien1"] / COURSE / ASSIGNMENT / "feedback").glob("*/*.html")).read_text("utf-8")
    two_html = next((homes["hocvien2"] / COURSE / ASSIGNMENT / "feedback").glob("*/*.html")).read_text("utf-8")
    assert one_html != two_html  # each got their own
    submitted = nbgrader(homes["hocvien1"], t["hocvien1"], demo_hub, "list", "--cached", user="hocvien1")
    assert "hocvien2" not in submitted


def test_spoofing_is_refused_and_writes_nothing(demo_hub: Hub, world: dict) -> None:
    t, homes = world["tokens"], world["homes"]
    before = api(demo_hub, t["giangvien"], "GET", f"courses/{COURSE}/submissions").json()
    home = homes["hocvien1"]
    out = nbgrader(
        home, t["hocvien1"], demo_hub, "submit", ASSIGNMENT, "--course", COURSE, user="hocvien2", check=False
    )
    assert "cannot act as hocvien2" in out
    out = nbgrader(home, t["hocvien1"], demo_hub, "submit", ASSIGNMENT, "--course", COURSE, "--student=hocvien2",
                   user="hocvien1", check=False)  # fmt: skip
    assert "cannot act as hocvien2" in out
    forged = nbgrader(home, "0" * 32, demo_hub, "submit", ASSIGNMENT, "--course", COURSE, user="hocvien1", check=False)
    assert "valid hub token" in forged
    after = api(demo_hub, t["giangvien"], "GET", f"courses/{COURSE}/submissions").json()
    assert after == before

    # another learner's submission or feedback, even with its id in hand
    mine = api(demo_hub, t["hocvien2"], "GET", f"courses/{COURSE}/submissions").json()
    theirs = [s["id"] for s in before if s["student"] == "hocvien1"]
    assert theirs and all(s["id"] not in theirs for s in mine)
    for sid in theirs:
        assert api(demo_hub, t["hocvien2"], "GET", f"submissions/{sid}/archive").status_code == 404
        assert api(demo_hub, t["hocvien2"], "GET", f"submissions/{sid}/feedback").status_code == 404
    assert api(demo_hub, t["hocvien2"], "GET", f"courses/{COURSE}/submissions", params={"student": "hocvien1"}
               ).status_code == 403  # fmt: skip
    # a learner cannot release, unrelease, collect or give feedback
    body = tar_gz({NOTEBOOK: TYPICAL.read_bytes()})
    assert api(demo_hub, t["hocvien1"], "PUT", f"courses/{COURSE}/assignments/{ASSIGNMENT}", data=body
               ).status_code == 403  # fmt: skip
    assert api(demo_hub, t["hocvien1"], "DELETE", f"courses/{COURSE}/assignments/{ASSIGNMENT}").status_code == 403
    assert api(demo_hub, t["hocvien1"], "POST", f"submissions/{theirs[0]}/feedback",  # their own submission
               data=tar_gz({"x.html": b"<p>x</p>"})).status_code == 403  # fmt: skip
    out = nbgrader(world["course_dir"], t["hocvien1"], demo_hub, "collect", ASSIGNMENT, check=False)
    assert "only the course's instructors" in out or "403" in out


def test_courses_are_walled_off(demo_hub: Hub, world: dict) -> None:
    t = world["tokens"]
    assert api(demo_hub, t["trang"], "GET", f"courses/{COURSE}/assignments").status_code == 403
    assert api(demo_hub, t["trang"], "GET", f"courses/{COURSE}/submissions").status_code == 403
    # the instructor of course B can neither read nor release in course A
    assert api(demo_hub, t["khoa"], "GET", f"courses/{COURSE}/submissions").status_code == 403
    assert api(demo_hub, t["khoa"], "PUT", f"courses/{COURSE}/assignments/{ASSIGNMENT}",
               data=tar_gz({NOTEBOOK: TYPICAL.read_bytes()})).status_code == 403  # fmt: skip
    # and course A's instructor cannot set a deadline for course B's class
    deadline = f"courses/{OTHER_COURSE}/assignments/01-tep-va-dinh-dang/deadlines/KNS-B"
    assert api(demo_hub, t["giangvien"], "PUT", deadline, json={"due": "2030-01-01T00:00:00+07:00"}).status_code == 403


def test_resubmission_keeps_every_attempt_and_late_is_marked(demo_hub: Hub, world: dict) -> None:
    t, homes, course_dir = world["tokens"], world["homes"], world["course_dir"]
    past = (datetime.now(UTC) - timedelta(days=2, hours=1)).isoformat()
    set_due = api(demo_hub, t["giangvien"], "PUT", f"courses/{COURSE}/assignments/{ASSIGNMENT}/deadlines/DEMO",
                  json={"due": past})  # fmt: skip
    assert set_due.status_code == 200, set_due.text
    out = nbgrader(
        homes["hocvien2"], t["hocvien2"], demo_hub, "submit", ASSIGNMENT, "--course", COURSE, user="hocvien2"
    )
    assert "late" in out
    shutil.copy(TYPICAL, homes["hocvien2"] / COURSE / ASSIGNMENT / NOTEBOOK)
    nbgrader(homes["hocvien2"], t["hocvien2"], demo_hub, "submit", ASSIGNMENT, "--course", COURSE, user="hocvien2")
    attempts = api(demo_hub, t["hocvien2"], "GET", f"courses/{COURSE}/assignments/{ASSIGNMENT}/submissions").json()
    assert [a["attempt"] for a in attempts] == [1, 2, 3]
    assert [a["late"] for a in attempts] == [False, True, True]
    assert attempts[2]["seconds_late"] >= 2 * 86400
    assert len({a["timestamp"] for a in attempts}) == 3

    nbgrader(course_dir, t["giangvien"], demo_hub, "collect", "--update", ASSIGNMENT)
    assert (course_dir / "submitted" / "hocvien2" / ASSIGNMENT / "timestamp.txt").read_text() == attempts[2][
        "timestamp"
    ]
    nbgrader(course_dir, t["giangvien"], demo_hub, "autograde", ASSIGNMENT, "--force", "--student", "hocvien2")
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        submission = gb.find_submission(ASSIGNMENT, "hocvien2")
        assert submission.total_seconds_late >= 2 * 86400
        # the course's policy: 10 % of the earned score per started day late -> 3 days -> 30 %
        assert submission.score > 0
        assert submission.late_submission_penalty == pytest.approx(0.3 * submission.score)


@pytest.mark.parametrize(
    ("files", "status", "fragment"),
    [
        ({NOTEBOOK: b"{not json"}, 400, "not valid JSON"),
        ({NOTEBOOK: b'{"cells": 1}'}, 400, "not a valid Jupyter notebook"),
        ({"../../x.ipynb": TYPICAL.read_bytes()}, 400, "escapes the folder"),
        ({"/etc/passwd": b"x"}, 400, "invalid file name"),
        ({NOTEBOOK: b" " * (30 * 1024 * 1024)}, 413, "too large"),
    ],
)
def test_bad_uploads_get_a_clear_error_and_change_nothing(demo_hub: Hub, world: dict, files, status, fragment) -> None:
    t = world["tokens"]
    before = api(demo_hub, t["hocvien1"], "GET", f"courses/{COURSE}/submissions").json()
    response = api(demo_hub, t["hocvien1"], "POST", f"courses/{COURSE}/assignments/{ASSIGNMENT}/submissions",
                   data=tar_gz(files))  # fmt: skip
    assert response.status_code == status, response.text
    assert fragment in response.json()["en"]
    assert api(demo_hub, t["hocvien1"], "GET", f"courses/{COURSE}/submissions").json() == before


def test_unknown_assignment_and_a_50mb_notebook_via_nbgrader(demo_hub: Hub, world: dict) -> None:
    t, home = world["tokens"], world["homes"]["hocvien1"]
    out = nbgrader(home, t["hocvien1"], demo_hub, "fetch_assignment", "99-khong-co", "--course", COURSE,
                   user="hocvien1", check=False)  # fmt: skip
    assert "no assignment '99-khong-co'" in out
    big = home / COURSE / ASSIGNMENT / NOTEBOOK
    notebook = json.loads(big.read_text(encoding="utf-8"))
    notebook["cells"].append({"cell_type": "markdown", "metadata": {}, "id": "big", "source": "x" * 50_000_000})
    big.write_text(json.dumps(notebook), encoding="utf-8")
    before = api(demo_hub, t["hocvien1"], "GET", f"courses/{COURSE}/submissions").json()
    out = nbgrader(
        home, t["hocvien1"], demo_hub, "submit", ASSIGNMENT, "--course", COURSE, user="hocvien1", check=False
    )
    assert "too large" in out
    assert api(demo_hub, t["hocvien1"], "GET", f"courses/{COURSE}/submissions").json() == before
