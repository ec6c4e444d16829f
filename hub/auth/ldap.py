"""Ministry sign-in: a password checked against the ministry's LDAP / Active Directory by jupyterhub-ldapauthenticator;
who the person is in the school (classes, roles) still comes from our directory, matched by username.

The LDAP authenticator is used as a library (its `authenticate`), inside TruongSoAuthenticator's one login attempt,
so the lock-out, the deactivated check and the directory's membership apply to ministry accounts as to local ones.
"""

from __future__ import annotations

import asyncio
import time
from enum import Enum
from typing import Any

import ldap3
import ldapauthenticator.ldapauthenticator as ldapauthenticator_module
from ldap3.core.exceptions import LDAPException
from ldapauthenticator import LDAPAuthenticator

UNREACHABLE_MEMORY = 60  # seconds the login page keeps saying the LDAP server could not be reached
CONNECT_TIMEOUT = 5  # whole seconds to open the connection to the LDAP server
RECEIVE_TIMEOUT = 10  # whole seconds to wait for each answer: a server that accepts and never answers is "unreachable"


class _Ldap3WithTimeouts:
    """ldap3 as ldapauthenticator 2.0.2 sees it, with timeouts: it opens its Server and Connection without any,
    so a server that accepts the connection and never answers would hold a login thread for ever."""

    def __getattr__(self, name: str) -> Any:
        return getattr(ldap3, name)

    @staticmethod
    def Server(*args: Any, **kwargs: Any) -> ldap3.Server:
        kwargs.setdefault("connect_timeout", CONNECT_TIMEOUT)
        return ldap3.Server(*args, **kwargs)

    @staticmethod
    def Connection(*args: Any, **kwargs: Any) -> ldap3.Connection:
        kwargs.setdefault("receive_timeout", RECEIVE_TIMEOUT)
        return ldap3.Connection(*args, **kwargs)


ldapauthenticator_module.ldap3 = _Ldap3WithTimeouts()


class Verdict(Enum):
    accepted = "accepted"
    refused = "refused"  # wrong password, no such account, or not in an allowed group (disabled)
    unreachable = "unreachable"


class MinistryDirectory:
    """One LDAP server: `check(username, password)` in the calling thread (the login runs off the event loop)."""

    def __init__(self, url: str, bind_dn_templates: list[str], allowed_groups: list[str]) -> None:
        scheme, _, rest = url.partition("://")
        host, _, port = rest.rstrip("/").partition(":")
        self.allowed_groups = allowed_groups
        self.authenticator = LDAPAuthenticator(
            server_address=host,
            server_port=int(port) if port else (636 if scheme == "ldaps" else 389),
            tls_strategy="on_connect" if scheme == "ldaps" else "insecure",
            bind_dn_template=bind_dn_templates,
            allowed_groups=allowed_groups,
            # ldapauthenticator reads group membership as groupOfNames' member or posixGroup's memberUid
            group_search_filter="(|(member={userdn})(uniqueMember={userdn})(memberUid={uid}))",
            group_attributes=["member", "uniqueMember", "memberUid"],
        )
        self.unreachable_at = 0.0

    def check(self, username: str, password: str) -> Verdict:
        try:  # ldapauthenticator's authenticate is a coroutine doing blocking ldap3 calls: its own loop, this thread
            model = asyncio.run(self.authenticator.authenticate(None, {"username": username, "password": password}))
        except (LDAPException, OSError):
            self.unreachable_at = time.monotonic()
            return Verdict.unreachable
        if not model:
            return Verdict.refused
        groups = set((model.get("auth_state") or {}).get("ldap_groups", []))
        if self.allowed_groups and not groups & set(self.allowed_groups):
            return Verdict.refused
        return Verdict.accepted

    def recently_unreachable(self) -> bool:
        return time.monotonic() - self.unreachable_at < UNREACHABLE_MEMORY
