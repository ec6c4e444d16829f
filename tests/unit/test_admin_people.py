"""The console's people pages (admin/people) in this process: the portal's tornado app as app.py builds it, on a
temporary directory database, only the hub's answers stubbed (support.hub_stubs).

Admins find anyone (diacritics or not), reset a password (shown once), lift a lock-out, move a learner within a
course (work and grades follow), deactivate, edit; one audit row per change. Everybody else gets 403 on every
route and method; forms need the session's XSRF token; hostile input gets a bilingual 4xx and changes nothing.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import bcrypt
import pytest
import requests
from support.hub_stubs import FakeHub, add_people
from support.portal_server import PREFIX, SCOPE, PortalClient, running_portal, utf8

from hub.directory.db import Directory

COURSE, A1 = "phan-tich-du-lieu", "01-python-co-ban"
OTHER_COURSE = "ky-nang-so"
K01, K02, K03, KNS = "PTDL-K01", "PTDL-K02", "PTDL-K03", "KNS-K01"  # K03: closed
PEOPLE = {  # username: (full name, unit, email)
    "an": ("Nguyễn Văn An", "Sở Nội vụ Hà Nội", "an@so.gov.vn"),
    "anh": ("Nguyễn Văn Anh", "Sở Tài chính", "anh@so.gov.vn"),
    "binh": ("Trần Thị Bình", "UBND quận Hoàn Kiếm", "binh@so.gov.vn"),
    "chi": ("Phạm Thị Chi", "Sở Nội vụ Hà Nội", "chi@so.gov.vn"),
    "dung": ("Đỗ Văn Dũng", "Cục Chuyển đổi số", "dung@so.gov.vn"),
    "gv-mot": ("Lê Giảng Một", "Trường Số", None),
    "gv-hai": ("Vũ Giảng Hai", "Trường Số", None),
    "gv-kns": ("Hồ Giảng Kns", "Trường Số", None),
    "quantri": ("Quản Trị Viên", "Trường Số", None),
}
ENROLMENTS = [  # class, username, role
    (K01, "an", "learner"), (K01, "binh", "learner"), (K01, "anh", "learner"), (K02, "chi", "learner"),
    (KNS, "dung", "learner"), (KNS, "an", "learner"), (K01, "gv-mot", "instructor"),
    (K02, "gv-hai", "instructor"), (KNS, "gv-kns", "instructor"),
]  # fmt: skip
CLASSES = [(K01, COURSE, "open"), (K02, COURSE, "open"), (K03, COURSE, "closed"), (KNS, OTHER_COURSE, "open")]
AN_PASSWORD = "mat-khau-cu-123"


class Console(PortalClient):
    def post_form(self, who: str, path: str, form: dict[str, str], xsrf_from: str = "admin/people/binh"):
        return super().post_form(who, path, form, xsrf_from)

    def audit(self) -> list[Any]:
        from hub.directory.models import AdminAction

        with self.app.directory.session() as s:
            return [SimpleNamespace(**{c: getattr(r, c) for c in ("actor", "action", "target", "before", "after")})
                    for r in s.query(AdminAction).order_by(AdminAction.id)]  # fmt: skip

    def enrolments(self, username: str) -> set[tuple[str, str]]:
        from hub.directory.models import Enrolment

        with self.app.directory.session() as s:
            return {(e.class_name, e.role.value) for e in s.query(Enrolment).filter_by(username=username)}

    def person(self, username: str) -> Any:
        from hub.directory.models import Person

        with self.app.directory.session() as s:
            p = s.get(Person, username)
            return SimpleNamespace(**{c.key: getattr(p, c.key) for c in Person.__table__.columns}) if p else None


def refused(r: requests.Response, status: int, vi: str = "", en: str = "") -> None:
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert f"Lỗi {status}" in r.text and f"Error {status}" in r.text
    shown = html.unescape(r.text)
    assert vi in shown and en in shown, shown[-800:]
    assert "Traceback" not in r.text


def fill_directory(directory: Directory) -> None:
    """The same records before every test: classes, people, enrolments, an's password, quantri the admin."""
    from nativeauthenticator.orm import UserInfo

    from hub.directory.accounts import hash_password, set_password
    from hub.directory.models import AdminAction, ClassStatus, Enrolment, LoginFailure, Person, SchoolClass

    with directory.session() as s:
        for table in (Enrolment, SchoolClass, LoginFailure, AdminAction, UserInfo, Person):
            s.query(table).delete()
        for name, course, status in CLASSES:
            s.add(SchoolClass(name=name, title=f"Lớp {name}", course_id=course, year=2026, status=ClassStatus(status)))
        for username, (full_name, unit, email) in PEOPLE.items():
            s.add(Person(username=username, full_name=full_name, organisation=unit, email=email,
                         is_admin=username == "quantri"))  # fmt: skip
        s.flush()
        for class_name, username, role in ENROLMENTS:
            s.add(Enrolment(class_name=class_name, username=username, role=role))
        set_password(s, "an", hash_password(AN_PASSWORD, 4))


def the_hub() -> tuple[FakeHub, dict[str, str]]:
    hub = FakeHub()
    tokens = add_people(hub, SCOPE, (K01, K02, KNS))
    for name in ("anh",):
        tokens[name] = hub.add_user(name, groups=[K01], scopes=[SCOPE])
    return hub, tokens


def build_console(data_dir: Path) -> Iterator[Console]:
    """The portal on a fresh directory under `data_dir` (a generator for module fixtures)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{data_dir / 'truongso.sqlite'}"
    directory = Directory(db_url)
    directory.ensure_schema()
    from hub.coursework.store import SCHEMA_BRANCH
    from hub.directory.db import upgrade_schema

    upgrade_schema(directory.engine, SCHEMA_BRANCH)
    directory.dispose()
    hub, tokens = the_hub()
    lockout = {"login_max_failures": 3, "login_lockout_seconds": 600}
    with running_portal(data_dir, hub, tokens, settings=lockout, client=Console, ttl=0) as console:
        yield console


@pytest.fixture(scope="module")
def shared_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    yield from build_console(tmp_path_factory.mktemp("console") / "data")


@pytest.fixture
def console(shared_console: Console) -> Console:
    fill_directory(shared_console.app.directory)
    return shared_console


# -- who may -----------------------------------------------------------------------------------------------

PAGES = [
    "admin/people",
    "admin/people/an",
    "admin/certificates",
    f"admin/certificates/check?course={COURSE}",
    "admin/certificates/export?format=csv",
    "admin/certificates/find?q=an",
    "admin/certificates/TS-2026-000001",
]
ACTIONS = [f"admin/people/an/{a}" for a in ("reset-password", "unlock", "move", "deactivate", "activate", "edit")]


def test_only_admins_on_every_route_and_method(console: Console) -> None:
    for who in ("an", "gv-mot", "khach"):
        for path in PAGES + ACTIONS:
            refused(console.get(who, path), 403, "Chỉ quản trị viên", "only admins")
            for method in ("POST", "PUT", "DELETE"):
                form = {"from_class": K01, "to_class": K02, "full_name": "X", "email": "", "organisation": ""}
                refused(console.post_with_token(who, path, form, method), 403)
    assert console.audit() == []
    assert console.enrolments("an") == {(K01, "learner"), (KNS, "learner")}
    assert console.person("an").active and not console.person("an").must_change_password
    # a browser's POST without the session's XSRF token: refused, even for an admin
    for path in ACTIONS:
        r = utf8(console.browser("quantri").post(console.url + path, data={"from_class": K01, "to_class": K02},
                                                 timeout=30, allow_redirects=False))  # fmt: skip
        refused(r, 403, "Biểu mẫu đã hết hạn")
    assert console.audit() == [] and console.enrolments("an") == {(K01, "learner"), (KNS, "learner")}
    # nobody logged in: the hub's login
    assert console.get(None, "admin/people").status_code == 302


def test_admin_sees_every_account_with_enrolments(console: Console) -> None:
    r = console.get("quantri", "admin/people")
    assert r.status_code == 200
    for full_name, *_ in PEOPLE.values():
        assert full_name in r.text
    assert f"{len(PEOPLE)} người" in r.text
    row = re.search(r"Nguyễn Văn An</a>.*?</tr>", r.text, re.S).group(0)
    assert K01 in row and KNS in row
    person = console.get("quantri", "admin/people/an")
    assert person.status_code == 200
    for text in ("an@so.gov.vn", "Sở Nội vụ Hà Nội", K01, KNS, COURSE, OTHER_COURSE):
        assert text in person.text
    assert 'action="/services/portal/admin/people/an/reset-password"' in person.text


def test_paging_fifty_a_page(console: Console) -> None:
    from hub.directory.models import Person

    with console.app.directory.session() as s:
        for n in range(120):
            s.add(Person(username=f"hv{n:03d}", full_name=f"Học Viên {n:03d}", organisation="Sở", email=None))
    first = console.get("quantri", "admin/people?q=hoc+vien")
    assert "120 người" in first.text and "trang 1/3" in first.text
    assert first.text.count("/services/portal/admin/people/hv") == 50
    third = console.get("quantri", "admin/people?q=hoc+vien&page=3")
    assert third.text.count("/services/portal/admin/people/hv") == 20 and "Học Viên 119" in third.text
    for bad in ("-1", "abc", "0", "1e3", "9" * 50):
        refused(console.get("quantri", f"admin/people?page={bad}"), 400, "số trang không hợp lệ", "invalid page")
    refused(console.get("quantri", "admin/people?page=4&q=hoc+vien"), 404, "không có trang 4")


# -- search ------------------------------------------------------------------------------------------------


def names(r: requests.Response) -> set[str]:
    assert r.status_code == 200, r.text[:500]
    return set(re.findall(r'/admin/people/([^"?/]+)">', r.text))


def test_search_with_or_without_diacritics(console: Console) -> None:
    assert names(console.get("quantri", "admin/people?q=nguyen+van+an")) == {"an", "anh"}
    assert names(console.get("quantri", "admin/people?q=Nguyễn Văn An")) == {"an", "anh"}
    assert names(console.get("quantri", "admin/people?q=do+van+dung")) == {"dung"}  # Đ -> d
    assert names(console.get("quantri", "admin/people?q=ĐỖ")) == {"dung"}
    assert names(console.get("quantri", "admin/people?q=binh@so")) == {"binh"}  # email
    assert names(console.get("quantri", "admin/people?q=gv-hai")) == {"gv-hai"}  # username
    assert names(console.get("quantri", "admin/people?q=so+noi+vu")) == {"an", "chi"}  # unit


def test_search_wildcards_and_quotes_are_only_themselves(console: Console) -> None:
    for query in ("%", "_", "%an%", "' OR '1'='1", '"', "an'; DROP TABLE people; --", "\\", "none"):
        assert names(console.get("quantri", "admin/people", params={"q": query})) == set(), query
    refused(console.get("quantri", "admin/people", params={"q": "a" * 201}), 400, "từ khoá quá dài")
    assert console.person("an") is not None


def test_filters_by_class_role_and_state(console: Console) -> None:
    assert names(console.get("quantri", f"admin/people?class={K01}")) == {"an", "anh", "binh", "gv-mot"}
    assert names(console.get("quantri", f"admin/people?class={K01}&role=learner")) == {"an", "anh", "binh"}
    assert names(console.get("quantri", "admin/people?role=instructor")) == {"gv-mot", "gv-hai", "gv-kns"}
    assert names(console.get("quantri", "admin/people?role=admin")) == {"quantri"}
    with console.app.directory.session() as s:
        from hub.directory.models import LoginFailure, Person

        s.get(Person, "binh").active = False
        s.get(Person, "chi").must_change_password = True
        s.add(LoginFailure(username="dung", failures=3, last_failed_at=datetime.now(UTC)))
        s.add(LoginFailure(username="anh", failures=1, last_failed_at=datetime.now(UTC)))  # not yet locked
    assert names(console.get("quantri", "admin/people?state=deactivated")) == {"binh"}
    assert "binh" not in names(console.get("quantri", "admin/people?state=active"))
    assert names(console.get("quantri", "admin/people?state=must_change")) == {"chi"}
    assert names(console.get("quantri", "admin/people?state=locked")) == {"dung"}
    refused(console.get("quantri", "admin/people?role=root"), 400, "vai trò không hợp lệ", "invalid role")
    refused(console.get("quantri", "admin/people?state=x"), 400, "trạng thái không hợp lệ")
    refused(console.get("quantri", "admin/people?class=NOPE"), 404, "không có lớp")


def test_hostile_usernames_in_the_path(console: Console) -> None:
    refused(console.get("quantri", "admin/people/khong-co-ai"), 404, "không có tài khoản", "no account")
    for raw in ("..%2F..%2Fetc%2Fpasswd", "a" * 10_000, "%00", "An%20", "%E1%BA%A1n"):
        r = console.get("quantri", f"admin/people/{raw}")
        assert r.status_code in (400, 404), (raw[:20], r.status_code)
        assert "Lỗi" in r.text and "Error" in r.text
    r = console.post_form("quantri", "admin/people/" + "a" * 10_000 + "/deactivate", {})
    refused(r, 400, "tên đăng nhập không hợp lệ", "invalid username")
    r = console.post_form("quantri", "admin/people/..%2Fquantri/deactivate", {})
    refused(r, 400, "tên đăng nhập không hợp lệ")
    assert console.audit() == []


# -- reset, unlock -----------------------------------------------------------------------------------------


def test_reset_shows_the_password_once_and_it_works(console: Console, caplog: pytest.LogCaptureFixture) -> None:
    from nativeauthenticator.orm import UserInfo

    from hub.directory.models import LoginFailure

    with console.app.directory.session() as s:
        s.add(LoginFailure(username="an", failures=3, last_failed_at=datetime.now(UTC)))
    caplog.set_level(logging.DEBUG)
    r = console.post_form("quantri", "admin/people/an/reset-password", {})
    assert r.status_code == 200 and "Đã đặt lại mật khẩu" in r.text and "trao tận tay" in r.text
    password = re.search(r'<code id="password"[^>]*>([^<]+)</code>', r.text).group(1)
    assert re.fullmatch(r"\w{4}-\w{4}-\w{4}", password)
    with console.app.directory.session() as s:
        stored = bytes(s.query(UserInfo).filter_by(username="an").one().password)
        assert s.get(LoginFailure, "an") is None  # the lock-out went with the reset
    assert bcrypt.checkpw(password.encode(), stored)
    assert not bcrypt.checkpw(AN_PASSWORD.encode(), stored)
    assert console.person("an").must_change_password
    again = console.get("quantri", "admin/people/an")
    assert password not in again.text and "Phải đổi mật khẩu" in again.text
    [row] = console.audit()
    assert (row.actor, row.action, row.target) == ("quantri", "person.reset_password", "an")
    assert json.loads(row.after)["must_change_password"] is True and json.loads(row.before)["login_failures"] == 3
    assert password not in row.before + row.after and password not in caplog.text


def test_unlock_clears_the_lock(console: Console) -> None:
    from hub.directory import lockout
    from hub.directory.models import LoginFailure

    with console.app.directory.session() as s:
        s.add(LoginFailure(username="binh", failures=3, last_failed_at=datetime.now(UTC) - timedelta(seconds=5)))
    page = console.get("quantri", "admin/people/binh")
    assert "Bị khoá" in page.text and 'id="unlock"' in page.text
    r = console.post_form("quantri", "admin/people/binh/unlock", {})
    assert r.status_code == 302 and r.headers["Location"].endswith("admin/people/binh?done=unlocked")
    with console.app.directory.session() as s:
        assert lockout.seconds_locked(s, "binh", 3, 600) == 0
    assert "Đã mở khoá tài khoản" in console.get("quantri", "admin/people/binh?done=unlocked").text
    [row] = console.audit()
    assert row.action == "person.unlock" and json.loads(row.before)["login_failures"] == 3
    # not locked: nothing to do, nothing logged
    r = console.post_form("quantri", "admin/people/binh/unlock", {})
    assert r.headers["Location"].endswith("done=not_locked") and len(console.audit()) == 1
    assert "Chỉ quản trị viên" not in console.get("quantri", "admin/people/binh?done=<script>").text


# -- move --------------------------------------------------------------------------------------------------


def test_move_refusals_change_nothing(console: Console) -> None:
    cases = [
        ({"from_class": K01, "to_class": KNS}, 409, "đã ở lớp KNS", "already in class KNS"),
        ({"from_class": K01, "to_class": K03}, 409, "đã kết thúc hoặc lưu trữ", "closed or archived"),
        ({"from_class": K01, "to_class": K01}, 409, "đã ở lớp", "already in class"),
        ({"from_class": K01, "to_class": "NOPE"}, 404, "không có lớp", "no class"),
        ({"from_class": K01, "to_class": "x" * 10_000}, 404, "không có lớp", "no class"),
        ({"from_class": K02, "to_class": K01}, 400, "không học lớp", "is not a learner of"),
        ({"from_class": "' OR 1=1 --", "to_class": K02}, 400, "không học lớp", "is not a learner of"),
    ]
    for form, status, vi, en in cases:
        refused(console.post_form("quantri", "admin/people/an/move", form), status, vi, en)
    refused(console.post_form("quantri", "admin/people/binh/move", {"from_class": K01, "to_class": KNS}), 409,
            "chỉ chuyển được sang lớp cùng khoá", "only to a class of the same course")  # fmt: skip
    assert console.enrolments("binh") == {(K01, "learner")}
    refused(console.post_form("quantri", "admin/people/gv-mot/move", {"from_class": K01, "to_class": K02}), 400)
    refused(console.post_form("quantri", "admin/people/khong-co/move", {"from_class": K01, "to_class": K02}), 404)
    assert console.enrolments("an") == {(K01, "learner"), (KNS, "learner")}
    assert console.audit() == []


def test_move_keeps_submissions_and_grades(console: Console, tmp_path: Path) -> None:
    """an submitted A1 in K01 and it was graded; moved to K02, the K02 instructor sees an's work and score (one
    score function: graders.scores through views.gradebook_scores), K01's no longer does."""
    from support.gradebooks import Sub, make_gradebook

    from hub.coursework.models import Deadline, Feedback, Release, Submission
    from hub.coursework.store import SubmitPolicy

    app = console.app
    with app.directory.session() as s:
        for table in (Feedback, Submission, Deadline, Release):
            s.query(table).delete()
    gradebook = Path(app.settings.gradebook_url_for(COURSE).removeprefix("sqlite:///"))
    gradebook.unlink(missing_ok=True)
    make_gradebook(gradebook, app.courses[COURSE], {"an": [Sub(A1, 0.8)], "binh": [Sub(A1, 0.5)]}, released=[A1])
    app.store.release(COURSE, A1, b"release", ["bai.ipynb"], "gv-mot", False, None)
    app.store.submit(COURSE, A1, "an", K01, b"work", ["bai.ipynb"], SubmitPolicy())

    def row_of(who: str, learner: str) -> str:
        r = console.get(who, f"courses/{COURSE}")
        assert r.status_code == 200
        found = re.search(rf"<tr[^>]*>\s*<td[^>]*>{PEOPLE[learner][0]}<br>.*?</tr>", r.text, re.S)
        return found.group(0) if found else ""

    assert "16/20" in row_of("gv-mot", "an") and not row_of("gv-hai", "an")
    page = console.get("quantri", "admin/people/an")
    move_form = re.search(r'<form[^>]*/move".*?</form>', page.text, re.S).group(0)
    assert f'value="{K02}"' in move_form and f'value="{K03}"' not in move_form and f'value="{KNS}"' not in move_form
    r = console.post_form("quantri", "admin/people/an/move", {"from_class": K01, "to_class": K02})
    assert r.status_code == 302 and r.headers["Location"].endswith("done=moved")
    assert console.enrolments("an") == {(K02, "learner"), (KNS, "learner")}
    assert "16/20" in row_of("gv-hai", "an") and not row_of("gv-mot", "an")
    assert "10/20" in row_of("gv-mot", "binh")  # the others stay
    [row] = console.audit()
    assert row.action == "person.move" and json.loads(row.before)["class_name"] == K01
    assert json.loads(row.after) == {"class_name": K02, "course_id": COURSE}
    assert "học viên thấy lớp mới" in console.get("quantri", r.headers["Location"].split(PREFIX, 1)[1]).text


# -- deactivate, edit --------------------------------------------------------------------------------------


def test_deactivate_and_reactivate(console: Console) -> None:
    from hub.directory.membership import membership_of
    from hub.directory.models import Person

    r = console.post_form("quantri", "admin/people/chi/deactivate", {})
    assert r.status_code == 302 and r.headers["Location"].endswith("done=deactivated")
    assert console.person("chi").active is False
    with console.app.directory.session() as s:
        assert membership_of(s, "chi") is None  # no login (hub.directory.membership)
    assert console.enrolments("chi") == {(K02, "learner")}  # the record stays
    r = console.post_form("quantri", "admin/people/chi/activate", {})
    assert r.headers["Location"].endswith("done=activated") and console.person("chi").active
    actions = [(a.action, json.loads(a.before)["active"], json.loads(a.after)["active"]) for a in console.audit()]
    assert actions == [("person.deactivate", True, False), ("person.activate", False, True)]
    # nobody deactivates themselves; the last admin stays
    refused(console.post_form("quantri", "admin/people/quantri/deactivate", {}), 409, "không thể tự khoá")
    with console.app.directory.session() as s:
        s.get(Person, "quantri").is_admin = False  # quantri an admin of the hub only, gv-hai the directory's last
        s.get(Person, "gv-hai").is_admin = True
    refused(console.post_form("quantri", "admin/people/gv-hai/deactivate", {}), 409, "quản trị viên cuối cùng",
            "the last admin")  # fmt: skip
    assert console.person("gv-hai").active and console.person("quantri").active and len(console.audit()) == 2


def test_edit_checks_like_the_roster(console: Console) -> None:
    good = {"full_name": "  Nguyễn  Văn Ân ", "email": "An.Moi@SO.gov.vn", "organisation": "Sở Tư pháp"}
    r = console.post_form("quantri", "admin/people/an/edit", good)
    assert r.headers["Location"].endswith("done=edited")
    an = console.person("an")
    assert (an.full_name, an.email, an.organisation) == ("Nguyễn Văn Ân", "an.moi@so.gov.vn", "Sở Tư pháp")
    [row] = console.audit()
    assert json.loads(row.before)["full_name"] == "Nguyễn Văn An" and json.loads(row.after)["email"] == an.email
    bad = [
        ({**good, "full_name": ""}, 400, "thiếu họ và tên"),
        ({**good, "full_name": '=HYPERLINK("x")'}, 400, "họ và tên không hợp lệ"),
        ({**good, "full_name": "Nguyễn 123"}, 400, "họ và tên không hợp lệ"),
        ({**good, "full_name": "A" * 201}, 400, "họ và tên không hợp lệ"),
        ({**good, "email": "not-an-email"}, 400, "email không hợp lệ"),
        ({**good, "email": "binh@so.gov.vn"}, 409, "đã thuộc về binh"),
        ({**good, "organisation": "Sở\u202eTư pháp"}, 400, "tên đơn vị không hợp lệ"),  # right-to-left override
        ({**good, "organisation": "S" * 301}, 400, "tên đơn vị không hợp lệ"),
    ]
    for form, status, vi in bad:
        r = console.post_form("quantri", "admin/people/an/edit", form)
        assert r.status_code == status, (form, r.status_code)
        refused(r, status, vi)
    assert console.person("an").full_name == "Nguyễn Văn Ân" and len(console.audit()) == 1
    r = console.post_form("quantri", "admin/people/an/edit", {**good, "email": "an.moi@so.gov.vn"})
    assert r.headers["Location"].endswith("done=unchanged") and len(console.audit()) == 1
