"""Kubernetes on paper: Zero to JupyterHub values and our services' objects rendered from settings
(hub.kubernetes.values). Checked against the chart's own values schema (vendored); never installed on a cluster."""

from __future__ import annotations

import importlib.util
import json
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from traitlets.config import Config

from hub.configure import apply_auth, cull_every
from hub.keys import HubSecrets
from hub.kubernetes import values as k8s
from hub.kubernetes.values import KubernetesValuesError, extra_manifests, render_values, validate_values
from hub.settings import HubSettings
from hub.spawner import WORKSPACE_HOME, refuse_user_options

GiB, MiB = 1 << 30, 1 << 20
DIGEST = "sha256:" + "ab" * 32


def make_settings(tmp_path: Path, **changes: Any) -> HubSettings:
    values = {
        "data_dir": str(tmp_path),
        "db_url": "postgresql://truongso:pw@db.school/truongso",
        "hub_db_url": "postgresql://hub:pw@db.school:5432/jupyterhub",
        "base_url": "/truongso/",
        "mem_limit": "3G",
        "cpu_limit": 1.5,
        "idle_timeout_seconds": 1800,
        "workspace_disk_limit": "5G",
        "workspace_idle_memory": "400M",
        "concurrent_spawn_limit": 40,
        "registry": "10.0.0.5:5000",
        "timezone": "Asia/Bangkok",
    }
    values.update(changes)
    return HubSettings.create(values, "test")


@pytest.fixture
def settings(tmp_path: Path) -> HubSettings:
    return make_settings(tmp_path)


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_values_carry_the_settings(settings: HubSettings) -> None:
    values = render_values(settings)
    user = values["singleuser"]
    assert user["image"] == {"name": "10.0.0.5:5000/truongso/workspace", "tag": "latest", "pullPolicy": "IfNotPresent"}
    assert user["memory"] == {"limit": 3 * GiB, "guarantee": 400 * MiB}  # binary, as Docker reads 3G
    assert user["cpu"] == {"limit": 1.5, "guarantee": 0.15}
    assert user["storage"]["type"] == "dynamic"
    assert user["storage"]["capacity"] == "5Gi"
    assert user["storage"]["homeMountPath"] == WORKSPACE_HOME == "/home/hocvien"
    assert (user["uid"], user["fsGid"]) == (1000, 1000)  # images/workspace/Dockerfile: USER 1000:1000
    assert user["extraEnv"]["TZ"] == "Asia/Bangkok"
    assert user["extraEnv"]["TRUONGSO_DISK_LIMIT"] == "5G"
    assert user["extraEnv"]["TRUONGSO_EXCHANGE_URL"] == "http://truongso-exchange:8080/truongso/services/exchange/"
    assert values["cull"] == {"enabled": True, "timeout": 1800, "every": cull_every(1800)}
    assert values["scheduling"] == {"userScheduler": {"enabled": False}}  # spread learners, as on Swarm
    hub = values["hub"]
    assert hub["baseUrl"] == "/truongso/"
    assert hub["concurrentSpawnLimit"] == 40
    assert hub["db"] == {"type": "postgres", "url": "postgresql://hub:pw@db.school:5432/jupyterhub"}
    assert hub["image"]["name"] == "10.0.0.5:5000/truongso/k8s-hub"
    assert "cookieSecret" not in hub and "proxy" not in values  # the chart generates them unless asked


def test_defaults_differ_where_settings_do(tmp_path: Path) -> None:
    plain = render_values(make_settings(tmp_path, mem_limit="2G", workspace_disk_limit="2G", idle_timeout_seconds=0,
                                        hub_db_url="sqlite:///x.sqlite", registry=""))  # fmt: skip
    assert plain["singleuser"]["memory"]["limit"] == 2 * GiB
    assert plain["singleuser"]["storage"]["capacity"] == "2Gi"
    assert plain["singleuser"]["image"]["name"] == "truongso/workspace"
    assert plain["cull"] == {"enabled": False}
    assert plain["hub"]["db"] == {"type": "sqlite-pvc"}


def test_pinned_workspace_image_stays_pinned(settings: HubSettings) -> None:
    ref = f"10.0.0.5:5000/truongso/workspace@{DIGEST}"
    image = render_values(settings, workspace_ref=ref)["singleuser"]["image"]
    assert image["name"] == "10.0.0.5:5000/truongso/workspace"
    # the chart and KubeSpawner join name:tag; name:tag@digest is pulled by its digest
    assert f"{image['name']}:{image['tag']}".endswith(f":latest@{DIGEST}")
    assert k8s.split_image("reg.local/truongso/workspace:v3") == ("reg.local/truongso/workspace", "v3")
    with pytest.raises(KubernetesValuesError, match="digest"):
        k8s.split_image("reg/ws@sha256:short")


def test_values_match_the_charts_schema(settings: HubSettings, tmp_path: Path) -> None:
    secrets = HubSecrets(tmp_path / "cookie", "p" * 64, "a" * 64)
    secrets.cookie_secret_file.write_text("c" * 64 + "\n")
    for values in (render_values(settings), render_values(settings, secrets, workspace_ref=f"r/ws@{DIGEST}")):
        validate_values(values)
    carried = render_values(settings, secrets)
    assert carried["hub"]["cookieSecret"] == "c" * 64
    assert carried["proxy"] == {"secretToken": "p" * 64}
    assert carried["hub"]["services"]["truongso"]["api_token"] == "a" * 64


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (("singleuser", "storage", "type"), "nfs", "singleuser.storage.type"),
        (("singleuser", "memLimit"), "2G", "singleuser"),  # a key the chart does not have
        (("cull", "timeout"), "1h", "cull.timeout"),
    ],
)
def test_schema_check_refuses_what_the_chart_would(settings: HubSettings, path: tuple, value: Any, where: str) -> None:
    values = render_values(settings)
    node = values
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(KubernetesValuesError) as caught:
        validate_values(values)
    assert where in caught.value.vi and where in caught.value.en


def test_network_policy_lets_workspaces_reach_only_the_exchange(settings: HubSettings) -> None:
    values = render_values(settings)
    policy = values["singleuser"]["networkPolicy"]
    assert policy["enabled"] is True
    rules = policy["egressAllowRules"]
    # the internet, the private network, the cloud metadata server (also via its DNS port): all closed
    for rule in ("nonPrivateIPs", "privateIPs", "cloudMetadataServer", "dnsPortsCloudMetadataServer",
                 "dnsPortsPrivateIPs"):  # fmt: skip
        assert rules[rule] is False, rule
    assert rules["dnsPortsKubeSystemNamespace"] is True  # names of the hub and the exchange
    # the chart refuses blockWithIptables together with cloudMetadataServer; ours needs no privileged init container
    assert values["singleuser"]["cloudMetadata"]["blockWithIptables"] is False
    assert policy["ingress"] == [] and policy["allowedIngressPorts"] == []
    assert "ipBlock" not in json.dumps(policy)  # no address range opened
    [egress] = policy["egress"]
    assert egress["ports"] == [{"protocol": "TCP", "port": k8s.SERVICE_PORT}]
    [target] = egress["to"]
    # the selector picks the exchange's pods, and no other pod of ours
    pods = {name: d["spec"]["template"]["metadata"]["labels"] for name, d in
            by_kind(extra_manifests(settings), "Deployment").items()}  # fmt: skip
    wanted = target["podSelector"]["matchLabels"]
    assert [name for name, labels in pods.items() if wanted.items() <= labels.items()] == ["truongso-exchange"]
    exchange = by_kind(extra_manifests(settings), "Deployment")["truongso-exchange"]
    [port] = exchange["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert port["containerPort"] == k8s.SERVICE_PORT


def test_only_the_exchange_admits_workspaces(settings: HubSettings) -> None:
    policies = by_kind(extra_manifests(settings), "NetworkPolicy")
    assert set(policies) == {"truongso-exchange", "truongso-portal", "truongso-certificates"}
    for name, policy in policies.items():
        sources = json.dumps(policy["spec"]["ingress"])
        assert ("singleuser-server" in sources) == (name == "truongso-exchange"), name
        assert policy["spec"]["policyTypes"] == ["Ingress"]


def test_no_user_options_and_a_locked_down_container(settings: HubSettings) -> None:
    values = render_values(settings)
    assert values["singleuser"]["profileList"] == []
    c = Config()
    exec(compile(values["hub"]["extraConfig"]["truongso.py"], "extraConfig", "exec"), {"c": c})  # as the chart does
    assert c.Spawner.apply_user_options is refuse_user_options
    assert c.Spawner.disable_user_config is True
    assert Path(c.JupyterHub.template_paths[0], "login.html").is_file()
    context = values["hub"]["config"]["KubeSpawner"]["container_security_context"]
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["readOnlyRootFilesystem"] is True and context["runAsNonRoot"] is True
    assert values["singleuser"]["allowPrivilegeEscalation"] is False
    [tmp] = values["singleuser"]["storage"]["extraVolumes"]
    assert tmp["emptyDir"] == {"medium": "Memory", "sizeLimit": "768Mi"}  # a quarter of 3G, as on Docker
    assert values["singleuser"]["storage"]["extraVolumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]


def test_authenticator_is_configured_as_on_docker(settings: HubSettings) -> None:
    config = render_values(settings)["hub"]["config"]
    c = Config()
    apply_auth(settings, c)
    assert config["JupyterHub"]["authenticator_class"] == c.JupyterHub.authenticator_class
    expected = {k: sorted(v) if isinstance(v, set) else v for k, v in c.TruongSoAuthenticator.items()}
    assert config["TruongSoAuthenticator"] == expected
    assert config["TruongSoAuthenticator"]["directory_url"] == settings.db_url
    assert "access:services!service=exchange" in config["Spawner"]["server_token_scopes"]


def test_instructors_and_admins_land_on_the_portal_as_on_docker(settings: HubSettings) -> None:
    """default_url is a function (hub.auth.landing): not YAML, so the chart's extraConfig sets it."""
    values = render_values(settings)
    assert "default_url" not in values["hub"]["config"].get("JupyterHub", {})
    c = Config()
    exec(values["hub"]["extraConfig"]["truongso.py"], {"c": c})
    handler = SimpleNamespace(current_user=SimpleNamespace(admin=True, roles=[]))
    assert c.JupyterHub.default_url(handler) == f"{settings.base_url}services/portal/admin/"


def test_every_user_may_reach_the_certificates(settings: HubSettings) -> None:
    # extra_user_scopes (hub.configure) is JupyterHub 6; the chart's JupyterHub 5 needs the user role redefined
    values = render_values(settings)
    assert "extra_user_scopes" not in values["hub"]["config"].get("JupyterHub", {})
    user = values["hub"]["loadRoles"]["user"]
    assert user["scopes"] == ["self", "access:services!service=certificates"]


def test_services_are_external_and_match_their_deployments(settings: HubSettings, monkeypatch) -> None:
    from hub.services.base import ServiceEnvironment

    values = render_values(settings)
    services = values["hub"]["services"]
    objects = extra_manifests(settings)
    deployments, kube_services = by_kind(objects, "Deployment"), by_kind(objects, "Service")
    for name in ("exchange", "portal", "certificates"):
        entry = services[name]
        assert "command" not in entry and entry["url"] == f"http://truongso-{name}:{k8s.SERVICE_PORT}"
        [port] = kube_services[f"truongso-{name}"]["spec"]["ports"]
        assert port["port"] == k8s.SERVICE_PORT
        pod = deployments[f"truongso-{name}"]["spec"]["template"]
        assert kube_services[f"truongso-{name}"]["spec"]["selector"] == pod["metadata"]["labels"]
        assert deployments[f"truongso-{name}"]["spec"]["selector"]["matchLabels"] == pod["metadata"]["labels"]
        [container] = pod["spec"]["containers"]
        assert container["command"] == ["python3", "-m", f"hub.services.{name}"]
        assert importlib.util.find_spec(f"hub.services.{name}.__main__") is not None
        env = {e["name"]: e for e in container["env"]}
        token = env.pop("JUPYTERHUB_API_TOKEN")["valueFrom"]["secretKeyRef"]
        assert token == {"name": "hub", "key": f"hub.services.{name}.apiToken"}  # the chart's generated token
        for key, item in env.items():
            monkeypatch.setenv(key, item["value"])
        monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "t")
        seen = ServiceEnvironment.from_environ(name)  # what our service reads at start
        assert (seen.host, seen.port) == ("0.0.0.0", container["ports"][0]["containerPort"])
        assert seen.prefix == f"/truongso/services/{name}/"
        assert seen.api_url == "http://hub:8081/truongso/hub/api"
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    # hub roles for the services, and one formgrader service per course
    assert {"exchange-service", "portal-service", "truongso-cli"} <= set(values["hub"]["loadRoles"])
    for course in settings.load_courses():
        assert services[course.id]["url"].startswith(f"http://truongso-formgrader-{course.id}:")
        assert course.id in values["hub"]["loadRoles"]["formgraders"]["services"]


def test_services_settings_load_in_their_pods(settings: HubSettings) -> None:
    secret = by_kind(extra_manifests(settings), "Secret")[k8s.SETTINGS_SECRET]
    pod = json.loads(secret["stringData"]["settings.json"])
    assert pod["data_dir"] == k8s.POD_DATA_DIR and pod["courses_root"] == k8s.POD_COURSES
    assert pod["service_ports"]["exchange"] == k8s.SERVICE_PORT
    assert pod["spawner"] == "local"  # no Docker engine in the pods: the class-day service must not look for one
    # /srv/truongso/courses exists only in the pod: check the rest with this checkout's courses
    loaded = HubSettings.create({**pod, "courses_root": settings.courses_root}, "settings.json")
    assert loaded.db_url == settings.db_url and loaded.data_path == Path(k8s.POD_DATA_DIR)
    assert loaded.exchange_quota_mb == settings.exchange_quota_mb


def test_classday_runs_only_with_prewarming(tmp_path: Path) -> None:
    on = by_kind(extra_manifests(make_settings(tmp_path, prewarm_minutes=10)), "Deployment")
    off = by_kind(extra_manifests(make_settings(tmp_path, prewarm_minutes=0)), "Deployment")
    assert "truongso-classday" in on and "truongso-classday" not in off
    assert "ports" not in on["truongso-classday"]["spec"]["template"]["spec"]["containers"][0]


def test_yaml_round_trips(settings: HubSettings) -> None:
    values = render_values(settings)
    text = k8s.to_yaml([values])
    assert yaml.safe_load(text) == values
    assert "Khoá học của tôi" in text  # UTF-8 kept, not escaped
    assert "truongso.py: |" in text  # the Python block stays readable
    objects = extra_manifests(settings)
    assert list(yaml.safe_load_all(k8s.to_yaml(objects))) == objects


@pytest.mark.parametrize(
    ("changes", "setting"),
    [
        ({"db_url": "sqlite:////tmp/truongso.sqlite"}, "db_url"),
        ({"workspace_disk_limit": "0"}, "workspace_disk_limit"),
        ({"mem_limit": "lots"}, "mem_limit"),
        ({"cpu_limit": 0.0}, "cpu_limit"),
        ({"hub_db_url": "not a url"}, "hub_db_url"),
    ],
)
def test_bad_settings_give_one_clear_error(tmp_path: Path, changes: dict, setting: str) -> None:
    settings = make_settings(tmp_path, **changes)
    with pytest.raises(KubernetesValuesError) as caught:
        render_values(settings)
    assert setting in caught.value.vi and setting in caught.value.en
    assert "\n" not in str(caught.value)


def test_workspace_user_is_read_from_the_dockerfile(tmp_path: Path) -> None:
    assert k8s.workspace_user() == (1000, 1000, WORKSPACE_HOME)
    named = tmp_path / "Dockerfile"
    named.write_text("FROM a AS b\nUSER 0:0\nFROM c\nUSER hocvien\nWORKDIR /home/hocvien\n")
    with pytest.raises(KubernetesValuesError, match="USER"):
        k8s.workspace_user(named)


def test_cli_writes_values_its_owner_alone_reads(tmp_path: Path, capsys) -> None:
    from hub.cli import main

    data = tmp_path / "data"
    data.mkdir()
    (data / "truongso.toml").write_text(
        '[databases]\ndb_url = "postgresql://t:pw@db/t"\n[workspaces]\nmem_limit = "4G"\n'
    )
    out = tmp_path / "values.yaml"
    assert main(["kubernetes", "values", "--data-dir", str(data), "--output", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = out.read_text(encoding="utf-8")
    assert "NOT tested against a Kubernetes cluster" in text
    values = yaml.safe_load(text)
    assert values["singleuser"]["memory"]["limit"] == 4 * GiB
    validate_values(values)
    assert main(["kubernetes", "manifests", "--data-dir", str(data)]) == 0
    kinds = [d["kind"] for d in yaml.safe_load_all(capsys.readouterr().out)]
    assert kinds.count("Deployment") >= 3 and "NetworkPolicy" in kinds
    (data / "truongso.toml").write_text("")  # SQLite: refused with one line, nothing printed on stdout
    assert main(["kubernetes", "values", "--data-dir", str(data)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "db_url" in captured.err and captured.err.count("\n") == 1


def test_formgrader_role_is_the_one_the_hub_gives(tmp_path: Path) -> None:
    from hub.services import formgrader

    settings = make_settings(tmp_path)
    (tmp_path / "run" / "formgraders").mkdir(parents=True)  # its service-user check looks at these folders
    (tmp_path / "courses").mkdir()
    names = ["exchange", *formgrader.port_names(settings)]
    settings.service_ports = {name: 9000 + i for i, name in enumerate(names)}
    hub_side = formgrader.hub_service(settings, None)
    assert render_values(settings)["hub"]["loadRoles"]["formgraders"] == {
        k: v for k, v in hub_side.roles[0].items() if k != "name"
    }
    assert {s["name"] for s in hub_side.services} <= set(render_values(settings)["hub"]["services"])
