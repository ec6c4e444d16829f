"""Class day: before each timetabled session (`truongso classes sessions`) start the workspaces of the class's
learners, so the whole room logging in at 08:00 lands on running workspaces; after it, stop the idle ones; and
warn the admin, with the numbers, when a day's classes will not fit the machine.

A hub-managed service with no web pages and no port: it reads the timetable from the directory database and
acts through the hub's REST API with its own token (the scopes below), so JupyterHub's spawn limits, the
spawner's guarantees and the audit in the hub's log are the same as for a learner's own start.
"""

from __future__ import annotations

import sys
from typing import Any

from hub.services import ServiceSpec
from hub.settings import HubSettings

NAME = "classday"


def port_names(settings: HubSettings) -> list[str]:
    return []  # no web server


def hub_service(settings: HubSettings, secrets: Any) -> ServiceSpec:
    if not settings.prewarm_minutes:
        return ServiceSpec()
    return ServiceSpec(
        services=[
            {
                "name": NAME,
                "command": [sys.executable, "-m", f"hub.services.{NAME}"],
                "environment": {
                    "TRUONGSO_RUN_SETTINGS": str(settings.data_path / "run" / "settings.json"),
                    "TRUONGSO_DATA_DIR": str(settings.data_path),  # how `truongso down` finds this process
                },
                "display": False,
            }
        ],
        roles=[
            {
                "name": "classday-service",
                "description": "Start learners' workspaces before their class, stop idle ones after it",
                "scopes": ["list:users", "read:users", "read:users:activity", "read:servers", "servers"],
                "services": [NAME],
            }
        ],
    )
