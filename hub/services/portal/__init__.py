"""The portal: "my courses" for learners and instructors — deadlines, progress, sandboxed grading.

A hub service with OAuth login (HubOAuthenticated); who may see or do what comes from the hub, exactly
as in the exchange (hub.coursework.access).
"""

from __future__ import annotations

from typing import Any

from hub.services import ServiceSpec, managed_service
from hub.settings import HubSettings

NAME = "portal"


def hub_service(settings: HubSettings, secrets: Any) -> ServiceSpec:
    return ServiceSpec(
        services=[managed_service(NAME, settings, display=True, info={"vi": "Khoá học của tôi", "en": "My courses"})],
        roles=[
            {
                "name": "portal-service",
                "description": "The portal reads who is in which class and who teaches it",
                "scopes": ["read:users", "read:roles:users"],
                "services": [NAME],
            }
        ],
    )
