"""Zero to JupyterHub values (Helm chart 4.2+, JupyterHub 5.3+, KubeSpawner 7) and the Kubernetes objects of our
own services, rendered from Trường Số's settings.

NOT TESTED AGAINST A KUBERNETES CLUSTER. The unit tests render these and validate the values against the chart's own
values schema (z2jh-values.schema.json, vendored); nothing here has been installed with helm. docs/kubernetes.md
has the mapping table and what differs from the Docker and Swarm deployments.

What carries over from hub/spawner.py: our image only and no user options (profileList empty, and
Spawner.apply_user_options = refuse_user_options, which needs JupyterHub 5.3, i.e. chart 4.2); memory and CPU
limits; the image's own non-root user; all capabilities dropped, no privilege escalation, a read-only root
filesystem with /tmp in memory; a disk of its own size per learner (a PVC); egress only to the hub and the exchange.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from traitlets.config import Config

from graders.text import UserError
from hub.settings import HubSettings
from hub.storage import format_size, parse_size

SCHEMA_FILE = Path(__file__).with_name("z2jh-values.schema.json")
WORKSPACE_DOCKERFILE = Path(__file__).resolve().parents[2] / "images" / "workspace" / "Dockerfile"

# No setting names these yet (module constants until one does): the hub image is Z2JH's k8s-hub plus our package,
# not built by `truongso images build` yet; our services run from the same image.
HUB_IMAGE = "truongso/k8s-hub:latest"
SERVICE_PORT = 8080  # every service of ours listens here in its own pod
DATA_CLAIM = "truongso-data"  # ReadWriteMany: exchange uploads, nbgrader course folders, certificate keys
DATA_CLAIM_SIZE = "50Gi"
POD_DATA_DIR = "/srv/truongso/data"
POD_COURSES = "/srv/truongso/courses"  # the same claim, sub-path courses-root, read-only
SETTINGS_SECRET = "truongso-settings"  # settings.json as the services read it (it holds database passwords)
SETTINGS_DIR = "/etc/truongso"  # TRUONGSO_RUN_SETTINGS = SETTINGS_DIR/run/settings.json
SERVICE_UID = 1000  # the user of Z2JH's k8s-hub image, which our services' image extends
HUB_SECRET = "hub"  # the chart's Secret: it generates each hub.services entry's token under this name
HUB_API_BASE = "http://hub:8081"  # the chart's `hub` Service
DEPLOYED = ("exchange", "portal", "certificates")  # our services with a web server, each a Deployment + Service
CPU_GUARANTEE_SHARE = 0.1  # a learner's kernel idles most of a class; the limit is the burst
CLOUD_METADATA_IP = "169.254.169.254"
PART_OF = {"app.kubernetes.io/part-of": "truongso"}


class KubernetesValuesError(UserError):
    """Settings that have no Kubernetes equivalent; one bilingual line naming the setting."""


def render_values(
    settings: HubSettings, secrets: Any | None = None, workspace_ref: str | None = None
) -> dict[str, Any]:
    """The values file of the Z2JH chart for these settings. `secrets` (hub.keys.HubSecrets) carries over this
    hub's cookie secret, proxy token and CLI token, so logins survive a move; without it the chart generates them.
    `workspace_ref`: the workspace image to run (e.g. the registry's pinned `…@sha256:…`); default the setting."""
    check_settings(settings)
    uid, gid, home = workspace_user()
    memory = parse_size(settings.mem_limit)
    disk = settings.workspace_disk_bytes
    name, tag = split_image(workspace_ref or registry_image(settings, settings.workspace_image))
    hub_name, hub_tag = split_image(registry_image(settings, HUB_IMAGE))
    specs = service_specs(settings)
    values: dict[str, Any] = {
        "hub": {
            "baseUrl": settings.base_url,
            "image": {"name": hub_name, "tag": hub_tag},
            "concurrentSpawnLimit": settings.concurrent_spawn_limit,
            "db": hub_db(settings.hub_db_url),
            "config": hub_config(settings, specs),
            "extraConfig": {"truongso.py": EXTRA_CONFIG.format(base_url=settings.base_url)},
            "templateVars": {"truongso_demo": settings.demo},
            "services": hub_services(settings, specs, secrets),
            "loadRoles": {
                role["name"]: {k: v for k, v in role.items() if k != "name"} for role in roles(settings, specs)
            },
        },
        "singleuser": {
            "image": {"name": name, "tag": tag, "pullPolicy": "IfNotPresent"},
            "profileList": [],  # nothing to choose: refuse_user_options refuses anything sent anyway
            "cmd": "jupyterhub-singleuser",
            "defaultUrl": "/lab",
            "startTimeout": 120,
            "memory": {"limit": memory, "guarantee": min(parse_size(settings.workspace_idle_memory), memory)},
            "cpu": {"limit": settings.cpu_limit, "guarantee": round(settings.cpu_limit * CPU_GUARANTEE_SHARE, 3)},
            "uid": uid,
            "fsGid": gid,
            "allowPrivilegeEscalation": False,
            "extraEnv": workspace_env(settings, disk),
            "storage": {
                "type": "dynamic",
                "capacity": quantity(disk),
                "homeMountPath": home,
                "dynamic": {"storageAccessModes": ["ReadWriteOnce"]},
                # /tmp in memory (charged to the pod's memory limit), as hub.spawner.apply_docker_spawner sizes it
                "extraVolumes": [
                    {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": quantity(tmp_size(memory))}}
                ],
                "extraVolumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
            },
            "networkPolicy": workspace_network_policy(),
            # The chart's default adds a privileged root init container per learner to block this address with
            # iptables; the network policy above already leaves it out (nothing but the hub and the exchange).
            "cloudMetadata": {"blockWithIptables": False, "ip": CLOUD_METADATA_IP},
        },
        "cull": cull(settings),
        # The chart's user scheduler packs learners onto the fewest nodes (to scale a cloud down); a school's fixed
        # servers are better used spread out, as the Swarm spawner places them: Kubernetes' default scheduler.
        "scheduling": {"userScheduler": {"enabled": False}},
    }
    if secrets is not None:
        values["hub"]["cookieSecret"] = Path(secrets.cookie_secret_file).read_text(encoding="ascii").strip()
        values["proxy"] = {"secretToken": secrets.proxy_auth_token}
    return values


# What hub.config cannot say (it holds no Python objects); hub.configure.apply_spawner does the same on Docker.
EXTRA_CONFIG = """\
# Trường Số (hub/kubernetes/values.py): needs our package in the hub image.
from hub.auth.landing import landing_url
from hub.configure import TEMPLATES
from hub.spawner import refuse_user_options

c.Spawner.apply_user_options = refuse_user_options  # no image, volume or environment chosen by a learner
c.Spawner.disable_user_config = True  # a learner's ~/.jupyter cannot change their server
c.JupyterHub.template_paths = [str(TEMPLATES)]
from hub.i18n import template_vars
c.JupyterHub.template_vars.update(template_vars())  # t("…") / _("…") of our templates (hub/i18n)
c.JupyterHub.default_url = landing_url({base_url!r})  # instructors and admins land on the portal
"""


def check_settings(settings: HubSettings) -> None:
    """Refuse what cannot work on Kubernetes, naming the setting."""
    if settings.db_url.startswith("sqlite"):
        raise KubernetesValuesError(
            "db_url là SQLite: trên Kubernetes hub và các dịch vụ chạy trong các pod khác nhau, cần PostgreSQL "
            '([databases] db_url = "postgresql://…")',
            "db_url is SQLite: on Kubernetes the hub and the services run in different pods and need PostgreSQL "
            '([databases] db_url = "postgresql://…")',
        )
    if settings.workspace_disk_bytes <= 0:
        raise KubernetesValuesError(
            "workspace_disk_limit = 0 không dùng được trên Kubernetes: mỗi ổ (PVC) của học viên cần một dung lượng",
            "workspace_disk_limit = 0 has no Kubernetes equivalent: each learner's claim (PVC) needs a size",
        )
    try:
        memory = parse_size(settings.mem_limit)
    except ValueError:
        memory = 0
    if memory <= 0:
        raise KubernetesValuesError(
            f"mem_limit = {settings.mem_limit!r} không phải một giới hạn bộ nhớ (ví dụ 2G)",
            f"mem_limit = {settings.mem_limit!r} is not a memory limit (e.g. 2G)",
        )
    if settings.cpu_limit <= 0:
        raise KubernetesValuesError(
            f"cpu_limit = {settings.cpu_limit} phải lớn hơn 0 (số lõi CPU)",
            f"cpu_limit = {settings.cpu_limit} must be more than 0 (CPU cores)",
        )


def workspace_user(dockerfile: Path | None = None) -> tuple[int, int, str]:
    """uid, gid and home of the workspace image's user, read from its Dockerfile's last stage (`USER uid:gid`,
    `WORKDIR`): the pod runs as that user and its home claim is mounted there."""
    path = dockerfile or WORKSPACE_DOCKERFILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KubernetesValuesError(f"không đọc được {path}: {exc}", f"cannot read {path}: {exc}") from None
    last_stage = re.split(r"(?m)^FROM\s", text)[-1]
    users = re.findall(r"(?m)^USER\s+(\d+):(\d+)\s*$", last_stage)
    workdirs = re.findall(r"(?m)^WORKDIR\s+(/\S*)\s*$", last_stage)
    if not users or not workdirs:
        raise KubernetesValuesError(
            f"{path}: tầng cuối thiếu USER uid:gid (dạng số) hoặc WORKDIR",
            f"{path}: the last stage lacks a numeric USER uid:gid or a WORKDIR",
        )
    uid, gid = users[-1]
    return int(uid), int(gid), workdirs[-1]


def registry_image(settings: HubSettings, image: str) -> str:
    """The image as the nodes pull it: from the school's registry when one is set, never a public one."""
    return f"{settings.registry}/{image}" if settings.registry and not image.startswith(settings.registry) else image


def split_image(ref: str) -> tuple[str, str]:
    """The chart's {name, tag} of an image reference (KubeSpawner joins them with ':'). A digest stays pinned:
    `reg/ws@sha256:…` gives tag `latest@sha256:…`, and `name:tag@digest` is pulled by its digest."""
    name, _, digest = ref.strip().partition("@")
    tag = "latest"
    if ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
    if not re.fullmatch(r"[a-z0-9][a-z0-9._/:-]*", name) or not re.fullmatch(r"[\w][\w.-]{0,127}", tag):
        raise KubernetesValuesError(f"tham chiếu image không hợp lệ: {ref!r}", f"not an image reference: {ref!r}")
    if digest:
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            raise KubernetesValuesError(f"digest không hợp lệ trong {ref!r}", f"not a sha256 digest in {ref!r}")
        tag = f"{tag}@{digest}"
    return name, tag


def quantity(size: int) -> str:
    """Bytes as a Kubernetes quantity in binary units (our sizes are binary, as Docker's: 2G is 2Gi)."""
    for unit, shift in (("Gi", 30), ("Mi", 20), ("Ki", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift}{unit}"
    return str(size)


def tmp_size(memory: int) -> int:
    """/tmp of a workspace: a quarter of its memory, at least 64 MiB (as hub.spawner.apply_docker_spawner)."""
    return max(64 << 20, memory // 4)


def hub_db(url: str) -> dict[str, Any]:
    """hub.db from hub_db_url: SQLite stays on the chart's own claim (only the hub uses it); PostgreSQL or MySQL by
    URL, password included (the chart keeps its values in a Secret)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise KubernetesValuesError(f"hub_db_url không hợp lệ: {url!r}", f"hub_db_url is not a URL: {url!r}") from None
    if backend == "sqlite":
        return {"type": "sqlite-pvc"}
    return {"type": {"postgresql": "postgres", "mysql": "mysql"}.get(backend, "other"), "url": url}


def service_specs(settings: HubSettings) -> list[Any]:
    """Our services' hub configuration (hub.services.*.hub_service) with the ports they have in their pods. The
    formgraders' is left out: it inspects this machine's folders (formgrader_roles has its roles)."""
    import importlib

    from hub.services import service_names

    pod = HubSettings.create({**settings.to_dict(), "service_ports": {n: SERVICE_PORT for n in DEPLOYED}}, "kubernetes")
    names = [n for n in service_names() if n != "formgrader"]
    return [importlib.import_module(f"hub.services.{n}").hub_service(pod, None) for n in names]


def formgrader_roles(course_ids: list[str]) -> list[dict[str, Any]]:
    """The formgraders' role, as hub.services.formgrader.hub_service gives it."""
    if not course_ids:
        return []
    return [
        {
            "name": "formgraders",
            "description": "Course formgraders release, collect and return feedback through the exchange",
            "scopes": ["access:services!service=exchange"],
            "services": course_ids,
        }
    ]


def roles(settings: HubSettings, specs: list[Any]) -> list[dict[str, Any]]:
    """hub.configure.apply_services' roles, less the idle culler's (the chart's cull section has its own)."""
    found = [
        {
            "name": "truongso-cli",
            "description": "Trường Số command line",
            "scopes": ["admin:users", "admin:servers", "read:groups", "list:groups"],
            "services": ["truongso"],
        }
    ]
    user_scopes = ["self"]
    for spec in specs:
        found.extend(spec.roles)
        user_scopes.extend(s for s in spec.user_scopes if s not in user_scopes)
    if len(user_scopes) > 1:
        # JupyterHub.extra_user_scopes (hub.configure) is new in JupyterHub 6; the chart's JupyterHub 5 gets the same
        # by redefining the default `user` role: its own scope (`self`) and ours.
        found.append({"name": "user", "description": "Standard user privileges", "scopes": user_scopes})
    return found + formgrader_roles([course.id for course in settings.load_courses()])


def hub_services(settings: HubSettings, specs: list[Any], secrets: Any | None) -> dict[str, dict[str, Any]]:
    """hub.services: every service of ours as an external one (no command: a Deployment runs it), at the URL of
    its Service. Their tokens come from the chart (its `hub` Secret, key hub.services.<name>.apiToken)."""
    kept = ("display", "info", "oauth_no_confirm", "admin")
    services: dict[str, dict[str, Any]] = {"truongso": {"display": False}}  # the CLI's token (kubectl exec)
    if secrets is not None:
        services["truongso"]["api_token"] = secrets.api_token
    for spec in specs:
        for entry in spec.services:
            service = {k: entry[k] for k in kept if k in entry}
            if entry["name"] in DEPLOYED:
                service["url"] = service_url(entry["name"])
            services[entry["name"]] = service
    for course in settings.load_courses():
        services[course.id] = {
            "url": f"http://truongso-formgrader-{course.id}:{SERVICE_PORT}",
            "display": True,
            "info": {"kind": "formgrader"},
            "oauth_no_confirm": True,
        }
    return services


def service_url(name: str) -> str:
    return f"http://truongso-{name}:{SERVICE_PORT}"


def exchange_url(settings: HubSettings) -> str:
    """Where workspaces reach the exchange: its Service, straight (hub.services.exchange.exchange_url on Docker)."""
    return f"{service_url('exchange')}{settings.base_url}services/exchange/"


def hub_config(settings: HubSettings, specs: list[Any]) -> dict[str, Any]:
    """hub.config: the authenticator as hub.configure.apply_auth sets it, and the spawner's plain traits."""
    from hub.configure import SERVER_TOKEN_SCOPES, apply_auth

    c = Config()
    apply_auth(settings, c)
    del c.JupyterHub["default_url"]  # a function: set in hub.extraConfig (EXTRA_CONFIG)
    token_scopes = list(SERVER_TOKEN_SCOPES)
    for spec in specs:
        token_scopes.extend(s for s in spec.server_token_scopes if s not in token_scopes)
    c.Spawner.server_token_scopes = token_scopes
    c.Spawner.http_timeout = 90
    c.KubeSpawner.container_security_context = {
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,  # the image runs read-only on Docker too: only the home and /tmp are written
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    return plain(c)


def plain(value: Any) -> Any:
    """A traitlets Config as YAML-able data: sets become sorted lists."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def workspace_env(settings: HubSettings, disk: int) -> dict[str, str]:
    """singleuser.extraEnv: what hub.spawner.workspace_environment gives every workspace, the exchange's address
    and the disk size for the "storage full" messages."""
    from hub.spawner import workspace_environment

    env = workspace_environment({}, settings.timezone)
    env["TRUONGSO_EXCHANGE_URL"] = exchange_url(settings)
    env["TRUONGSO_DISK_LIMIT"] = format_size(disk)
    return dict(sorted(env.items()))


def workspace_network_policy() -> dict[str, Any]:
    """singleuser.networkPolicy: the chart always allows the hub (port 8081); we allow DNS to kube-system and the
    exchange, nothing else: no internet, no private network, no cloud metadata, no other workspace (ingress stays
    the chart's: only pods it labels for it, the proxy and the hub)."""
    return {
        "enabled": True,
        "ingress": [],
        "egress": [
            {
                "to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "truongso-exchange"}}}],
                "ports": [{"protocol": "TCP", "port": SERVICE_PORT}],
            }
        ],
        "egressAllowRules": {
            "cloudMetadataServer": False,
            "dnsPortsCloudMetadataServer": False,
            "dnsPortsKubeSystemNamespace": True,  # the cluster's DNS (CoreDNS) to find the hub and the exchange
            "dnsPortsPrivateIPs": False,  # port 53 of any private address would be a way out; see docs
            "nonPrivateIPs": False,
            "privateIPs": False,
        },
        "interNamespaceAccessLabels": "ignore",
        "allowedIngressPorts": [],
    }


def cull(settings: HubSettings) -> dict[str, Any]:
    """The chart's idle culler (jupyterhub-idle-culler, as on Docker): same timeout, same pace."""
    from hub.configure import cull_every

    if not settings.idle_timeout_seconds:
        return {"enabled": False}
    return {
        "enabled": True,
        "timeout": settings.idle_timeout_seconds,
        "every": cull_every(settings.idle_timeout_seconds),
    }


# -- our services as Kubernetes objects ----------------------------------------------------------------------------


def extra_manifests(settings: HubSettings) -> list[dict[str, Any]]:
    """The objects the chart does not make: the settings our services read, their shared data claim, and a
    Deployment + Service + NetworkPolicy for each of exchange, portal and certificates (and the class-day
    service's Deployment when pre-warming is on). Apply with `kubectl apply -f` in the chart's namespace."""
    check_settings(settings)
    image = registry_image(settings, HUB_IMAGE)
    objects: list[dict[str, Any]] = [settings_secret(settings), data_claim()]
    for name in DEPLOYED:
        objects.append(deployment(settings, name, image, ports=True))
        objects.append(service(name))
        objects.append(service_network_policy(name))
    if settings.prewarm_minutes:
        objects.append(deployment(settings, "classday", image, ports=False))
    return objects


def pod_settings(settings: HubSettings) -> dict[str, Any]:
    """settings.json as the services read it in their pods (hub.services.load_service_settings): this hub's
    settings with the pods' paths and ports."""
    values = settings.to_dict()
    values.update(
        data_dir=POD_DATA_DIR,
        courses_root=POD_COURSES,
        workspace_disk_dir=f"{POD_DATA_DIR}/homes",
        homes_dir=f"{POD_DATA_DIR}/cluster-homes",
        proxy_command="configurable-http-proxy",
        service_ports={name: SERVICE_PORT for name in DEPLOYED},
        # No Docker engine in the pods: the class-day service then measures no containers (its capacity warning
        # sees only its own node's memory; docs/kubernetes.md).
        spawner="local",
    )
    return values


def settings_secret(settings: HubSettings) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SETTINGS_SECRET, "labels": dict(PART_OF)},
        "type": "Opaque",
        "stringData": {"settings.json": json.dumps(pod_settings(settings), indent=2, ensure_ascii=False)},
    }


def data_claim() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": DATA_CLAIM, "labels": dict(PART_OF)},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": DATA_CLAIM_SIZE}}},
    }


def labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": f"truongso-{name}", **PART_OF}


def service_environment(settings: HubSettings, name: str) -> list[dict[str, Any]]:
    """What JupyterHub gives a service it starts (hub.services.base.ServiceEnvironment reads it), for one it does
    not start: its token from the chart's Secret."""
    prefix = f"{settings.base_url}services/{name}/"
    plain_values = {
        "JUPYTERHUB_SERVICE_NAME": name,
        "JUPYTERHUB_SERVICE_URL": f"http://0.0.0.0:{SERVICE_PORT}",
        "JUPYTERHUB_SERVICE_PREFIX": prefix,
        "JUPYTERHUB_BASE_URL": settings.base_url,
        "JUPYTERHUB_API_URL": f"{HUB_API_BASE}{settings.base_url}hub/api",
        "JUPYTERHUB_CLIENT_ID": f"service-{name}",
        "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{prefix}oauth_callback",
        "TRUONGSO_RUN_SETTINGS": f"{SETTINGS_DIR}/run/settings.json",
        "TRUONGSO_DATA_DIR": POD_DATA_DIR,
    }
    env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in plain_values.items()]
    env.append(
        {
            "name": "JUPYTERHUB_API_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": HUB_SECRET, "key": f"hub.services.{name}.apiToken"}},
        }
    )
    return env


def deployment(settings: HubSettings, name: str, image: str, *, ports: bool) -> dict[str, Any]:
    """One of our services in its own pod: `python -m hub.services.<name>`, as the hub starts it on Docker."""
    container: dict[str, Any] = {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python3", "-m", f"hub.services.{name}"],
        "env": service_environment(settings, name),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
        },
        "volumeMounts": [
            {"name": "data", "mountPath": POD_DATA_DIR},
            {"name": "data", "mountPath": POD_COURSES, "subPath": "courses-root", "readOnly": True},
            {"name": "settings", "mountPath": f"{SETTINGS_DIR}/run", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    if ports:
        container["ports"] = [{"name": "http", "containerPort": SERVICE_PORT, "protocol": "TCP"}]
        container["readinessProbe"] = {"tcpSocket": {"port": "http"}, "periodSeconds": 5}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"truongso-{name}", "labels": labels(name)},
        "spec": {
            "replicas": 1,  # in-memory rate limits and job queues: one instance each, as on Docker
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": labels(name)},
            "template": {
                "metadata": {"labels": labels(name)},
                "spec": {
                    "automountServiceAccountToken": False,  # they talk to the hub, never to Kubernetes
                    "securityContext": {
                        "runAsUser": SERVICE_UID,
                        "runAsGroup": SERVICE_UID,
                        "fsGroup": SERVICE_UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [
                        {"name": "data", "persistentVolumeClaim": {"claimName": DATA_CLAIM}},
                        {"name": "settings", "secret": {"secretName": SETTINGS_SECRET, "defaultMode": 0o440}},
                        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "256Mi"}},
                    ],
                },
            },
        },
    }


def service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"truongso-{name}", "labels": labels(name)},
        "spec": {
            "type": "ClusterIP",
            "selector": labels(name),
            "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def service_network_policy(name: str) -> dict[str, Any]:
    """Who may open a connection to one of our services: the chart's proxy (routes /services/<name>/) and hub, our
    other services; the exchange also the workspaces (fetch, submit)."""
    sources: list[dict[str, Any]] = [
        {"podSelector": {"matchLabels": {"app": "jupyterhub", "component": "proxy"}}},
        {"podSelector": {"matchLabels": {"app": "jupyterhub", "component": "hub"}}},
        {"podSelector": {"matchLabels": dict(PART_OF)}},
    ]
    if name == "exchange":
        sources.append({"podSelector": {"matchLabels": {"app": "jupyterhub", "component": "singleuser-server"}}})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"truongso-{name}", "labels": labels(name)},
        "spec": {
            "podSelector": {"matchLabels": labels(name)},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": sources, "ports": [{"protocol": "TCP", "port": SERVICE_PORT}]}],
        },
    }


def validate_values(values: dict[str, Any]) -> None:
    """Check `values` against the chart's values schema (the sections we render); KubernetesValuesError names the
    first key that is wrong."""
    import jsonschema

    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(schema).iter_errors(values))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "(values)"
        raise KubernetesValuesError(
            f"giá trị Helm không khớp lược đồ của chart tại {where}: {error.message}",
            f"Helm values do not match the chart's schema at {where}: {error.message}",
        )


def to_yaml(documents: list[dict[str, Any]]) -> str:
    """YAML documents (UTF-8, keys in our order) separated by `---`."""
    import yaml

    class Dumper(yaml.SafeDumper):
        """Multi-line strings (hub.extraConfig's Python, settings.json) as readable `|` blocks."""

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return "---\n".join(yaml.dump(d, Dumper=Dumper, allow_unicode=True, sort_keys=False, width=120) for d in documents)
