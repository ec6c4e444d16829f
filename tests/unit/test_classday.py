"""The class-day service's decisions (planner), its capacity check and its reading of the timetable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.directory.db import Directory
from hub.directory.models import ClassSession, Enrolment, EnrolmentRole, Person, SchoolClass
from hub.services.classday.capacity import assess
from hub.services.classday.planner import DueSession, Workspace, plan
from hub.services.classday.service import read_timetable, workspace_of

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội
PREWARM, GRACE = timedelta(minutes=10), timedelta(minutes=15)
G = 1 << 30


def session(sid: int, learners: tuple[str, ...], start: datetime = T0, hours: float = 3) -> DueSession:
    return DueSession(sid, f"K{sid}", start, start + timedelta(hours=hours), learners)


def idle(minutes_ago: float, now: datetime) -> Workspace:
    return Workspace(True, None, now - timedelta(minutes=minutes_ago))


def test_learners_are_started_in_the_prewarm_window_only() -> None:
    s = session(1, ("an", "binh", "chi"))
    users = {"an": None, "binh": idle(1, T0), "chi": None}
    assert plan(T0 - timedelta(minutes=11), [s], users, set(), PREWARM, GRACE).start == []
    todo = plan(T0 - timedelta(minutes=10), [s], users, set(), PREWARM, GRACE)
    assert todo.start == [(s.key, "an"), (s.key, "chi")] and todo.stop == []  # binh's is running already
    # just after the start a learner not yet started is (a hub restarted at 08:05); later in the session nobody
    assert plan(T0 + timedelta(minutes=14), [s], users, set(), PREWARM, GRACE).start == [(s.key, "an"), (s.key, "chi")]
    assert plan(T0 + timedelta(minutes=15), [s], users, set(), PREWARM, GRACE).start == []
    assert plan(T0 + timedelta(hours=3), [s], users, set(), PREWARM, GRACE).start == []


def test_a_learner_is_started_once_per_session_and_unknown_ones_are_reported() -> None:
    s = DueSession(1, "K1", T0, T0 + timedelta(hours=3), ("an", "binh", "moi", "doi"), frozenset({"doi"}))
    users = {"an": None, "binh": None, "doi": None}  # "moi" has never logged in: the hub does not know them
    todo = plan(T0, [s], users, {(s.key, "an")}, PREWARM, GRACE)
    assert todo.start == [(s.key, "binh")]  # an stopped theirs after we started it: not again; doi must change password
    assert todo.unknown == {1: ["moi", "doi"]}
    # the same id for a new session (SQLite reuses a deleted last row's id): a new session, started again
    again = DueSession(1, "K1", T0 + timedelta(days=1), T0 + timedelta(days=1, hours=3), s.learners, s.blocked)
    assert (again.key, "an") in plan(again.starts_at, [again], users, {(s.key, "an")}, PREWARM, GRACE).start


def test_after_the_session_only_idle_workspaces_stop() -> None:
    s = session(1, ("an", "binh", "chi", "dung"))
    now = s.ends_at + GRACE
    users = {
        "an": idle(16, now),  # idle since before the grace period: stopped
        "binh": idle(2, now),  # still working: left for the idle culler
        "chi": None,
        "dung": Workspace(False, "spawn", None),  # starting: never stopped mid-start
    }
    assert plan(now - timedelta(seconds=1), [s], users, set(), PREWARM, GRACE).stop == []
    assert plan(now, [s], users, set(), PREWARM, GRACE).stop == ["an"]
    assert plan(now + timedelta(hours=1), [s], users, set(), PREWARM, GRACE).stop == []  # window passed


def test_a_workspace_opened_after_the_session_is_the_learners_own() -> None:
    """After the session a learner opens their workspace again (homework): it is not the session's idle one, even
    before it reports any activity; one started during the session and idle since is."""
    s = session(1, ("an", "binh", "chi"))
    now = s.ends_at + GRACE
    users = {
        "an": Workspace(True, None, None, now - timedelta(seconds=5)),  # just opened: no activity reported yet
        "binh": Workspace(True, None, s.ends_at - timedelta(hours=1), now - timedelta(minutes=1)),  # the same
        "chi": Workspace(True, None, None, s.starts_at),  # pre-warmed for the session, never used
    }
    assert plan(now, [s], users, set(), PREWARM, GRACE).stop == ["chi"]


def test_a_learner_needed_by_the_next_session_is_not_stopped() -> None:
    morning = session(1, ("an", "binh"), T0, hours=3)
    afternoon = session(2, ("an",), T0 + timedelta(hours=3, minutes=5), hours=3)
    now = morning.ends_at + GRACE
    users = {"an": idle(30, now), "binh": idle(30, now)}
    todo = plan(now, [morning, afternoon], users, set(), PREWARM, GRACE)
    assert todo.stop == ["binh"]


def test_workspace_of_reads_the_hub_model() -> None:
    assert workspace_of({"servers": {}, "pending": None}) is None
    assert workspace_of({"servers": {}, "pending": "spawn"}) == Workspace(False, "spawn", None)
    ws = workspace_of({"servers": {"": {"ready": True, "pending": None, "last_activity": "2026-12-07T01:02:03Z",
                                        "started": "2026-12-07T00:59:00.123456Z"}}})  # fmt: skip
    assert ws == Workspace(True, None, datetime(2026, 12, 7, 1, 2, 3, tzinfo=UTC),
                           datetime(2026, 12, 7, 0, 59, 0, 123456, tzinfo=UTC))  # fmt: skip


def test_capacity_fits_warns_on_overcommit_and_refuses_when_idle_does_not_fit() -> None:
    learners = {f"ws-{i}" for i in range(60)}
    fits = assess(learners, "256M", "300M", 24 * G, {})
    assert fits.fits_idle and fits.fits_limit and fits.message(_what()) is None
    small = assess(set(list(learners)[:5]), "1G", "300M", 24 * G, {})
    assert small.fits_limit and small.message(_what()) is None

    over = assess(learners, "2G", "300M", 24 * G, {})  # 60 x 2G = 120G on 24G: overcommitted, idle fits
    warning = over.message(_what())
    assert over.fits_idle and not over.fits_limit
    assert "60 học viên × giới hạn 2G = 120G" in warning.vi and "60 learners × 2G limit = 120G" in warning.en
    assert "lớp K01" in warning.vi and "class K01" in warning.en and "ước lượng" in warning.vi

    # measured: 5 running workspaces of these learners use 500M each; someone else's uses 20G
    running = {f"ws-{i}": 500 << 20 for i in range(5)} | {"other": 20 * G}
    short = assess(learners, "2G", "300M", 24 * G, running)
    assert short.idle_each == 500 << 20 and short.measured_on == 6
    assert not short.fits_idle
    text = short.message(_what())
    assert text.vi.startswith("THIẾU BỘ NHỚ") and "60 học viên × 500M" in text.vi and "29.3G" in text.vi


def _what():
    from graders.text import Text

    return Text("lớp K01", "class K01")


@pytest.fixture
def directory(tmp_path: Path) -> Directory:
    d = Directory(f"sqlite:///{tmp_path}/d.sqlite")
    d.ensure_schema()
    with d.session() as db:
        db.add_all([SchoolClass(name="K01"), SchoolClass(name="K02")])
        for name, cls, role, must_change in [
            ("an", "K01", EnrolmentRole.learner, False),
            ("binh", "K01", EnrolmentRole.learner, True),  # has not chosen a password: no workspace yet
            ("gv", "K01", EnrolmentRole.instructor, False),
            ("chi", "K02", EnrolmentRole.learner, False),
        ]:
            db.add(Person(username=name, full_name=name, must_change_password=must_change))
            db.add(Enrolment(class_name=cls, username=name, role=role))
        db.add(ClassSession(class_name="K01", starts_at=T0, ends_at=T0 + timedelta(hours=3)))
        db.add(
            ClassSession(class_name="K02", starts_at=T0 + timedelta(days=2), ends_at=T0 + timedelta(days=2, hours=3))
        )
    yield d
    d.dispose()


def test_the_timetable_gives_each_session_its_learners_who_can_have_a_workspace(directory: Directory) -> None:
    due = read_timetable(directory, T0 - timedelta(minutes=5), timedelta(hours=24), timedelta(hours=1))
    assert [(s.class_name, s.learners, s.blocked) for s in due] == [("K01", ("an", "binh"), {"binh"})]
    assert due[0].starts_at == T0 and due[0].starts_at.tzinfo is not None
    later = read_timetable(directory, T0 + timedelta(days=2), timedelta(hours=1), timedelta(hours=1))
    assert [(s.class_name, s.learners) for s in later] == [("K02", ("chi",))]


def test_the_service_runs_only_when_prewarming_is_on(tmp_path: Path) -> None:
    from hub.services.classday import hub_service
    from hub.settings import HubSettings

    on = hub_service(HubSettings(data_dir=str(tmp_path)), None)
    (service,) = on.services
    assert service["command"][-1] == "hub.services.classday" and "url" not in service  # no port, no pages
    (role,) = on.roles
    assert set(role["scopes"]) == {"list:users", "read:users", "read:users:activity", "read:servers", "servers"}
    assert hub_service(HubSettings(data_dir=str(tmp_path), prewarm_minutes=0), None).services == []
