"""Lock-out after repeated failed logins, counted in the directory database: it survives a hub restart, an
admin can lift it, names that are not accounts are counted like accounts, and a deactivated person cannot log
in with the right password."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from support.aio import run_coroutine

from graders.timeutil import utcnow
from hub.auth.authenticator import TruongSoAuthenticator
from hub.directory import lockout
from hub.directory.accounts import hash_password, set_password
from hub.directory.db import Directory
from hub.directory.models import LoginFailure, Person

PASSWORD = "Mat-khau-rieng-2026"


@pytest.fixture
def directory_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'truongso.sqlite'}"
    directory = Directory(url)
    directory.ensure_schema()
    with directory.session() as s:
        s.add(Person(username="hocvien1", full_name="Nguyễn Văn An"))
        set_password(s, "hocvien1", hash_password(PASSWORD, 4))
    directory.dispose()
    return url


def authenticator(url: str) -> TruongSoAuthenticator:
    return TruongSoAuthenticator(directory_url=url, allowed_failed_logins=3, seconds_before_next_try=600)


def login(auth: TruongSoAuthenticator, username: str, password: str, address: str | None = None) -> dict | None:
    # as configurable-http-proxy forwards it: the peer's address appended last; X-Real-Ip is the client's own
    headers = {"X-Forwarded-For": f"10.9.8.7, {address}", "X-Real-Ip": f"192.0.2.{len(username)}"}
    handler = SimpleNamespace(request=SimpleNamespace(headers=headers)) if address else None
    return run_coroutine(auth.authenticate(handler, {"username": username, "password": password}))


def test_one_address_guessing_many_names_is_stopped_and_others_are_not(directory_url: str) -> None:
    """No account reaches its own limit (one failure each), but the address does; a success elsewhere, or of
    the account, does not lift the address's lock, and a restart keeps it."""
    auth = TruongSoAuthenticator(directory_url=directory_url, allowed_failed_logins=3, seconds_before_next_try=600,
                                 max_failures_per_address=4)  # fmt: skip
    attacker, office = "203.0.113.7", "198.51.100.20"
    for name in ("an", "binh", "chi", "dung"):
        assert login(auth, name, "doan-bua", attacker) is None
    assert login(auth, "hocvien1", PASSWORD, attacker) is None  # the right password, from the locked address
    # (each attempt above named another X-Real-Ip and a made-up first X-Forwarded-For: neither counts)
    assert login(auth, "hocvien1", PASSWORD, office) is not None  # the learner at her office gets in
    assert run_coroutine(auth.seconds_locked("hocvien1", attacker)) > 0
    assert run_coroutine(auth.seconds_locked("hocvien1", office)) == 0
    assert run_coroutine(auth.seconds_locked("not a valid name!", attacker)) > 0  # the page still says locked
    restarted = TruongSoAuthenticator(directory_url=directory_url, allowed_failed_logins=3,
                                      seconds_before_next_try=600, max_failures_per_address=4)  # fmt: skip
    assert login(restarted, "hocvien1", PASSWORD, attacker) is None
    with restarted.directory.session() as s:
        assert lockout.locked_accounts(s, 3, 600) == {}  # addresses are not accounts in the console's list
    off = authenticator(directory_url)  # per-address lock-out off (the default of the authenticator itself)
    assert login(off, "hocvien1", PASSWORD, attacker) is not None


def test_three_failures_lock_even_the_right_password_and_a_restart_keeps_the_lock(directory_url: str) -> None:
    auth = authenticator(directory_url)
    assert login(auth, "hocvien1", PASSWORD)["name"] == "hocvien1"
    for _ in range(3):
        assert login(auth, "hocvien1", "sai-mat-khau") is None
    assert login(auth, "hocvien1", PASSWORD) is None  # locked: the right password does not open it
    assert 590 <= run_coroutine(auth.seconds_locked("HocVien1")) <= 600  # names are normalised
    restarted = authenticator(directory_url)  # a new hub process: the count is in the database
    assert run_coroutine(restarted.seconds_locked("hocvien1")) > 0
    assert login(restarted, "hocvien1", PASSWORD) is None


def test_an_admin_unlock_lets_the_learner_in_and_a_success_clears_the_count(directory_url: str) -> None:
    auth = authenticator(directory_url)
    for _ in range(3):
        login(auth, "hocvien1", "sai")
    with auth.directory.session() as s:
        assert lockout.locked_accounts(s, 3, 600).keys() == {"hocvien1"}
        assert lockout.clear_failures(s, "hocvien1")
        assert not lockout.clear_failures(s, "hocvien1")  # nothing left to clear
    assert login(auth, "hocvien1", PASSWORD) is not None
    login(auth, "hocvien1", "sai")
    login(auth, "hocvien1", PASSWORD)  # a success forgets the earlier failure
    with auth.directory.session() as s:
        assert s.get(LoginFailure, "hocvien1") is None


def test_a_count_whose_window_has_passed_starts_over(directory_url: str) -> None:
    directory = Directory(directory_url)
    long_ago = utcnow() - timedelta(hours=2)
    with directory.session() as s:
        for _ in range(3):
            lockout.record_failure(s, "hocvien1", 600, now=long_ago)
        assert lockout.seconds_locked(s, "hocvien1", 3, 600) == 0  # the lock has run out
        assert lockout.seconds_locked(s, "hocvien1", 3, 600, now=long_ago) == 600
        assert lockout.record_failure(s, "hocvien1", 600) == 1  # a new failure counts from one again
        assert lockout.seconds_locked(s, "hocvien1", 0, 600) == 0  # lock-out off
    directory.dispose()


def test_names_that_are_not_accounts_lock_the_same_way_and_old_ones_are_forgotten(
    directory_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = authenticator(directory_url)
    for _ in range(3):
        login(auth, "khongco", "sai")
    assert run_coroutine(auth.seconds_locked("khongco")) > 0  # the message does not tell which names exist
    monkeypatch.setattr(lockout, "MAX_ROWS", 5)
    with auth.directory.session() as s:
        s.query(LoginFailure).update({LoginFailure.last_failed_at: utcnow() - timedelta(days=1)})
        for i in range(10):
            lockout.record_failure(s, f"bia-{i}", 600)
        s.flush()
        # the expired row went when the table was full; the fresh ones stay for their window
        assert s.get(LoginFailure, "khongco") is None and s.query(LoginFailure).count() == 10


def test_a_deactivated_person_cannot_log_in_and_is_logged_out_at_refresh(directory_url: str) -> None:
    auth = authenticator(directory_url)
    with auth.directory.session() as s:
        s.get(Person, "hocvien1").active = False
    assert login(auth, "hocvien1", PASSWORD) is None
    assert run_coroutine(auth.refresh_user(SimpleNamespace(name="hocvien1"))) is False
    with auth.directory.session() as s:
        s.get(Person, "hocvien1").active = True
    assert login(auth, "hocvien1", PASSWORD) is not None


def test_malformed_usernames_are_not_counted(directory_url: str) -> None:
    auth = authenticator(directory_url)
    for name in ("", "../../etc", "x" * 500, "Nguyễn"):
        assert login(auth, name, "sai") is None
        assert run_coroutine(auth.seconds_locked(name)) == 0
    with auth.directory.session() as s:
        assert s.query(LoginFailure).count() == 0
