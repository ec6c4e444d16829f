"""The portal's pages in this process: its tornado app built as hub/services/portal/app.py builds it (HubOAuth
login cookie, session-bound XSRF, the body limit in front), on a temporary SQLite database, with only the hub's
answers stubbed (support.hub_stubs) and the sandboxed grading replaced by a stand-in.

Learners see their own courses; the course pages, deadlines, grading and reports are for the course's
instructors, and an instructor sees and sets only the classes they teach (admins: all).
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from support.hub_stubs import FakeHub, add_class, add_people
from support.portal_server import CLIENT_ID, PREFIX, SCOPE, PortalClient, fake_grade, running_portal, utf8, xsrf_of
from tornado.web import create_signed_value

from hub.directory.db import Directory

COURSE, A1, A2 = "phan-tich-du-lieu", "01-python-co-ban", "02-lam-sach-du-lieu"
OTHER_COURSE, OTHER_A = "ky-nang-so", "01-tep-va-dinh-dang"
K01, K02, KNS = "PTDL-K01", "PTDL-K02", "KNS-K01"
NAMES = {"an": "Nguyễn Văn An", "binh": "Trần Thị Bình", "chi": "Phạm Thị Chi", "dung": "Đỗ Văn Dũng"}
DUE_K01 = datetime(2026, 12, 20, 10, 0, tzinfo=UTC)  # 17:00 in Hanoi
DUE_K02 = datetime(2026, 12, 21, 10, 0, tzinfo=UTC)


class Portal(PortalClient):
    def post_form(self, who: str, path: str, form: dict[str, str], xsrf_from: str = f"courses/{COURSE}"):
        return super().post_form(who, path, form, xsrf_from)


page = utf8  # the name the console tests import


def the_hub() -> tuple[FakeHub, dict[str, str]]:
    hub = FakeHub()
    tokens = add_people(hub, SCOPE, (K01, K02, KNS))
    tokens["an-no-scope"] = hub.token_for("an", scopes=["access:services!service=exchange"])
    return hub, tokens


@pytest.fixture(scope="module")
def shared_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    data_dir = tmp_path_factory.mktemp("portal") / "data"
    data_dir.mkdir(parents=True)
    db_url = f"sqlite:///{data_dir / 'truongso.sqlite'}"
    directory = Directory(db_url)
    directory.ensure_schema()
    add_class(directory, K01, COURSE, {u: NAMES[u] for u in ("an", "binh")}, {"gv-mot": "Lê Giảng Một"})
    add_class(directory, K02, COURSE, {"chi": NAMES["chi"]}, {"gv-hai": "Vũ Giảng Hai"})
    add_class(directory, KNS, OTHER_COURSE, {"dung": NAMES["dung"]}, {"gv-kns": "Hồ Giảng Kns"})
    directory.dispose()
    hub, tokens = the_hub()
    with running_portal(data_dir, hub, tokens, grade=fake_grade, client=Portal) as portal:
        yield portal


@pytest.fixture
def portal(shared_portal: Portal) -> Portal:
    """Every test starts from the same records: A1 released with a deadline per class of the course, one
    submission of an's; A2 and the other course's assignments not released."""
    import shutil

    from hub.coursework.models import Deadline, Feedback, Release, Submission
    from hub.coursework.store import SubmitPolicy

    app = shared_portal.app
    with app.directory.session() as s:
        for table in (Feedback, Submission, Deadline, Release):
            s.query(table).delete()
    shutil.rmtree(app.store.blobs.root, ignore_errors=True)
    app.store.release(COURSE, A1, b"release", ["bai.ipynb"], "gv-mot", False, None)
    app.store.set_deadline(COURSE, A1, K01, DUE_K01, "gv-mot")
    app.store.set_deadline(COURSE, A1, K02, DUE_K02, "gv-hai")
    app.store.submit(COURSE, A1, "an", K01, b"work", ["bai.ipynb"], SubmitPolicy(), now=DUE_K01 - timedelta(hours=2))
    return shared_portal


def refused(r: requests.Response, status: int, vi: str = "", en: str = "") -> None:
    """A refusal as the portal answers every one: its status, a page in both languages, nothing internal."""
    assert r.status_code == status, (r.status_code, r.text[:400])
    assert r.headers["Content-Type"].startswith("text/html")
    assert f"Lỗi {status}" in r.text and f"Error {status}" in r.text
    shown = html.unescape(r.text)
    assert vi in shown and en in shown, shown
    assert "Traceback" not in r.text and "/tmp/" not in r.text


def deadlines(portal: Portal, assignment: str = A1) -> dict[str, datetime]:
    return portal.app.store.deadlines(COURSE, assignment)


# -- who is calling ----------------------------------------------------------------------------------------


def test_without_a_login_pages_redirect_to_the_hub_and_forms_are_refused(portal: Portal) -> None:
    for path in ("", f"courses/{COURSE}", f"courses/{COURSE}/assignments/{A1}/report", "jobs/0123abcd"):
        r = portal.get(None, path)
        assert r.status_code == 302, path
        assert r.headers["Location"].startswith("/hub/api/oauth2/authorize?"), r.headers["Location"]
        assert f"client_id={CLIENT_ID}" in r.headers["Location"] and "Nguyễn" not in r.text
    forged = portal.browser(None)
    forged.cookies.set(CLIENT_ID, create_signed_value(b"not-the-secret", CLIENT_ID, portal.tokens["an"]).decode())
    assert forged.get(portal.url, timeout=30, allow_redirects=False).status_code == 302  # a cookie it did not sign
    r = page(requests.post(portal.url + f"courses/{COURSE}/assignments/{A1}/deadline", timeout=30,
                           data={"class_name": K01, "due": "2026-12-31T17:00"}, allow_redirects=False))  # fmt: skip
    refused(r, 403)
    assert deadlines(portal)[K01] == DUE_K01


def test_a_token_without_the_portals_scope_is_refused(portal: Portal) -> None:
    refused(portal.get("an-no-scope"), 403)


def test_security_headers_on_every_page(portal: Portal) -> None:
    for who, path in (("an", ""), ("gv-mot", f"courses/{COURSE}"), ("an", f"courses/{COURSE}")):
        r = portal.get(who, path)
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"


# -- what learners and instructors see -------------------------------------------------------------------------


def test_a_learner_sees_their_own_course_class_and_deadline(portal: Portal) -> None:
    course = portal.app.courses[COURSE]
    r = portal.get("an")
    assert r.status_code == 200
    assert course.title.vi in r.text and course.title.en in r.text and K01 in r.text
    assert course.assignment(A1).title.vi in r.text and course.assignment(A2).title.vi not in r.text  # released only
    assert "20/12/2026 17:00 (UTC+7)" in r.text and "21/12/2026" not in r.text  # their class's deadline
    assert "1 lần" in r.text  # an's attempt
    assert 'id="teaching"' not in r.text and f"courses/{COURSE}" not in r.text  # no instructor's links
    assert "an" in r.text and not any(NAMES[u] in r.text for u in ("binh", "chi", "dung"))

    chi = portal.get("chi")
    assert chi.status_code == 200 and K02 in chi.text and "21/12/2026 17:00 (UTC+7)" in chi.text
    assert "chưa" in chi.text and "1 lần" not in chi.text  # an's attempt is not chi's
    dung = portal.get("dung")
    assert dung.status_code == 200 and portal.app.courses[OTHER_COURSE].title.vi in dung.text
    assert course.title.vi not in dung.text and "Chưa có bài nào được phát" in dung.text
    khach = portal.get("khach")
    assert khach.status_code == 200 and "Bạn chưa thuộc lớp học nào" in khach.text


def test_a_learner_opens_submits_and_reads_feedback_in_one_click(portal: Portal) -> None:
    """ "Làm bài", "Nộp bài" (and "Xem nhận xét" once there is feedback) for each released assignment, through
    the hub's user-redirect so the workspace starts when needed; nothing for unreleased work."""
    r = portal.get("an")
    query = f"course={COURSE}&amp;assignment={A1}"
    for action, label in (("lam-bai", "Làm bài"), ("nop-bai", "Nộp bài")):
        assert f'href="/hub/user-redirect/truongso/{action}?{query}">{label}' in r.text
    assert f"assignment={A2}" not in r.text
    assert ("xem-nhan-xet" in r.text) == ("có nhận xét" in r.text)
    assert "xem-nhan-xet" not in portal.get("chi").text  # chi has nothing graded


def test_an_instructor_sees_the_course_and_only_their_own_class(portal: Portal) -> None:
    home = portal.get("gv-mot")
    assert home.status_code == 200 and 'id="teaching"' in home.text and f"{PREFIX}courses/{COURSE}" in home.text
    assert f"courses/{OTHER_COURSE}" not in home.text and "learner-course" not in home.text

    r = portal.get("gv-mot", f"courses/{COURSE}")
    assert r.status_code == 200
    assert f'id="class-{K01}"' in r.text and NAMES["an"] in r.text and NAMES["binh"] in r.text
    assert f'id="class-{K02}"' not in r.text and NAMES["chi"] not in r.text  # the other class of the course
    assert "20/12/2026 17:00 (UTC+7)" in r.text and "21/12/2026" not in r.text
    assert 'class="cell-submitted"' in r.text  # an's submission
    assert 'name="_xsrf"' in r.text and f'name="class_name" value="{K01}"' in r.text
    assert f'value="{K02}"' not in r.text

    other = portal.get("gv-hai", f"courses/{COURSE}")
    assert other.status_code == 200 and NAMES["chi"] in other.text and NAMES["an"] not in other.text
    admin = portal.get("quantri", f"courses/{COURSE}")
    assert admin.status_code == 200 and all(NAMES[u] in admin.text for u in ("an", "binh", "chi"))


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("an", f"courses/{COURSE}", 403),  # a learner of the course
        ("an", f"courses/{OTHER_COURSE}", 403),  # another course altogether
        ("dung", f"courses/{COURSE}", 403),
        ("gv-kns", f"courses/{COURSE}", 403),  # an instructor, of another course
        ("khach", f"courses/{COURSE}", 403),
        ("an", f"courses/{COURSE}/assignments/{A1}/report", 403),
        ("gv-kns", f"courses/{COURSE}/assignments/{A1}/report", 403),
        ("gv-mot", f"courses/{COURSE}/assignments/99-khong-co/report", 404),
        ("an", "courses/khong-co-khoa-nay", 404),
        ("gv-mot", "courses/..%2F..%2F..%2Fetc%2Fpasswd", 404),
        ("gv-mot", "courses/%3Cscript%3Ealert(1)%3C%2Fscript%3E", 404),
    ],
)
def test_pages_outside_ones_courses_are_refused(portal: Portal, who: str, path: str, status: int) -> None:
    r = portal.get(who, path)
    refused(r, status)
    assert not any(name in r.text for name in NAMES.values()) and "<script>alert" not in r.text
    if status == 403:
        refused(r, 403, "Chỉ giảng viên của khoá học", "only the course's instructors")


def test_a_message_in_the_address_is_shown_as_text(portal: Portal) -> None:
    r = portal.get("gv-mot", f"courses/{COURSE}", params={"message": '<img src=x onerror="alert(1)">'})
    assert r.status_code == 200 and "<img src=x" not in r.text and "&lt;img src=x" in r.text


def test_the_autograding_report_lists_only_the_instructors_classes(portal: Portal) -> None:
    r = portal.get("gv-mot", f"courses/{COURSE}/assignments/{A1}/report")
    assert r.status_code == 200 and 'data-student="an"' in r.text and 'data-student="binh"' in r.text
    assert 'data-student="chi"' not in r.text


# -- deadlines -------------------------------------------------------------------------------------------------


def deadline_form(portal: Portal, who: str, class_name: str, due: str, assignment: str = A1, token: bool = False):
    """The course page's deadline form sent by `who`'s browser, or (token=True) by a script with their API token:
    learners have no page with that form, and their token skips XSRF, so that only the rules can refuse them."""
    path, form = f"courses/{COURSE}/assignments/{assignment}/deadline", {"class_name": class_name, "due": due}
    return portal.post_with_token(who, path, form) if token else portal.post_form(who, path, form)


def test_an_instructor_sets_their_classs_deadline_in_vietnam_time(portal: Portal) -> None:
    r = deadline_form(portal, "gv-mot", K01, "2026-12-31T17:00")
    location = f"{PREFIX}courses/{COURSE}?saved={K01}&assignment={A1}#a-{A1}"
    assert r.status_code == 302 and r.headers["Location"] == location
    assert deadlines(portal) == {K01: datetime(2026, 12, 31, 10, 0, tzinfo=UTC), K02: DUE_K02}
    assert "31/12/2026 17:00 (UTC+7)" in portal.get("gv-mot", f"courses/{COURSE}").text
    # the success message says what the store now holds, whatever the address claims
    saved = portal.get("gv-mot", location.removeprefix(PREFIX).split("#")[0]).text
    assert f"Đã lưu hạn nộp bài {A1} của lớp {K01}: 31/12/2026 17:00 (UTC+7)" in saved
    assert "Đã lưu hạn nộp" not in portal.get("gv-mot", f"courses/{COURSE}?saved=KHAC&assignment={A1}").text
    assert "31/12/2026 17:00 (UTC+7)" in portal.get("an").text
    assert deadline_form(portal, "quantri", K02, "2027-01-05T08:30").status_code == 302  # admins: any class
    assert deadlines(portal)[K02] == datetime(2027, 1, 5, 1, 30, tzinfo=UTC)
    assert deadline_form(portal, "gv-hai", K02, "2027-01-06T08:30", token=True).status_code == 302  # a script
    assert deadlines(portal)[K02] == datetime(2027, 1, 6, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("who", "class_name", "vi", "en"),
    [
        ("an", K01, "Chỉ giảng viên của khoá học", "only the course's instructors"),
        ("binh", K01, "Chỉ giảng viên của khoá học", "only the course's instructors"),
        ("chi", K02, "Chỉ giảng viên của khoá học", "only the course's instructors"),
        ("dung", K01, "Chỉ giảng viên của khoá học", "only the course's instructors"),
        ("gv-kns", K01, "Chỉ giảng viên của khoá học", "only the course's instructors"),
        ("gv-hai", K01, "Bạn không dạy lớp này", "you do not teach this class"),  # the course's, not the class's
        ("gv-mot", K02, "Bạn không dạy lớp này", "you do not teach this class"),
        ("gv-mot", "", "không học khoá này", "is not in this course"),
    ],
)
def test_a_deadline_is_refused_to_anyone_but_the_classs_instructors(
    portal: Portal, who: str, class_name: str, vi: str, en: str
) -> None:
    status = 404 if "not in this course" in en else 403
    refused(deadline_form(portal, who, class_name, "2026-12-31T17:00", token=True), status, vi, en)
    if who.startswith("gv-") and who != "gv-kns":  # the instructors also have the page, and its form
        refused(deadline_form(portal, who, class_name, "2026-12-31T17:00"), status, vi, en)
    assert deadlines(portal) == {K01: DUE_K01, K02: DUE_K02}


@pytest.mark.parametrize(
    "due",
    [
        "",
        "ngày mai",
        "31/12/2026 17:00",
        "2026-02-30T17:00",
        "2026-12-31T25:00",
        "<script>alert(1)</script>",
        "9" * 5000,
    ],
    ids=["empty", "words", "day-first", "30-february", "hour-25", "markup", "5000-digits"],
)
def test_a_bad_deadline_text_is_a_clear_400(portal: Portal, due: str) -> None:
    r = deadline_form(portal, "gv-mot", K01, due)
    refused(r, 400, "Hạn nộp không hợp lệ (ngày giờ Việt Nam)", "invalid deadline (a Vietnam date and time)")
    assert "<script>alert" not in r.text
    assert deadlines(portal) == {K01: DUE_K01, K02: DUE_K02}


def test_a_deadline_for_an_unreleased_or_unknown_assignment_is_404(portal: Portal) -> None:
    refused(deadline_form(portal, "gv-mot", K01, "2026-12-31T17:00", assignment=A2), 404, "chưa được phát",
            "not released")  # fmt: skip
    refused(deadline_form(portal, "gv-mot", K01, "2026-12-31T17:00", assignment="..%2F..%2Fx"), 404)
    assert deadlines(portal, A2) == {} and deadlines(portal) == {K01: DUE_K01, K02: DUE_K02}


# The portal once stored such a deadline (no learner ever read it) where the exchange answered 404: now both
# go through hub.coursework.deadlines.
def test_a_deadline_for_a_class_that_does_not_take_the_course_is_404(portal: Portal) -> None:
    for class_name in (KNS, "KHONG-CO-LOP-NAY"):
        refused(deadline_form(portal, "quantri", class_name, "2026-12-31T17:00"), 404)
    assert deadlines(portal) == {K01: DUE_K01, K02: DUE_K02}


def test_a_deadline_form_without_its_xsrf_token_is_refused(portal: Portal) -> None:
    path = portal.url + f"courses/{COURSE}/assignments/{A1}/deadline"
    form = {"class_name": K01, "due": "2026-12-31T17:00"}
    no_token = page(portal.browser("gv-mot").post(path, data=form, timeout=30, allow_redirects=False))
    refused(no_token, 403, "Biểu mẫu đã hết hạn", "The form has expired")
    # a token from another person's page (planted in a form the instructor is tricked into sending)
    other = portal.browser("gv-hai")
    planted = xsrf_of(page(other.get(portal.url + f"courses/{COURSE}", timeout=30)))
    assert planted and other.cookies["_xsrf"]
    victim = portal.browser("gv-mot")
    victim.cookies.set("_xsrf", planted)
    r = page(victim.post(path, data={**form, "_xsrf": planted}, timeout=30, allow_redirects=False))
    refused(r, 403, "Biểu mẫu đã hết hạn", "The form has expired")
    assert deadlines(portal) == {K01: DUE_K01, K02: DUE_K02}


def test_a_body_over_the_portals_limit_is_413_before_login_or_xsrf(portal: Portal) -> None:
    from hub.services.portal.app import MAX_BODY_BYTES

    big = {"class_name": K01, "due": "2026-12-31T17:00", "padding": "x" * (MAX_BODY_BYTES + 1000)}
    for who in ("gv-mot", None):
        r = page(portal.browser(who).post(portal.url + f"courses/{COURSE}/assignments/{A1}/deadline", data=big,
                                          timeout=30, allow_redirects=False))  # fmt: skip
        assert r.status_code == 413
        assert "Yêu cầu quá lớn" in r.text and "Request too large" in r.text and "64 KB" in r.text
    assert deadlines(portal) == {K01: DUE_K01, K02: DUE_K02}


# -- grading jobs ----------------------------------------------------------------------------------------------


def test_grading_is_started_and_watched_by_the_courses_instructors_only(portal: Portal) -> None:
    for who in ("an", "gv-kns"):
        refused(portal.post_with_token(who, f"courses/{COURSE}/assignments/{A1}/grade", {}), 403)
    assert portal.app.jobs.running(COURSE, A1) is None
    r = portal.post_form("gv-mot", f"courses/{COURSE}/assignments/{A1}/grade", {})
    assert r.status_code == 302 and r.headers["Location"].startswith(f"{PREFIX}jobs/")
    job_path = r.headers["Location"].removeprefix(PREFIX)
    deadline = time.monotonic() + 10
    while (state := portal.get("gv-mot", job_path, params={"format": "json"}).json())["state"] == "running":
        assert time.monotonic() < deadline, state
        time.sleep(0.02)
    assert (state["state"], state["course_id"], state["graded"], state["started_by"]) == ("done", COURSE, 1, "gv-mot")
    assert portal.get("gv-hai", job_path).status_code == 200  # the course's instructors
    for who in ("an", "gv-kns", "khach"):
        refused(portal.get(who, job_path), 404, "Không có việc chấm này", "no such grading job")
    refused(portal.get("gv-mot", "jobs/0123456789abcdef"), 404)


@pytest.mark.parametrize("who", [None, "an"])
@pytest.mark.parametrize("path", ["khong-co-trang-nay", "courses/", f"courses/{COURSE}/assignments/{A1}/nope"])
def test_an_unknown_path_is_the_portals_own_404(portal: Portal, who: str | None, path: str) -> None:
    """The portal's page and headers, both languages, whoever asks (it asks the hub nothing for it)."""
    r = portal.get(who, path)
    refused(r, 404, "không có trang này", "no such page")
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
