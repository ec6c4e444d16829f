"""End to end on the real hub (`truongso up --demo --spawner local`): the certificate service is started by
the hub, its public page verifies what the CLI issued, learners see only their own, admins issue per class."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from support.certificates_world import DECISION, need_tool
from support.gradebooks import Sub, all_passed, make_gradebook
from support.hub import ADMIN_PASSWORD, Hub, HubSession, start_hub, truongso

from graders.curriculum import Course

PREFIX = "/services/certificates/"
# Until ServiceSpec can add scopes to the `user` role, a config.d file lets every user reach the service
# through the hub's OAuth (JupyterHub needs `access:services!service=certificates` for that).
GRANT = """
_scope = "access:services!service=certificates"
_scopes = list(c.JupyterHub.extra_user_scopes) if "extra_user_scopes" in c.JupyterHub else []
if _scope not in _scopes:
    c.JupyterHub.extra_user_scopes = [*_scopes, _scope]
"""


def demo_course_of(data_dir: Path) -> Course:
    """The course of the demo class, whichever `truongso up --demo` chose."""
    from graders.curriculum import default_courses_root, load_course
    from hub.directory.db import Directory
    from hub.directory.models import SchoolClass

    directory = Directory(f"sqlite:///{data_dir / 'truongso.sqlite'}")
    with directory.session() as s:
        course_id = s.get(SchoolClass, "DEMO").course_id
    directory.dispose()
    return load_course(default_courses_root() / course_id)


@pytest.fixture(scope="module")
def course(cert_hub: Hub) -> Course:
    return demo_course_of(cert_hub.data_dir)


@pytest.fixture(scope="module")
def cert_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    from hub.services import ServiceSpec

    data_dir = tmp_path_factory.mktemp("certhub") / "data"
    if "user_scopes" not in getattr(ServiceSpec, "__dataclass_fields__", {}):
        (data_dir / "jupyterhub_config.d").mkdir(parents=True)
        (data_dir / "jupyterhub_config.d" / "certificates-access.py").write_text(GRANT)
    env = {"TRUONGSO_ADMIN_PASSWORD": ADMIN_PASSWORD}
    hub = start_hub(data_dir, "--demo", "--spawner", "local", env=env, timeout=600)  # slow on a busy machine
    course = demo_course_of(data_dir)
    last = course.assignments[-1].id
    make_gradebook(
        data_dir / "courses" / course.id / "gradebook.db",
        course,
        {
            "hocvien1": all_passed(course, 0.9),  # eligible
            "hocvien2": [s for s in all_passed(course, 1.0) if s.assignment != last],  # one missing
            "hocvien3": [Sub(s.assignment, 0.5) for s in all_passed(course)],  # under the bar
        },
    )
    yield hub
    hub.stop()


def login(hub: Hub, username: str) -> HubSession:
    session = HubSession(hub.url)
    password = ADMIN_PASSWORD if username == "admin" else hub.accounts[username]
    response = session.login(username, password)
    assert response.status_code == 200 and session.username == username, response.text[:300]
    return session


def status_of(page: requests.Response) -> str:
    page.encoding = "utf-8"
    return page.text.split('data-status="', 1)[1].split('"', 1)[0]


def service_xsrf(session: HubSession) -> str:
    return session.http.cookies.get("_xsrf", path=PREFIX) or ""


@pytest.fixture(scope="module")
def issued(cert_hub: Hub, course: Course) -> dict:
    run = truongso(
        "certificates",
        "issue",
        course.id,
        "--class",
        "DEMO",
        "--decision",
        DECISION,
        "--data-dir",
        str(cert_hub.data_dir),
    )
    assert run.returncode == 0, run.stderr
    lines = [line.split() for line in run.stdout.splitlines() if line.startswith("  cấp / issued")]
    assert [(line[4]) for line in lines] == ["hocvien1"], run.stdout  # exactly the eligible one
    serial = lines[0][3]
    year = serial.split("-")[1]
    from graders.certificates.store import open_store

    code = open_store(f"sqlite:///{cert_hub.data_dir / 'truongso.sqlite'}").get(serial).verification_code
    pdf = cert_hub.data_dir / "certificates" / year / f"{serial}.pdf"
    return {"serial": serial, "code": code, "pdf": pdf}


def test_service_is_started_by_the_hub(cert_hub: Hub) -> None:
    page = requests.get(cert_hub.url + PREFIX, timeout=10)
    page.encoding = "utf-8"
    assert page.status_code == 200 and "Kiểm tra giấy chứng nhận" in page.text


def test_qr_code_leads_to_a_page_that_says_valid(cert_hub: Hub, issued: dict, artifacts: Path, course: Course) -> None:
    pdftotext, pdftoppm, zbarimg = need_tool("pdftotext"), need_tool("pdftoppm"), need_tool("zbarimg")
    text = subprocess.run([pdftotext, str(issued["pdf"]), "-"], capture_output=True, text=True, check=True).stdout
    assert "Nguyễn Văn An" in text and course.title.vi in text
    png = artifacts / "hub-giay-chung-nhan"
    subprocess.run([pdftoppm, "-png", "-r", "100", "-singlefile", str(issued["pdf"]), str(png)], check=True)
    url = subprocess.run([zbarimg, "--quiet", "--raw", f"{png}.png"], capture_output=True, text=True).stdout.strip()
    assert url == f"{cert_hub.url}{PREFIX}verify/{issued['serial']}/{issued['code']}"
    page = requests.get(url, timeout=10)  # anyone, no account
    assert page.status_code == 200 and status_of(page) == "valid" and "Nguyễn Văn An" in page.text
    serial_only = requests.get(f"{cert_hub.url}{PREFIX}verify/{issued['serial']}", timeout=10)
    assert status_of(serial_only) == "needs-code" and "Nguyễn Văn An" not in serial_only.text


def test_learner_sees_and_downloads_only_their_own(cert_hub: Hub, issued: dict) -> None:
    owner = login(cert_hub, "hocvien1")
    mine = owner.http.get(f"{cert_hub.url}{PREFIX}me", timeout=30)
    assert mine.status_code == 200 and issued["serial"] in mine.text, mine.text[:500]
    pdf = owner.http.get(f"{cert_hub.url}{PREFIX}me/{issued['serial']}.pdf", timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["Content-Type"] == "application/pdf"
    own = owner.http.get(f"{cert_hub.url}{PREFIX}api/certificates", timeout=30).json()
    assert [c["serial"] for c in own["certificates"]] == [issued["serial"]]
    # the holder has the full address to share, and sees the code as printed
    assert own["certificates"][0]["verifyUrl"].endswith(f"verify/{issued['serial']}/{issued['code']}")
    code = issued["code"]
    assert f"{code[:4]}-{code[4:8]}-{code[8:]}" in mine.text and f"verify/{issued['serial']}/{code}" in mine.text
    document = owner.http.get(f"{cert_hub.url}{PREFIX}me/{issued['serial']}.json", timeout=30).json()
    assert document["certificate"]["serial"] == issued["serial"]

    other = login(cert_hub, "hocvien2")
    assert other.http.get(f"{cert_hub.url}{PREFIX}me", timeout=30).status_code == 200
    for path in (
        f"me/{issued['serial']}.pdf",
        f"me/{issued['serial']}.json",
        "api/certificates?user=hocvien1",
        "admin",
    ):
        assert other.http.get(f"{cert_hub.url}{PREFIX}{path}", timeout=30).status_code == 403, path
    # a parameter never changes who is calling
    theirs = other.http.get(f"{cert_hub.url}{PREFIX}api/certificates?user=hocvien2", timeout=30).json()
    assert theirs == {"user": "hocvien2", "certificates": []}


def test_learner_cannot_issue_or_revoke(cert_hub: Hub, issued: dict) -> None:
    learner = login(cert_hub, "hocvien2")
    learner.http.get(f"{cert_hub.url}{PREFIX}me", timeout=30)  # log in to the service: sets its _xsrf cookie
    token = service_xsrf(learner)
    assert token
    issue = learner.http.post(
        f"{cert_hub.url}{PREFIX}admin/issue",
        data={"class_name": "DEMO", "_xsrf": token, "decision": DECISION},
        timeout=30,
    )
    assert issue.status_code == 403
    revoke = learner.http.post(
        f"{cert_hub.url}{PREFIX}admin/revoke",
        data={"serial": issued["serial"], "reason": "x", "_xsrf": token},
        timeout=30,
    )
    assert revoke.status_code == 403
    url = f"{cert_hub.url}{PREFIX}verify/{issued['serial']}/{issued['code']}?format=json"
    assert requests.get(url, timeout=10).json()["certificate"]["revokedReason"] != "x"


def test_admin_issues_per_class_from_the_web_with_xsrf(cert_hub: Hub, issued: dict, course: Course) -> None:
    admin = login(cert_hub, "admin")
    page = admin.http.get(f"{cert_hub.url}{PREFIX}admin", timeout=30)
    assert page.status_code == 200 and "DEMO" in page.text
    token = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    no_xsrf = admin.http.post(f"{cert_hub.url}{PREFIX}admin/issue", data={"class_name": "DEMO"}, timeout=30)
    assert no_xsrf.status_code == 403
    # hocvien2 submits the missing assignment: the web issue then gives exactly them a certificate
    make_gradebook(cert_hub.data_dir / "courses" / course.id / "gradebook.db", course, {})
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{cert_hub.data_dir / 'courses' / course.id / 'gradebook.db'}", course.id) as gb:
        last = course.assignments[-1]
        gb.add_submission(last.id, "hocvien2")
        grade = gb.find_grade("cau-1", "bai-lam", last.id, "hocvien2")
        grade.auto_score, grade.needs_manual_grade = last.points, False
        gb.db.commit()
    done = admin.http.post(
        f"{cert_hub.url}{PREFIX}admin/issue",
        data={"class_name": "DEMO", "decision": DECISION, "_xsrf": token},
        timeout=120,
    )
    assert done.status_code == 200, done.text[:500]
    assert 'data-issued="1"' in done.text and "Lê Thị Bích Ngọc" in done.text
    log = truongso(
        "certificates", "export", "--output-dir", str(cert_hub.data_dir / "xuat"), "--data-dir", str(cert_hub.data_dir)
    )
    assert log.returncode == 0
    rows = (cert_hub.data_dir / "xuat" / "so-cap-giay-chung-nhan-tat-ca.csv").read_text(encoding="utf-8-sig")
    assert "Lê Thị Bích Ngọc" in rows and "Nguyễn Văn An" in rows
    listing = admin.http.get(f"{cert_hub.url}{PREFIX}api/certificates?user=hocvien2", timeout=30).json()
    assert len(listing["certificates"]) == 1
    assert json.dumps(listing, ensure_ascii=False).count("hocvien") == 1  # only the 'user' field


def test_after_revoke_the_page_says_revoked_and_the_pdf_is_gone(cert_hub: Hub, issued: dict) -> None:
    url = f"{cert_hub.url}{PREFIX}verify/{issued['serial']}/{issued['code']}"
    learner = login(cert_hub, "hocvien1")
    credential = learner.http.get(f"{cert_hub.url}{PREFIX}me/{issued['serial']}.json", timeout=30)
    issued["credential"] = credential.content  # for the restored backup (below)
    revoke = truongso(
        "certificates", "revoke", issued["serial"], "--reason", "Kiểm thử thu hồi", "--data-dir", str(cert_hub.data_dir)
    )
    assert revoke.returncode == 0, revoke.stderr
    page = requests.get(url, timeout=10)
    assert status_of(page) == "revoked" and "Kiểm thử thu hồi" in page.text
    upload = requests.post(
        f"{cert_hub.url}{PREFIX}verify", files={"credential": ("c.json", credential.content)}, timeout=10
    )
    assert status_of(upload) == "revoked"
    huge = requests.post(
        f"{cert_hub.url}{PREFIX}verify",
        data=b"{" * (8 * 1024 * 1024),
        timeout=30,
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413, huge.status_code  # a clean answer through the proxy, not a proxy error
    again = learner.http.get(f"{cert_hub.url}{PREFIX}me/{issued['serial']}.pdf", timeout=30)
    assert again.status_code == 410  # a revoked certificate is not printed again


def test_a_restored_backup_keeps_certificates_signed_and_revoked_ones_revoked(
    cert_hub: Hub, issued: dict, tmp_path: Path
) -> None:
    """Issue 16: backed up while the hub runs, restored into an empty folder and started as a hub of its own:
    the revoked certificate is still revoked, with its reason, and its signed credential still checks out against
    the restored signing key (a credential the key did not sign is refused as such)."""
    assert "credential" in issued, "runs after test_after_revoke_the_page_says_revoked_and_the_pdf_is_gone"
    archive = tmp_path / "sao-luu.tar.gz"
    done = truongso("backup", "--data-dir", str(cert_hub.data_dir), "--output", str(archive))
    assert done.returncode == 0, done.stderr
    restored_dir = tmp_path / "restored" / "data"
    done = truongso("restore", str(archive), "--data-dir", str(restored_dir))
    assert done.returncode == 0, done.stderr
    restored = start_hub(restored_dir, "--spawner", "local", timeout=600)
    try:
        page = requests.get(f"{restored.url}{PREFIX}verify/{issued['serial']}/{issued['code']}", timeout=30)
        assert status_of(page) == "revoked" and "Kiểm thử thu hồi" in page.text
        upload = requests.post(f"{restored.url}{PREFIX}verify", files={"credential": ("c.json", issued["credential"])},
                               timeout=30)  # fmt: skip
        assert status_of(upload) == "revoked"  # signed by the restored key, then revoked
        forged = json.loads(issued["credential"])
        forged["credentialSubject"]["identifier"][0]["identityHash"] = "Người Khác"  # another name, same signature
        upload = requests.post(f"{restored.url}{PREFIX}verify", timeout=30,
                               files={"credential": ("c.json", json.dumps(forged).encode())})  # fmt: skip
        assert status_of(upload) not in ("valid", "revoked")
    finally:
        restored.stop()
