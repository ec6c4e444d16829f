"""An LDAP server that accepts the connection and never answers: the login gets "unreachable" within the
receive timeout instead of holding its thread for ever (ldapauthenticator 2.0.2 sets no timeout itself)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from hub.auth import ldap


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections, reads what comes, never writes a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    listener.close()


def test_a_server_that_never_answers_is_unreachable_after_the_timeout(
    silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ldap, "RECEIVE_TIMEOUT", 1)
    directory = ldap.MinistryDirectory(
        f"ldap://127.0.0.1:{silent_server}", ["uid={username},ou=people,dc=bo,dc=vn"], []
    )
    started = time.monotonic()
    assert directory.check("nguyenvana", "mat-khau") is ldap.Verdict.unreachable
    assert time.monotonic() - started < 10
    assert directory.recently_unreachable()


def test_ldapauthenticator_gets_ldap3_with_timeouts() -> None:
    import ldapauthenticator.ldapauthenticator as upstream

    server = upstream.ldap3.Server("127.0.0.1", port=389)
    assert server.connect_timeout == ldap.CONNECT_TIMEOUT
    assert upstream.ldap3.SUBTREE == "SUBTREE"  # everything else is ldap3's own
