"""The assignment exchange: releases, submissions and feedback kept by the hub, for every course.

nbgrader's stock exchange is a shared folder that trusts $JUPYTERHUB_USER; this one is a hub service that
trusts only the hub's answer about the caller's token. The nbgrader side is graders.exchange.
"""

from __future__ import annotations

from typing import Any

from hub.services import ServiceSpec, managed_service
from hub.settings import HubSettings

NAME = "exchange"


def exchange_url(settings: HubSettings) -> str:
    """Where workspaces reach the exchange: straight at the service, on the hub's address."""
    return f"http://{settings.hub_ip}:{settings.service_ports[NAME]}/services/{NAME}/"


def hub_service(settings: HubSettings, secrets: Any) -> ServiceSpec:
    return ServiceSpec(
        services=[managed_service(NAME, settings, display=False, for_workspaces=True)],
        roles=[
            {
                "name": "exchange-service",
                "description": "The exchange reads who is in which class and who teaches it",
                "scopes": ["read:users", "read:roles:users"],
                "services": [NAME],
            }
        ],
        server_token_scopes=[f"access:services!service={NAME}"],
        workspace_ports=[settings.service_ports[NAME]],
        workspace_env={"TRUONGSO_EXCHANGE_URL": exchange_url(settings)},
    )
