"""Our hub services (exchange, portal) in this process, with JupyterHub's side stubbed: `FakeHub` answers
what the hub's REST API would about a token (GET /hub/api/user) and about a user (GET /hub/api/users/<name>),
and nothing else of the services is replaced.

- `StubHubAuth` / `StubHubOAuth`: jupyterhub's own HubAuth / HubOAuth with only the HTTP call to the hub
  (`_check_hub_authorization`) answered by the `FakeHub`. How a token is found (Authorization header, the
  OAuth cookie), the access-scope check, XSRF and login redirects are all still JupyterHub's code.
- `StubAccessResolver`: hub.coursework.access.AccessResolver with only its hub lookup of a user's
  groups and roles answered by the `FakeHub`; the class/course rules are the real ones.
- `serve`: a tornado HTTP server built by the caller (as the service's app.py builds it) on a free loopback
  port, in a thread of this process, so that real HTTP clients (requests, raw sockets) can talk to it.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from jupyterhub.services.auth import HubAuth, HubOAuth

from hub.coursework.access import AccessResolver

API_URL = "http://127.0.0.1:9/hub/api"  # never contacted: every call to the hub is answered by FakeHub


@dataclass
class FakeHub:
    """Users and services as JupyterHub knows them, and the tokens that identify them."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> GET /hub/api/users/<name>
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)  # token -> GET /hub/api/user with it

    def add_user(
        self,
        name: str,
        *,
        groups: Iterable[str] = (),
        roles: Iterable[str] = (),
        admin: bool = False,
        scopes: Iterable[str] = (),
    ) -> str:
        """A hub user (groups are classes, `instructor-<class>` roles make instructors); a new token of theirs
        carrying `scopes` (e.g. access:services!service=exchange)."""
        model = {"kind": "user", "name": name, "admin": admin, "groups": sorted(groups), "roles": sorted(roles),
                 "server": None, "pending": None}  # fmt: skip
        self.users[name] = model
        return self.token_for(name, scopes)

    def token_for(self, name: str, scopes: Iterable[str]) -> str:
        token = secrets.token_hex(16)
        self.tokens[token] = {**self.users[name], "scopes": sorted(scopes), "session_id": None}
        return token

    def add_service(self, name: str, scopes: Iterable[str] = ()) -> str:
        token = secrets.token_hex(16)
        self.tokens[token] = {"kind": "service", "name": name, "roles": [], "scopes": sorted(scopes)}
        return token

    def identify(self, token: str) -> dict[str, Any] | None:
        """What the hub answers a service asking who holds `token` (None: the hub's 403/404, nobody)."""
        model = self.tokens.get(token)
        return copy.deepcopy(model) if model else None

    def user(self, name: str) -> dict[str, Any]:
        """GET /hub/api/users/<name> as the service's own token reads it ({} for the 404 of an unknown name)."""
        return copy.deepcopy(self.users.get(name, {}))


def add_people(hub: FakeHub, scope: str, classes: tuple[str, str, str]) -> dict[str, str]:
    """Learners an and binh (first class), chi (second), dung (third: another course), their instructors
    gv-mot, gv-hai, gv-kns, an admin (quantri) and a hub user in no class (khach): name -> a token of theirs
    carrying `scope`."""
    first, second, third = classes
    return {
        "an": hub.add_user("an", groups=[first], scopes=[scope]),
        "binh": hub.add_user("binh", groups=[first], scopes=[scope]),
        "chi": hub.add_user("chi", groups=[second], scopes=[scope]),
        "dung": hub.add_user("dung", groups=[third], scopes=[scope]),
        "gv-mot": hub.add_user("gv-mot", roles=["user", instructor_role(first)], scopes=[scope]),
        "gv-hai": hub.add_user("gv-hai", roles=["user", instructor_role(second)], scopes=[scope]),
        "gv-kns": hub.add_user("gv-kns", roles=["user", instructor_role(third)], scopes=[scope]),
        "quantri": hub.add_user("quantri", admin=True, roles=["admin"], scopes=[scope]),
        "khach": hub.add_user("khach", scopes=[scope]),  # a hub user in no class
    }


class _AnswersFromFakeHub:
    fake_hub: FakeHub

    async def _check_hub_authorization(
        self, url: str, api_token: str, cache_key: str | None = None, use_cache: bool = True
    ) -> dict[str, Any] | None:
        return self.fake_hub.identify(api_token)


class StubHubAuth(_AnswersFromFakeHub, HubAuth):
    """Token-only HubAuth (the exchange's) asking `fake_hub` instead of the hub's API."""


class StubHubOAuth(_AnswersFromFakeHub, HubOAuth):
    """OAuth-cookie HubAuth (the portal's) asking `fake_hub` instead of the hub's API."""


def stub_auth(cls: type[HubAuth], fake_hub: FakeHub, **traits: Any) -> Any:
    auth = cls(**traits)
    auth.fake_hub = fake_hub
    return auth


def close_auth(auth: HubAuth) -> None:
    """HubAuth starts a one-thread pool for its synchronous calls (HubAuthenticated.get_current_user)."""
    pool = auth._trait_values.get("_pool")
    if pool is not None:
        pool.shutdown(wait=True)


class StubAccessResolver(AccessResolver):
    def __init__(self, fake_hub: FakeHub, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fake_hub = fake_hub

    async def _hub_user(self, name: str) -> dict:
        return self.fake_hub.user(name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(make_server: Callable[[], Any]) -> Iterator[int]:
    """`make_server()` (a tornado HTTPServer, built inside the serving thread's event loop) listening on a free
    loopback port; yields the port. Stopped, its loop closed, when the block ends."""
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failed: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            server = make_server()
            server.listen(port, "127.0.0.1")
        except BaseException as exc:  # reported to the test below instead of a silent hang
            failed.append(exc)
            ready.set()
            return
        ready.set()
        loop.run_forever()
        server.stop()
        loop.run_until_complete(server.close_all_connections())
        loop.close()

    thread = threading.Thread(target=run, daemon=True, name=f"service-{port}")
    thread.start()
    assert ready.wait(30), "the service did not start"
    if failed:
        raise failed[0]
    try:
        yield port
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)


def add_class(
    directory: Any,
    name: str,
    course_id: str,
    learners: dict[str, str],
    instructors: dict[str, str] | None = None,
) -> None:
    """A class of `course_id` in the directory database with its learners and instructors (username -> full
    name). The hub side of the same facts (groups, instructor roles) is the FakeHub's."""
    from hub.directory.models import Enrolment, EnrolmentRole, Person, SchoolClass

    with directory.session() as s:
        s.add(SchoolClass(name=name, title=f"Lớp {name}", course_id=course_id, year=2026))
        s.flush()
        for role, people in ((EnrolmentRole.learner, learners), (EnrolmentRole.instructor, instructors or {})):
            for username, full_name in people.items():
                if s.get(Person, username) is None:
                    s.add(Person(username=username, full_name=full_name, organisation="Sở Nội vụ", email=None))
                    s.flush()
                s.add(Enrolment(class_name=name, username=username, role=role))


def instructor_role(class_name: str) -> str:
    """The hub role that makes someone an instructor of a class (hub.directory.membership)."""
    from hub.directory.membership import instructor_role_name

    return instructor_role_name(class_name)
