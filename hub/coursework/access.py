"""Who is calling and what they may do, from the hub's answer — never from the request.

The caller's token is checked by JupyterHub (HubAuth); their groups (classes) and roles
(`instructor-<class>`) are then read from the hub with the exchange's own token. Classes map to courses in
the directory (`classes.course_id`). A course's formgrader runs as a hub service named like the course: it
acts as an instructor of exactly that course.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from hub.blocking import run_blocking
from hub.directory.db import Directory
from hub.directory.models import SchoolClass

INSTRUCTOR_ROLE_PREFIX = "instructor-"


@dataclass
class Caller:
    name: str
    kind: str  # "user" or "service"
    admin: bool = False
    learner_classes: dict[str, str] = field(default_factory=dict)  # course_id -> class the learner is in
    instructor_courses: set[str] = field(default_factory=set)
    instructor_classes: set[str] = field(default_factory=set)

    def learns(self, course_id: str) -> bool:
        return course_id in self.learner_classes

    def teaches(self, course_id: str) -> bool:
        return self.admin or course_id in self.instructor_courses

    def sees(self, course_id: str) -> bool:
        return self.learns(course_id) or self.teaches(course_id)


class AccessResolver:
    def __init__(self, api_url: str, api_token: str, directory: Directory, courses: set[str], ttl: float = 15) -> None:
        self.api_url = api_url.rstrip("/")
        self.api_token = api_token
        self.directory = directory
        self.courses = courses
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, Caller]] = {}

    async def resolve(self, model: dict) -> Caller:
        key = (model.get("kind", "user"), model["name"])
        cached = self._cache.get(key)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        caller = await self._resolve(model)
        self._cache[key] = (time.monotonic(), caller)
        return caller

    async def _resolve(self, model: dict) -> Caller:
        name, kind = model["name"], model.get("kind", "user")
        if kind == "service":
            # only the hub's own configuration names services; a course formgrader is named like its course
            return Caller(name, kind, instructor_courses={name} & self.courses)
        user = await self._hub_user(name)
        class_course = await run_blocking(self._class_courses)
        caller = Caller(name, kind, admin=bool(user.get("admin")))
        for group in user.get("groups", []):
            course = class_course.get(group)
            if course in self.courses:
                caller.learner_classes.setdefault(course, group)
        by_lower = {c.lower(): c for c in class_course}
        for role in user.get("roles", []):
            if role.startswith(INSTRUCTOR_ROLE_PREFIX):
                class_name = by_lower.get(role[len(INSTRUCTOR_ROLE_PREFIX) :])
                if class_name and class_course.get(class_name) in self.courses:
                    caller.instructor_classes.add(class_name)
                    caller.instructor_courses.add(class_course[class_name])
        return caller

    async def _hub_user(self, name: str) -> dict:
        url = f"{self.api_url}/users/{quote(name, safe='')}"
        try:
            response = await AsyncHTTPClient().fetch(url, headers={"Authorization": f"token {self.api_token}"})
        except HTTPClientError as exc:
            if exc.code == 404:
                return {}
            raise
        return json.loads(response.body)

    def _class_courses(self) -> dict[str, str]:
        with self.directory.session() as session:
            return {name: course for name, course in session.query(SchoolClass.name, SchoolClass.course_id)}

    def classes_of_course(self, course_id: str) -> list[str]:
        with self.directory.session() as session:
            return [n for (n,) in session.query(SchoolClass.name).filter(SchoolClass.course_id == course_id)]
