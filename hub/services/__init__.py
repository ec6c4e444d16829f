"""Hub-managed services: each is a sub-package `hub/services/<name>/` (`__main__.py`, `app.py`,
`handlers.py`) whose `__init__.py` defines `hub_service(settings, secrets) -> ServiceSpec`.

`hub.configure.apply_services` collects the specs of the packages listed in SERVICE_PACKAGES, so a new
service is one new package and one line here. Ports are chosen by `truongso up` (settings.service_ports).
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from typing import Any

from hub.settings import HubSettings

SERVICE_PACKAGES = ("exchange", "formgrader", "portal", "certificates", "classday")


@dataclass
class ServiceSpec:
    """What one service adds to JupyterHub's configuration."""

    services: list[dict[str, Any]] = field(default_factory=list)  # entries of c.JupyterHub.services
    roles: list[dict[str, Any]] = field(default_factory=list)  # entries of c.JupyterHub.load_roles
    # scopes every workspace's own token needs for this service (e.g. the exchange)
    server_token_scopes: list[str] = field(default_factory=list)
    # host ports workspaces may open (the firewall lets them through)
    workspace_ports: list[int] = field(default_factory=list)
    # environment variables every workspace gets (e.g. where the exchange is)
    workspace_env: dict[str, str] = field(default_factory=dict)
    # scopes every user holds (JupyterHub.extra_user_scopes), e.g. to log in to a service
    user_scopes: list[str] = field(default_factory=list)


def service_names() -> list[str]:
    """The service packages that exist in this checkout."""
    names = []
    for name in SERVICE_PACKAGES:
        try:
            module = importlib.import_module(f"hub.services.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"hub.services.{name}":
                raise
            continue
        if hasattr(module, "hub_service"):
            names.append(name)
    return names


def port_names(settings: HubSettings) -> list[str]:
    """Every port the services need: one per package, unless it names its own (`port_names(settings)`)."""
    names = []
    for name in service_names():
        module = importlib.import_module(f"hub.services.{name}")
        names.extend(module.port_names(settings) if hasattr(module, "port_names") else [name])
    return names


def load_service_settings() -> HubSettings:
    """A service's view of the hub settings: the run file `truongso up` wrote (path in the environment
    JupyterHub gives the service)."""
    import os
    from pathlib import Path

    path = Path(os.environ["TRUONGSO_RUN_SETTINGS"])
    return HubSettings.from_run_file(path.parent.parent)


def collect_specs(settings: HubSettings, secrets: Any) -> list[ServiceSpec]:
    return [importlib.import_module(f"hub.services.{name}").hub_service(settings, secrets) for name in service_names()]


def managed_service(
    name: str, settings: HubSettings, *, display: bool = True, for_workspaces: bool = False, **extra: Any
) -> dict[str, Any]:
    """A JupyterHub-managed service running `python -m hub.services.<name>` on its port: on loopback (the
    proxy reaches it there), or on the hub's address when workspaces must reach it directly."""
    port = settings.service_ports[name]
    host = settings.hub_ip if for_workspaces else "127.0.0.1"
    return {
        "name": name,
        "url": f"http://{host}:{port}",
        "command": [sys.executable, "-m", f"hub.services.{name}"],
        "environment": {
            "TRUONGSO_RUN_SETTINGS": str(settings.data_path / "run" / "settings.json"),
            "TRUONGSO_DATA_DIR": str(settings.data_path),  # how `truongso down` finds this process
        },
        "display": display,
        "oauth_no_confirm": True,
        **extra,
    }
