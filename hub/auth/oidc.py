"""Ministry sign-in through OpenID Connect: the ministry's identity provider checks the person (oauthenticator's
GenericOAuthenticator: authorization code, client secret, the provider's userinfo); who the person is in the
school (classes, roles, admin) still comes from our directory, matched by username, else by e-mail.

The OIDC authenticator is used inside TruongSoAuthenticator, which stays the hub's authenticator (local passwords,
lock-out, LDAP): its login and callback pages are oauthenticator's own handlers, pointed at the inner one.
The provider's endpoints come from its discovery document, read at every sign-in before the person is sent
there (not at hub start, so a provider that is down does not stop the hub; and a provider that is down is said
on our login page instead of the browser's "cannot connect").
"""

from __future__ import annotations

import json
from typing import Any

from oauthenticator.generic import GenericOAuthenticator
from oauthenticator.oauth2 import OAuthCallbackHandler, OAuthLoginHandler
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from traitlets import Any as AnyTrait
from traitlets import Unicode

from hub.blocking import run_blocking
from hub.directory.accounts import ADMIN_USERNAME
from hub.directory.membership import membership_of
from hub.directory.models import Person

DISCOVERY_TIMEOUT = 10

NOT_IN_SCHOOL = (
    "Tài khoản bộ/ngành này chưa có trong danh sách học viên hay giảng viên của trường. Hãy báo quản trị viên "
    "của trường (tên đăng nhập hoặc email phải trùng với hồ sơ ở trường). / This ministry account is not one of "
    "the school's people: ask the school's admin (the username or e-mail must match the school's record)."
)


class ProviderUnreachable(Exception):
    pass


class MinistryOIDC(GenericOAuthenticator):
    """GenericOAuthenticator for one OpenID provider, discovered from its issuer; `school` (the outer
    TruongSoAuthenticator) turns the provider's person into the school's."""

    issuer = Unicode(help="The provider's issuer URL (its /.well-known/openid-configuration is read).").tag(config=True)
    email_claim = Unicode("email", help="The userinfo claim matched with the directory's e-mails.").tag(config=True)
    school = AnyTrait(help="The TruongSoAuthenticator this one signs people in for.")

    async def discover(self) -> None:
        """The provider's endpoints from its discovery document; ProviderUnreachable when it does not answer."""
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            response = await AsyncHTTPClient().fetch(url, request_timeout=DISCOVERY_TIMEOUT,
                                                     connect_timeout=DISCOVERY_TIMEOUT)  # fmt: skip
            document = json.loads(response.body)
            # OpenID Connect Discovery 1.0 §4.3: the document must name the issuer it was asked for
            if str(document.get("issuer", "")).rstrip("/") != self.issuer.rstrip("/"):
                raise ValueError(f"the document names issuer {document.get('issuer')!r}, not {self.issuer!r}")
            self.authorize_url = document["authorization_endpoint"]
            self.token_url = document["token_endpoint"]
            self.userdata_url = document["userinfo_endpoint"]
        except (OSError, HTTPClientError, ValueError, KeyError) as exc:
            self.log.warning("OIDC provider %s unreachable or unreadable: %s", url, exc)
            raise ProviderUnreachable(str(exc)) from exc

    async def authenticate(self, handler: web.RequestHandler, data: dict | None = None, **kwargs: Any) -> dict:
        try:
            model = await super().authenticate(handler, data, **kwargs)
        except (OSError, HTTPClientError) as exc:  # the provider went away between the redirect and the callback
            raise web.HTTPError(503, "OIDC provider unreachable: %s", exc) from exc
        claims = (model.get("auth_state") or {}).get(self.user_auth_state_key) or {}
        email = claims.get(self.email_claim) if claims.get("email_verified", True) is not False else None
        school_model = await self.school.model_for_ministry_account(model["name"], email)
        if school_model is None:
            raise web.HTTPError(403, NOT_IN_SCHOOL)
        return school_model

    async def check_allowed(self, username: str, auth_model: dict | None) -> bool:
        return auth_model is not None  # the school's directory decided (model_for_ministry_account)


class _Inner:
    """oauthenticator's handlers read `self.authenticator`: here, the hub authenticator's OIDC one."""

    @property
    def authenticator(self) -> MinistryOIDC:
        return self.settings["authenticator"].oidc


class OidcLoginHandler(_Inner, OAuthLoginHandler):
    async def get(self) -> None:
        try:
            await self.authenticator.discover()
        except ProviderUnreachable:
            self.redirect(self.hub.base_url + "login?oidc=down")
            return
        super().get()


class OidcCallbackHandler(_Inner, OAuthCallbackHandler):
    pass


def person_for_ministry_account(session: Any, name: str, email: str | None) -> str | None:
    """The school's username for a ministry account: the same username, else the one person with that e-mail.
    The school's admin never signs in this way (its local password always works; a ministry account named
    "admin" must not become the school's admin)."""
    candidates = []
    if name and name != ADMIN_USERNAME and session.get(Person, name) is not None:
        candidates.append(name)
    elif email:
        person = session.query(Person).filter(Person.email == email.strip().lower()).one_or_none()
        if person is None:
            person = session.query(Person).filter(Person.email == email.strip()).one_or_none()
        if person is not None and person.username != ADMIN_USERNAME:
            candidates.append(person.username)
    return candidates[0] if candidates else None


async def ministry_auth_model(school: Any, name: str, email: str | None) -> dict | None:
    def read() -> dict | None:
        with school.directory.session() as session:
            username = person_for_ministry_account(session, school.normalize_username(name), email)
            if username is None:
                return None
            return school._auth_model(username, membership_of(session, username))

    return await run_blocking(read)
