"""How every service turns an error into an answer: a `BilingualError` carries its HTTP status and its reason in
both languages (graders/text.py); anything else is tornado's own (its status, its English reason)."""

from __future__ import annotations

from typing import Any

from tornado import web

from graders.text import BilingualError, Text


class BilingualErrors(web.RequestHandler):
    """Mixed into a service's base handler: a raised `BilingualError` with a status is answered with that status
    (tornado would answer 500), its `text` reaching `write_error`; 5xx ones are logged with their traceback."""

    def _handle_request_exception(self, e: BaseException) -> None:
        status = e.status if isinstance(e, BilingualError) else None
        if not status or self._finished:
            super()._handle_request_exception(e)
            return
        if status >= 500:  # ours to fix; 4xx are the client's doing and are answered without a log entry
            self.log_exception(type(e), e, e.__traceback__)
        self.send_error(status, exc_info=(type(e), e, e.__traceback__))


def error_text(status_code: int, kwargs: dict[str, Any], reason: str) -> Text:
    """The reason `write_error` shows: the error's own two languages, or a generic one with `reason` (tornado's
    own errors: XSRF, authentication, unknown methods)."""
    exc = kwargs.get("exc_info", (None, None))[1]
    if isinstance(exc, BilingualError):
        return exc.text
    return Text("có lỗi", reason)
