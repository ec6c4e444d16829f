"""The apply_* functions on a bare traitlets Config: what the hub will be told, without starting it."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from hub.configure import apply_all, apply_auth, apply_local_spawner, apply_network, apply_services
from hub.keys import HubSecrets
from hub.settings import HubSettings, SettingsError


@pytest.fixture
def settings(tmp_path: Path) -> HubSettings:
    from hub.services import port_names

    settings = HubSettings.create(
        {
            "data_dir": str(tmp_path),
            "port": 8123,
            "hub_port": 8124,
            "proxy_api_port": 8125,
            "spawner": "local",
        },
        "test",
    )
    settings.service_ports = {name: 9100 + i for i, name in enumerate(port_names(settings))}
    return settings


@pytest.fixture
def secrets(tmp_path: Path) -> HubSecrets:
    return HubSecrets(tmp_path / "cookie", "proxy-token-" + "x" * 32, "api-token-" + "y" * 32)


def test_network_binds_public_proxy_and_private_hub(settings: HubSettings, secrets: HubSecrets) -> None:
    c = Config()
    apply_network(settings, secrets, c)
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8123/"
    assert c.JupyterHub.hub_bind_url == "http://127.0.0.1:8124"
    assert c.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:8125"
    assert c.ConfigurableHTTPProxy.auth_token == secrets.proxy_auth_token


def test_tls_ends_at_the_proxy_and_plain_http_is_redirected(settings: HubSettings, secrets, tmp_path) -> None:
    (tmp_path / "c.pem").write_text("cert")
    (tmp_path / "k.pem").write_text("key")
    settings.ssl_cert, settings.ssl_key = str(tmp_path / "c.pem"), str(tmp_path / "k.pem")
    settings.http_redirect_port = 8080
    c = Config()
    apply_network(settings, secrets, c)
    assert c.JupyterHub.bind_url == "https://127.0.0.1:8123/" and settings.public_url.startswith("https://")
    assert c.JupyterHub.hub_bind_url == "http://127.0.0.1:8124"  # loopback, unchanged
    assert (c.JupyterHub.ssl_cert, c.JupyterHub.ssl_key) == (settings.ssl_cert, settings.ssl_key)
    assert c.ConfigurableHTTPProxy.command[1:] == ["--redirect-port", "8080", "--redirect-to", "8123"]
    assert c.JupyterHub.tornado_settings["headers"]["Strict-Transport-Security"].startswith("max-age=")
    with pytest.raises(Exception, match="cannot read"):
        settings.ssl_key = str(tmp_path / "missing.pem")


def test_auth_uses_directory_and_lockout(settings: HubSettings) -> None:
    c = Config()
    apply_auth(settings, c)
    assert c.JupyterHub.authenticator_class == "hub.auth.TruongSoAuthenticator"
    assert c.TruongSoAuthenticator.directory_url == settings.db_url
    assert c.TruongSoAuthenticator.allowed_failed_logins == 5
    assert c.TruongSoAuthenticator.max_failures_per_address == 100  # a class behind one NAT is not locked out
    assert c.TruongSoAuthenticator.admin_users == {"admin"}
    assert "enable_signup" not in c.TruongSoAuthenticator  # the class default (False) decides


def test_local_spawner_keeps_workspaces_in_the_data_dir(settings: HubSettings) -> None:
    c = Config()
    apply_local_spawner(settings, c)
    assert c.JupyterHub.spawner_class.endswith("SimpleLocalProcessSpawner")
    assert c.SimpleLocalProcessSpawner.home_dir_template == str(settings.data_path / "workspaces" / "{username}")
    assert Path(c.Spawner.cmd[0]).name == "jupyterhub-singleuser"


def test_idle_culler_service_has_only_the_scopes_it_needs(settings: HubSettings, secrets: HubSecrets) -> None:
    c = Config()
    apply_services(settings, secrets, c)
    culler = next(r for r in c.JupyterHub.load_roles if r["name"] == "idle-culler")
    assert set(culler["scopes"]) == {"list:users", "read:users:activity", "read:servers", "delete:servers"}
    settings.idle_timeout_seconds = 0
    c = Config()
    apply_services(settings, secrets, c)
    assert "idle-culler" not in [s["name"] for s in c.JupyterHub.services]


def test_every_process_the_hub_starts_is_marked_as_this_data_dirs_service(settings, secrets) -> None:
    """`truongso down` and the hub's exit find services by these two variables (hub.processes); the idle culler,
    a third-party package, once had neither and outlived its hubs."""
    settings.idle_timeout_seconds = 600
    c = Config()
    apply_services(settings, secrets, c)
    managed = [s for s in c.JupyterHub.services if "command" in s]
    assert {"idle-culler", "portal", "exchange"} <= {s["name"] for s in managed}
    for service in managed:
        assert service["environment"]["TRUONGSO_DATA_DIR"] == str(settings.data_path), service["name"]
        assert service["environment"]["TRUONGSO_SERVICE"] == service["name"]
    apply_local_spawner(settings, c)
    assert "TRUONGSO_SERVICE" not in c.Spawner.environment  # local workspaces outlive a hub stop: not services


def test_apply_all_sets_databases_and_templates(settings: HubSettings, secrets: HubSecrets) -> None:
    c = Config()
    apply_all(settings, secrets, c)
    assert c.JupyterHub.db_url == f"sqlite:///{settings.data_path / 'jupyterhub.sqlite'}"
    assert Path(c.JupyterHub.template_paths[0], "login.html").is_file()
    assert c.JupyterHub.cookie_secret_file == str(secrets.cookie_secret_file)


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"spawner": "kubernetes"}, "spawner"),
        ({"login_max_failures": -1}, "cannot be negative"),
        ({"login_max_failures_per_address": -5}, "cannot be negative"),
        ({"ldap_url": "http://ldap.bo.gov.vn"}, "ldap://host"),
        ({"ldap_url": "ldaps://"}, "ldap://host"),
        ({"no_such_setting": 1}, "unknown setting"),
        ({"port": "eighty"}, "port"),
    ],
)
def test_bad_settings_are_refused_with_their_name(values: dict, fragment: str) -> None:
    with pytest.raises(SettingsError, match=fragment):
        HubSettings.create(values, "truongso.toml")


def test_toml_file_and_flags(tmp_path: Path) -> None:
    (tmp_path / "truongso.toml").write_text('port = 9000\nmem_limit = "1G"\n', encoding="utf-8")
    settings = HubSettings.load(tmp_path, {"port": 9001})
    assert settings.port == 9001 and settings.mem_limit == "1G"
    (tmp_path / "truongso.toml").write_text("port = [", encoding="utf-8")
    with pytest.raises(SettingsError, match="not valid TOML"):
        HubSettings.load(tmp_path, {})


def test_run_file_round_trip(settings: HubSettings) -> None:
    settings.write_run_file()
    again = HubSettings.from_run_file(settings.data_path)
    assert again.to_dict() == settings.to_dict()


def test_readme_documents_every_setting(repo: Path) -> None:
    readme = (repo / "README.md").read_text(encoding="utf-8")
    undocumented = [n for n in HubSettings.class_trait_names(config=True) if f"| `{n}` |" not in readme]
    assert undocumented == []


def test_workspaces_get_the_exchange_and_services_their_ports(settings: HubSettings, secrets: HubSecrets) -> None:
    c = Config()
    apply_all(settings, secrets, c)
    env = c.Spawner.environment
    assert env["TRUONGSO_DATA_DIR"] == str(settings.data_path)  # local workspaces: found by `truongso down`
    assert env["TRUONGSO_EXCHANGE_URL"] == f"http://127.0.0.1:{settings.service_ports['exchange']}/services/exchange/"
    assert "access:services!service=exchange" in c.Spawner.server_token_scopes
    names = {s["name"] for s in c.JupyterHub.services}
    assert {"exchange", "portal", "phan-tich-du-lieu", "ky-nang-so"} <= names
    formgrader = next(s for s in c.JupyterHub.services if s["name"] == "phan-tich-du-lieu")
    assert "--ServerApp.terminals_enabled=False" in formgrader["command"]
    assert formgrader["environment"]["JUPYTERHUB_DEFAULT_URL"] == "/formgrader"
