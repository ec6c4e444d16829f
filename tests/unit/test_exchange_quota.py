"""The exchange store's storage quota and attempt rate, on a real SQLite database with a clock we move."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.hostile_archives import NOTEBOOK, gzip_stream, member

from hub.coursework.store import SCHEMA_BRANCH, ExchangeStore, RateLimited, Refused, SubmitPolicy
from hub.directory.db import Directory, upgrade_schema
from hub.settings import HubSettings, SettingsError

COURSE, ASSIGNMENT, OTHER = "phan-tich-du-lieu", "01-python-co-ban", "02-pandas"
START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> ExchangeStore:
    directory = Directory(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade_schema(directory.engine, SCHEMA_BRANCH)
    store = ExchangeStore(directory, tmp_path / "blobs", clock=Clock())
    for assignment in (ASSIGNMENT, OTHER):
        store.release(COURSE, assignment, _archive(b""), ["bai.ipynb"], "gv", False, None)
    return store


def _archive(padding: bytes) -> bytes:
    return gzip_stream([member("bai.ipynb", NOTEBOOK), member("pad.bin", padding)])


def _submit(store: ExchangeStore, data: bytes, policy: SubmitPolicy, student: str = "an", assignment: str = ASSIGNMENT):
    return store.submit(COURSE, assignment, student, "K01", data, ["bai.ipynb"], policy)


def _blobs(store: ExchangeStore) -> list[Path]:
    return sorted(store.blobs.root.rglob("*.tar.gz"))


def test_storage_quota_counts_every_attempt_and_writes_nothing_when_refused(store: ExchangeStore) -> None:
    policy = SubmitPolicy(max_bytes_per_learner=100_000)
    first = _submit(store, _archive(os.urandom(40_000)), policy)
    _submit(store, _archive(os.urandom(40_000)), policy, assignment=OTHER)  # every assignment counts
    blobs = _blobs(store)
    with pytest.raises(Refused) as refused:
        _submit(store, _archive(os.urandom(40_000)), policy)
    assert refused.value.status == 413
    assert "hết dung lượng nộp bài" in refused.value.vi and "Your earlier submissions are all kept" in refused.value.en
    assert _blobs(store) == blobs  # checked before the blob was written
    assert store.submissions(COURSE, student="an")[0][0].id == first.id  # nothing deleted
    _submit(store, _archive(os.urandom(40_000)), policy, student="binh")  # someone else is not affected
    _submit(store, _archive(b""), policy)  # a small attempt still fits
    assert len(store.submissions(COURSE, student="an")) == 3


def test_attempts_per_hour_slide_with_the_clock(store: ExchangeStore) -> None:
    policy = SubmitPolicy(max_attempts_per_hour=3)
    clock: Clock = store.clock  # type: ignore[assignment]
    for minutes in (0, 20, 40):
        clock.now = START + timedelta(minutes=minutes)
        _submit(store, _archive(b""), policy)
    clock.now = START + timedelta(minutes=50)
    with pytest.raises(RateLimited) as limited:
        _submit(store, _archive(b""), policy)
    assert limited.value.status == 429
    assert limited.value.retry_after == 10 * 60 + 1  # the 9:00 attempt leaves the hour at 10:00
    assert "hãy nộp lại sau 11 phút" in limited.value.vi and "3 times in the last hour (at most 3)" in limited.value.en
    _submit(store, _archive(b""), policy, assignment=OTHER)  # per assignment
    _submit(store, _archive(b""), policy, student="binh")  # per learner
    clock.now = START + timedelta(hours=1, seconds=1)
    _submit(store, _archive(b""), policy)  # the first one has left the hour


def test_the_release_is_checked_before_the_quota(store: ExchangeStore) -> None:
    with pytest.raises(Refused) as refused:
        store.check_quota(COURSE, "99-khong-co", "an", 10**12, SubmitPolicy(max_bytes_per_learner=1))
    assert refused.value.status == 404


def test_limits_are_settings_with_help_and_no_negative_values() -> None:
    traits = HubSettings.class_traits(config=True)
    for name in ("exchange_quota_mb", "exchange_attempts_per_hour"):
        assert len(traits[name].help) > 80
    assert (HubSettings().exchange_quota_mb, HubSettings().exchange_attempts_per_hour) == (200, 20)
    with pytest.raises(SettingsError, match="cannot be negative"):
        HubSettings.create({"exchange_quota_mb": -1}, "truongso.toml")
