"""XSRF protection of our hub services' pages, bound to the hub login session.

Why not tornado's own `_xsrf` double-submit cookie: it only checks that the form's token equals the
`_xsrf` cookie, and any page served from the hub's origin can set that cookie for a service's path. Without
per-user subdomains every learner's `/user/<name>/` server is on that origin, so a learner could plant a
value of their choice and make an instructor's browser post it.

What this uses instead is JupyterHub's own scheme (`jupyterhub/_xsrf_utils.py`, the same functions the hub
and HubOAuth use): the token is a value signed with the service's cookie secret that contains the hub
session id and a hash of the caller's OAuth token for this service. A planted cookie is not a valid token
for anyone else's session, and JupyterHub's rules decide which requests need one (anything but plain page
views: POSTs, and fetches that are not navigation).

Why this mixin rather than HubOAuthenticated's built-in wiring (JupyterHub 6.1.1): that runs the check
when tornado calls `check_xsrf_cookie`, before the caller is known. When the `_xsrf` cookie is missing or
wrong, the check wants to set a fresh cookie and asks who the user is; HubOAuth then looks the user up
*synchronously* from inside its single background thread, which is already busy looking the user up for
the same request, and the service's event loop waits forever. One POST with a stale or planted `_xsrf`
cookie froze the whole portal for everyone (tests/e2e/test_service_hardening.py). Like the hub's own
handlers, this checks once the caller is known, in `prepare`, and not before.
"""

from __future__ import annotations

from typing import Any

from jupyterhub._xsrf_utils import check_xsrf_cookie as hub_check_xsrf_cookie
from jupyterhub._xsrf_utils import get_xsrf_token
from tornado import web

from graders.text import BilingualError, Text

REFUSED = Text(
    "Biểu mẫu đã hết hạn hoặc không đến từ trang của bạn: hãy tải lại trang rồi gửi lại",
    "The form has expired or did not come from your page: reload the page and send it again",
)


class SessionXsrfMixin:
    """Put first: `class Page(SessionXsrfMixin, HubOAuthenticated, web.RequestHandler)`."""

    _xsrf_ready = False
    hub_auth: Any  # from HubOAuthenticated
    request: Any
    current_user: Any

    @property
    def _xsrf_token_id(self) -> bytes:
        # What the token signs: "<hub session id>:<sha256 of this service's OAuth token>" (HubOAuth's).
        return self.hub_auth._get_xsrf_token_id(self)

    @property
    def xsrf_token(self) -> bytes:
        return get_xsrf_token(self, cookie_path=self.hub_auth.base_url)

    def check_xsrf_cookie(self) -> None:
        if not self._xsrf_ready:
            # Called by tornado before prepare() and by HubOAuth while it is still finding out who is calling:
            # too early for a token bound to the session (see the module docstring). prepare() checks.
            return
        if getattr(self, "_token_authenticated", False):
            return  # an API token (header), not the browser's cookie: nothing for a page to forge
        try:
            hub_check_xsrf_cookie(self)
        except web.HTTPError:
            raise BilingualError(REFUSED.vi, REFUSED.en, 403) from None

    def prepare(self) -> Any:
        self.current_user  # noqa: B018 - who is calling (cookie or token, asked of the hub), before the check
        self._xsrf_ready = True
        self.check_xsrf_cookie()
        return super().prepare()  # type: ignore[misc]
