"""Workspace volume and container names: one learner, one name, forever; never two learners on one name."""

from __future__ import annotations

import itertools
import re

import pytest
from tornado import web

from hub.directory.accounts import is_valid_username, normalize_username
from hub.spawner import container_name, refuse_user_options, stable_escape, volume_name

TRICKY = ["an", "an-", "an.", "a-n", "a.n", "a_n", "an@x.gov.vn", "an-40x.gov.vn", "a-2d", "a-2dn", "an+1", "a+n",
          "nguyen.van.a@hanoi.gov.vn", "nguyen-van-a@hanoi.gov.vn", "nguyen_van_a@hanoi.gov.vn"]  # fmt: skip


def test_names_are_injective_and_docker_safe() -> None:
    names = [volume_name("truongso", u) for u in TRICKY]
    assert len(set(names)) == len(names)
    for name in names + [container_name("truongso", u) for u in TRICKY]:
        assert re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", name) and len(name) < 255


def test_escape_never_changes() -> None:
    # These exact names are on learners' disks: changing them would hide their files.
    assert volume_name("truongso", "nguyen.van.a@hanoi.gov.vn") == "truongso-home-nguyen-2evan-2ea-40hanoi-2egov-2evn"
    assert stable_escape("a-b") == "a-2db"


@pytest.mark.parametrize("raw", ["An", "AN", "ａｎ", " an ", "An\u200b"])
def test_case_and_unicode_variants_are_one_account_or_refused(raw: str) -> None:
    name = normalize_username(raw)
    assert name == "an" or not is_valid_username(name)


def test_every_pair_of_short_usernames_gets_its_own_volume() -> None:
    alphabet = "a.-_@+"
    users = {"".join(p) for n in (1, 2, 3) for p in itertools.product(alphabet, repeat=n)}
    assert len({stable_escape(u) for u in users}) == len(users)


class FakeOrm:
    def __init__(self) -> None:
        self.user_options = {"image": "evil"}


class FakeSpawner:
    def __init__(self) -> None:
        self.user_options = {"image": "evil"}
        self.orm_spawner = FakeOrm()


def test_user_options_are_refused_and_forgotten() -> None:
    spawner = FakeSpawner()
    with pytest.raises(web.HTTPError) as raised:
        refuse_user_options(spawner, {"image": "evil", "volumes": {"/": "/host"}})
    assert raised.value.status_code == 400
    assert spawner.user_options == {} and spawner.orm_spawner.user_options == {}
    refuse_user_options(spawner, {})  # no options: nothing to refuse
