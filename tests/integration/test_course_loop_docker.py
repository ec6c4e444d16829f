"""The whole assignment loop with real containers: the instructor in the course's formgrader, two learners in
their own workspace containers using JupyterLab's assignment list, grading in sandboxes from the portal.

Every step goes through the same HTTP endpoints the browser pages use (formgrader API, the assignment list's
server extension, the portal's forms), each with the person's own cookies and XSRF token.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support.hub import Hub, HubSession, running_demo_hub, wait_for_job

COURSE = "phan-tich-du-lieu"
ASSIGNMENT = "02-lam-sach-du-lieu"
NOTEBOOK = "lam-sach-du-lieu"
REPO = Path(__file__).resolve().parents[2]
TYPICAL = REPO / "courses" / COURSE / "test-submissions" / ASSIGNMENT / "typical" / f"{NOTEBOOK}.ipynb"


@pytest.fixture(scope="module")
def hub(tmp_path_factory, docker_client, docker_prefix: str, workspace_image: str, grader_image: str):
    toml = f'docker_prefix = "{docker_prefix}-loop"\nworkspace_image = "{workspace_image}"\nmem_limit = "1G"\n'
    with running_demo_hub(tmp_path_factory.mktemp("loop") / "data", "docker", toml) as hub:
        yield hub


class Formgrader:
    """The instructor's browser on /services/<course>/formgrader."""

    def __init__(self, session: HubSession, course: str) -> None:
        self.session = session
        self.path = f"/services/{course}/"
        self.base = session.hub_url + self.path
        page = session.http.get(self.base + "formgrader", timeout=60)
        assert page.status_code == 200, page.status_code

    def call(self, method: str, path: str, **kwargs) -> dict | list:
        xsrf = self.session.http.cookies.get("_xsrf", path=self.path)
        response = self.session.http.request(
            method, self.base + "formgrader/api/" + path, headers={"X-XSRFToken": xsrf or ""}, timeout=300, **kwargs
        )
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return response.json()


def assignment_list(learner: HubSession, method: str, path: str, **data) -> dict:
    """The JupyterLab assignment list's own server endpoints, in the learner's container."""
    response = learner.server_api(method, path, data=data or None)
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    body = response.json()
    assert body.get("success", True), body
    return body


def one_click(learner: HubSession, action: str):
    """A portal one-click link (lam-bai, nop-bai, nhan-xet) followed as a browser does, through user-redirect."""
    response = learner.http.get(f"{learner.hub_url}/hub/user-redirect/truongso/{action}",
                                params={"course": COURSE, "assignment": ASSIGNMENT}, timeout=300)  # fmt: skip
    return response


def learner_session(hub: Hub, username: str) -> HubSession:
    session = HubSession(hub.url)
    assert session.login(username, hub.accounts[username]).status_code == 200
    session.start_server(timeout=180)
    assert session.open_server().status_code == 200
    return session


def test_release_fetch_submit_collect_grade_feedback(hub: Hub) -> None:
    instructor = HubSession(hub.url)
    assert instructor.login("giangvien", hub.accounts["giangvien"]).status_code == 200
    formgrader = Formgrader(instructor, COURSE)
    assert formgrader.call("POST", f"assignment/{ASSIGNMENT}/assign")["success"]
    released = formgrader.call("POST", f"assignment/{ASSIGNMENT}/release")
    assert released["success"], released

    learners = {name: learner_session(hub, name) for name in ("hocvien1", "hocvien2")}
    for learner in learners.values():
        listed = assignment_list(learner, "GET", f"assignments?course_id={COURSE}")["value"]
        # 01 was released by demo mode, 02 just now
        assert [(a["assignment_id"], a["status"]) for a in listed] == [
            ("01-python-co-ban", "released"),
            (ASSIGNMENT, "released"),
        ]
    # hocvien1 uses JupyterLab's assignment list; hocvien2 the portal's one-click pages
    assignment_list(learners["hocvien1"], "POST", "assignments/fetch", course_id=COURSE, assignment_id=ASSIGNMENT)
    opened = one_click(learners["hocvien2"], "lam-bai")
    assert opened.url.endswith(f"/user/hocvien2/lab/tree/{COURSE}/{ASSIGNMENT}/{NOTEBOOK}.ipynb"), opened.url
    path = f"api/contents/{COURSE}/{ASSIGNMENT}/{NOTEBOOK}.ipynb"
    assert learners["hocvien2"].server_api("GET", path).status_code == 200  # fetched into the workspace
    work = {"type": "notebook", "content": json.loads(TYPICAL.read_text(encoding="utf-8"))}
    assert learners["hocvien1"].server_api("PUT", path, json=work).status_code == 200
    assignment_list(learners["hocvien1"], "POST", "assignments/submit", course_id=COURSE, assignment_id=ASSIGNMENT)
    confirm = one_click(learners["hocvien2"], "nop-bai")
    assert confirm.status_code == 200 and "verdict-failed" in confirm.text and "chưa đạt" in confirm.text  # untouched
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', confirm.text).group(1)
    receipt = learners["hocvien2"].http.post(confirm.url, data={"_xsrf": xsrf, "course": COURSE,
                                             "assignment": ASSIGNMENT}, timeout=120)  # fmt: skip
    assert receipt.status_code == 200, receipt.text[:500]
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d \(giờ Việt Nam, UTC\+7\)", receipt.text), receipt.text
    # the one-click pages refuse what a link should never carry, and a submit without the form's token
    bad = learners["hocvien2"].http.get(confirm.url.split("?")[0] + "?course=../x&assignment=a", timeout=30)
    assert bad.status_code == 400 and "Liên kết không hợp lệ" in bad.text
    forged = learners["hocvien2"].http.post(confirm.url.split("?")[0], data={"course": COURSE,
                                            "assignment": ASSIGNMENT}, timeout=30)  # fmt: skip
    assert forged.status_code == 403

    collected = formgrader.call("POST", f"assignment/{ASSIGNMENT}/collect")
    assert collected["success"], collected
    submissions = formgrader.call("GET", f"submissions/{ASSIGNMENT}")
    assert sorted(s["student"] for s in submissions) == ["hocvien1", "hocvien2"]

    # autograde in sandboxes, started from the portal page
    instructor.http.get(f"{hub.url}/services/portal/courses/{COURSE}", timeout=60)
    xsrf = instructor.http.cookies.get("_xsrf", path="/services/portal/")
    started = instructor.http.post(f"{hub.url}/services/portal/courses/{COURSE}/assignments/{ASSIGNMENT}/grade",
                                   data={"_xsrf": xsrf}, timeout=60)  # fmt: skip
    assert started.status_code == 200 and "/services/portal/jobs/" in started.url
    job = wait_for_job(instructor, started.url)
    assert (job["state"], job["graded"], job["failed"]) == ("done", 2, 0), job

    scores = {s["student"]: s["score"] for s in formgrader.call("GET", f"submissions/{ASSIGNMENT}")}
    assert scores["hocvien1"] > scores["hocvien2"] == 0
    # the integrity report page: every learner of the class, with the score the gradebook has
    report_url = f"{hub.url}/services/portal/courses/{COURSE}/assignments/{ASSIGNMENT}/report"
    report = instructor.http.get(report_url, timeout=60)
    assert report.status_code == 200, report.text
    for name in ("hocvien1", "hocvien2", "hocvien3"):
        assert f'data-student="{name}"' in report.text
    assert f"{scores['hocvien1']:g}/" in report.text
    assert learners["hocvien1"].http.get(report_url, timeout=60).status_code == 403
    # manual grading of a written answer
    notebook_submissions = formgrader.call("GET", f"submitted_notebooks/{ASSIGNMENT}/{NOTEBOOK}")
    one = next(s for s in notebook_submissions if s["student"] == "hocvien1")
    grades = formgrader.call("GET", "grades", params={"submission_id": one["id"]})
    manual = next(g for g in grades if g["auto_score"] is None and g["max_score"])
    formgrader.call("PUT", f"grade/{manual['id']}", json={"manual_score": manual["max_score"]})
    after = {s["student"]: s["score"] for s in formgrader.call("GET", f"submissions/{ASSIGNMENT}")}
    assert after["hocvien1"] == pytest.approx(scores["hocvien1"] + manual["max_score"])

    assert formgrader.call("POST", f"assignment/{ASSIGNMENT}/generate_feedback")["success"]
    assert formgrader.call("POST", f"assignment/{ASSIGNMENT}/release_feedback")["success"]
    # hocvien2 reads feedback from the portal's "Xem nhận xét": one click, Vietnam time, the score inside
    home = learners["hocvien2"].http.get(f"{hub.url}/services/portal/", timeout=60).text
    link = re.search(r'class="button xem-nhan-xet" href="([^"]+)"', home).group(1).replace("&amp;", "&")
    assert f"assignment={ASSIGNMENT}" in link
    page = learners["hocvien2"].http.get(hub.url + link, timeout=120)
    assert page.status_code == 200 and "Nhận xét bài" in page.text and "giờ Việt Nam" in page.text, page.text[:500]
    frame = re.search(r'<iframe src="([^"]+)"', page.text).group(1)
    assert frame.startswith(f"/user/hocvien2/files/{COURSE}/{ASSIGNMENT}/feedback/"), frame
    shown = learners["hocvien2"].http.get(hub.url + frame, timeout=60)
    assert shown.status_code == 200 and '(Điểm <span class="en">Score</span>: ' in shown.text  # our template
    for name, learner in learners.items():
        if name == "hocvien1":
            assignment_list(learner, "POST", "assignments/fetch_feedback", course_id=COURSE, assignment_id=ASSIGNMENT)
        folder = learner.server_api("GET", f"api/contents/{COURSE}/{ASSIGNMENT}/feedback").json()
        [stamp] = [entry["path"] for entry in folder["content"]]
        html = learner.server_api("GET", f"api/contents/{stamp}/{NOTEBOOK}.html").json()["content"]
        score = after[name]
        assert '(Điểm <span class="en">Score</span>: ' in html and f"{score:g}" in html, html[:300]
        other = "hocvien2" if name == "hocvien1" else "hocvien1"
        assert other not in html
