"""Every route of the admin console, read from the portal's own route table (so a page added later is covered
without anyone remembering this test): a learner, an instructor and a hub user in no class get 403 for GET and
for a POST carrying their own valid XSRF token, with any format; nobody gets in without logging in; an admin's
GET of the front page works. The pages' own tests check what admins may do."""

from __future__ import annotations

import re

import pytest
from test_portal_handlers import Portal, shared_portal  # noqa: F401 (the fixture, shared)
from tornado.web import RequestHandler

from hub.services.portal.handlers import console_handlers

NOT_ADMINS = ("an", "gv-mot", "gv-kns", "khach")


SAMPLES = ("x1", "TS-2026-000001", "hocvien1", "DEMO", "1", "abc123", "phan-tich-du-lieu")


def admin_routes() -> list[tuple[str, set[str]]]:
    """Each console route with its path parameters filled with a value its pattern takes, and the methods its
    handler answers (others get tornado's 405 whoever asks)."""
    routes = []
    for pattern, handler in console_handlers():
        if not pattern.startswith("admin"):
            continue
        path = None
        for sample in SAMPLES:
            candidate = re.sub(r"\((?!\?:)(?:[^()]|\([^()]*\))*\)", sample, pattern)
            candidate = re.sub(r"\(\?:([^()]*)\)\??", "", candidate).replace("/?", "/").replace("\\", "")
            candidate = candidate.replace("$", "")
            if re.fullmatch(pattern, candidate):
                path = candidate
                break
        assert path is not None, f"no sample value fits the route {pattern!r}: add one to SAMPLES"
        methods = {m for m in ("get", "post") if getattr(handler, m) is not getattr(RequestHandler, m)}
        routes.append((path, methods))
    return sorted(routes)


def admin_paths() -> list[str]:
    return [path for path, _ in admin_routes()]


def test_the_console_has_its_parts() -> None:
    paths = admin_paths()
    for part in ("admin/", "admin/classes", "admin/enrol", "admin/people", "admin/certificates", "admin/reports",
                 "admin/audit"):  # fmt: skip
        assert any(p.startswith(part) for p in paths), (part, paths)


@pytest.mark.parametrize("who", NOT_ADMINS)
def test_everyone_but_admins_gets_403_on_every_console_route(shared_portal: Portal, who: str) -> None:  # noqa: F811
    browser = shared_portal.browser(who)
    for path, methods in admin_routes():
        if "get" in methods:
            for query in ("", "?format=xlsx", "?format=csv", "?format=json"):
                got = browser.get(shared_portal.url + path + query, timeout=30, allow_redirects=False)
                assert got.status_code == 403, (who, path + query, got.status_code)
        if "post" in methods:
            # with the person's API token, as a script would: no XSRF check stands in front, only the rule
            sent = shared_portal.post_with_token(who, path, {"username": "hocvien1", "name": "K99"})
            assert sent.status_code == 403, (who, "POST", path, sent.status_code)
            assert "quản trị" in sent.text.lower(), sent.text[:300]


def test_a_form_posted_without_its_xsrf_token_is_refused(shared_portal: Portal) -> None:  # noqa: F811
    for path, methods in admin_routes():
        if "post" in methods:
            sent = shared_portal.browser("quantri").post(shared_portal.url + path, data={}, timeout=30,
                                                         allow_redirects=False)  # fmt: skip
            assert sent.status_code == 403, (path, sent.status_code)


def test_nobody_gets_in_without_logging_in(shared_portal: Portal) -> None:  # noqa: F811
    for path, methods in admin_routes():
        if "get" in methods:
            got = shared_portal.get(None, path)
            assert got.status_code in (302, 403), (path, got.status_code)
            if got.status_code == 302:
                assert "/hub/" in got.headers["Location"]  # to the hub's login


def test_an_admin_opens_the_console(shared_portal: Portal) -> None:  # noqa: F811
    got = shared_portal.get("quantri", "admin/")
    assert got.status_code == 200 and "Quản trị trường" in got.text and "School administration" in got.text
