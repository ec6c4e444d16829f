"""Login and password-change pages, Vietnamese first, English second."""

from __future__ import annotations

from typing import Any

from jupyterhub.handlers import BaseHandler
from jupyterhub.handlers.login import LoginHandler as HubLoginHandler
from tornado import web
from tornado.httputil import url_concat

from hub.auth.authenticator import client_address

# Each message: Vietnamese, then English. Shown together so a guest lecturer can read them too.
MESSAGES = {
    "bad_login": ("Tên đăng nhập hoặc mật khẩu không đúng.", "Invalid username or password."),
    "ldap_down": (
        "Không kết nối được máy chủ tài khoản của bộ (LDAP). Hãy thử lại sau ít phút hoặc báo quản trị viên.",
        "The ministry's account server (LDAP) cannot be reached. Try again in a few minutes or tell the admin.",
    ),
    "oidc_down": (
        "Không kết nối được máy chủ tài khoản của bộ (OIDC). Hãy thử lại sau ít phút hoặc báo quản trị viên.",
        "The ministry's sign-in server (OIDC) cannot be reached. Try again in a few minutes or tell the admin.",
    ),
    "locked": (
        "Tài khoản tạm thời bị khoá vì đăng nhập sai nhiều lần. Hãy thử lại sau {minutes} phút, "
        "hoặc nhờ quản trị viên của trường mở khoá.",
        "Too many failed logins: the account is locked. Try again in {minutes} minute(s), "
        "or ask the school's admin to unlock it.",
    ),
    "wrong_old": ("Mật khẩu hiện tại không đúng.", "Your current password is incorrect."),
    "mismatch": ("Hai lần nhập mật khẩu mới không khớp nhau.", "The new passwords do not match."),
    "weak": (
        "Mật khẩu mới phải có ít nhất {length} ký tự, không phổ biến, không trùng tên đăng nhập hoặc "
        "mật khẩu cũ, không có khoảng trắng ở đầu hoặc cuối.",
        "The new password needs at least {length} characters, must not be common, your username or "
        "your old password, and must not start or end with a space.",
    ),
    "too_long": (
        "Mật khẩu mới quá dài: tối đa 72 byte (khoảng 72 ký tự không dấu, ít hơn nếu có dấu).",
        "The new password is too long: at most 72 bytes (72 plain letters, fewer with diacritics).",
    ),
    "changed": ("Đã đổi mật khẩu.", "Your password has been changed."),
    "must_change": (
        "Đây là lần đăng nhập đầu tiên: hãy đặt mật khẩu của riêng bạn.",
        "This is your first login: please choose your own password.",
    ),
}


def message(key: str, **values: object) -> dict[str, str]:
    vi, en = MESSAGES[key]
    return {"vi": vi.format(**values), "en": en.format(**values)}


class LoginHandler(HubLoginHandler):
    """JupyterHub's login form (XSRF and all) with lock-out and first-login messages, and the ministry's OpenID
    sign-in button when there is one (hub/auth/oidc.py)."""

    def _render(self, login_error: dict | str | None = None, username: str | None = None, **kwargs: Any) -> Any:
        if login_error is None and self.authenticator.oidc_issuer and self.get_argument("oidc", "") == "down":
            login_error = message("oidc_down")  # OidcLoginHandler could not reach the provider
        return super()._render(login_error=login_error, username=username, **kwargs)

    async def post(self) -> None:
        data = {
            arg: self.get_argument(arg, strip=arg == "username")
            for arg in self.request.body_arguments
            if arg != "_xsrf"
        }
        data.setdefault("username", "")
        data.setdefault("password", "")
        user = await self.login_user(data)
        if user:
            self._jupyterhub_user = user
            next_url = self.get_next_url(user)
            if await self.authenticator.must_change_password(user.name):
                next_url = url_concat(self.hub.base_url + "change-password", {"next": next_url})
            self.redirect(next_url)
            return
        seconds = await self.authenticator.seconds_locked(data["username"], client_address(self.request))
        if seconds:
            error = message("locked", minutes=max(1, -(-seconds // 60)))
        elif self.authenticator.ministry_unreachable():
            error = message("ldap_down")
        else:
            error = message("bad_login")
        self.set_status(429 if seconds else 403)
        username = data["username"][:64]
        self.finish(await self._render(login_error=error, username=username))


class ChangePasswordHandler(BaseHandler):
    """A user changes their own password (required at first login for imported accounts)."""

    def _next_url(self) -> str:
        # get_next_url refuses off-site targets (no open redirect through ?next=).
        return self.get_next_url(default=self.hub.base_url + "home")

    async def _render(self, result: dict | None = None, level: str = "danger") -> str:
        return await self.render_template(
            "truongso-change-password.html",
            result=result,
            level=level,
            next_url=self._next_url(),
            min_length=self.authenticator.minimum_password_length,
        )

    @web.authenticated
    async def get(self) -> None:
        first = await self.authenticator.must_change_password(self.current_user.name)
        result = message("must_change") if first else None
        self.finish(await self._render(result=result, level="info"))

    @web.authenticated
    async def post(self) -> None:
        user = self.current_user
        old = self.get_body_argument("old_password", "", strip=False)
        new = self.get_body_argument("new_password", "", strip=False)
        confirmation = self.get_body_argument("new_password_confirmation", "", strip=False)
        if new != confirmation:
            refused: str | None = "mismatch"
        else:
            refused = await self.authenticator.change_own_password(user.name, old, new)
        if refused is None:
            self.redirect(self._next_url())
            return
        self.set_status(400)
        length = self.authenticator.minimum_password_length
        self.finish(await self._render(result=message(refused, length=length)))
