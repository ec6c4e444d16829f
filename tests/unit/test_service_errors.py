"""One error family (issue 11): every BilingualError a handler raises is answered with its own HTTP status and
both languages, whatever layer raised it; anything else stays tornado's 500 with a generic reason."""

from __future__ import annotations

import json
from typing import Any

from tornado.testing import AsyncHTTPTestCase
from tornado.web import Application, HTTPError

from graders.certificates.credential import CredentialError
from graders.exchange.archive import ArchiveError, ArchiveTooLarge
from graders.text import BilingualError
from hub.coursework.store import RateLimited, Refused
from hub.services.errors import BilingualErrors, error_text

RAISED = {
    "plain": BilingualError("không có", "not here", 404),
    "refused": Refused(409, "đã nộp", "already submitted"),
    "rate": RateLimited(30, "chậm lại", "slow down"),
    "archive": ArchiveError("tệp hỏng", "broken archive"),
    "big": ArchiveTooLarge("quá lớn", "too large"),
    "credential": CredentialError("không phải chứng chỉ", "not a credential"),
    "server": BilingualError("ổ đầy", "disk full", 507),
    "no-status": BilingualError("lỗi lạ", "odd error"),  # not an HTTP matter: a 500, its text for people
    "tornado": HTTPError(403, "xsrf missing"),
    "bug": KeyError("secret path /srv/x"),
}


class Raising(BilingualErrors):
    def get(self, what: str) -> None:
        raise RAISED[what]

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        text = error_text(status_code, kwargs, self._reason)
        self.finish({"status": status_code, "vi": text.vi, "en": text.en})


class ErrorAnswers(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application([(r"/(.*)", Raising)])

    def answer(self, what: str) -> tuple[int, dict]:
        response = self.fetch(f"/{what}")
        return response.code, json.loads(response.body)

    def test_each_error_keeps_its_status_and_languages(self) -> None:
        expected = {"plain": 404, "refused": 409, "rate": 429, "archive": 400, "big": 413, "credential": 400,
                    "server": 507}  # fmt: skip
        for what, status in expected.items():
            code, body = self.answer(what)
            assert (code, body["status"]) == (status, status), what
            assert (body["vi"], body["en"]) == (RAISED[what].vi, RAISED[what].en), what

    def test_anything_else_is_a_generic_answer_that_leaks_nothing(self) -> None:
        assert self.answer("no-status") == (500, {"status": 500, "vi": "lỗi lạ", "en": "odd error"})
        assert self.answer("tornado") == (403, {"status": 403, "vi": "có lỗi", "en": "Forbidden"})
        code, body = self.answer("bug")
        assert code == 500 and "secret" not in json.dumps(body)
