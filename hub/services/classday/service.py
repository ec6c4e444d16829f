"""The class-day service process: every `prewarm_check_seconds`, read the timetable, ask the hub about the
learners' workspaces, start and stop what the planner says, check capacity, and write a status file.

Starts go through the hub's REST API `prewarm_parallel` at a time (at most half of `concurrent_spawn_limit`),
each awaited until its workspace is ready, so pre-warming a class of 60 never fills the hub's spawn queue and
learners logging in meanwhile still get a place in it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from graders.text import Text
from graders.timeutil import show, utcnow
from hub.blocking import run_blocking
from hub.directory.db import Directory
from hub.directory.models import Enrolment, EnrolmentRole, Person
from hub.services import load_service_settings
from hub.services.classday import capacity
from hub.services.classday.hubapi import HubApi, HubApiError
from hub.services.classday.planner import CLOSING_WINDOW, DueSession, Workspace, overlapping, plan
from hub.settings import HubSettings
from hub.spawner import container_name
from hub.timetable.queries import sessions_overlapping

log = logging.getLogger("truongso.classday")
CAPACITY_LOOKAHEAD = timedelta(hours=24)  # warn the admin this early about a session that will not fit
STATUS_FILE = Path("run") / "classday.json"
START_TIMEOUT = 180.0  # the hub's own start_timeout (120 s) plus the time it takes to say so


def read_timetable(directory: Directory, now: datetime, ahead: timedelta, behind: timedelta) -> list[DueSession]:
    """Sessions from `behind` ago to `ahead` from now, each with its class's learners."""
    with directory.session() as db:
        rows = sessions_overlapping(db, now - behind, now + ahead)
        classes = {row.class_name for row in rows}
        learners: dict[str, list[str]] = {name: [] for name in classes}
        blocked: set[str] = set()
        if classes:
            enrolled = db.execute(
                select(Enrolment.class_name, Enrolment.username, Person.must_change_password)
                .join(Person, Person.username == Enrolment.username)
                .where(Enrolment.class_name.in_(classes), Enrolment.role == EnrolmentRole.learner)
                .order_by(Enrolment.username)
            )
            for class_name, username, must_change_password in enrolled:
                learners[class_name].append(username)
                if must_change_password:
                    blocked.add(username)
        return [
            DueSession(
                row.id,
                row.class_name,
                row.starts_at,
                row.ends_at,
                tuple(learners[row.class_name]),
                frozenset(blocked & set(learners[row.class_name])),
            )
            for row in rows
        ]


def session_capacity(
    settings: HubSettings, session: DueSession, sessions: list[DueSession], running: dict[str, int], total: int
) -> tuple[dict[str, Any], Text | None]:
    """The capacity check of one session, counting every learner of the sessions at the same time: its figures
    (for the status file) and the warning for the admin, if any."""
    together = overlapping(session, sessions)
    names = {container_name(settings.docker_prefix, u) for s in together for u in s.learners}
    check = capacity.assess(names, settings.mem_limit, settings.workspace_idle_memory, total, running)
    when = show(session.starts_at, settings.timezone)
    what = Text(f"buổi học lớp {session.class_name} lúc {when}", f"class {session.class_name}'s session at {when}")
    others = ", ".join(sorted({s.class_name for s in together} - {session.class_name}))
    if others:
        what = Text(f"{what.vi} (cùng lúc với {others})", f"{what.en} (at the same time as {others})")
    warning = check.message(what)
    figures = {**asdict(check), "fits_idle": check.fits_idle, "fits_limit": check.fits_limit}
    if warning is not None:
        figures["warning"] = {"vi": warning.vi, "en": warning.en}
    return figures, warning


def measure(settings: HubSettings, docker: Any | None) -> tuple[dict[str, int], int]:
    """Memory of the running workspaces ({container: bytes}) and of the host."""
    if docker is None:
        return {}, capacity.host_memory(None)
    if settings.spawner == "swarm":  # workspaces run on the nodes: their memory is not measured from here
        return {}, capacity.cluster_memory(docker)
    return capacity.workspace_memory(docker, settings.docker_prefix), capacity.host_memory(docker)


def workspace_of(user: dict[str, Any]) -> Workspace | None:
    server = user.get("servers", {}).get("")
    if not server:
        return Workspace(False, "spawn", None) if user.get("pending") == "spawn" else None

    def moment(stamp: str | None) -> datetime | None:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None

    return Workspace(
        bool(server.get("ready")),
        server.get("pending"),
        moment(server.get("last_activity")),
        moment(server.get("started")),
    )


class ClassDay:
    def __init__(self, settings: HubSettings, hub: HubApi, directory: Directory, docker: Any | None) -> None:
        self.settings = settings
        self.hub = hub
        self.directory = directory
        self.docker = docker
        self.prewarm = timedelta(minutes=settings.prewarm_minutes)
        self.grace = timedelta(minutes=settings.prewarm_grace_minutes)
        self.starts = asyncio.Semaphore(max(1, min(settings.prewarm_parallel, settings.concurrent_spawn_limit // 2)))
        self.attempted: set[tuple[tuple, str]] = set()
        self.starting: dict[str, asyncio.Task] = {}
        self.warned: set[int] = set()  # sessions whose capacity was checked (once per session per run)
        self.status: dict[str, Any] = {"sessions": {}, "capacity": {}}

    async def tick(self, now: datetime | None = None) -> None:
        now = now or utcnow()
        ahead = max(self.prewarm, CAPACITY_LOOKAHEAD)
        sessions = await run_blocking(read_timetable, self.directory, now, ahead, self.grace + CLOSING_WINDOW)
        learners = sorted({learner for s in sessions for learner in s.learners})
        hub_users = await self.hub_workspaces(learners)
        todo = plan(now, sessions, hub_users, self.attempted, self.prewarm, self.grace)
        for session_key, username in todo.start:
            self.attempted.add((session_key, username))
            if username not in self.starting:
                self.starting[username] = asyncio.create_task(self.start(username))
        for username in todo.stop:
            await self.stop(username)
        await self.check_capacity(now, sessions)
        self.record(now, sessions, hub_users, todo.unknown)

    async def hub_workspaces(self, learners: list[str]) -> dict[str, Workspace | None]:
        found: dict[str, Workspace | None] = {}
        lookups = asyncio.Semaphore(8)

        async def one(username: str) -> None:
            async with lookups:
                user = await self.hub.user(username)
            if user is not None:
                found[username] = workspace_of(user)

        await asyncio.gather(*(one(u) for u in learners))
        return found

    async def start(self, username: str) -> None:
        try:
            async with self.starts:
                started = asyncio.get_running_loop().time()
                ready = await self.hub.start_and_wait(username, timeout=START_TIMEOUT)
                took = asyncio.get_running_loop().time() - started
            if ready:
                log.info("pre-warmed %s's workspace in %.1f s", username, took)
            else:
                log.warning("pre-warming %s's workspace failed (see the hub's log)", username)
        except HubApiError as exc:
            log.warning("pre-warming %s's workspace refused: %s", username, exc)
        finally:
            self.starting.pop(username, None)

    async def stop(self, username: str) -> None:
        try:
            await self.hub.stop(username)
            log.info("stopped %s's idle workspace after their session (files kept)", username)
        except HubApiError as exc:
            log.warning("could not stop %s's workspace: %s", username, exc)

    async def check_capacity(self, now: datetime, sessions: list[DueSession]) -> None:
        due = [s for s in sessions if s.id not in self.warned and s.ends_at > now]
        if not due:
            return
        running, total = await run_blocking(measure, self.settings, self.docker)
        for session in due:
            self.warned.add(session.id)
            figures, warning = session_capacity(self.settings, session, sessions, running, total)
            if warning is not None:
                log.warning("%s", warning)
            self.status["capacity"][str(session.id)] = figures

    def record(
        self, now: datetime, sessions: list[DueSession], hub_users: dict[str, Workspace | None], unknown: dict
    ) -> None:
        """run/classday.json: what the service saw last, for the admin (and the CLI)."""
        current = {}
        for session in sessions:
            running = sum(1 for u in session.learners if (w := hub_users.get(u)) is not None and w.ready)
            current[str(session.id)] = {
                "class": session.class_name,
                "starts_at": session.starts_at.isoformat(),
                "ends_at": session.ends_at.isoformat(),
                "learners": len(session.learners),
                "running": running,
                "not_started": sorted(unknown.get(session.id, [])),  # never logged in, or password to choose
            }
        self.status["sessions"] = current
        self.status["checked_at"] = now.isoformat()
        path = self.settings.data_path / STATUS_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.status, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(temporary, path)


async def run(settings: HubSettings) -> None:
    hub = HubApi(os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_API_TOKEN"])
    directory = Directory(settings.db_url)
    docker = None
    if settings.spawner != "local":
        import docker as docker_sdk

        docker = docker_sdk.from_env(timeout=30)
    service = ClassDay(settings, hub, directory, docker)
    log.info(
        "class day: pre-warming %d min before sessions, stopping idle ones %d min after, checking every %d s",
        settings.prewarm_minutes, settings.prewarm_grace_minutes, settings.prewarm_check_seconds,
    )  # fmt: skip
    while True:
        try:
            await service.tick()
        except Exception:  # one bad tick (database busy, hub restarting) must not end pre-warming for the day
            log.exception("class day check failed; trying again in %d s", settings.prewarm_check_seconds)
        await asyncio.sleep(settings.prewarm_check_seconds)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="[%(levelname)1.1s %(asctime)s classday] %(message)s")
    try:
        asyncio.run(run(load_service_settings()))
    except KeyboardInterrupt:  # the hub stops its services with SIGINT
        log.info("class day stopped")
