"""The certificate service: public verification of certificates, learners' downloads, admins' issuing.

Runs as a JupyterHub-managed service under `<base_url>services/certificates/` (see handlers.py for the
routes). Public pages need no login; the others use the hub's OAuth, and any logged-in user must be able
to reach the service (scope `access:services!service=certificates`).
"""

from __future__ import annotations

from typing import Any

from hub.services import ServiceSpec, managed_service
from hub.settings import HubSettings

NAME = "certificates"
ACCESS_SCOPE = f"access:services!service={NAME}"


def hub_service(settings: HubSettings, secrets: Any) -> ServiceSpec:
    # No roles: the service calls no hub API beyond identifying the users who log in to it.
    spec = ServiceSpec(
        services=[
            managed_service(
                NAME,
                settings,
                display=True,
                info={"vi": "Giấy chứng nhận", "en": "Certificates"},
            )
        ],
    )
    # Learners reach their own certificates through the hub's OAuth; the registry grants that to every user
    # once ServiceSpec has a field for scopes of the `user` role (see the report of issue #7).
    if "user_scopes" in getattr(ServiceSpec, "__dataclass_fields__", {}):
        spec.user_scopes = [ACCESS_SCOPE]  # type: ignore[attr-defined]
    return spec
