"""TruongSoAuthenticator: nativeauthenticator with the school's directory behind it.

What we keep from nativeauthenticator: bcrypt hashes in its `users_info` table, its lock-out settings
(allowed_failed_logins, seconds_before_next_try), its password-strength checks. What we change:
- the password check (bcrypt, ~0.25 s) and all database work run in a thread, not on the hub's event loop;
- every attempt costs the same bcrypt work whether the account exists or not (check_password), so the time
  a refusal takes does not tell which usernames are accounts;
- it uses short sessions on the directory database instead of JupyterHub's shared session (deprecated, and
  a long-lived session would never see passwords the CLI changes);
- classes become JupyterHub groups and teaching becomes roles (`manage_groups`, `manage_roles`), re-read at
  every login and every `auth_refresh_age` seconds;
- failed logins are counted in the directory (hub.directory.lockout), not in the hub's memory: a lock
  survives a restart and an admin can see and lift it in the portal's console;
- no self sign-up, Vietnamese-first pages, and a forced password change for imported accounts.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable
from functools import cache
from typing import Any

import bcrypt
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.orm import UserInfo
from sqlalchemy.orm import Session
from tornado import web
from traitlets import Bool, Integer, List, Unicode, default

from hub.auth.ldap import MinistryDirectory, Verdict
from hub.blocking import run_blocking
from hub.directory import lockout
from hub.directory.accounts import (
    ADMIN_USERNAME,
    CHOSEN_PASSWORD_ROUNDS,
    USERNAME_PATTERN,
    hash_password,
    is_valid_username,
    normalize_username,
)
from hub.directory.db import Directory
from hub.directory.membership import Membership, membership_of
from hub.directory.models import Person

BCRYPT_MAX_BYTES = 72  # bcrypt 5 refuses longer passwords (older versions silently cut them)
_dummy_lock = threading.Lock()


@cache
def _dummy_hash_cached() -> bytes:
    # A hash of a random secret nobody knows, at the cost of the passwords people choose: checking against it
    # costs what checking a real account costs, and can never succeed.
    import secrets

    return bcrypt.hashpw(secrets.token_urlsafe(32).encode(), bcrypt.gensalt(rounds=CHOSEN_PASSWORD_ROUNDS))


def dummy_hash() -> bytes:
    with _dummy_lock:  # two first logins at once make one hash, not two
        return _dummy_hash_cached()


def _cost(stored: bytes) -> int:
    try:
        return int(stored.split(b"$")[2])
    except (IndexError, ValueError):
        return 0


def check_password(password: str, stored: bytes | None) -> bool:
    """Does `password` match the bcrypt hash `stored`? About the same time whatever the answer and whether
    there is a hash at all (no account, an unauthorised one): without this, an unknown username is refused
    without any bcrypt and the refusal's timing tells which accounts exist.

    Every call does one bcrypt check at CHOSEN_PASSWORD_ROUNDS: against the account's hash, or against a
    dummy one when there is none, when the password is too long for bcrypt, or (on top of the cheap check) when
    the account still has a generated password hashed at a lower cost."""
    secret = password.encode("utf-8")
    if stored is None or len(secret) > BCRYPT_MAX_BYTES:
        bcrypt.checkpw(secret[:BCRYPT_MAX_BYTES], dummy_hash())  # only for the time it takes
        return False
    try:
        matches = bcrypt.checkpw(secret, stored)
    except ValueError:  # a damaged hash in the database: no login with it
        matches = False
    if _cost(stored) < CHOSEN_PASSWORD_ROUNDS:
        bcrypt.checkpw(secret, dummy_hash())  # pad a generated password's cheap check to a chosen one's cost
    return matches


def _fixed(value: Any) -> Callable[[Any], Any]:
    """A traitlets default method that gives `value`: `_default_x = default("x")(_fixed(value))`."""
    return lambda _authenticator: value


class TruongSoAuthenticator(NativeAuthenticator):
    directory_url = Unicode(
        help="SQLAlchemy URL of the Trường Số directory database (people, classes, password hashes).",
    ).tag(config=True)

    # Inherited settings, with our defaults (a config file may still set them).
    _default_manage_groups = default("manage_groups")(_fixed(True))
    _default_manage_roles = default("manage_roles")(_fixed(True))
    # Anyone with a login record in the directory may log in; there is no sign-up to guard against.
    _default_allow_all = default("allow_all")(_fixed(True))
    _default_enable_signup = default("enable_signup")(_fixed(False))
    _default_username_pattern = default("username_pattern")(_fixed(USERNAME_PATTERN))
    # nativeauthenticator methods that would touch JupyterHub's session are all overridden here.
    _no_shared_db = default("db")(_fixed(None))

    refresh_pre_spawn = Bool(True, help="Re-read classes and roles before every spawn.").tag(config=True)
    ldap_url = Unicode("", help="The ministry's LDAP / Active Directory, ldap://host[:port] or ldaps://…").tag(
        config=True
    )
    ldap_bind_dn_template = List(Unicode(), help="DNs to bind as, {username} filled in.").tag(config=True)
    ldap_allowed_groups = List(Unicode(), help="Group DNs a ministry account must be in (empty: any).").tag(config=True)
    oidc_issuer = Unicode("", help="The ministry's OpenID provider (issuer URL); empty: no OIDC sign-in.").tag(
        config=True
    )
    oidc_client_id = Unicode("", help="This hub's client id at the OpenID provider.").tag(config=True)
    oidc_client_secret = Unicode("", help="This hub's client secret at the OpenID provider.").tag(config=True)
    oidc_username_claim = Unicode("preferred_username", help="The claim matched with directory usernames.").tag(
        config=True
    )
    oidc_email_claim = Unicode("email", help="The claim matched with directory e-mails when usernames differ.").tag(
        config=True
    )
    local_passwords = Bool(True, help="Local passwords besides LDAP / OIDC (the admin's always works).").tag(
        config=True
    )
    max_failures_per_address = Integer(
        0, help="Failed logins from one source address before it is refused for seconds_before_next_try; 0: off."
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        # add_new_table=False: `truongso up` prepares the schema (hub.directory.db.ensure_schema).
        super().__init__(add_new_table=False, **kwargs)
        self._directory: Directory | None = None
        self._ministry: Any = None
        self._oidc: Any = None

    @property
    def directory(self) -> Directory:
        if self._directory is None:
            self._directory = Directory(self.directory_url)
        return self._directory

    def normalize_username(self, username: str) -> str:
        return super().normalize_username(normalize_username(username))

    def validate_username(self, username: str) -> bool:
        return is_valid_username(username) and super().validate_username(username)

    # -- login -----------------------------------------------------------------------------------

    async def authenticate(self, handler: web.RequestHandler, data: dict[str, str]) -> dict | None:
        username = self.normalize_username(data.get("username", ""))
        password = data.get("password", "")
        if not password or not self.validate_username(username):
            return None
        return await run_blocking(self._check_credentials, username, password, _address_of(handler))

    def _check_credentials(self, username: str, password: str, address: str | None = None) -> dict | None:
        """One login attempt in one transaction: refused while the account or the source address is locked,
        failures counted in the directory (hub.directory.lockout), the account's count cleared by a success."""
        with self.directory.session() as session:
            if self._seconds_locked(session, username, address):
                return None
            model = None
            verdict = self._ministry_verdict(username, password)
            if verdict is Verdict.accepted:
                model = self._auth_model(username, membership_of(session, username))
            elif self.local_passwords or username == ADMIN_USERNAME or not (self.ldap_url or self.oidc_issuer):
                info = session.query(UserInfo).filter(UserInfo.username == username).one_or_none()
                stored = bytes(info.password) if info is not None and info.is_authorized and info.password else None
                if check_password(password, stored):  # the same bcrypt work with or without an account
                    model = self._auth_model(username, membership_of(session, username))
            if model is None:
                if self.allowed_failed_logins:
                    lockout.record_failure(session, username, self.seconds_before_next_try)
                if self.max_failures_per_address and address:
                    lockout.record_failure(session, lockout.address_key(address), self.seconds_before_next_try)
                return None
            lockout.clear_failures(session, username)
        return model

    def _ministry_verdict(self, username: str, password: str) -> Verdict | None:
        """None: no LDAP here, or the admin (always a local password, so the school is never locked out)."""
        if not self.ldap_url or username == ADMIN_USERNAME:
            return None
        if self._ministry is None:
            self._ministry = MinistryDirectory(self.ldap_url, list(self.ldap_bind_dn_template),
                                               list(self.ldap_allowed_groups))  # fmt: skip
        return self._ministry.check(username, password)

    @property
    def oidc(self) -> Any:
        """The ministry's OpenID sign-in (hub/auth/oidc.py), or None when there is none."""
        if self._oidc is None and self.oidc_issuer:
            from hub.auth.oidc import MinistryOIDC

            self._oidc = MinistryOIDC(
                issuer=self.oidc_issuer,
                client_id=self.oidc_client_id,
                client_secret=self.oidc_client_secret,
                username_claim=self.oidc_username_claim,
                email_claim=self.oidc_email_claim,
                scope=["openid", "profile", "email"],
                manage_groups=True,
                manage_roles=True,
                school=self,
                log=self.log,
            )
        return self._oidc

    async def model_for_ministry_account(self, name: str, email: str | None) -> dict | None:
        """The school's auth model for a person the OpenID provider signed in (None: not one of ours)."""
        from hub.auth.oidc import ministry_auth_model

        return await ministry_auth_model(self, name, email)

    def ministry_unreachable(self) -> bool:
        """The login page says so: a failed login then is not the learner's fault."""
        return self._ministry is not None and self._ministry.recently_unreachable()

    @staticmethod
    def _auth_model(username: str, membership: Membership | None) -> dict | None:
        if membership is None:  # a login without a person record: refuse rather than guess
            return None
        return {
            "name": username,
            "admin": membership.admin,
            "groups": membership.groups,
            "roles": membership.roles,
        }

    async def refresh_user(self, user: Any, handler: web.RequestHandler | None = None) -> dict | bool:
        def read() -> dict | None:
            with self.directory.session() as session:
                return self._auth_model(user.name, membership_of(session, user.name))

        model = await run_blocking(read)
        return model if model is not None else False  # False: removed from the directory, log in again

    async def load_managed_roles(self) -> list[dict]:
        # Roles are created when a user who holds them logs in (sync_roles). Returning them here as well
        # makes JupyterHub 6.1.1 crash on its second start (KeyError 'users' in init_role_assignment when
        # reset_managed_roles_on_startup is off and a managed role already has members).
        return []

    async def seconds_locked(self, username: str, address: str | None = None) -> int:
        """Seconds until a locked account, or a locked source address, may try again (0 when not locked)."""
        username = self.normalize_username(username)
        if not self.validate_username(username):
            username = ""

        def read() -> int:
            with self.directory.session() as session:
                return self._seconds_locked(session, username, address)

        return await run_blocking(read)

    def _seconds_locked(self, session: Any, username: str, address: str | None) -> int:
        seconds, window = 0, self.seconds_before_next_try
        if self.allowed_failed_logins and username:
            seconds = lockout.seconds_locked(session, username, self.allowed_failed_logins, window)
        if self.max_failures_per_address and address:
            key = lockout.address_key(address)
            seconds = max(seconds, lockout.seconds_locked(session, key, self.max_failures_per_address, window))
        return seconds

    # -- first-login password change ---------------------------------------------------------------

    async def must_change_password(self, username: str) -> bool:
        def read() -> bool:
            with self.directory.session() as session:
                person = session.get(Person, username)
                return bool(person and person.must_change_password)

        return await run_blocking(read)

    async def change_own_password(self, username: str, old: str, new: str) -> str | None:
        """Change a password; returns None on success or the key of the reason it was refused."""
        if len(new.encode("utf-8")) > BCRYPT_MAX_BYTES:
            return "too_long"  # bcrypt cannot hash it (and used to cut it silently)
        if new != new.strip() or not self.is_password_strong(new):
            return "weak"
        if new.lower() == username.lower() or new == old:
            return "weak"

        def change(session: Session) -> str | None:
            info = session.query(UserInfo).filter(UserInfo.username == username).one_or_none()
            if not check_password(old, bytes(info.password) if info is not None and info.password else None):
                return "wrong_old"
            info.password = hash_password(new, CHOSEN_PASSWORD_ROUNDS)
            person = session.get(Person, username)
            if person is not None:
                person.must_change_password = False
            return None

        def run() -> str | None:
            with self.directory.session() as session:
                return change(session)

        return await run_blocking(run)

    async def delete_user(self, user: Any) -> None:
        # Deleting a hub user removes their login; the person record stays (certificates refer to it).
        def delete() -> None:
            with self.directory.session() as session:
                session.query(UserInfo).filter(UserInfo.username == user.name).delete()

        self.allowed_users.discard(user.name)
        await run_blocking(delete)

    async def pre_spawn_start(self, user: Any, spawner: Any) -> None:
        if await self.must_change_password(user.name):
            raise web.HTTPError(
                403,
                "Bạn cần đổi mật khẩu trước khi mở không gian làm việc. "
                "/ Change your password before starting your workspace.",
            )

    def get_handlers(self, app: Any) -> list[tuple[str, type]]:
        from hub.auth.handlers import ChangePasswordHandler, LoginHandler

        handlers = [(r"/login", LoginHandler), (r"/change-password", ChangePasswordHandler)]
        if self.oidc_issuer:  # ministry sign-in: oauthenticator's pages, pointed at the OIDC authenticator
            from hub.auth.oidc import OidcCallbackHandler, OidcLoginHandler

            handlers += [(r"/oauth_login", OidcLoginHandler), (r"/oauth_callback", OidcCallbackHandler)]
        return handlers


def client_address(request: Any) -> str | None:
    """The address that connected to our proxy: the last X-Forwarded-For entry, which configurable-http-proxy
    appends itself. Not tornado's remote_ip: it prefers X-Real-Ip, which any client may send, so counting by it
    would let one rotate addresses, or lock a whole office out by naming its address. Behind another reverse
    proxy this is that proxy's address (then set login_max_failures_per_address to 0)."""
    headers = getattr(request, "headers", None) or {}
    last = headers.get("X-Forwarded-For", "").split(",")[-1].strip()
    try:
        return str(ipaddress.ip_address(last))
    except ValueError:
        return None


def _address_of(handler: web.RequestHandler | None) -> str | None:
    return client_address(getattr(handler, "request", None))
