"""The portal and certificate services against what a learner or a stranger can send, on a real hub
(`truongso up --demo --spawner local`) with a real Chromium:

- a page on the hub's origin (as a learner's own `/user/<name>/` server is) plants the service's `_xsrf`
  cookie, then makes the instructor's or the admin's browser post a form with that token: refused, because
  the token is bound to the victim's hub session (JupyterHub's scheme); their own forms still work;
- an unauthenticated 100 MB POST is answered 413 from its headers; the service's peak memory does not move;
- a failed login takes as long for a username that does not exist as for an existing account.

One hub for the three (lock-out switched off so that the timing test can fail as often as it needs).
"""

from __future__ import annotations

import os
import re
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from support.hub import ADMIN_PASSWORD, Hub, HubSession, running_demo_hub

COURSE, ASSIGNMENT, CLASS = "phan-tich-du-lieu", "01-python-co-ban", "DEMO"  # released by --demo
PORTAL, CERTS = "/services/portal/", "/services/certificates/"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    data_dir = tmp_path_factory.mktemp("hardening") / "data"
    with running_demo_hub(data_dir, toml="login_max_failures = 0\n", timeout=600) as hub:  # slow on a busy machine
        yield hub


# ------------------------------------------------------------------ XSRF planted by a same-origin page


def login_in_browser(page, hub: Hub, username: str, then: str) -> None:
    """The real login form, going on to a service page (`next`), so no workspace is started."""
    password = ADMIN_PASSWORD if username == "admin" else hub.accounts[username]
    page.goto(f"{hub.url}/hub/login?next={quote(then)}")
    page.fill("#username_input", username)
    page.fill("#password_input", password)
    page.click("#login_submit")
    page.wait_for_url(f"{hub.url}{then}*", timeout=120_000)


def plant_xsrf(page, hub: Hub, path: str, value: str) -> None:
    """What script on any page of the origin can do (the hub serves learners' servers there): set a cookie
    for another path. Done from a page of the hub itself, by the page's own `document.cookie`."""
    # any same-origin page will do; nothing of the previous page may still be arriving (a late answer of a
    # service would set its own _xsrf cookie over the planted one: seen once on a loaded machine)
    page.goto(f"{hub.url}/hub/not-a-page-{uuid.uuid4().hex[:6]}", wait_until="networkidle")
    page.evaluate("([path, value]) => { document.cookie = `_xsrf=${value}; path=${path}`; }", [path, value])
    cookies = page.context.cookies(hub.url + path)
    planted = [c for c in cookies if c["name"] == "_xsrf" and c["path"] == path]
    assert [c["value"] for c in planted] == [value], cookies


def forged_post(page, action: str, fields: dict[str, str]) -> int:
    """A same-origin form post from the victim's browser, with its cookies, as the planting page would send."""
    script = """([action, fields]) => {
        const form = document.createElement('form');
        form.method = 'post';
        form.action = action;
        for (const [name, value] of Object.entries(fields)) {
            const input = document.createElement('input');
            input.type = 'hidden'; input.name = name; input.value = value;
            form.appendChild(input);
        }
        document.body.appendChild(form);
        form.submit();
    }"""
    with (
        page.expect_navigation(),
        page.expect_response(lambda r: r.request.method == "POST" and r.url == action) as answer,
    ):
        page.evaluate(script, [action, fields])
    return answer.value.status


def login_to(hub: Hub, username: str, then: str) -> HubSession:
    """Log in with the real form and go on to a service page (no workspace is started)."""
    session = HubSession(hub.url)
    form = session.http.get(f"{hub.url}/hub/login?next={quote(then)}", timeout=60)
    token = re.search(r'name="_xsrf" value="([^"]+)"', form.text).group(1)
    credentials = {"username": username, "password": hub.accounts[username], "_xsrf": token}
    page = session.http.post(f"{hub.url}/hub/login?next={quote(then)}", data=credentials, timeout=120)
    assert page.status_code == 200 and page.url == hub.url + then, (page.status_code, page.url)
    return session


def learner_tokens(hub: Hub) -> dict[str, str]:
    """The learner's own, valid `_xsrf` tokens of both services (bound to the learner's session)."""
    learner = login_to(hub, "hocvien1", PORTAL)
    assert learner.http.get(hub.url + CERTS + "me", timeout=60).status_code == 200
    tokens = {path: learner.http.cookies.get("_xsrf", path=path) for path in (PORTAL, CERTS)}
    assert all(tokens.values()), tokens
    return tokens


def deadline(hub: Hub):
    from hub.coursework.models import Deadline
    from hub.directory.db import Directory

    directory = Directory(f"sqlite:///{hub.data_dir / 'truongso.sqlite'}")
    try:
        with directory.session() as s:
            row = s.get(Deadline, (COURSE, ASSIGNMENT, CLASS))
            return row.due_at if row else None
    finally:
        directory.dispose()


def test_a_planted_xsrf_cookie_cannot_forge_the_instructors_form(hub: Hub, page) -> None:
    stolen = learner_tokens(hub)
    login_in_browser(page, hub, "giangvien", f"{PORTAL}courses/{COURSE}")
    course_page = f"{hub.url}{PORTAL}courses/{COURSE}"
    action = f"{hub.url}{PORTAL}courses/{COURSE}/assignments/{ASSIGNMENT}/deadline"
    before = deadline(hub)
    for token in ("chosen-by-the-learner", stolen[PORTAL]):
        plant_xsrf(page, hub, PORTAL, token)
        status = forged_post(page, action, {"_xsrf": token, "class_name": CLASS, "due": "2032-02-02T02:02"})
        assert status == 403, token
        assert deadline(hub) == before
    # the instructor's own form still works (the next page view gives the browser a valid token again)
    assert page.goto(course_page).status == 200
    form = page.locator(f"form[action$='{ASSIGNMENT}/deadline']:has(input[name=class_name][value={CLASS}])")
    minute = uuid.uuid4().int % 50 + 10  # a value this run sets, whatever the deadline was
    form.locator("input[name=due]").fill(f"2031-03-04T05:{minute}")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url == action) as answer:
        form.locator("button[type=submit]").click()
    assert answer.value.status == 302
    due = deadline(hub)
    assert due is not None and (due.year, due.minute) == (2031, minute)


def test_a_planted_xsrf_cookie_cannot_forge_the_admins_form(hub: Hub, page) -> None:
    from graders.certificates.store import open_store

    stolen = learner_tokens(hub)
    login_in_browser(page, hub, "admin", f"{CERTS}admin")
    store = open_store(f"sqlite:///{hub.data_dir / 'truongso.sqlite'}")
    for token in ("chosen-by-the-learner", stolen[CERTS]):
        plant_xsrf(page, hub, CERTS, token)
        issue = {"_xsrf": token, "class_name": CLASS, "decision": "Số 1/QĐ-GIA"}
        assert forged_post(page, f"{hub.url}{CERTS}admin/issue", issue) == 403, token
        revoke = {"_xsrf": token, "serial": "TS-2026-000001", "reason": "giả mạo"}
        assert forged_post(page, f"{hub.url}{CERTS}admin/revoke", revoke) == 403, token
        assert store.audit() == []  # nothing issued or revoked
    # the admin's own form still works: a preview of issuing for the class
    assert page.goto(f"{hub.url}{CERTS}admin").status == 200
    form = page.locator(f"form[action$='admin/issue']:has(input[name=class_name][value={CLASS}])")
    form.locator("input[name=decision]").fill("Số 2/QĐ-THU")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        form.locator("button[type=submit]").click()
    assert answer.value.status == 200
    assert page.locator("[data-issued]").count() == 1


@pytest.mark.parametrize(
    "path", [f"{PORTAL}courses/{COURSE}/assignments/{ASSIGNMENT}/deadline", f"{CERTS}admin/revoke"]
)
@pytest.mark.parametrize("cookie", ["missing", "garbage"])
def test_a_post_with_a_stale_xsrf_cookie_is_refused_and_the_service_keeps_answering(
    hub: Hub, path: str, cookie: str
) -> None:
    """With HubOAuthenticated's own wiring such a post blocked the service's event loop for good."""
    home = PORTAL if path.startswith(PORTAL) else CERTS + "me"
    learner = login_to(hub, "hocvien1", home)
    service = PORTAL if path.startswith(PORTAL) else CERTS
    learner.http.cookies.clear(domain="127.0.0.1", path=service.rstrip("/") + "/", name="_xsrf")
    if cookie == "garbage":
        learner.http.cookies.set("_xsrf", "garbage", domain="127.0.0.1", path=service)
    refused = learner.http.post(hub.url + path, data={"_xsrf": "garbage", "class_name": CLASS}, timeout=30)
    refused.encoding = "utf-8"
    assert refused.status_code == 403 and "tải lại trang" in refused.text and "reload the page" in refused.text
    for _ in range(3):  # still serving, this user and others
        assert learner.http.get(hub.url + home, timeout=30).status_code == 200
    assert requests.get(hub.url + CERTS, timeout=30).status_code == 200


# ------------------------------------------------------------------ bodies refused before they are read


def service_pid(data_dir: Path, module: str) -> int:
    """The process of one of this hub's services (its environment names this data directory)."""
    marker = f"TRUONGSO_RUN_SETTINGS={data_dir}".encode()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if module.encode() in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
                if marker in Path(f"/proc/{pid}/environ").read_bytes():
                    return int(pid)
        except OSError:
            continue
    raise AssertionError(f"no {module} process for {data_dir}")


def peak_kib(pid: int) -> int:
    """Peak resident memory (VmHWM) of a process: any buffering of the body would raise it."""
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1])


@pytest.mark.parametrize(
    ("module", "path"),
    [
        ("hub.services.portal", PORTAL),
        ("hub.services.portal", f"{PORTAL}courses/{COURSE}/assignments/{ASSIGNMENT}/deadline"),
        ("hub.services.certificates", f"{CERTS}verify"),
        ("hub.services.certificates", f"{CERTS}admin/issue"),
    ],
)
def test_an_unauthenticated_100_mb_post_is_refused_unread(hub: Hub, module: str, path: str) -> None:
    pid = service_pid(hub.data_dir, module)
    before = peak_kib(pid)
    body = b"x" * 100_000_000
    started = time.monotonic()
    answer = requests.post(
        hub.url + path, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=180
    )
    answer.encoding = "utf-8"
    assert answer.status_code == 413, (answer.status_code, answer.text[:300])
    assert "quá lớn" in answer.text and "too large" in answer.text.lower()
    assert answer.text.index("quá lớn") < answer.text.lower().index("too large")  # Vietnamese first
    growth_mib = (peak_kib(pid) - before) / 1024
    print(f"{module} {path}: 413 after {time.monotonic() - started:.1f} s, peak memory +{growth_mib:.1f} MiB")
    assert growth_mib < 16, f"the service's peak memory grew by {growth_mib:.0f} MiB"
    assert service_pid(hub.data_dir, module) == pid  # same process, still running
    home = PORTAL if "portal" in module else CERTS
    assert requests.get(hub.url + home, timeout=60, allow_redirects=False).status_code in (200, 302)


# ------------------------------------------------------------------ login timing


@pytest.mark.timing
def test_a_failed_login_takes_as_long_for_an_unknown_username(hub: Hub) -> None:
    """Medians of interleaved attempts: an unknown username, the admin (a chosen password, bcrypt cost 12)
    and a learner (a generated password, cost 5). Before, unknown usernames skipped bcrypt: their refusals
    came back ~10x faster than the admin's, which told anyone which accounts exist."""
    session = HubSession(hub.url)
    form = session.http.get(f"{hub.url}/hub/login", timeout=30)
    token = re.search(r'name="_xsrf" value="([^"]+)"', form.text).group(1)

    def attempt(username: str) -> float:
        started = time.perf_counter()
        answer = session.http.post(
            f"{hub.url}/hub/login",
            data={"username": username, "password": "not-the-password-2026", "_xsrf": token},
            timeout=120,
            allow_redirects=False,
        )
        elapsed = time.perf_counter() - started
        assert answer.status_code == 403, answer.status_code
        return elapsed

    kinds = ["unknown", "admin", "hocvien1"]
    for kind in kinds:  # warm-up: first requests pay for imports and the dummy hash
        attempt(f"khongco-{uuid.uuid4().hex[:8]}" if kind == "unknown" else kind)
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    for round_ in range(9):
        for kind in kinds[round_ % 3 :] + kinds[: round_ % 3]:  # rotate the order: load hits all alike
            times[kind].append(attempt(f"khongco-{uuid.uuid4().hex[:8]}" if kind == "unknown" else kind))
    median = {kind: statistics.median(values) for kind, values in times.items()}
    print("login medians (s): " + ", ".join(f"{k} {v:.3f}" for k, v in median.items()))
    for known in ("admin", "hocvien1"):
        ratio = median["unknown"] / median[known]
        assert 0.7 <= ratio <= 1 / 0.7, f"unknown/{known} = {ratio:.2f} ({median})"
