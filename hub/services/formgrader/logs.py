"""What the formgrader's action dialogs show: a short bilingual result, never nbgrader's debug log.

nbgrader's formgrader API answers each action (generate, release, collect, generate/release feedback…)
with `{"success", "log", "error"}`: the captured log and a traceback full of the server's data and
virtualenv paths, which its page shows in a dialog. A tornado output transform (installed by our
jupyter-server extension, restrictions.py) rewrites those answers on their way out, nbgrader untouched:
`log` becomes one bilingual line, on failure followed by nbgrader's error lines with paths made relative to
the course (others elided), and the traceback goes to the server's own log only.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from tornado.httputil import HTTPHeaders, HTTPServerRequest
from tornado.web import OutputTransform

from graders.text import Text

log = logging.getLogger("truongso.formgrader")

ACTION = re.compile(
    r"/formgrader/api/assignment/[^/]+(?:/[^/]+)?/"
    r"(assign|unrelease|release|collect|autograde|generate_feedback|release_feedback)$"
)
DONE = {  # action: what its dialog says when it worked
    "assign": Text("Đã tạo bản bài tập cho học viên.", "Student version created."),
    "unrelease": Text("Đã thu hồi bài tập.", "Assignment unreleased."),
    "release": Text("Đã phát bài tập cho học viên.", "Assignment released."),
    "collect": Text("Đã thu bài nộp.", "Submissions collected."),
    "autograde": Text("Đã chấm.", "Graded."),
    "generate_feedback": Text("Đã tạo nhận xét.", "Feedback generated."),
    "release_feedback": Text("Đã gửi nhận xét cho học viên.", "Feedback released to the learners."),
}
FAILED = {  # action: what it says when it did not
    "assign": Text("Không tạo được bản bài tập cho học viên.", "The student version could not be created."),
    "unrelease": Text("Không thu hồi được bài tập.", "The assignment could not be unreleased."),
    "release": Text("Không phát được bài tập.", "The assignment could not be released."),
    "collect": Text("Không thu được bài nộp.", "Submissions could not be collected."),
    "autograde": Text("Không chấm được ở đây.", "Cannot grade here."),
    "generate_feedback": Text("Không tạo được nhận xét.", "Feedback could not be generated."),
    "release_feedback": Text("Không gửi được nhận xét.", "Feedback could not be released."),
}
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
ABSOLUTE = re.compile(r"(?<![\w.~-])/(?:[^\s'\"(),:]+)")
MAX_DETAILS = 3


def scrub(text: str, course_root: str) -> str:
    """`text` without the server's paths: the course folder's own paths relative to it, any other absolute
    path elided."""
    text = ANSI.sub("", text)
    root = course_root.rstrip("/")
    if root:
        text = text.replace(root + "/", "").replace(root, ".")
    return ABSOLUTE.sub("…", text)


def _details(result: dict[str, Any], course_root: str) -> list[str]:
    """nbgrader's own error lines and the exception's message, without paths; at most a few."""
    lines = [
        line.split("]", 1)[1].strip()
        for line in str(result.get("log") or "").splitlines()
        if line.startswith(("[ERROR]", "[CRITICAL]"))
    ]
    error = [line.strip() for line in str(result.get("error") or "").splitlines() if line.strip()]
    if error:
        lines.append(error[-1])  # "SomeError: what happened"
    out: list[str] = []
    for line in lines:
        line = scrub(line, course_root)[:300]
        if line and line not in out:
            out.append(line)
    return out[:MAX_DETAILS]


def summarise(action: str, result: dict[str, Any], course_root: str) -> dict[str, Any]:
    """The answer the formgrader's page gets instead of nbgrader's: `success` kept, a short `log`."""
    success = bool(result.get("success"))
    lines = [str((DONE if success else FAILED)[action])]
    if not success:
        lines += [f"Chi tiết / details: {line}" for line in _details(result, course_root)]
    return {"success": success, "log": "\n".join(lines)}


def output_transform(course_root: str) -> type[OutputTransform]:
    class FormgraderActionLog(OutputTransform):
        def __init__(self, request: HTTPServerRequest) -> None:
            super().__init__(request)
            match = ACTION.search(request.path) if request.method == "POST" else None
            self.action = match.group(1) if match else None

        def transform_first_chunk(
            self, status_code: int, headers: HTTPHeaders, chunk: bytes, finishing: bool
        ) -> tuple[int, HTTPHeaders, bytes]:
            if self.action is None or status_code != 200:
                return status_code, headers, chunk
            if not finishing:  # nbgrader answers in one piece; anything else is not what we know how to read
                log.warning("formgrader %s: answer sent in pieces, not summarised", self.action)
                return status_code, headers, chunk
            try:
                result = json.loads(chunk)
            except ValueError:
                return status_code, headers, chunk
            if not isinstance(result, dict) or "success" not in result:
                return status_code, headers, chunk
            if not result.get("success"):
                details = f"{result.get('log', '')}\n{result.get('error', '')}"
                log.warning("formgrader %s failed:\n%s", self.action, details)
            body = json.dumps(summarise(self.action, result, course_root), ensure_ascii=False).encode("utf-8")
            headers["Content-Length"] = str(len(body))
            return status_code, headers, body

    return FormgraderActionLog
