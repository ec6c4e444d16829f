"""Request bodies over a limit are refused from their headers alone, before anything reads or keeps them.

Tornado's HTTPServer reads a whole request body into memory (up to `max_body_size`, 100 MiB by default)
before a handler, and so any login check, runs; past `max_body_size` it drops the connection, which
JupyterHub's proxy turns into a bare 400 or an unrelated English "server down" page, depending on timing.

`BodyLimit` sits between the server and the tornado application. When a request announces
(`Content-Length`) a body over the limit of its path, it answers 413 at once with a short bilingual page,
and the application never sees the request. The body that still arrives is read and dropped, never kept,
so the proxy hands the client our answer instead of a connection reset; past `drain_limit` the connection is
closed unread. Bodies without a length (chunked) are left to the server's own `max_body_size`, which stays
small. Used by the portal and the certificate service (`hub/services/*/app.py`).
"""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable
from dataclasses import dataclass

from tornado import httputil

DRAIN_LIMIT = 128 * 1024 * 1024  # read and dropped to answer cleanly; a longer announced body is not read at all


@dataclass(frozen=True)
class Limit:
    """Largest body a path takes, and what a person is told past it (Vietnamese, English)."""

    size: int
    vi: str = ""
    en: str = ""

    def message(self) -> tuple[str, str]:
        if self.vi and self.en:
            return self.vi, self.en
        amount = human_size(self.size)
        return f"Dữ liệu gửi lên quá lớn (tối đa {amount}).", f"The request is too large (at most {amount})."


def human_size(size: int) -> str:
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} B"


class BodyLimit(httputil.HTTPServerConnectionDelegate):
    """Wrap a tornado application: `HTTPServer(BodyLimit(app, Limit(64 * 1024)), max_body_size=…)`.

    `paths` gives other limits to paths (exact, without the query), e.g. an upload form's."""

    def __init__(
        self,
        app: httputil.HTTPServerConnectionDelegate,
        limit: Limit,
        paths: dict[str, Limit] | None = None,
        drain_limit: int = DRAIN_LIMIT,
    ) -> None:
        self.app = app
        self.limit = limit
        self.paths = dict(paths or {})
        self.drain_limit = drain_limit

    def limit_for(self, path: str) -> Limit:
        return self.paths.get(path, self.limit)

    def start_request(self, server_conn: object, request_conn: httputil.HTTPConnection) -> httputil.HTTPMessageDelegate:
        return _Guard(self, self.app.start_request(server_conn, request_conn), request_conn)

    def on_close(self, server_conn: object) -> None:
        self.app.on_close(server_conn)


class _Guard(httputil.HTTPMessageDelegate):
    """One request: passed through untouched, or answered 413 and its body dropped."""

    def __init__(
        self, owner: BodyLimit, inner: httputil.HTTPMessageDelegate, connection: httputil.HTTPConnection
    ) -> None:
        self.owner = owner
        self.inner = inner
        self.connection = connection
        self.refused = False

    def headers_received(
        self, start_line: httputil.RequestStartLine | httputil.ResponseStartLine, headers: httputil.HTTPHeaders
    ) -> Awaitable[None] | None:
        assert isinstance(start_line, httputil.RequestStartLine)
        path, _, query = start_line.path.partition("?")
        limit = self.owner.limit_for(path)
        try:
            declared = int(headers.get("Content-Length", "0"))
        except ValueError:
            declared = 0  # tornado itself refuses a malformed length
        if declared <= limit.size or declared > self.owner.drain_limit:
            # within the limit, or too long even to drain: tornado's max_body_size cuts the latter off unread
            return self.inner.headers_received(start_line, headers)
        self.refused = True
        self.connection.set_max_body_size(declared)  # read it to the end, dropping every chunk
        wants_json = "application/json" in headers.get("Accept", "") or "format=json" in query
        body, kind = _answer(limit, wants_json)
        response_headers = httputil.HTTPHeaders(
            {
                "Content-Type": kind,
                "Content-Length": str(len(body)),
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
            }
        )
        # The answer goes out now; the request is finished only once its body has been read (finish below):
        # finishing earlier would close the connection under the proxy while it is still sending.
        self.connection.write_headers(
            httputil.ResponseStartLine("HTTP/1.1", 413, "Payload Too Large"), response_headers, body
        )
        return None

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        if self.refused:
            return None  # dropped
        return self.inner.data_received(chunk)

    def finish(self) -> None:
        if self.refused:
            self.connection.finish()
            return
        self.inner.finish()

    def on_connection_close(self) -> None:
        if not self.refused:
            self.inner.on_connection_close()


def _answer(limit: Limit, wants_json: bool) -> tuple[bytes, str]:
    vi, en = limit.message()
    if wants_json:
        return json.dumps({"status": 413, "ok": False, "vi": vi, "en": en}, ensure_ascii=False).encode(), (
            "application/json; charset=UTF-8"
        )
    page = (
        '<!DOCTYPE html>\n<html lang="vi"><head><meta charset="utf-8"><title>413</title></head><body>'
        f"<h1>Yêu cầu quá lớn <small>Request too large</small></h1><p>{html.escape(vi)}</p>"
        f'<p lang="en">{html.escape(en)}</p></body></html>\n'
    )
    return page.encode(), "text/html; charset=UTF-8"
