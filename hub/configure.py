"""Settings in, JupyterHub configuration out: small set-only functions, unit-tested on a bare Config."""

from __future__ import annotations

import sys
from pathlib import Path

from traitlets.config import Config

from hub.auth.landing import landing_url
from hub.directory.accounts import ADMIN_USERNAME
from hub.keys import HubSecrets
from hub.processes import DATA_DIR_ENV, SERVICE_ENV
from hub.settings import HubSettings

TEMPLATES = Path(__file__).parent / "auth" / "templates"
WORKSPACE_MODULES = Path(__file__).resolve().parents[1] / "images" / "workspace"
HSTS = "max-age=31536000"  # a year: browsers then never try this host over plain HTTP


def apply_network(settings: HubSettings, secrets: HubSecrets, c: Config) -> None:
    c.JupyterHub.bind_url = f"{settings.scheme}://{settings.ip}:{settings.port}{settings.base_url}"
    c.JupyterHub.hub_bind_url = f"http://{settings.hub_ip}:{settings.hub_port}"
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
    c.ConfigurableHTTPProxy.command = [settings.proxy_command]
    if settings.ssl_cert:  # TLS ends at the proxy; the hub's API and the services stay on loopback HTTP
        c.JupyterHub.ssl_cert = settings.ssl_cert
        c.JupyterHub.ssl_key = settings.ssl_key
        c.JupyterHub.tornado_settings = {"headers": {"Strict-Transport-Security": HSTS}}
        if settings.http_redirect_port:
            redirect = ["--redirect-port", str(settings.http_redirect_port), "--redirect-to", str(settings.port)]
            c.ConfigurableHTTPProxy.command = [settings.proxy_command, *redirect]
    c.ConfigurableHTTPProxy.auth_token = secrets.proxy_auth_token
    c.ConfigurableHTTPProxy.pid_file = str(settings.data_path / "run" / "proxy.pid")
    # A hub ended (SIGTERM, SIGINT, systemd) ends its proxy too: nothing of a stopped hub keeps running but the
    # learners' workspaces. A proxy left by a crash (kill -9) is found by its pid file and replaced at the next start.
    c.JupyterHub.cleanup_proxy = True
    c.JupyterHub.pid_file = str(settings.data_path / "run" / "hub.pid")


def apply_storage(settings: HubSettings, secrets: HubSecrets, c: Config) -> None:
    c.JupyterHub.db_url = settings.hub_db_url
    c.JupyterHub.cookie_secret_file = str(secrets.cookie_secret_file)


def apply_auth(settings: HubSettings, c: Config) -> None:
    c.JupyterHub.authenticator_class = "hub.auth.TruongSoAuthenticator"
    c.TruongSoAuthenticator.directory_url = settings.db_url
    c.TruongSoAuthenticator.admin_users = {ADMIN_USERNAME}
    c.TruongSoAuthenticator.allowed_failed_logins = settings.login_max_failures
    c.TruongSoAuthenticator.seconds_before_next_try = settings.login_lockout_seconds
    c.TruongSoAuthenticator.max_failures_per_address = settings.login_max_failures_per_address
    if settings.ldap_url:  # ministry sign-in (hub/auth/ldap.py)
        c.TruongSoAuthenticator.ldap_url = settings.ldap_url
        c.TruongSoAuthenticator.ldap_bind_dn_template = list(settings.ldap_bind_dn_template)
        c.TruongSoAuthenticator.ldap_allowed_groups = list(settings.ldap_allowed_groups)
    if settings.oidc_issuer:  # ministry sign-in (hub/auth/oidc.py)
        from pathlib import Path

        c.TruongSoAuthenticator.oidc_issuer = settings.oidc_issuer
        c.TruongSoAuthenticator.oidc_client_id = settings.oidc_client_id
        secret = settings.oidc_client_secret_file
        c.TruongSoAuthenticator.oidc_client_secret = Path(secret).read_text().strip() if secret else ""
        c.TruongSoAuthenticator.oidc_username_claim = settings.oidc_username_claim
    if settings.ldap_url or settings.oidc_issuer:
        c.TruongSoAuthenticator.local_passwords = settings.local_passwords
    c.TruongSoAuthenticator.minimum_password_length = settings.min_password_length
    c.TruongSoAuthenticator.check_common_password = True
    c.TruongSoAuthenticator.auth_refresh_age = settings.auth_refresh_seconds
    c.JupyterHub.default_url = landing_url(settings.base_url)  # instructors and admins: the portal


def apply_pages(settings: HubSettings, c: Config) -> None:
    c.JupyterHub.template_paths = [str(TEMPLATES)]
    from hub.i18n import template_vars

    # t("…") and _("…") in our templates: the catalog's language first, English beside it (hub/i18n)
    c.JupyterHub.template_vars = {"truongso_demo": settings.demo, **template_vars(zone=settings.timezone)}


def apply_spawner(settings: HubSettings, c: Config) -> None:
    from hub.spawner import refuse_user_options

    c.Spawner.apply_user_options = refuse_user_options
    # A learner's own ~/.jupyter (or ~/.config/jupyter) config must not change their server's behaviour
    # (e.g. turn off XSRF checks, load another exchange): jupyterhub-singleuser then reads no config from $HOME.
    c.Spawner.disable_user_config = True
    c.Spawner.default_url = "/lab"
    c.Spawner.start_timeout = 120
    c.JupyterHub.concurrent_spawn_limit = settings.concurrent_spawn_limit
    c.Spawner.http_timeout = 90
    if settings.spawner == "local":
        apply_local_spawner(settings, c)
    elif settings.spawner == "swarm":
        from hub.cluster.registry import pinned_image
        from hub.swarm.spawner import apply_swarm_spawner

        apply_swarm_spawner(settings, c, pinned_image(settings, "workspace"))
    else:
        from hub.spawner import apply_docker_spawner

        apply_docker_spawner(settings, c)


def apply_local_spawner(settings: HubSettings, c: Config) -> None:
    """Workspaces as processes of this machine: NOT isolated from each other, for trying Trường Số out."""
    c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
    c.SimpleLocalProcessSpawner.home_dir_template = str(settings.data_path / "workspaces" / "{username}")
    c.Spawner.cmd = [str(Path(sys.executable).with_name("jupyterhub-singleuser"))]
    # The hub may run as root here; Jupyter refuses root unless told, and these processes are not isolated anyway.
    # The portal's one-click pages, as in the workspace image (images/workspace/truongso_oneclick.py).
    c.Spawner.args = ["--ServerApp.allow_root=True", "--ServerApp.jpserver_extensions=truongso_oneclick=True"]
    c.JupyterHub.cleanup_servers = True  # child processes: stop them with the hub rather than orphan them
    c.Spawner.environment = {
        "TRUONGSO_DATA_DIR": str(settings.data_path),  # how `truongso down` finds them
        "PYTHONNOUSERSITE": "1",  # no ~/.local packages in the server (as in Docker workspaces)
        "TZ": settings.timezone,  # the school's clock, as in Docker workspaces
        "PYTHONPATH": str(WORKSPACE_MODULES),  # truongso_oneclick, copied into the image's site-packages there
    }


def cull_every(idle_timeout: int) -> int:
    """How often the idle culler looks: every minute, or twice per timeout when that is shorter, so a workspace
    is stopped between 1x and 1.5x its idle limit."""
    return max(5, min(60, idle_timeout // 2))


# What a workspace's own token ($JUPYTERHUB_API_TOKEN) may do, before services add theirs.
SERVER_TOKEN_SCOPES = ["access:servers!server", "users:activity!user"]


def apply_services(settings: HubSettings, secrets: HubSecrets, c: Config) -> None:
    from hub.services import collect_specs

    services = [
        {
            # The CLI's door into a running hub (e.g. to stop a user's server); token kept in data/secrets.
            "name": "truongso",
            "api_token": secrets.api_token,
            "display": False,
        }
    ]
    roles = [
        {
            "name": "truongso-cli",
            "description": "Trường Số command line",
            "scopes": ["admin:users", "admin:servers", "read:groups", "list:groups"],
            "services": ["truongso"],
        }
    ]
    if secrets.metrics_token:  # Prometheus's scrape token (README: "Metrics"); read:metrics and nothing else
        services.append({"name": "prometheus", "api_token": secrets.metrics_token, "display": False})
        roles.append(
            {
                "name": "prometheus",
                "description": "Read JupyterHub's and Trường Số's metrics",
                "scopes": ["read:metrics"],
                "services": ["prometheus"],
            }
        )
    if settings.idle_timeout_seconds:
        services.append(
            {
                "name": "idle-culler",
                "command": [
                    sys.executable,
                    "-m",
                    "jupyterhub_idle_culler",
                    f"--timeout={settings.idle_timeout_seconds}",
                    f"--cull-every={cull_every(settings.idle_timeout_seconds)}",
                ],
                "display": False,
            }
        )
        roles.append(
            {
                "name": "idle-culler",
                "description": "Stop idle workspaces",
                "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
                "services": ["idle-culler"],
            }
        )
    token_scopes = list(SERVER_TOKEN_SCOPES)
    environment: dict[str, str] = {}
    user_scopes: list[str] = []
    for spec in collect_specs(settings, secrets):
        services.extend(spec.services)
        roles.extend(spec.roles)
        token_scopes.extend(s for s in spec.server_token_scopes if s not in token_scopes)
        environment.update(spec.workspace_env)
        user_scopes.extend(s for s in spec.user_scopes if s not in user_scopes)
    for service in services:
        if "command" in service:  # managed: how `truongso down` and the hub's exit find it (hub.processes)
            service["environment"] = {
                **service.get("environment", {}),
                DATA_DIR_ENV: str(settings.data_path),
                SERVICE_ENV: service["name"],
            }
    c.JupyterHub.extra_user_scopes = user_scopes
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = roles
    c.Spawner.server_token_scopes = token_scopes
    existing = c.Spawner.environment if "environment" in c.Spawner else {}
    c.Spawner.environment = {**existing, **environment}


def workspace_ports(settings: HubSettings, secrets: HubSecrets) -> list[int]:
    """Host ports workspaces may connect to: the hub's API and what services ask for."""
    from hub.services import collect_specs

    ports = [settings.hub_port]
    for spec in collect_specs(settings, secrets):
        ports.extend(p for p in spec.workspace_ports if p not in ports)
    return ports


def apply_logging(settings: HubSettings, c: Config) -> None:
    """The hub's log also in rotating files under <data dir>/logs (the console stays: the journal under systemd)."""
    from hub.logs import rotating_handler_config

    c.JupyterHub.logging_config = {
        "handlers": {"file": rotating_handler_config(settings.data_path, "jupyterhub")},
        "formatters": {"file": {"format": "[%(levelname)1.1s %(asctime)s %(name)s %(module)s:%(lineno)d] %(message)s"}},
        "loggers": {"JupyterHub": {"handlers": ["console", "file"]}},
    }


def apply_all(settings: HubSettings, secrets: HubSecrets, c: Config) -> None:
    apply_logging(settings, c)
    apply_network(settings, secrets, c)
    apply_storage(settings, secrets, c)
    apply_auth(settings, c)
    apply_pages(settings, c)
    apply_spawner(settings, c)
    apply_services(settings, secrets, c)
