"""The portal ("my courses") and the per-course formgraders, as each kind of user sees them."""

from __future__ import annotations

import re

import pytest
from support.hub import Hub, HubSession, truongso

COURSE = "phan-tich-du-lieu"


def login(hub: Hub, username: str, password: str | None = None) -> HubSession:
    session = HubSession(hub.url)
    assert session.login(username, password or hub.accounts[username]).status_code == 200
    return session


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture(scope="module")
def outsider(demo_hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """An instructor of another class of the other course (ky-nang-so), with a password they chose."""
    data_dir = str(demo_hub.data_dir)
    assert truongso("classes", "add", "KNS-C", "--course", "ky-nang-so", "--data-dir", data_dir).returncode == 0
    roster = tmp_path_factory.mktemp("portal") / "gv.csv"
    roster.write_text(
        "Họ và tên,Email,Đơn vị,Lớp,Vai trò\nHồ Quang Hiếu,hieu@sotc.gov.vn,Sở Tài chính,KNS-C,giảng viên\n",
        encoding="utf-8",
    )
    assert truongso("users", "import", str(roster), "--data-dir", data_dir).returncode == 0
    initial = truongso("users", "reset-password", "hieu@sotc.gov.vn", "--data-dir", data_dir).stdout.split()[1]
    session = HubSession(demo_hub.url)
    session.login("hieu@sotc.gov.vn", initial)
    new = "Mat-khau-cua-Hieu-2026"
    changed = session.http.post(
        f"{demo_hub.url}/hub/change-password",
        timeout=30,
        data={"old_password": initial, "new_password": new, "new_password_confirmation": new, "_xsrf": session.xsrf()},
    )
    assert changed.status_code == 200
    return "hieu@sotc.gov.vn", new


def test_learner_sees_their_courses_and_no_instructor_tools(demo_hub: Hub) -> None:
    learner = login(demo_hub, "hocvien1")
    home = learner.http.get(f"{demo_hub.url}/services/portal/", timeout=60)
    assert home.status_code == 200 and "/services/portal/" in home.url
    page = text(home.text)
    assert "Phân tích dữ liệu với Python" in page and "Kỹ năng số cho cán bộ" in page
    assert "Khoá học tôi dạy" not in page
    # demo mode released each course's first assignment, with a deadline
    assert "Python cơ bản cho công việc dữ liệu" in page
    assert re.search(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", page)
    assert "default-src 'self'" in home.headers["content-security-policy"]
    assert learner.http.get(f"{demo_hub.url}/services/portal/courses/{COURSE}", timeout=60).status_code == 403
    assert learner.http.get(f"{demo_hub.url}/services/{COURSE}/formgrader", timeout=60).status_code == 403


def test_instructor_switches_course_with_a_click(demo_hub: Hub) -> None:
    instructor = login(demo_hub, "giangvien")
    home = instructor.http.get(f"{demo_hub.url}/services/portal/", timeout=60)
    links = re.findall(r'href="(/services/[^"/]+/formgrader)"', home.text)
    assert sorted(links) == ["/services/ky-nang-so/formgrader", f"/services/{COURSE}/formgrader"]
    for link in links:
        page = instructor.http.get(demo_hub.url + link, timeout=60)
        assert page.status_code == 200 and "/formgrader/manage_assignments" in page.url
        assert "Quản lý bài tập" in page.text and "Manage Assignments" not in page.text  # translation.py
        missing = instructor.http.get(f"{demo_hub.url}{link}/khong-co-trang-nay", timeout=60)
        assert missing.status_code == 404 and "Không có trang này" in missing.text
        script = instructor.http.get(f"{demo_hub.url}{link}/static/js/manage_assignments.js", timeout=60)
        assert script.status_code == 200 and "Thêm bài tập mới" in script.text
        assert instructor.http.get(f"{demo_hub.url}{link}/static/js/khong-co.js", timeout=60).status_code == 404
        # opened top-level: the hub's protection against framing stays in place
        assert page.headers["content-security-policy"].startswith("frame-ancestors 'none'")
    course = instructor.http.get(f"{demo_hub.url}/services/portal/courses/{COURSE}", timeout=60)
    assert course.status_code == 200 and "Tiến độ lớp" in course.text


def test_formgrader_cannot_run_code(demo_hub: Hub) -> None:
    instructor = login(demo_hub, "giangvien")
    instructor.http.get(f"{demo_hub.url}/services/{COURSE}/formgrader", timeout=60)
    base = f"{demo_hub.url}/services/{COURSE}/"
    assert instructor.http.get(base + "api/kernelspecs", timeout=30).json()["kernelspecs"] == {}
    assert instructor.http.get(base + "api/terminals", timeout=30).status_code == 404
    xsrf = instructor.http.cookies.get("_xsrf", path=f"/services/{COURSE}/") or ""
    started = instructor.http.post(base + "api/kernels", json={"name": "python3"}, headers={"X-XSRFToken": xsrf},
                                   timeout=30)  # fmt: skip
    assert started.status_code >= 400


def test_instructor_of_another_course_is_kept_out(demo_hub: Hub, outsider: tuple[str, str]) -> None:
    other = login(demo_hub, *outsider)
    assert other.http.get(f"{demo_hub.url}/services/{COURSE}/formgrader", timeout=60).status_code == 403
    assert other.http.get(f"{demo_hub.url}/services/portal/courses/{COURSE}", timeout=60).status_code == 403
    own = other.http.get(f"{demo_hub.url}/services/ky-nang-so/formgrader", timeout=60)
    assert own.status_code == 200
    home = text(other.http.get(f"{demo_hub.url}/services/portal/", timeout=60).text)
    assert "Kỹ năng số cho cán bộ" in home and "Phân tích dữ liệu" not in home


def test_portal_forms_need_xsrf(demo_hub: Hub) -> None:
    instructor = login(demo_hub, "giangvien")
    instructor.http.get(f"{demo_hub.url}/services/portal/", timeout=60)
    url = f"{demo_hub.url}/services/portal/courses/{COURSE}/assignments/01-python-co-ban/deadline"
    refused = instructor.http.post(url, data={"class_name": "DEMO", "due": "2030-01-01T17:00"}, timeout=30)
    assert refused.status_code == 403
    grade = f"{demo_hub.url}/services/portal/courses/{COURSE}/assignments/01-python-co-ban/grade"
    assert instructor.http.post(grade, timeout=30).status_code == 403


@pytest.mark.parametrize("stored", ['{"submissions": {"hocvien1": {"score": "x"}}}', "[1, 2]", "{not json"])
def test_report_page_survives_a_damaged_report(demo_hub: Hub, stored: str) -> None:
    reports = demo_hub.data_dir / "courses" / COURSE / "autograde-reports"
    reports.mkdir(exist_ok=True)
    (reports / "01-python-co-ban.json").write_text(stored, encoding="utf-8")
    instructor = login(demo_hub, "giangvien")
    base = f"{demo_hub.url}/services/portal/courses/{COURSE}/assignments"
    page = instructor.http.get(f"{base}/01-python-co-ban/report", timeout=60)
    assert page.status_code == 200 and 'data-student="hocvien1"' in page.text
    assert instructor.http.get(f"{base}/khong-co-bai-nay/report", timeout=60).status_code == 404
    assert instructor.http.get(f"{base}/..%2F..%2Fetc/report", timeout=60).status_code == 404
