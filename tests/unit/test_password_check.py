"""The login's password check: the same bcrypt work whether the account exists or not, no exception on
passwords bcrypt cannot take (the real-hub timing test is tests/e2e/test_service_hardening.py)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
from support.aio import run_coroutine

from hub.auth import authenticator as auth
from hub.directory.accounts import CHOSEN_PASSWORD_ROUNDS, GENERATED_PASSWORD_ROUNDS, hash_password, set_password


@pytest.fixture
def cheap_rounds(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """Cost 9 instead of 12 for the timing comparison: the same shape, a unit test's time."""
    monkeypatch.setattr(auth, "CHOSEN_PASSWORD_ROUNDS", 9)
    auth._dummy_hash_cached.cache_clear()
    yield 9
    auth._dummy_hash_cached.cache_clear()


def test_answers() -> None:
    stored = hash_password("Dung-mat-khau-2026", 4)
    assert auth.check_password("Dung-mat-khau-2026", stored)
    assert not auth.check_password("sai-mat-khau", stored)
    assert not auth.check_password("Dung-mat-khau-2026", None)  # no account: never, whatever the password
    assert not auth.check_password("x" * 100, stored)  # bcrypt 5 raises on > 72 bytes: a plain no
    assert not auth.check_password("ă" * 40, stored)  # 80 bytes in UTF-8
    assert not auth.check_password("Dung-mat-khau-2026", b"$2b$12$not-a-hash")


def test_the_dummy_hash_costs_what_a_chosen_password_costs() -> None:
    dummy = auth.dummy_hash()
    assert dummy.startswith(f"$2b${CHOSEN_PASSWORD_ROUNDS:02d}$".encode())
    assert auth.dummy_hash() is dummy  # made once


def test_no_account_takes_as_long_as_a_wrong_password(cheap_rounds: int) -> None:
    chosen = bcrypt.hashpw(b"Mat-khau-rieng-2026", bcrypt.gensalt(cheap_rounds))
    generated = bcrypt.hashpw(b"AbCd-EfGh-IjKl", bcrypt.gensalt(GENERATED_PASSWORD_ROUNDS))
    cases = {"no account": None, "chosen": chosen, "generated": generated}
    auth.check_password("warm-up", None)
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(7):
        for name, stored in cases.items():
            # CPU time of this thread (bcrypt runs in it): what an attacker's clock measures on an idle server,
            # without the waits for a CPU that other work causes on a loaded test machine (it failed under load)
            started = time.thread_time()
            assert not auth.check_password("sai-mat-khau", stored)
            times[name].append(time.thread_time() - started)
    median = {name: statistics.median(values) for name, values in times.items()}
    for known in ("chosen", "generated"):
        ratio = median["no account"] / median[known]
        assert 0.7 <= ratio <= 1 / 0.7, (known, median)


def test_every_answer_costs_one_check_at_the_chosen_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bcrypt work itself, counted: what the timing test above measures, without a clock."""
    chosen = bcrypt.hashpw(b"Mat-khau-rieng-2026", bcrypt.gensalt(CHOSEN_PASSWORD_ROUNDS))
    generated = bcrypt.hashpw(b"AbCd-EfGh-IjKl", bcrypt.gensalt(GENERATED_PASSWORD_ROUNDS))
    work: list[int] = []
    real = bcrypt.checkpw

    def counted(secret: bytes, stored: bytes) -> bool:
        work.append(int(stored[4:6]))  # $2b$<cost>$
        return real(secret, stored)

    monkeypatch.setattr(auth.bcrypt, "checkpw", counted)
    for password, stored in [("sai", None), ("sai", chosen), ("sai", generated), ("Mat-khau-rieng-2026", chosen),
                             ("x" * 100, chosen), ("AbCd-EfGh-IjKl", generated)]:  # fmt: skip
        work.clear()
        auth.check_password(password, stored)
        assert max(work) == CHOSEN_PASSWORD_ROUNDS and len([c for c in work if c == max(work)]) == 1, work


def test_a_new_password_too_long_for_bcrypt_is_refused_with_a_reason(tmp_path: Path) -> None:
    from hub.directory.db import Directory

    url = f"sqlite:///{tmp_path / 'truongso.sqlite'}"
    directory = Directory(url)
    directory.ensure_schema()
    with directory.session() as s:
        set_password(s, "hocvien1", hash_password("Mat-khau-cu-2026", 4))
    directory.dispose()
    authenticator = auth.TruongSoAuthenticator(directory_url=url)
    change = authenticator.change_own_password
    assert run_coroutine(change("hocvien1", "Mat-khau-cu-2026", "Dài" * 30)) == "too_long"
    assert run_coroutine(change("hocvien1", "x" * 100, "Mat-khau-moi-2026!")) == "wrong_old"  # no 500
    assert run_coroutine(change("hocvien1", "Mat-khau-cu-2026", "Mat-khau-moi-2026!")) is None
