"""The real hub started by `truongso up --demo --spawner local`: login, workspace, isolation of rights."""

from __future__ import annotations

import re

from support.hub import ADMIN_PASSWORD, Hub, HubSession, truongso

DATA_CELL = """
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.linear_model import LinearRegression

df = pd.DataFrame({"tinh": ["Hà Nội", "Huế", "Cần Thơ", "Đà Nẵng"], "x": [1, 2, 3, 4], "y": [3, 5, 7, 9]})
model = LinearRegression().fit(df[["x"]], df["y"])
fig, ax = plt.subplots()
ax.bar(df["tinh"], df["y"])
ax.set_title("Số hồ sơ theo tỉnh")
print(round(float(model.coef_[0]), 3), round(float(model.intercept_), 3), int(df["y"].sum()), df["tinh"].iloc[3])
"""


def login(hub: Hub, username: str, password: str | None = None) -> HubSession:
    session = HubSession(hub.url)
    response = session.login(username, password or hub.accounts[username])
    assert response.status_code == 200 and session.username == username, response.text[:500]
    return session


def test_demo_accounts_are_printed(demo_hub: Hub) -> None:
    assert set(demo_hub.accounts) == {"giangvien", "hocvien1", "hocvien2", "hocvien3"}


def test_login_page_is_vietnamese_first(demo_hub: Hub) -> None:
    page = HubSession(demo_hub.url).http.get(f"{demo_hub.url}/hub/login", timeout=10)
    assert page.status_code == 200
    assert "Đăng nhập" in page.text and "Sign in" in page.text
    assert page.text.index("Tên đăng nhập") < page.text.index("Username")


def test_learner_runs_a_data_cell_in_their_workspace(demo_hub: Hub) -> None:
    learner = login(demo_hub, "hocvien1")
    me = learner.api("GET", "/user").json()
    assert sorted(me["groups"]) == ["DEMO", "DEMO-KNS"] and not me["admin"]
    assert {"user", "learner"} <= set(me["roles"])
    learner.start_server()
    assert learner.open_server().status_code == 200
    out = learner.run_code(DATA_CELL)
    assert out["error"] is None, out
    assert out["stdout"].split() == ["2.0", "1.0", "24", "Đà", "Nẵng"]


def test_wrong_password_is_refused(demo_hub: Hub) -> None:
    session = HubSession(demo_hub.url)
    response = session.login("hocvien2", "not-the-password")
    assert response.status_code == 403
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in response.text
    assert session.api("GET", "/user").status_code in (401, 403)


def test_learner_cannot_reach_another_learner_or_admin(demo_hub: Hub) -> None:
    owner = login(demo_hub, "hocvien2")
    owner.start_server()
    intruder = login(demo_hub, "hocvien1")
    # the hub API refuses to describe or start someone else's server
    assert intruder.api("GET", "/users/hocvien2").status_code in (403, 404)
    assert intruder.api("POST", "/users/hocvien2/server").status_code in (403, 404)
    # the server itself refuses a user who is not its owner (JupyterHub OAuth check)
    page = intruder.http.get(intruder.server_url("hocvien2") + "lab", timeout=30)
    assert page.status_code == 403, (page.url, page.status_code)
    files = intruder.http.get(intruder.server_url("hocvien2") + "api/contents", timeout=30)
    assert files.status_code == 403
    # admin pages and admin API
    assert intruder.http.get(f"{demo_hub.url}/hub/admin", timeout=10).status_code == 403
    assert intruder.api("GET", "/users").status_code == 403


def test_instructor_has_no_admin_rights(demo_hub: Hub) -> None:
    instructor = login(demo_hub, "giangvien")
    me = instructor.api("GET", "/user").json()
    assert me["admin"] is False
    assert "instructor-demo" in me["roles"]
    assert instructor.http.get(f"{demo_hub.url}/hub/admin", timeout=10).status_code == 403
    # sees the class's learners, nobody else, and cannot act on their servers
    listed = instructor.api("GET", "/users").json()
    names = {u["name"] for u in (listed["items"] if isinstance(listed, dict) else listed)}
    assert names and names <= {"hocvien1", "hocvien2", "hocvien3"}
    assert instructor.api("POST", "/users/hocvien1/server").status_code in (403, 404)
    assert instructor.api("DELETE", "/users/hocvien2/server").status_code in (403, 404)
    assert instructor.api("POST", "/users", json={"usernames": ["x1"]}).status_code == 403


def test_post_without_xsrf_is_refused(demo_hub: Hub) -> None:
    session = HubSession(demo_hub.url)
    session.http.get(f"{demo_hub.url}/hub/login", timeout=10)
    response = session.http.post(
        f"{demo_hub.url}/hub/login",
        data={"username": "hocvien1", "password": demo_hub.accounts["hocvien1"]},
        timeout=10,
    )
    assert response.status_code == 403
    # a logged-in user's API POST without the XSRF header is refused too
    learner = login(demo_hub, "hocvien1")
    raw = learner.http.post(f"{demo_hub.url}/hub/api/users/hocvien1/tokens", json={}, timeout=10)
    assert raw.status_code == 403


def test_admin_logs_in_with_the_password_from_the_environment(demo_hub: Hub) -> None:
    admin = login(demo_hub, "admin", ADMIN_PASSWORD)
    assert admin.api("GET", "/user").json()["admin"] is True
    page = admin.http.get(f"{demo_hub.url}/hub/admin", timeout=10)
    assert page.status_code == 200
    # JupyterHub's page stays for workspaces; what bypasses the directory is hidden and explained
    assert 'id="truongso-admin-note"' in page.text and "/services/portal/admin/" in page.text
    assert 'a[href$="/add-users"]' in page.text and 'a[href$="/create-group"]' in page.text
    assert "TRUONGSO_ADMIN_PASSWORD" not in demo_hub.log() or ADMIN_PASSWORD not in demo_hub.log()


def test_imported_learner_must_change_password_first(demo_hub: Hub, tmp_path) -> None:
    roster = tmp_path / "lop.csv"
    roster.write_text("Họ và tên,Email,Đơn vị,Lớp\nVõ Thị Sáu,vo.thi.sau@sotttt.gov.vn,Sở TT&TT,DEMO\n", "utf-8")
    done = truongso("users", "import", str(roster), "--data-dir", str(demo_hub.data_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    passwords_file = re.search(r"(/\S+\.csv)", done.stdout).group(1)
    line = open(passwords_file, encoding="utf-8-sig").read().splitlines()[1]
    username, _, _, password = line.split(",")
    assert username == "vo.thi.sau@sotttt.gov.vn"

    session = HubSession(demo_hub.url)
    response = session.login(username, password)
    assert "/hub/change-password" in response.url
    assert "lần đăng nhập đầu tiên" in response.text
    assert session.api("POST", f"/users/{username}/server").status_code == 403  # not before the change
    form = {
        "old_password": password,
        "new_password": "Mat-khau-rieng-2026",
        "new_password_confirmation": "Mat-khau-rieng-2026",
        "_xsrf": session.xsrf(),
    }
    weak = session.http.post(
        f"{demo_hub.url}/hub/change-password",
        data={**form, "new_password": "123", "new_password_confirmation": "123"},
        timeout=30,
    )
    assert weak.status_code == 400 and "ít nhất" in weak.text
    changed = session.http.post(f"{demo_hub.url}/hub/change-password", data=form, timeout=30)
    assert changed.status_code == 200 and "/hub/change-password" not in changed.url
    again = HubSession(demo_hub.url)
    assert again.login(username, password).status_code == 403  # the initial password is gone
    assert login(demo_hub, username, "Mat-khau-rieng-2026").api("GET", "/user").json()["groups"] == ["DEMO"]


def test_repeated_failures_lock_the_account(demo_hub: Hub) -> None:
    for _ in range(5):
        assert HubSession(demo_hub.url).login("hocvien3", "wrong-password").status_code in (403, 429)
    locked = HubSession(demo_hub.url).login("hocvien3", demo_hub.accounts["hocvien3"])
    assert locked.status_code == 429
    assert "tạm thời bị khoá" in locked.text and "nhờ quản trị viên" in locked.text


def test_instructors_and_admins_land_on_the_portal_learners_in_their_workspace(demo_hub: Hub) -> None:
    instructor = HubSession(demo_hub.url).login("giangvien", demo_hub.accounts["giangvien"])
    assert instructor.url.rstrip("/").endswith("/services/portal"), instructor.url
    admin = HubSession(demo_hub.url).login("admin", ADMIN_PASSWORD)
    assert admin.url.endswith("/services/portal/admin/") and "Quản trị" in admin.text, admin.url
    learner = HubSession(demo_hub.url)
    response = learner.http.post(  # the redirect after login, not followed: no workspace is started here
        f"{demo_hub.url}/hub/login",
        data={"username": "hocvien1", "password": demo_hub.accounts["hocvien1"], "_xsrf": _login_xsrf(learner)},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302 and "/services/portal" not in response.headers["Location"]


def _login_xsrf(session: HubSession) -> str:
    page = session.http.get(f"{session.hub_url}/hub/login", timeout=10)
    return re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)


def test_hub_pages_are_vietnamese_first(demo_hub: Hub) -> None:
    learner = login(demo_hub, "hocvien2")
    home = learner.http.get(f"{demo_hub.url}/hub/home", timeout=30)
    assert home.status_code == 200
    assert "Khoá học của tôi" in home.text and "/services/portal/" in home.text
    assert home.text.index("không gian làm việc") < home.text.index("workspace")
    missing = learner.http.get(f"{demo_hub.url}/hub/no-such-page", timeout=30)
    assert missing.status_code == 404 and "Lỗi 404" in missing.text


def test_a_second_hub_on_the_same_data_dir_is_refused(demo_hub: Hub) -> None:
    from support.hub import free_port

    result = truongso("up", "--data-dir", str(demo_hub.data_dir), "--port", str(free_port()), "--spawner", "local")
    assert result.returncode == 1 and "already runs on this data directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_failed_logins_are_counted_for_the_address_the_proxy_saw_not_the_one_a_client_claims(demo_hub: Hub) -> None:
    """X-Real-Ip and a made-up X-Forwarded-For are the client's own words; the proxy appends the real peer."""
    import sqlite3

    session = HubSession(demo_hub.url)
    session.http.headers.update({"X-Real-Ip": "203.0.113.99", "X-Forwarded-For": "198.51.100.1"})
    assert session.login("khong-ai", "doan-bua").status_code == 403
    with sqlite3.connect(demo_hub.data_dir / "truongso.sqlite") as db:
        keys = {row[0] for row in db.execute("SELECT username FROM login_failures WHERE username LIKE 'addr:%'")}
    assert "addr:127.0.0.1" in keys
    assert not keys & {"addr:203.0.113.99", "addr:198.51.100.1"}


def test_metrics_answer_the_prometheus_token_and_nobody_else(demo_hub: Hub) -> None:
    import requests

    token = (demo_hub.data_dir / "secrets" / "metrics_token").read_text().strip()
    scraper = {"Authorization": f"Bearer {token}"}
    learner = login(demo_hub, "hocvien1")
    made = learner.api("POST", "/users/hocvien1/tokens", json={"note": "not a scraper"})
    assert made.status_code == 201, made.text
    strangers = [{}, {"Authorization": f"token {made.json()['token']}"}, {"Authorization": "Bearer " + "0" * 32}]

    hub_metrics = requests.get(f"{demo_hub.url}/hub/metrics", headers=scraper, timeout=30)
    assert hub_metrics.status_code == 200 and "jupyterhub_" in hub_metrics.text
    for headers in strangers:
        assert requests.get(f"{demo_hub.url}/hub/metrics", headers=headers, timeout=30).status_code == 403
    for service, own in [
        ("portal", "truongso_grading_jobs_running"),
        ("exchange", "truongso_http_requests_total"),
        ("certificates", 'truongso_certificates{state="valid"}'),
    ]:
        url = f"{demo_hub.url}/services/{service}/metrics"
        answer = requests.get(url, headers=scraper, timeout=30)
        assert answer.status_code == 200, (service, answer.status_code, answer.text[:300])
        assert answer.headers["Content-Type"].startswith("text/plain") and own in answer.text, service
        assert "truongso_http_requests_total{" in answer.text  # every answer counted
        for headers in strangers:
            refused = requests.get(url, headers=headers, timeout=30)
            assert refused.status_code == 403, (service, headers, refused.status_code)
            assert "read:metrics" in refused.text and "truongso_" not in refused.text


def test_the_hub_and_its_services_also_log_to_rotating_files(demo_hub: Hub) -> None:
    logs = demo_hub.data_dir / "logs"
    assert "JupyterHub is now running" in (logs / "jupyterhub.log").read_text(encoding="utf-8")
    for service in ("portal", "exchange", "certificates"):
        assert f"{service} listening on" in (logs / f"{service}.log").read_text(encoding="utf-8"), service
