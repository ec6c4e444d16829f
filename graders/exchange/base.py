"""The nbgrader side of Trường Số's exchange: HTTP to the hub's exchange service with the hub token.

Wired with `c.ExchangeFactory.<op> = "graders.exchange.<Class>"` so that stock `nbgrader` commands, the
JupyterLab assignment list and the formgrader work unchanged. Identity is the token's owner as the hub
knows it; a `--student` or $JUPYTERHUB_USER is sent only as a claim that the service checks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import requests
from nbgrader.exchange.abc import Exchange as ABCExchange
from traitlets import Bool, Float, Unicode, default

from graders.exchange import protocol
from graders.exchange.archive import ArchiveError, Limits, pack_directory


class Exchange(ABCExchange):
    url = Unicode(help="Base URL of the exchange service (default: $TRUONGSO_EXCHANGE_URL).").tag(config=True)
    token = Unicode(help="Hub API token (default: $JUPYTERHUB_API_TOKEN, the workspace's own).").tag(config=True)
    request_timeout = Float(120, help="Seconds before an exchange request gives up.").tag(config=True)
    path_includes_course = Bool(True, help="Fetch into <course>/<assignment>/ so that two courses never collide.").tag(
        config=True
    )
    timezone = Unicode("UTC").tag(config=True)

    @default("url")
    def _default_url(self) -> str:
        return os.environ.get("TRUONGSO_EXCHANGE_URL", "")

    @default("token")
    def _default_token(self) -> str:
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    limits = Limits()

    def start(self) -> Any:
        if not self.url or not self.token:
            self.fail(
                "Không kết nối được kho bài tập (thiếu TRUONGSO_EXCHANGE_URL hoặc JUPYTERHUB_API_TOKEN). "
                "/ The exchange is not configured (TRUONGSO_EXCHANGE_URL or JUPYTERHUB_API_TOKEN missing)."
            )
        return super().start()

    # -- HTTP -----------------------------------------------------------------------------------

    def api(
        self,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        json: Any = None,
        params: dict | None = None,
        ok: tuple[int, ...] = (200, 201, 204),
    ) -> requests.Response:
        headers = {"Authorization": f"token {self.token}"}
        claimed = self.claimed_student()
        if claimed:
            headers[protocol.STUDENT_HEADER] = claimed
        if data is not None:
            headers["Content-Type"] = protocol.ARCHIVE_TYPE
        url = self.url.rstrip("/") + "/" + path
        try:
            response = requests.request(method, url, data=data, json=json, params=params, headers=headers,
                                        timeout=self.request_timeout)  # fmt: skip
        except requests.RequestException as exc:
            self.fail(f"Không kết nối được kho bài tập / cannot reach the exchange: {exc.__class__.__name__}")
        if response.status_code not in ok:
            self.fail(self._message(response))
        return response

    def get_json(self, path: str, params: dict | None = None) -> Any:
        return self.api("GET", path, params=params).json()

    @staticmethod
    def _message(response: requests.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            body = None
        return protocol.error_message(body, response.status_code)

    def claimed_student(self) -> str:
        """Who the command line or environment says we are; only ever a claim for the service to check."""
        student = getattr(self.coursedir, "student_id", "") if self.coursedir else ""
        if student and student != "*":
            return student
        return os.environ.get("JUPYTERHUB_USER", "")

    # -- helpers shared by the operations ------------------------------------------------------------

    def assignment_root(self, course_id: str, assignment_id: str) -> str:
        root = os.path.join(course_id, assignment_id) if self.path_includes_course else assignment_id
        return os.path.abspath(os.path.join(self.assignment_dir, root))

    def courses(self) -> list[str]:
        if self.coursedir and self.coursedir.course_id:
            return [self.coursedir.course_id]
        return self.get_json(protocol.path("whoami"))["courses"]

    def require_course(self) -> str:
        if not self.coursedir.course_id:
            self.fail("Chưa chọn khoá học (--course) / no course id given: use --course")
        return self.coursedir.course_id

    def fail_archive(self, exc: ArchiveError) -> None:
        self.fail(f"{exc.vi} / {exc.en}")

    def pack_src(self) -> bytes:
        """The folder `src_path` as an archive to send; one it cannot be (too big, a link out…) ends the command."""
        try:
            return pack_directory(Path(self.src_path), self.limits)
        except ArchiveError as exc:
            self.fail_archive(exc)

    def init_src(self) -> None:
        pass

    def init_dest(self) -> None:
        pass
