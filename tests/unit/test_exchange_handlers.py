"""The exchange's HTTP API in this process: its tornado app built as hub/services/exchange/app.py builds it, on
a temporary SQLite database and blob folder, with only the hub's answers stubbed (support.hub_stubs).

Who may do what (hub/services/exchange/handlers.py): learners see, fetch and submit in the courses of their
classes; instructors (and the course's formgrader service) release, set deadlines, collect and give feedback
in their courses; nobody sees another learner's work; every refusal is JSON in Vietnamese and English with
its HTTP status; a body is refused from its headers when it announces too much.
"""

from __future__ import annotations

import io
import json
import os
import socket
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from support.hostile_archives import NOTEBOOK, gzip_stream, member
from support.hub_stubs import (
    API_URL,
    FakeHub,
    StubAccessResolver,
    StubHubAuth,
    add_class,
    add_people,
    close_auth,
    serve,
    stub_auth,
)

from graders.exchange.archive import Limits
from hub.directory.db import Directory
from hub.settings import HubSettings

PREFIX = "/services/exchange/"
SCOPE = "access:services!service=exchange"  # what the hub grants workspaces' and people's tokens for it
COURSE, A1, A2 = "phan-tich-du-lieu", "01-python-co-ban", "02-lam-sach-du-lieu"  # closes 14 days after a deadline
OTHER_COURSE, OTHER_A = "ky-nang-so", "01-tep-va-dinh-dang"
K01, K02, KNS = "PTDL-K01", "PTDL-K02", "KNS-K01"


def archive(files: dict[str, bytes] | None = None) -> bytes:
    return gzip_stream(member(name, content) for name, content in (files or {"bai.ipynb": NOTEBOOK}).items())


RELEASE = archive({"bai.ipynb": NOTEBOOK, "data/ds.csv": b"a,b\n1,2\n"})
WORK = archive({"bai.ipynb": NOTEBOOK.replace(b'"cells": []', b'"cells": [{"cell_type": "markdown", "id": "c1", '
                                               b'"metadata": {}, "source": "bai lam cua an"}]')})  # fmt: skip


@dataclass
class Exchange:
    api: str  # http://127.0.0.1:<port>/services/exchange/api/
    port: int
    app: Any  # hub.services.exchange.app.ExchangeApp
    tokens: dict[str, str]

    def call(
        self, who: str | None, method: str, path: str, headers: dict | None = None, **kw: Any
    ) -> requests.Response:
        sent = dict(headers or {})
        if who is not None:
            sent["Authorization"] = f"token {self.tokens[who]}"
        return requests.request(method, self.api + path, headers=sent, timeout=30, allow_redirects=False, **kw)

    def release(self, assignment: str = A1, who: str = "gv-mot", **params: str) -> requests.Response:
        r = self.call(who, "PUT", f"courses/{COURSE}/assignments/{assignment}", data=RELEASE, params=params)
        assert r.status_code == 201, r.text
        return r

    def submit(self, who: str, data: bytes = WORK, assignment: str = A1, **kw: Any) -> requests.Response:
        return self.call(who, "POST", f"courses/{COURSE}/assignments/{assignment}/submissions", data=data, **kw)

    def deadline(self, who: str, class_name: str, body: Any, assignment: str = A1, **kw: Any) -> requests.Response:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.call(who, "PUT", f"courses/{COURSE}/assignments/{assignment}/deadlines/{class_name}", data=data,
                         **kw)  # fmt: skip


def the_hub() -> tuple[FakeHub, dict[str, str]]:
    """Two classes of one course (one instructor each), a class of another course, an admin, a stranger, the
    course's formgrader service; every token carries the exchange's access scope unless said otherwise."""
    hub = FakeHub()
    tokens = add_people(hub, SCOPE, (K01, K02, KNS))
    tokens["formgrader"] = hub.add_service(COURSE, scopes=[SCOPE])  # the course's formgrader service
    tokens["other-service"] = hub.add_service("certificates", scopes=[SCOPE])
    tokens["an-no-scope"] = hub.token_for("an", scopes=["access:servers!user=an"])  # a token for something else
    return hub, tokens


@contextmanager
def running_exchange(data_dir: Path, limits: Limits | None = None, **settings: Any) -> Iterator[Exchange]:
    from hub.services.exchange.app import ExchangeApp, make_server

    data_dir.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{data_dir / 'truongso.sqlite'}"
    directory = Directory(db_url)
    directory.ensure_schema()
    add_class(directory, K01, COURSE, {"an": "Nguyễn Văn An", "binh": "Trần Thị Bình"}, {"gv-mot": "Lê Giảng Một"})
    add_class(directory, K02, COURSE, {"chi": "Phạm Thị Chi"}, {"gv-hai": "Vũ Giảng Hai"})
    add_class(directory, KNS, OTHER_COURSE, {"dung": "Đỗ Văn Dũng"}, {"gv-kns": "Hồ Giảng Kns"})
    directory.dispose()
    hub, tokens = the_hub()
    app = ExchangeApp(HubSettings.create({"data_dir": str(data_dir), "db_url": db_url, **settings}, "test"),
                      API_URL, "exchange-service-token")  # fmt: skip
    # Only the two calls to the hub are stubbed; the service requires its access scope, as it does when the hub
    # starts it (JUPYTERHUB_SERVICE_NAME=exchange).
    real_auth = app.hub_auth
    app.hub_auth = stub_auth(StubHubAuth, hub, api_url=API_URL, api_token="exchange-service-token",
                             cache_max_age=60, access_scopes={SCOPE})  # fmt: skip
    app.access = StubAccessResolver(hub, API_URL, "exchange-service-token", app.directory, set(app.courses))
    if limits is not None:
        app.limits = limits

    try:
        with serve(lambda: make_server(app, PREFIX)) as port:  # the server main() runs
            yield Exchange(f"http://127.0.0.1:{port}{PREFIX}api/", port, app, tokens)
    finally:
        close_auth(app.hub_auth)
        close_auth(real_auth)
        app.directory.dispose()


@pytest.fixture(scope="module")
def shared_exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exchange]:
    """One service for the module (starting one takes a few hundred milliseconds); `exchange` empties it."""
    with running_exchange(tmp_path_factory.mktemp("exchange") / "data") as running:
        yield running


@pytest.fixture
def exchange(shared_exchange: Exchange) -> Exchange:
    """The exchange with nothing released, submitted or set: every test starts from the same state."""
    import shutil

    from hub.coursework.models import Deadline, Feedback, Release, Submission

    app = shared_exchange.app
    with app.directory.session() as s:
        for table in (Feedback, Submission, Deadline, Release):
            s.query(table).delete()
    shutil.rmtree(app.store.blobs.root, ignore_errors=True)
    app.limits = Limits()
    return shared_exchange


@pytest.fixture
def released(exchange: Exchange) -> Exchange:
    exchange.release(A1)
    return exchange


def bilingual(r: requests.Response, status: int, vi: str = "", en: str = "") -> dict:
    """A refusal as the exchange answers every one: its status, JSON with both languages, nothing internal."""
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers["Content-Type"].startswith("application/json"), r.headers["Content-Type"]
    body = r.json()
    assert body["status"] == status
    assert body["vi"] and body["en"] and body["vi"] != body["en"], body
    assert body["message"] == f"{body['vi']} / {body['en']}" or (body["vi"] in body["message"]), body
    assert vi in body["vi"] and en in body["en"], body
    assert "Traceback" not in r.text and "/tmp/" not in r.text and "sqlite" not in r.text.lower()
    return body


def stored_submissions(exchange: Exchange, course: str = COURSE) -> list:
    return [row for row, _ in exchange.app.store.submissions(course)]


def blob_files(exchange: Exchange) -> list[Path]:
    return sorted(exchange.app.store.blobs.root.rglob("*.tar.gz")) if exchange.app.store.blobs.root.exists() else []


def tar_names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return sorted(tar.getnames())


# -- who is calling ----------------------------------------------------------------------------------------


def test_whoami_is_the_hubs_answer_through_the_class_rules(exchange: Exchange) -> None:
    def me(who: str) -> dict:
        r = exchange.call(who, "GET", "whoami")
        assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
        return r.json()

    assert me("an") == {"name": "an", "kind": "user", "admin": False, "learner_courses": [COURSE],
                        "instructor_courses": [], "courses": [COURSE]}  # fmt: skip
    assert (me("gv-mot")["learner_courses"], me("gv-mot")["instructor_courses"]) == ([], [COURSE])
    assert me("dung")["courses"] == [OTHER_COURSE] and me("gv-kns")["instructor_courses"] == [OTHER_COURSE]
    assert me("quantri")["admin"] and me("quantri")["courses"] == sorted([COURSE, OTHER_COURSE])
    # a course's formgrader (a hub service named like the course) teaches that course
    assert (me("formgrader")["kind"], me("formgrader")["instructor_courses"]) == ("service", [COURSE])
    assert me("other-service")["courses"] == [] and me("khach")["courses"] == []


@pytest.mark.parametrize(
    "authorization",
    [None, "token not-a-token", "Bearer ", "token", "Basic YW46YW4=", "an-no-scope"],
    ids=["none", "unknown-token", "empty-bearer", "bare-word", "basic-auth", "token-without-exchange-scope"],
)
def test_a_request_without_a_valid_hub_token_is_refused(exchange: Exchange, authorization: str | None) -> None:
    headers = {}
    if authorization == "an-no-scope":
        headers["Authorization"] = f"token {exchange.tokens['an-no-scope']}"
    elif authorization is not None:
        headers["Authorization"] = authorization
    for method, path, data in [
        ("GET", "whoami", None),
        ("GET", f"courses/{COURSE}/assignments", None),
        ("PUT", f"courses/{COURSE}/assignments/{A1}", RELEASE),
        ("POST", f"courses/{COURSE}/assignments/{A1}/submissions", WORK),
        ("PUT", f"courses/{COURSE}/assignments/{A1}/deadlines/{K01}", b'{"due": "2026-12-20T17:00:00+07:00"}'),
        ("GET", "submissions/0123abcd/feedback", None),
    ]:
        r = exchange.call(None, method, path, headers=headers, data=data)
        bilingual(r, 403, "cần đăng nhập qua hub", "a valid hub token is required")
    # a cookie is never a credential here (no XSRF surface): the same token in a cookie is refused
    r = requests.get(exchange.api + "whoami", cookies={"jupyterhub-services": exchange.tokens["an"]}, timeout=30)
    bilingual(r, 403)
    assert (
        exchange.app.store.releases(COURSE) == [] and stored_submissions(exchange) == [] and blob_files(exchange) == []
    )


# -- releasing and deadlines: instructors of the course only -------------------------------------------------


@pytest.mark.parametrize("who", ["an", "chi", "dung", "gv-kns", "khach", "other-service"])
def test_only_an_instructor_of_the_course_may_release(exchange: Exchange, who: str) -> None:
    r = exchange.call(who, "PUT", f"courses/{COURSE}/assignments/{A1}", data=RELEASE)
    bilingual(r, 403, "chỉ giảng viên của khoá học", "only the course's instructors may")
    r = exchange.call(who, "DELETE", f"courses/{COURSE}/assignments/{A1}")
    bilingual(r, 403)
    assert exchange.app.store.releases(COURSE) == [] and blob_files(exchange) == []


@pytest.mark.parametrize("who", ["gv-mot", "gv-hai", "quantri", "formgrader"])
def test_instructors_admins_and_the_formgrader_release(exchange: Exchange, who: str) -> None:
    r = exchange.call(who, "PUT", f"courses/{COURSE}/assignments/{A1}", data=RELEASE,
                      params={"due": "2026-12-20T17:00:00+07:00"})  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["notebooks"] == ["bai.ipynb"]
    (release,) = exchange.app.store.releases(COURSE)
    assert (release.assignment_id, release.released_by) == (A1, COURSE if who == "formgrader" else who)
    assert exchange.app.store.deadlines(COURSE, A1) == {"*": datetime(2026, 12, 20, 10, 0, tzinfo=UTC)}
    again = exchange.call(who, "PUT", f"courses/{COURSE}/assignments/{A1}", data=RELEASE)
    bilingual(again, 409, "đã được phát", "already released")
    forced = exchange.call(who, "PUT", f"courses/{COURSE}/assignments/{A1}", data=RELEASE, params={"force": "1"})
    assert forced.status_code == 201
    assert exchange.call(who, "DELETE", f"courses/{COURSE}/assignments/{A1}").status_code == 204
    assert exchange.app.store.releases(COURSE) == []


@pytest.mark.parametrize(
    ("due", "vi", "en"),
    [
        ("thứ sáu tuần sau", "hạn nộp không hợp lệ", "invalid deadline"),
        ("2026-12-20T17:00:00", "thiếu múi giờ", "has no time zone"),
        ("2026-13-45T99:00+07:00", "hạn nộp không hợp lệ", "invalid deadline"),
        ("<script>alert(1)</script>" * 20, "hạn nộp không hợp lệ", "invalid deadline"),
    ],
    ids=["words", "no-zone", "impossible-date", "markup"],
)
def test_a_release_with_a_bad_deadline_is_refused_and_stores_nothing(
    exchange: Exchange, due: str, vi: str, en: str
) -> None:
    r = exchange.call("gv-mot", "PUT", f"courses/{COURSE}/assignments/{A1}", data=RELEASE, params={"due": due})
    body = bilingual(r, 400, vi, en)
    assert len(body["en"]) < 200  # the bad value is quoted, shortened
    assert exchange.app.store.releases(COURSE) == []


def test_deadlines_are_set_by_the_instructors_of_that_class(released: Exchange) -> None:
    ex, due = released, "2026-12-20T17:00:00+07:00"
    for who in ("an", "binh", "chi", "dung", "khach", "gv-kns", "other-service"):
        bilingual(ex.deadline(who, K01, {"due": due}), 403)
    # an instructor of the course, but of the other class
    bilingual(ex.deadline("gv-hai", K01, {"due": due}), 403, "Bạn không dạy lớp này", "you do not teach this class")
    assert ex.app.store.deadlines(COURSE, A1) == {}

    r = ex.deadline("gv-mot", K01, {"due": due})
    assert r.status_code == 200, r.text
    assert r.json() == {"course_id": COURSE, "assignment_id": A1, "class": K01, "due": "2026-12-20T17:00:00+07:00"}
    assert ex.deadline("gv-hai", K02, {"due": "2026-12-21T17:00:00+07:00"}).status_code == 200
    assert ex.deadline("gv-hai", "*", {"due": "2026-12-22T17:00:00+07:00"}).status_code == 200  # the course default
    assert ex.deadline("quantri", K01, {"due": "2026-12-20T18:00:00+07:00"}).status_code == 200
    assert ex.deadline("formgrader", K02, {"due": "2026-12-21T18:00:00+07:00"}).status_code == 200
    assert ex.app.store.deadlines(COURSE, A1) == {
        K01: datetime(2026, 12, 20, 11, 0, tzinfo=UTC),
        K02: datetime(2026, 12, 21, 11, 0, tzinfo=UTC),
        "*": datetime(2026, 12, 22, 10, 0, tzinfo=UTC),
    }
    # each learner sees their own class's deadline; instructors see every class's
    an_list = ex.call("an", "GET", f"courses/{COURSE}/assignments").json()
    assert [(a["assignment_id"], a["due"]) for a in an_list] == [(A1, "2026-12-20T11:00:00+00:00")]
    assert "deadlines" not in an_list[0]
    assert ex.call("chi", "GET", f"courses/{COURSE}/assignments").json()[0]["due"] == "2026-12-21T11:00:00+00:00"
    assert set(ex.call("gv-mot", "GET", f"courses/{COURSE}/assignments").json()[0]["deadlines"]) == {K01, K02, "*"}


def test_a_deadline_for_a_class_or_assignment_that_is_not_there_is_404(released: Exchange) -> None:
    ex, body = released, {"due": "2026-12-20T17:00:00+07:00"}
    bilingual(ex.deadline("quantri", KNS, body), 404, "không học khoá này", "is not in this course")
    bilingual(ex.deadline("quantri", "KHONG-CO", body), 404)
    bilingual(ex.deadline("gv-mot", K01, body, assignment=A2), 404, "chưa được phát", "not released")
    bilingual(ex.deadline("gv-mot", K01, body, assignment="99-khong-co"), 404, "khoá học không có bài", "no assignment")
    assert ex.app.store.deadlines(COURSE, A1) == {} and ex.app.store.deadlines(COURSE, A2) == {}


@pytest.mark.parametrize(
    ("body", "vi", "en"),
    [
        (b"{not json", "nội dung phải là JSON", "the body must be JSON"),
        (b"\xff\xfe\xfa not utf-8", "nội dung phải là JSON", "the body must be JSON"),
        (b"[]", "nội dung phải là JSON", "the body must be JSON"),
        (b'"2026-12-20T17:00:00+07:00"', "nội dung phải là JSON", "the body must be JSON"),
        (b"", "thiếu hạn nộp", "the deadline is missing"),
        (b"{}", "thiếu hạn nộp", "the deadline is missing"),
        (b'{"due": ""}', "thiếu hạn nộp", "the deadline is missing"),
        ('{"due": "ngày mai 5 giờ chiều"}'.encode(), "hạn nộp không hợp lệ", "invalid deadline"),
        (b'{"due": "2026-12-20 17:00"}', "thiếu múi giờ", "has no time zone"),
        (b'{"due": "2026-02-30T17:00:00+07:00"}', "hạn nộp không hợp lệ", "invalid deadline"),
        (b'{"due": "2026-12-20T17:00:00+99:00"}', "hạn nộp không hợp lệ", "invalid deadline"),
        (b'{"due": ' + b"9" * 5000 + b"}", "nội dung phải là JSON", "the body must be JSON"),
        # these three were 500s (TypeError, RecursionError), found by this test
        (b'{"due": 1766224800}', "hạn nộp phải là chuỗi ISO 8601", "the deadline must be ISO 8601 text"),
        (b'{"due": ["2026-12-20T17:00"]}', "hạn nộp phải là chuỗi ISO 8601", "the deadline must be ISO 8601 text"),
        (b"[" * 60_000, "nội dung phải là JSON", "the body must be JSON"),
    ],
    ids=[
        "invalid-json",
        "not-utf8",
        "array",
        "bare-string",
        "empty-body",
        "no-due",
        "empty-due",
        "words",
        "no-zone",
        "30-february",
        "bad-offset",
        "5000-digit-number",
        "number",
        "list",
        "deep-nesting",
    ],
)
def test_hostile_deadline_bodies_get_a_clear_400(released: Exchange, body: bytes, vi: str, en: str) -> None:
    r = released.deadline("gv-mot", K01, body)
    bilingual(r, 400, vi, en)
    assert released.app.store.deadlines(COURSE, A1) == {}
    assert released.call("an", "GET", "whoami").status_code == 200  # and the service goes on


def test_a_deadline_body_over_its_limit_is_413(released: Exchange) -> None:
    from hub.services.exchange.handlers import SMALL_BODY

    padded = json.dumps({"due": "2026-12-20T17:00:00+07:00", "x": "y" * (SMALL_BODY + 10_000)}).encode()
    r = released.deadline("gv-mot", K01, padded)  # read to the end and dropped (under twice the limit)
    bilingual(r, 413, "nội dung gửi lên quá lớn (tối đa 64 KB)", "the request body is too large (at most 64 KB)")
    assert released.app.store.deadlines(COURSE, A1) == {}


def raw_request(port: int, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict]:
    """Headers (and `body`, possibly much less than announced) on a raw socket, then the answer: what a client
    sees when the service refuses a body from its headers without reading it."""
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Connection: close",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, payload = received.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(payload) if payload.startswith(b"{") else {"raw": payload.decode("latin-1")}


def test_a_body_announced_far_over_the_limit_is_refused_unread(released: Exchange) -> None:
    ex = released
    auth = {"Authorization": f"token {ex.tokens['gv-mot']}", "Content-Type": "application/json"}
    path = f"{PREFIX}api/courses/{COURSE}/assignments/{A1}/deadlines/{K01}"
    status, body = raw_request(ex.port, "PUT", path, {**auth, "Content-Length": str(50 * 1024 * 1024)}, b"{")
    assert status == 413 and "64 KB" in body["vi"] and "too large" in body["en"], body
    # not even authenticated: refused before any of the body is read, whatever it announces
    status, body = raw_request(ex.port, "POST", f"{PREFIX}api/courses/{COURSE}/assignments/{A1}/submissions",
                               {"Content-Length": str(20 * 1024 * 1024)}, b"\x1f\x8b")  # fmt: skip
    assert status == 403 and body["en"] == "a valid hub token is required", body
    assert ex.app.store.deadlines(COURSE, A1) == {} and stored_submissions(ex) == []


def test_an_archive_over_the_limit_is_413_and_nothing_is_kept(tmp_path: Path) -> None:
    limit = 256 * 1024  # the route's limit, lowered so that the test sends kilobytes, not 25 MB
    with running_exchange(tmp_path / "data", limits=Limits(max_archive_bytes=limit)) as ex:
        ex.release(A1)
        blobs = blob_files(ex)
        big = archive({"bai.ipynb": NOTEBOOK, "anh.bin": os.urandom(limit + 50_000)})  # incompressible
        assert limit < len(big) < 2 * limit
        bilingual(ex.submit("an", big), 413, "quá lớn (tối đa 256 KB)", "too large (at most 256 KB)")
        r = ex.call("gv-mot", "PUT", f"courses/{COURSE}/assignments/{A2}", data=big)
        bilingual(r, 413)
        status, body = raw_request(ex.port, "POST", f"{PREFIX}api/courses/{COURSE}/assignments/{A1}/submissions",
                                   {"Authorization": f"token {ex.tokens['an']}",
                                    "Content-Length": str(10 * limit)}, b"\x1f\x8b")  # fmt: skip
        assert status == 413 and "too large" in body["en"]
        assert stored_submissions(ex) == [] and blob_files(ex) == blobs
        assert [r.assignment_id for r in ex.app.store.releases(COURSE)] == [A1]
        assert not any(ex.app.incoming_dir.iterdir())  # the spooled uploads are gone


# -- fetching and submitting: learners of the course -----------------------------------------------------------


def test_a_learner_fetches_a_released_assignment_and_submits(released: Exchange) -> None:
    ex = released
    listed = ex.call("an", "GET", f"courses/{COURSE}/assignments")
    assert listed.status_code == 200
    (item,) = listed.json()
    assert (item["assignment_id"], item["notebooks"], item["due"]) == (A1, ["bai.ipynb"], None)
    assert item["title"]["vi"] and item["title"]["en"]
    fetched = ex.call("an", "GET", f"courses/{COURSE}/assignments/{A1}/archive")
    assert fetched.status_code == 200 and fetched.content == RELEASE
    assert fetched.headers["Content-Type"] == "application/gzip"
    assert fetched.headers["Content-Disposition"] == f'attachment; filename="{A1}.tar.gz"'

    first = ex.submit("an", headers={"X-Nbgrader-Student": "an"})  # nbgrader's --student claim, the caller's own
    assert first.status_code == 201, first.text
    assert first.json()["attempt"] == 1 and first.json()["late"] is False and "student" not in first.json()
    second = ex.submit("an", headers={"X-Nbgrader-Student": "*"})
    assert second.status_code == 201 and second.json()["attempt"] == 2
    mine = ex.call("an", "GET", f"courses/{COURSE}/assignments/{A1}/submissions").json()
    assert [s["id"] for s in mine] == [first.json()["id"], second.json()["id"]]
    stored = ex.call("an", "GET", f"submissions/{first.json()['id']}/archive")
    assert stored.status_code == 200 and stored.content == WORK
    # nothing of anyone else's: binh has submitted nothing
    assert ex.call("binh", "GET", f"courses/{COURSE}/submissions").json() == []
    assert ex.call("binh", "GET", f"courses/{COURSE}/submissions", params={"student": "*"}).json() == []


def test_an_unreleased_or_unknown_assignment_cannot_be_fetched_or_submitted(released: Exchange) -> None:
    ex = released
    bilingual(ex.call("an", "GET", f"courses/{COURSE}/assignments/{A2}/archive"), 404, "chưa được phát", "not released")
    bilingual(ex.submit("an", assignment=A2), 404, "chưa được phát", "not released")
    bilingual(ex.call("an", "GET", f"courses/{COURSE}/assignments/99-bai-la/archive"), 404, "", "no assignment")
    bilingual(ex.submit("an", assignment="99-bai-la"), 404, "", "no assignment")
    assert stored_submissions(ex) == []


@pytest.mark.parametrize("who", ["dung", "khach", "gv-kns", "other-service"])
def test_someone_outside_the_course_can_neither_see_nor_submit(released: Exchange, who: str) -> None:
    ex = released
    bilingual(ex.call(who, "GET", f"courses/{COURSE}/assignments"), 403, "không thuộc khoá học", "not in this course")
    bilingual(ex.call(who, "GET", f"courses/{COURSE}/assignments/{A1}/archive"), 403)
    bilingual(ex.call(who, "GET", f"courses/{COURSE}/submissions"), 403)
    bilingual(ex.submit(who), 403, "chỉ học viên của khoá học", "only the course's learners can submit")
    assert stored_submissions(ex) == []


@pytest.mark.parametrize("who", ["gv-mot", "quantri", "formgrader"])
def test_instructors_do_not_submit(released: Exchange, who: str) -> None:
    bilingual(released.submit(who), 403, "chỉ học viên của khoá học", "only the course's learners can submit")
    assert stored_submissions(released) == []


def test_a_claimed_student_must_be_the_caller(released: Exchange) -> None:
    ex = released
    for claim in ("binh", "gv-mot", "AN", "an\tbinh"):
        r = ex.submit("an", headers={"X-Nbgrader-Student": claim})
        bilingual(r, 403, f"không thể làm thay {claim}", f"you are an and cannot act as {claim}")
    assert ex.submit("an", headers={"X-Nbgrader-Student": "an"}).status_code == 201
    r = ex.call("an", "GET", f"courses/{COURSE}/submissions", headers={"X-Nbgrader-Student": "binh"})
    bilingual(r, 403, "", "cannot act as binh")
    assert {row.student for row in stored_submissions(ex)} == {"an"}


def test_a_deadline_closes_the_class_it_belongs_to(released: Exchange) -> None:
    ex = released  # phan-tich-du-lieu closes 14 days after the deadline
    long_ago = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert ex.deadline("gv-mot", K01, {"due": long_ago}).status_code == 200
    bilingual(ex.submit("an"), 403, "đã hết hạn nộp bài", "are closed")
    late = ex.submit("chi")  # K02 has no deadline of its own and no default: open
    assert late.status_code == 201 and late.json()["late"] is False
    assert ex.deadline("gv-mot", K01, {"due": yesterday}).status_code == 200
    r = ex.submit("an")
    assert r.status_code == 201 and r.json()["late"] is True and r.json()["seconds_late"] >= 86_000


def test_attempts_per_hour_and_storage_quota_are_enforced_over_http(tmp_path: Path) -> None:
    with running_exchange(tmp_path / "rate", exchange_attempts_per_hour=2) as ex:
        ex.release(A1)
        assert [ex.submit("an").status_code for _ in range(2)] == [201, 201]
        r = ex.submit("an")
        bilingual(r, 429, "hãy nộp lại sau", "submit again in")
        assert 1 <= int(r.headers["Retry-After"]) <= 3600
        assert ex.submit("binh").status_code == 201  # another learner is not affected
    with running_exchange(tmp_path / "quota", exchange_quota_mb=1) as ex:
        ex.release(A1)
        heavy = archive({"bai.ipynb": NOTEBOOK, "du-lieu.bin": os.urandom(600 * 1024)})
        assert ex.submit("an", heavy).status_code == 201
        bilingual(ex.submit("an", heavy), 413, "hết dung lượng nộp bài", "storage quota reached")
        assert len(stored_submissions(ex)) == 1


HOSTILE_ARCHIVES: dict[str, tuple[bytes, str]] = {
    "not-gzip": (b"PK\x03\x04 this is a zip, not a .tar.gz" * 10, ""),
    "truncated-gzip": (WORK[: len(WORK) // 2], ""),
    "gzip-of-garbage": (gzip_stream([b"\x01" * 2048]), ""),
    "parent-path": (archive({"../../../etc/cron.d/x.ipynb": NOTEBOOK}), "escapes the folder"),
    "absolute-path": (archive({"/etc/passwd": b"root:x:0:0"}), "invalid file name"),
    "no-notebook": (archive({"ghi-chu.txt": b"xin chao"}), "contains no notebook"),
    "notebook-not-json": (archive({"bai.ipynb": b"{ khong phai json"}), "not valid JSON"),
    "notebook-not-utf8": (archive({"bai.ipynb": b"\xff\xfe{}"}), "not UTF-8"),
    "notebook-not-a-notebook": (archive({"bai.ipynb": b'{"cells": 5}'}), "not a valid Jupyter notebook"),
    "reserved-name-folder": (archive({"bai.ipynb": NOTEBOOK, "timestamp.txt/x": b""}), ""),
    "empty-body": (b"", "the request has no body"),
}


@pytest.mark.parametrize("kind", list(HOSTILE_ARCHIVES))
def test_a_hostile_submission_gets_a_clear_400_and_writes_nothing(released: Exchange, kind: str) -> None:
    data, en = HOSTILE_ARCHIVES[kind]
    blobs = blob_files(released)
    bilingual(released.submit("an", data), 400, "", en)
    assert stored_submissions(released) == [] and blob_files(released) == blobs
    assert released.submit("an").status_code == 201  # the learner can still submit a good one


@pytest.mark.parametrize("kind", ["not-gzip", "parent-path", "no-notebook", "notebook-not-json"])
def test_a_hostile_release_gets_a_clear_400(exchange: Exchange, kind: str) -> None:
    data, en = HOSTILE_ARCHIVES[kind]
    bilingual(exchange.call("gv-mot", "PUT", f"courses/{COURSE}/assignments/{A1}", data=data), 400, "", en)
    assert exchange.app.store.releases(COURSE) == [] and blob_files(exchange) == []


@pytest.mark.parametrize(
    "path",
    [
        "courses/..%2F..%2F..%2Fetc/assignments",
        "courses/%2E%2E/assignments",
        "courses/..%5C..%5Cwindows/assignments",
        "courses/%00/assignments",
        f"courses/{'x' * 5000}/assignments",
        f"courses/{COURSE}/assignments/..%2F..%2Fsecrets/archive",
        f"courses/{COURSE}/assignments/{A1}%2F..%2F{A2}/archive",
        f"courses/{COURSE}/assignments/%3Cscript%3E/submissions",
    ],
    ids=[
        "dotdot-course",
        "dot-dot",
        "backslashes",
        "nul",
        "5000-chars",
        "dotdot-assignment",
        "smuggled-slash",
        "markup",
    ],
)
def test_hostile_ids_in_the_path_are_a_clear_404(released: Exchange, path: str) -> None:
    for method, data in (("GET", None), ("POST", WORK)):
        r = released.call("an", method, path, data=data)
        if r.status_code == 405:  # the route has no such method (POST on a list of assignments)
            continue
        bilingual(r, 404)
        assert len(r.content) < 1000, "the bad id is quoted shortened"
    assert stored_submissions(released) == []


@pytest.mark.parametrize("submission_id", ["..%2F..%2Fetc%2Fpasswd", "ZZZZ", "0" * 33, "abc%2F..%2F..%2Fx"])
def test_a_malformed_submission_id_is_not_found_and_leaks_nothing(released: Exchange, submission_id: str) -> None:
    for what in ("archive", "feedback"):  # no route takes it: the service's own bilingual 404
        bilingual(released.call("an", "GET", f"submissions/{submission_id}/{what}"), 404)


# -- nobody sees another learner's work ------------------------------------------------------------------------


def feedback_archive(files: dict[str, bytes] | None = None) -> bytes:
    return archive(files or {"bai.html": "<p>Tốt lắm, An</p>".encode()})


def test_a_learner_cannot_fetch_another_learners_submission_or_feedback(released: Exchange) -> None:
    ex = released
    an_id = ex.submit("an").json()["id"]
    r = ex.call("gv-mot", "POST", f"submissions/{an_id}/feedback", data=feedback_archive())
    assert r.status_code == 201 and r.json() == {"submission": an_id, "files": 1}
    own = ex.call("an", "GET", f"submissions/{an_id}/feedback")
    assert own.status_code == 200 and tar_names(own.content) == ["bai.html"]
    assert ex.call("an", "GET", f"courses/{COURSE}/submissions").json()[0]["feedback"] == ["bai"]

    nothing_here = bilingual(ex.call("binh", "GET", "submissions/0123456789abcdef0123456789abcdef/archive"), 404)
    for who in ("binh", "chi", "dung", "khach", "gv-kns", "other-service"):  # same class, same course, elsewhere
        for what in ("archive", "feedback"):
            r = ex.call(who, "GET", f"submissions/{an_id}/{what}")
            assert bilingual(r, 404) == nothing_here, (who, what)  # does not even confirm that it exists
            assert "Tốt lắm" not in r.text and r.content != WORK
    bilingual(ex.call("binh", "GET", f"courses/{COURSE}/submissions", params={"student": "an"}), 403, "",
              "you can only see your own submissions")  # fmt: skip
    bilingual(ex.call("binh", "GET", f"courses/{COURSE}/submissions", params={"latest": "1"}), 403, "",
              "only the course's instructors may collect")  # fmt: skip
    assert ex.call("binh", "GET", f"courses/{COURSE}/assignments/{A1}/submissions").json() == []

    # the course's instructors (any class of it), admins and its formgrader collect everyone's
    for who in ("gv-mot", "gv-hai", "quantri", "formgrader"):
        assert ex.call(who, "GET", f"submissions/{an_id}/archive").content == WORK, who
        (latest,) = ex.call(who, "GET", f"courses/{COURSE}/submissions", params={"latest": "1"}).json()
        assert (latest["student"], latest["full_name"], latest["class_name"]) == ("an", "Nguyễn Văn An", K01)


def test_a_learner_cannot_give_feedback_not_even_on_their_own_work(released: Exchange) -> None:
    ex = released
    an_id = ex.submit("an").json()["id"]
    bilingual(ex.call("an", "POST", f"submissions/{an_id}/feedback", data=feedback_archive()), 403, "",
              "only the course's instructors may")  # fmt: skip
    bilingual(ex.call("binh", "POST", f"submissions/{an_id}/feedback", data=feedback_archive()), 404)
    bilingual(ex.call("gv-kns", "POST", f"submissions/{an_id}/feedback", data=feedback_archive()), 404)
    bilingual(ex.call("an", "GET", f"submissions/{an_id}/feedback"), 404, "chưa có nhận xét", "no feedback")


@pytest.mark.parametrize(
    ("files", "en"),
    [
        ({"bai.ipynb": NOTEBOOK}, "feedback must be .html files"),
        ({"sub/bai.html": b"<p>x</p>"}, "feedback must be .html files"),
        ({"../bai.html": b"<p>x</p>"}, "escapes the folder"),
    ],
    ids=["not-html", "in-a-folder", "parent-path"],
)
def test_malformed_feedback_is_refused(released: Exchange, files: dict[str, bytes], en: str) -> None:
    an_id = released.submit("an").json()["id"]
    r = released.call("gv-mot", "POST", f"submissions/{an_id}/feedback", data=archive(files))
    bilingual(r, 400, "", en)
    bilingual(released.call("an", "GET", f"submissions/{an_id}/feedback"), 404)
    bilingual(released.call("gv-mot", "POST", f"submissions/{an_id}/feedback", data=b"not a tar"), 400)
