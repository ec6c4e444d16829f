"""One click from the portal into the work, inside the learner's workspace (a Jupyter server extension).

The portal's "Làm bài", "Nộp bài" and "Xem nhận xét" links go through the hub's /hub/user-redirect/, which
starts the workspace when needed, to these pages of the learner's own server:

- GET  truongso/lam-bai?course=C&assignment=A  fetch the assignment when not yet fetched, then open its first
  notebook in JupyterLab;
- GET  truongso/nop-bai?course=C&assignment=A  validate every notebook (nbgrader's Validator, in a child process
  so the server stays responsive) and ask for confirmation, the results in plain Vietnamese;
- POST truongso/nop-bai                        submit; the receipt shows the exchange's receipt time in Vietnam
  time;
- GET  truongso/nhan-xet?course=C&assignment=A fetch released feedback and show the latest submission's.

Every exchange operation is nbgrader's own (ExchangeFactory, so our hub exchange client), configured the way
nbgrader's assignment list extension configures it: this adds pages, not another way to reach the exchange.
`python -m truongso_oneclick validate NOTEBOOK` is the child process: it prints the Validator's result as JSON.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import DictLoader, Environment
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from markupsafe import Markup
from tornado import web

from graders.timeutil import SCHOOL_TIMEZONE, offset_label, school_zone

log = logging.getLogger(__name__)

# nbgrader's course and assignment ids as our courses use them; anything else is refused before it reaches a path.
IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
VALIDATE_TIMEOUT = float(os.environ.get("TRUONGSO_VALIDATE_TIMEOUT", "600"))
RECEIPT_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # the exchange's timestamps (hub/coursework/store.py)


def valid_identifier(value: str) -> bool:
    return bool(IDENTIFIER.fullmatch(value)) and ".." not in value


def vietnam_time(moment: datetime, zone: str = "", seconds: bool = False) -> str:
    """ "04/12/2026 21:30 (giờ Việt Nam, UTC+7)": the moment in the school's zone, labelled."""
    name = zone or os.environ.get("TZ") or SCHOOL_TIMEZONE  # the spawner sets TZ to the school's zone
    try:
        local = moment.astimezone(school_zone(name))
    except (ValueError, KeyError):
        name = SCHOOL_TIMEZONE
        local = moment.astimezone(school_zone(name))
    label = "giờ Việt Nam, " if name == SCHOOL_TIMEZONE else ""
    return f"{local.strftime('%d/%m/%Y %H:%M' + (':%S' if seconds else ''))} ({label}{offset_label(local)})"


def receipt_moment(timestamp: str) -> datetime | None:
    """The exchange's receipt timestamp ("2026-12-04 14:30:05.123456 UTC") as an aware moment; None if unreadable."""
    try:
        return datetime.strptime(timestamp, RECEIPT_FORMAT).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return None


# nbgrader's result keys, in the order nbgrader reports them, with what each means for the learner ({n}: cells).
VERDICTS: list[tuple[str, str, str, str]] = [
    ("type_changed", "warning",
     "{n} ô đã bị đổi loại (ví dụ từ Code sang Markdown): khi chấm, bài có thể không được tính điểm đúng. "
     "Hãy đổi lại loại ô như bài gốc.",
     "{n} cell(s) changed type (e.g. Code to Markdown): grading may not count them. Change them back."),
    ("changed", "warning",
     "{n} ô kiểm tra đã bị sửa. Khi chấm, các ô kiểm tra gốc được dùng lại, nên kết quả có thể khác với những gì "
     "bạn thấy bây giờ.",
     "{n} test cell(s) were edited. Grading uses the original tests, so the result may differ from what you see "
     "now."),
    ("failed", "failed",
     "{n} ô kiểm tra chưa đạt. Nếu nộp bây giờ, bạn sẽ không được đủ điểm. Bạn có thể sửa rồi nộp lại, hoặc vẫn "
     "nộp.",
     "{n} test cell(s) failed. Submitted as it is, the work will not get full marks. You can fix it and submit "
     "again, or submit anyway."),
]  # fmt: skip


def summarise_validation(result: dict[str, Any]) -> dict[str, Any]:
    """nbgrader's validation result for one notebook, said plainly: a verdict, its Vietnamese and English text,
    and the cells concerned (source and error, shortened)."""
    if "error" in result:
        return {
            "verdict": "unknown",
            "vi": f"Không kiểm tra được sổ này: {result['error']}. Bạn vẫn có thể nộp bài.",
            "en": "This notebook could not be checked; you can still submit.",
            "cells": [],
        }
    for key, verdict, vi, en in VERDICTS:
        if cells := result.get(key):
            n = len(cells)
            return {"verdict": verdict, "cells": [_cell(c) for c in cells], "vi": vi.format(n=n), "en": en.format(n=n)}
    return {"verdict": "passed", "vi": "Mọi ô kiểm tra đều đạt.", "en": "Every test cell passes.", "cells": []}


def _cell(cell: dict[str, Any]) -> dict[str, str]:
    error = _strip_ansi(str(cell.get("raw_error") or ""))
    source = str(cell.get("source") or "")
    first = next((line.strip().lstrip("#").strip() for line in source.splitlines() if line.strip()), "")
    return {"title": first[:120], "source": _shorten(source, 20), "error": _shorten(error, 12, tail=True),
            "explained": explain_error(error)}  # fmt: skip


def explain_error(error: str) -> str:
    """The one line a learner needs from a failing test's error: the course's own message when the test has one
    (our courses write them in Vietnamese), else what the usual errors mean."""
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    name = re.match(r"NameError: name '([^']+)' is not defined", last)
    if last.startswith("NotImplementedError"):
        return (
            "Phần này chưa làm: còn dòng raise NotImplementedError(). / "
            "Not done yet: raise NotImplementedError() is still there."
        )
    if name:
        return (f"Chưa có “{name.group(1)}”: hãy chạy các ô phía trên, hoặc đặt đúng tên. / "
                f"“{name.group(1)}” is not defined: run the cells above, or check the name.")  # fmt: skip
    if last == "You did not provide a response.":
        return "Bạn chưa trả lời câu này. / You have not answered this question."
    if last.startswith("AssertionError:") and last != "AssertionError:":
        return last.removeprefix("AssertionError:").strip()
    if last == "AssertionError":
        return "Kết quả chưa đúng. / The result is not right yet."
    return last[:300]


def _shorten(text: str, lines: int, tail: bool = False) -> str:
    parts = text.splitlines()
    if len(parts) <= lines:
        return text
    return "\n".join(["…", *parts[-lines:]] if tail else [*parts[:lines], "…"])


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


# -- the exchange, as nbgrader's assignment list extension reaches it ----------------------------------------------


class ExchangeOperations:
    """nbgrader's exchange operations for one course and assignment, configured as nbgrader's own assignment list
    configures them (its AssignmentList's config loading), but raising instead of returning tracebacks."""

    def __init__(self, root_dir: str) -> None:
        from nbgrader.server_extensions.assignment_list.handlers import AssignmentList

        self.helper = AssignmentList()
        self.helper.root_dir = root_dir

    def run(self, kind: str, course_id: str, assignment_id: str = "", **settings: Any) -> tuple[Any, Any]:
        """Start the exchange operation `kind` ("List", "FetchAssignment", "Submit", "FetchFeedback"); gives the
        operation and what its start() returned. nbgrader's ExchangeError says what went wrong, bilingually."""
        from nbgrader.auth import Authenticator
        from nbgrader.coursedir import CourseDirectory
        from nbgrader.exchange import ExchangeFactory

        with self.helper.get_assignment_dir_config():
            config = self.helper.load_config()
            config.CourseDirectory.course_id = course_id
            if assignment_id:
                config.CourseDirectory.assignment_id = assignment_id
            for name, value in settings.items():
                setattr(config[f"Exchange{kind}"], name, value)
            coursedir = CourseDirectory(config=config)
            authenticator = Authenticator(config=config)
            operation = getattr(ExchangeFactory(config=config), kind)(
                coursedir=coursedir, authenticator=authenticator, config=config
            )
            return operation, operation.start()

    def released(self, course_id: str, assignment_id: str) -> dict[str, Any] | None:
        _, listed = self.run("List", course_id, assignment_id)
        return next((a for a in listed or [] if a.get("assignment_id") == assignment_id), None)

    def submissions(self, course_id: str, assignment_id: str) -> list[dict[str, Any]]:
        _, listed = self.run("List", course_id, assignment_id, cached=True)
        for group in listed or []:
            if group.get("assignment_id") == assignment_id:
                return list(group.get("submissions") or [])
        return []


# -- pages ---------------------------------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} — Trường Số</title>
<style>
body { font-family: "Noto Sans", "DejaVu Sans", sans-serif; margin: 0; color: #1d2733; background: #f6f7f9; }
header { background: #0b3d6e; color: #fff; padding: .7rem 1.2rem; display: flex; gap: 1.2rem; align-items: center; }
header a { color: #fff; text-decoration: none; } header .brand { font-weight: 700; font-size: 1.1rem; }
main { max-width: 72rem; margin: 1.2rem auto; padding: 0 1rem; }
.en { color: #5f6b7a; font-size: .85em; }
section { background: #fff; border: 1px solid #dde2e8; border-radius: 6px; padding: 1rem 1.2rem; margin-bottom: 1rem; }
.button, button { background: #0b5cad; color: #fff; border: 0; border-radius: 4px; padding: .5rem 1rem; cursor: pointer;
  text-decoration: none; display: inline-block; font-size: 1rem; }
.button .en, button .en { color: #dce8f5; }
.passed { color: #107c41; } .failed, .warning, .unknown, .late { color: #a4262c; }
pre { background: #f0f3f7; padding: .5rem; overflow-x: auto; font-size: .85rem; }
iframe { width: 100%; height: 75vh; border: 1px solid #dde2e8; background: #fff; }
</style></head>
<body>
<header><a class="brand" href="{{ hub }}home">Trường Số</a>
  <a href="{{ hub }}home">Trang chủ <span class="en">Home</span></a>
  <a href="{{ portal }}">Khoá học của tôi <span class="en">My courses</span></a>
  <a href="{{ certificates }}">Giấy chứng nhận <span class="en">Certificates</span></a>
  <a href="{{ base }}lab">Không gian làm việc <span class="en">Workspace</span></a>
  <a style="margin-left:auto" href="{{ hub }}logout">Đăng xuất <span class="en">Log out</span></a></header>
<main>{{ body }}</main></body></html>
"""

TEMPLATES = {
    "problem.html": """
<h1>{{ heading_vi }} <span class="en">{{ heading_en }}</span></h1>
<section class="problem"><p>{{ vi }}</p><p class="en">{{ en }}</p>
{% if retry %}<p><a class="button" href="{{ retry }}">Thử lại <span class="en">Try again</span></a></p>{% endif %}
</section>
""",
    "confirm.html": """
<h1>Nộp bài {{ assignment }} <span class="en">Submit {{ assignment }}</span></h1>
<p>Khoá học <span class="en">course</span> {{ course }}.
{% if due %}Hạn nộp <span class="en">due</span>: <b class="due">{{ due }}</b>.{% endif %}
{% if last %}Bạn đã nộp {{ attempts }} lần, lần cuối lúc {{ last }}; nộp lại sẽ thay bài đó.
<span class="en">Submitted {{ attempts }} time(s), last at {{ last }}; submitting again replaces it.</span>
{% endif %}</p>
<section class="validation">
<h2>Kết quả tự kiểm tra <span class="en">Self-check result</span></h2>
{% for nb in notebooks %}
<div class="notebook verdict-{{ nb.summary.verdict }}" data-notebook="{{ nb.name }}">
  <h3>{{ nb.name }}</h3>
  <p class="{{ nb.summary.verdict }}">{{ nb.summary.vi }} <span class="en">{{ nb.summary.en }}</span></p>
  <ul class="cells">{% for cell in nb.summary.cells %}
    <li><b>{{ cell.title }}</b>{% if cell.explained %}: <span class="explained">{{ cell.explained }}</span>{% endif %}
      <details><summary>Chi tiết <span class="en">Details</span></summary>
        <pre>{{ cell.source }}</pre>{% if cell.error %}<pre>{{ cell.error }}</pre>{% endif %}</details></li>
  {% endfor %}</ul>
</div>
{% endfor %}
</section>
<form method="post">
  <input type="hidden" name="_xsrf" value="{{ xsrf }}">
  <input type="hidden" name="course" value="{{ course }}">
  <input type="hidden" name="assignment" value="{{ assignment }}">
  <button type="submit" class="confirm-submit">Nộp bài <span class="en">Submit</span></button>
  <a class="button" href="{{ open_url }}">Quay lại làm bài <span class="en">Back to the work</span></a>
</form>
""",
    "receipt.html": """
<h1>Đã nộp bài {{ assignment }} <span class="en">Submitted {{ assignment }}</span></h1>
<section class="receipt">
<p>Máy chủ đã nhận bài của bạn lúc <b class="received">{{ received }}</b>.
 <span class="en">The server received your work at {{ received }}.</span></p>
{% if attempt %}<p>Lần nộp thứ {{ attempt }}. <span class="en">Attempt {{ attempt }}.</span></p>{% endif %}
{% if late %}<p class="late">Bài nộp sau hạn. <span class="en">Submitted after the deadline.</span></p>{% endif %}
<p>Bạn có thể nộp lại trước hạn; lần nộp cuối cùng được chấm.
 <span class="en">You may submit again before the deadline; the last submission is graded.</span></p>
<p><a class="button" href="{{ portal }}">Về khoá học của tôi <span class="en">Back to my courses</span></a></p>
</section>
""",
    "feedback.html": """
<h1>Nhận xét bài {{ assignment }} <span class="en">Feedback on {{ assignment }}</span></h1>
<p>Bài nộp lúc <span class="en">submitted at</span> <b class="submitted">{{ submitted }}</b>{% if late %}
 <span class="late">(muộn <span class="en">late</span>)</span>{% endif %}.</p>
{% for nb in notebooks %}
<section class="feedback" data-notebook="{{ nb.name }}">
  <h2>{{ nb.name }}
    <a href="{{ nb.url }}" target="_blank" rel="noopener">mở riêng <span class="en">open alone</span></a></h2>
  <iframe src="{{ nb.url }}" title="{{ nb.name }}"></iframe>
</section>
{% endfor %}
""",
}

_env = Environment(loader=DictLoader(TEMPLATES), autoescape=True)
_page = Environment(autoescape=True).from_string(PAGE)


def render_page(template: str, title: str, base_url: str, **values: Any) -> str:
    """One of TEMPLATES inside the common page (top bar of the hub, portal, workspace, certificates)."""
    root = os.environ.get("JUPYTERHUB_BASE_URL", "/").rstrip("/")
    hub, portal = f"{root}/hub/", f"{root}/services/portal/"
    body = Markup(_env.get_template(template).render(portal=portal, **values))  # rendered and escaped once, here
    certificates = f"{root}/services/certificates/me"
    return _page.render(title=title, body=body, hub=hub, portal=portal, certificates=certificates, base=base_url)


class OneClickHandler(JupyterHandler):
    @property
    def exchange(self) -> ExchangeOperations:
        return self.settings["truongso_exchange"]

    def page(self, template: str, title: str, status: int = 200, **values: Any) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(render_page(template, title, self.base_url, **values))

    def problem(self, status: int, heading: tuple[str, str], vi: str, en: str, retry: str = "") -> None:
        self.page(
            "problem.html", heading[0], status, heading_vi=heading[0], heading_en=heading[1], vi=vi, en=en, retry=retry
        )

    def ids(self) -> tuple[str, str] | None:
        course = self.get_argument("course", "").strip()
        assignment = self.get_argument("assignment", "").strip()
        if valid_identifier(course) and valid_identifier(assignment):
            return course, assignment
        self.problem(
            400,
            ("Liên kết không hợp lệ", "Invalid link"),
            "Liên kết thiếu hoặc sai tên khoá học hay tên bài. Hãy mở bài từ trang Khoá học của tôi.",
            "The link lacks or garbles the course or assignment name. Open the work from My courses.",
        )
        return None

    def link(self, action: str, course: str, assignment: str) -> str:
        return (
            url_path_join(self.base_url, "truongso", action)
            + "?"
            + urlencode({"course": course, "assignment": assignment})
        )

    def exchange_failed(self, exc: Exception, action: tuple[str, str], retry: str) -> None:
        from nbgrader.exchange import ExchangeError

        if isinstance(exc, ExchangeError):
            message = str(exc)
            vi, _, en = message.partition(" / ")
        else:
            log.error("%s failed:\n%s", action[1], traceback.format_exc())
            vi = "Đã có lỗi không mong đợi; bài của bạn trong không gian làm việc vẫn còn nguyên."
            en = "Something unexpected went wrong; your work in the workspace is untouched."
        self.problem(502, action, vi, en or vi, retry)

    def released_or_problem(self, course: str, assignment: str, retry: str) -> dict[str, Any] | None:
        try:
            info = self.exchange.released(course, assignment)
        except Exception as exc:
            self.exchange_failed(exc, ("Không đọc được danh sách bài", "Could not list the assignments"), retry)
            return None
        if info is None:
            self.problem(
                404,
                ("Chưa có bài này", "No such assignment"),
                f"Bài {assignment} của khoá {course} chưa được phát cho lớp bạn, hoặc bạn không học khoá này.",
                f"{assignment} of {course} has not been released to your class, or you are not in that course.",
            )
        return info


class OpenHandler(OneClickHandler):
    """ "Làm bài": fetched when needed, then the first notebook opens in JupyterLab."""

    @web.authenticated
    def get(self) -> None:
        ids = self.ids()
        if ids is None:
            return
        course, assignment = ids
        retry = self.link("lam-bai", course, assignment)
        info = self.released_or_problem(course, assignment, retry)
        if info is None:
            return
        if info.get("status") != "fetched":
            try:
                self.exchange.run("FetchAssignment", course, assignment)
                info = self.exchange.released(course, assignment) or info
            except Exception as exc:
                self.exchange_failed(exc, ("Không tải được bài", "Could not fetch the assignment"), retry)
                return
        notebooks = [n["path"] for n in info.get("notebooks", []) if os.path.isabs(str(n.get("path", "")))]
        target = notebooks[0] if notebooks else info.get("path", "")
        relative = os.path.relpath(target, self.settings["server_root_dir"])
        if relative.startswith(".."):
            self.problem(
                500,
                ("Không mở được bài", "Could not open the assignment"),
                "Bài nằm ngoài thư mục làm việc của bạn.",
                "The work lies outside your workspace folder.",
            )
            return
        self.redirect(url_path_join(self.base_url, "lab", "tree", quote(relative)))


class SubmitHandler(OneClickHandler):
    """ "Nộp bài": GET validates and asks; POST submits and gives the receipt."""

    @web.authenticated
    async def get(self) -> None:
        ids = self.ids()
        if ids is None:
            return
        course, assignment = ids
        info = self.released_or_problem(course, assignment, self.link("nop-bai", course, assignment))
        if info is None:
            return
        if info.get("status") != "fetched":
            self.problem(
                409,
                ("Chưa mở bài", "Not started yet"),
                "Bạn chưa mở bài này nên chưa có gì để nộp: bấm “Làm bài” trước.",
                "You have not opened this assignment, so there is nothing to submit: click “Làm bài” first.",
                self.link("lam-bai", course, assignment),
            )
            return
        notebooks = []
        for nb in info.get("notebooks", []):
            result = await validate_in_child(nb["path"], self.settings["server_root_dir"])
            notebooks.append({"name": os.path.basename(nb["path"]), "summary": summarise_validation(result)})
        submissions = self._submissions(course, assignment)
        last = receipt_moment(submissions[-1]["timestamp"]) if submissions else None
        due = _due(info.get("due"))
        self.page(
            "confirm.html",
            f"Nộp bài {assignment}",
            course=course,
            assignment=assignment,
            notebooks=notebooks,
            xsrf=self.xsrf_token.decode(),
            open_url=self.link("lam-bai", course, assignment),
            attempts=len(submissions),
            last=vietnam_time(last) if last else "",
            due=vietnam_time(due) if due else "",
        )

    @web.authenticated
    def post(self) -> None:
        ids = self.ids()
        if ids is None:
            return
        course, assignment = ids
        try:
            operation, _ = self.exchange.run("Submit", course, assignment)
        except Exception as exc:
            self.exchange_failed(
                exc, ("Chưa nộp được bài", "The work was not submitted"), self.link("nop-bai", course, assignment)
            )
            return
        receipt = getattr(operation, "submission", {}) or {}
        moment = receipt_moment(str(receipt.get("timestamp", "")))
        self.page(
            "receipt.html",
            f"Đã nộp {assignment}",
            course=course,
            assignment=assignment,
            received=vietnam_time(moment, seconds=True) if moment else str(receipt.get("timestamp", "")),
            attempt=receipt.get("attempt"),
            late=bool(receipt.get("late")),
        )

    def _submissions(self, course: str, assignment: str) -> list[dict[str, Any]]:
        try:
            return self.exchange.submissions(course, assignment)
        except Exception:
            log.warning("could not list earlier submissions:\n%s", traceback.format_exc())
            return []


class FeedbackHandler(OneClickHandler):
    """ "Xem nhận xét": released feedback fetched, the latest submission's shown."""

    @web.authenticated
    def get(self) -> None:
        ids = self.ids()
        if ids is None:
            return
        course, assignment = ids
        retry = self.link("nhan-xet", course, assignment)
        try:
            self.exchange.run("FetchFeedback", course, assignment)
            submissions = self.exchange.submissions(course, assignment)
        except Exception as exc:
            self.exchange_failed(exc, ("Không tải được nhận xét", "Could not fetch the feedback"), retry)
            return
        with_feedback = [s for s in submissions if s.get("local_feedback_path")]
        if not with_feedback:
            self.problem(
                404,
                ("Chưa có nhận xét", "No feedback yet"),
                "Giảng viên chưa gửi nhận xét cho bài này. Hãy xem lại sau.",
                "Your instructor has not released feedback on this work yet. Look again later.",
                retry,
            )
            return
        latest = with_feedback[-1]
        root = self.settings["server_root_dir"]
        notebooks = []
        for nb in latest.get("notebooks", []):
            path = nb.get("local_feedback_path")
            if not path:
                continue
            relative = os.path.relpath(path if os.path.isabs(path) else os.path.join(root, path), root)
            if not relative.startswith(".."):
                notebooks.append(
                    {"name": nb.get("notebook_id", ""), "url": url_path_join(self.base_url, "files", quote(relative))}
                )
        moment = receipt_moment(str(latest.get("timestamp", "")))
        self.page(
            "feedback.html",
            f"Nhận xét {assignment}",
            course=course,
            assignment=assignment,
            notebooks=notebooks,
            submitted=vietnam_time(moment) if moment else latest.get("timestamp", ""),
            late=bool(latest.get("late")),
        )


def _due(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def validate_in_child(path: str, cwd: str) -> dict[str, Any]:
    """nbgrader's Validator on `path` in a child process: it executes the learner's notebook for up to
    VALIDATE_TIMEOUT seconds and changes directory as it goes, neither of which the server's loop should bear."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "truongso_oneclick",
        "validate",
        path,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), VALIDATE_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        return {"error": f"quá {VALIDATE_TIMEOUT:.0f} giây / over {VALIDATE_TIMEOUT:.0f} seconds"}
    lines = out.decode("utf-8", "replace").strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
        return {"error": tail[0][:300]}


def _validate_main(path: str) -> int:
    """The child: the Validator configured as nbgrader's validate extension configures it; one JSON line out."""
    from jupyter_core.paths import jupyter_config_path
    from nbgrader.apps import NbGrader
    from nbgrader.validator import Validator

    try:
        paths = jupyter_config_path()
        paths.insert(0, os.getcwd())
        app = NbGrader()
        app.config_file_paths.append(paths)
        app.load_config_file()
        result = Validator(config=app.config).validate(str(Path(path).resolve()))
    except Exception as exc:
        result = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    print(json.dumps(result), flush=True)
    return 0


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "truongso_oneclick"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    web_app = serverapp.web_app
    web_app.settings["truongso_exchange"] = ExchangeOperations(serverapp.root_dir)
    web_app.settings["server_root_dir"] = os.path.abspath(os.path.expanduser(serverapp.root_dir))
    base = web_app.settings["base_url"]
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "truongso", "lam-bai"), OpenHandler),
            (url_path_join(base, "truongso", "nop-bai"), SubmitHandler),
            (url_path_join(base, "truongso", "nhan-xet"), FeedbackHandler),
        ],
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "validate":
        sys.exit(_validate_main(sys.argv[2]))
    print("usage: python -m truongso_oneclick validate NOTEBOOK", file=sys.stderr)
    sys.exit(2)
