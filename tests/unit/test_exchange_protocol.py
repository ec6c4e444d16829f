"""The exchange's wire format is one definition: the client's paths are exactly what the service routes."""

from __future__ import annotations

import re

import pytest

from graders.exchange import protocol
from hub.services.exchange.handlers import default_handlers

FIELDS = {"course": "phan-tich-du-lieu", "assignment": "01-python-co-ban", "class_name": "PTDL-K01",
          "submission": "0123456789abcdef0123456789abcdef"}  # fmt: skip


def routed(path: str) -> list[type]:
    return [handler for pattern, handler in default_handlers if re.fullmatch(pattern, path)]


@pytest.mark.parametrize("route", sorted(protocol.ROUTES))
def test_every_client_path_reaches_exactly_one_handler(route: str) -> None:
    fields = {name: value for name, value in FIELDS.items() if "{" + name + "}" in protocol.ROUTES[route]}
    assert len(routed(protocol.path(route, **fields))) == 1


def test_every_route_of_the_service_is_one_of_the_protocol() -> None:
    assert {pattern for pattern, _ in default_handlers} == {protocol.pattern(r) for r in protocol.ROUTES}


@pytest.mark.parametrize("hostile", ["../../etc/passwd", "a/b", "x?y=1", "#frag", "ký tự", "%2F"])
def test_a_field_is_always_one_quoted_segment(hostile: str) -> None:
    built = protocol.path("assignment", course=hostile, assignment="01")
    assert built.count("/") == protocol.path("assignment", course="c", assignment="01").count("/")
    assert not set("?#") & set(built)


def test_errors_read_back_in_both_languages() -> None:
    assert protocol.error_message({"vi": "không có", "en": "not here"}, 404) == "không có / not here (HTTP 404)"
    assert "HTTP 502" in protocol.error_message("<html>bad gateway</html>", 502)
