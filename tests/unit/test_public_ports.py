"""`truongso up` refuses, in one line, a public port another program holds: the hub's and the HTTP redirect's."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from graders.text import UserError
from hub.settings import HubSettings
from hub.startup.ports import ensure_public_port_free


@pytest.fixture
def held_port() -> int:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_hubs_port_held_by_another_program_is_named(tmp_path: Path, held_port: int) -> None:
    settings = HubSettings(ip="127.0.0.1", port=held_port)
    with pytest.raises(UserError, match=f"port {held_port} on 127.0.0.1 is already in use; choose another with --port"):
        ensure_public_port_free(settings, tmp_path)


def test_the_redirect_port_held_by_another_program_is_named(tmp_path: Path, held_port: int) -> None:
    settings = HubSettings(ip="127.0.0.1", port=free_port(), http_redirect_port=held_port)
    with pytest.raises(UserError, match="choose another with http_redirect_port") as refused:
        ensure_public_port_free(settings, tmp_path)
    assert "đang được chương trình khác dùng" in str(refused.value.vi)


def test_free_ports_pass(tmp_path: Path) -> None:
    ensure_public_port_free(HubSettings(ip="127.0.0.1", port=free_port(), http_redirect_port=free_port()), tmp_path)
    ensure_public_port_free(HubSettings(ip="127.0.0.1", port=free_port()), tmp_path)  # no redirect: not checked
