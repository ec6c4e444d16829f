"""Class day with real containers: a session about to start pre-warms its learners' workspaces (and nobody
else's), a learner logging in lands on a running workspace, idle ones stop after the session with their files
kept, the capacity warning names the numbers; and the idle culler really stops an idle workspace."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from support.hub import ADMIN_PASSWORD, Hub, HubSession, start_hub

from graders.timeutil import utcnow
from hub.directory import accounts
from hub.directory.db import Directory
from hub.directory.models import ClassSession, Enrolment, Person, SchoolClass
from hub.keys import HubSecrets

PASSWORD = "classday-Passw0rd-2026"
CLASS_LEARNERS = [f"cdhv{i}" for i in range(1, 6)]
OTHER_CLASS_LEARNER = "cdkhac1"  # in a class with no session now: must not be started
NEVER_LOGGED_IN = "cdmoi1"  # enrolled in the class but unknown to the hub: reported, not started


def enrol(data_dir: Path) -> None:
    from hub.settings import HubSettings

    directory = Directory(HubSettings.load(data_dir, {}).db_url)
    directory.ensure_schema()
    with directory.session() as db:
        db.add_all([SchoolClass(name="CD-K01", title="Buổi học thử"), SchoolClass(name="CD-K02")])
        for username, class_name in [
            *((u, "CD-K01") for u in CLASS_LEARNERS),
            (NEVER_LOGGED_IN, "CD-K01"),
            (OTHER_CLASS_LEARNER, "CD-K02"),
        ]:
            db.add(Person(username=username, full_name="Học Viên Thử", organisation="Sở TT&TT"))
            db.add(Enrolment(class_name=class_name, username=username))
            accounts.set_password(db, username, accounts.hash_password(PASSWORD))
    directory.dispose()


def log_in_once(hub: Hub, username: str) -> None:
    """A first login that does not follow the hub's redirect to the spawn page: the hub now knows the user
    (as after any earlier day of class) but starts nothing."""
    http = requests.Session()
    page = http.get(f"{hub.url}/hub/login", timeout=10)
    token = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    response = http.post(
        f"{hub.url}/hub/login",
        data={"username": username, "password": PASSWORD, "_xsrf": token},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302 and "/hub/login" not in response.headers["location"], response.text[:300]


def admin_api(hub: Hub, method: str, path: str) -> requests.Response:
    token = HubSecrets.ensure(hub.data_dir).api_token
    return requests.request(method, f"{hub.url}/hub/api{path}", headers={"Authorization": f"token {token}"}, timeout=30)


def server_of(hub: Hub, username: str) -> dict:
    return admin_api(hub, "GET", f"/users/{username}").json().get("servers", {}).get("", {})


def wait_for(condition, timeout: float, what: str, hub: Hub) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(1)
    raise AssertionError(f"{what} not within {timeout:.0f} s\n{hub.log()[-4000:]}")


def set_session(hub: Hub, starts_in: timedelta, ends_in: timedelta) -> None:
    directory = Directory(hub.settings()["db_url"])
    with directory.session() as db:
        row = db.query(ClassSession).filter_by(class_name="CD-K01").one_or_none()
        if row is None:
            row = ClassSession(class_name="CD-K01", room="P.301")
            db.add(row)
        row.starts_at, row.ends_at = utcnow() + starts_in, utcnow() + ends_in
    directory.dispose()


@pytest.fixture(scope="module")
def classday_hub(tmp_path_factory, docker_client, docker_prefix: str, workspace_image: str) -> Iterator[Hub]:
    data_dir = tmp_path_factory.mktemp("classday") / "data"
    data_dir.mkdir(parents=True)
    # A memory limit the host cannot give every learner at once (5 × limit > 90% of it): the capacity warning.
    host = docker_client.info()["MemTotal"]
    limit_gib = math.ceil(host * 0.9 / len(CLASS_LEARNERS) / (1 << 30)) + 1
    (data_dir / "truongso.toml").write_text(
        f'docker_prefix = "{docker_prefix}"\nworkspace_image = "{workspace_image}"\n'
        f'mem_limit = "{limit_gib}G"\nidle_timeout_seconds = 0\n'
        "[workspaces]\nconcurrent_spawn_limit = 4\n"
        "[class_day]\nprewarm_minutes = 10\nprewarm_grace_minutes = 0\nprewarm_check_seconds = 2\n",
        encoding="utf-8",
    )
    enrol(data_dir)
    hub = start_hub(data_dir, "--spawner", "docker", env={"TRUONGSO_ADMIN_PASSWORD": ADMIN_PASSWORD})
    try:
        yield hub
    finally:
        hub.stop()


def test_a_session_prewarms_its_learners_then_stops_the_idle_ones(classday_hub: Hub, docker_client) -> None:
    hub = classday_hub
    for username in [*CLASS_LEARNERS, OTHER_CLASS_LEARNER]:
        log_in_once(hub, username)
    assert all(not server_of(hub, u) for u in [*CLASS_LEARNERS, OTHER_CLASS_LEARNER])

    set_session(hub, timedelta(minutes=2), timedelta(minutes=60))
    wait_for(lambda: all(server_of(hub, u).get("ready") for u in CLASS_LEARNERS), 240, "5 workspaces pre-warmed", hub)
    assert not server_of(hub, OTHER_CLASS_LEARNER)  # nobody else's
    assert admin_api(hub, "GET", f"/users/{NEVER_LOGGED_IN}").status_code == 404
    status = json.loads((hub.data_dir / "run" / "classday.json").read_text(encoding="utf-8"))
    (entry,) = status["sessions"].values()
    assert entry["class"] == "CD-K01" and entry["learners"] == 6 and entry["not_started"] == [NEVER_LOGGED_IN]

    # The capacity warning, with the numbers, in the hub's log and the status file.
    (check,) = status["capacity"].values()
    assert not check["fits_limit"] and "Cảnh báo bộ nhớ" in check["warning"]["vi"]
    assert "6 học viên × giới hạn" in check["warning"]["vi"] and "6 learners ×" in check["warning"]["en"]
    assert "Cảnh báo bộ nhớ cho buổi học lớp CD-K01" in hub.log()

    # A learner logging in now is sent straight to their running workspace: no spawn, no waiting page.
    learner = HubSession(hub.url)
    response = learner.login(CLASS_LEARNERS[0], PASSWORD)
    visited = [r.url for r in response.history] + [response.url]
    assert response.url.startswith(f"{hub.url}/user/{CLASS_LEARNERS[0]}/"), visited
    assert not any("spawn" in url for url in visited), visited
    assert learner.open_server().status_code == 200
    assert learner.run_code("import pandas as pd; print(pd.Series([1, 2, 3]).sum())")["stdout"].strip() == "6"
    saved = learner.server_api("PUT", "api/contents/bai-lam.txt", json={"type": "file", "format": "text",
                                                                      "content": "đã lưu trong buổi học"})  # fmt: skip
    assert saved.status_code in (200, 201)

    # The session ends: idle workspaces stop (grace 0 here), the files stay.
    set_session(hub, timedelta(minutes=-60), timedelta(seconds=-1))
    wait_for(lambda: all(not server_of(hub, u) for u in CLASS_LEARNERS), 120, "idle workspaces stopped", hub)
    learner.start_server()
    assert learner.open_server().status_code == 200
    kept = learner.server_api("GET", "api/contents/bai-lam.txt").json()
    assert kept["content"] == "đã lưu trong buổi học"
    learner.api("DELETE", f"/users/{CLASS_LEARNERS[0]}/server")


@pytest.fixture(scope="module")
def culler_hub(tmp_path_factory, docker_client, docker_prefix: str, workspace_image: str) -> Iterator[Hub]:
    data_dir = tmp_path_factory.mktemp("culler") / "data"
    data_dir.mkdir(parents=True)
    (data_dir / "truongso.toml").write_text(
        f'docker_prefix = "{docker_prefix}"\nworkspace_image = "{workspace_image}"\nmem_limit = "512M"\n'
        "idle_timeout_seconds = 20\n",
        encoding="utf-8",
    )
    enrol(data_dir)
    hub = start_hub(data_dir, "--spawner", "docker", env={"TRUONGSO_ADMIN_PASSWORD": ADMIN_PASSWORD})
    try:
        yield hub
    finally:
        hub.stop()


def test_an_idle_workspace_is_culled_and_comes_back_with_its_files(culler_hub: Hub, docker_client) -> None:
    hub, username = culler_hub, OTHER_CLASS_LEARNER
    learner = HubSession(hub.url)
    learner.login(username, PASSWORD)
    learner.start_server()
    assert learner.open_server().status_code == 200
    saved = learner.server_api("PUT", "api/contents/ghi-chu.txt", json={"type": "file", "format": "text",
                                                                      "content": "còn nguyên"})  # fmt: skip
    assert saved.status_code in (200, 201)
    container = f"{hub.settings()['docker_prefix']}-ws-{username}"
    wait_for(lambda: not server_of(hub, username), 120, "the idle workspace culled", hub)
    wait_for(lambda: not docker_client.containers.list(all=True, filters={"name": container}), 60, "removed", hub)
    learner.start_server()
    assert learner.open_server().status_code == 200
    assert learner.server_api("GET", "api/contents/ghi-chu.txt").json()["content"] == "còn nguyên"
    learner.api("DELETE", f"/users/{username}/server")
