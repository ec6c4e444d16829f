"""Validated settings of one Trường Số hub.

Sources, later ones winning: trait defaults, the data directory's `truongso.toml`, `truongso up` flags.
`truongso.toml` groups its settings in sections (`[school]`, `[server]`, … `[certificates]`, see SECTIONS);
the names are the same as at the top level, which older files use and which still works. The old
`certificates.toml` is still read, with a warning to move it into `[certificates]`.
`truongso up` writes the resolved settings to `<data_dir>/run/settings.json`; the thin
`jupyterhub_config.py` reads them back from the hub's working directory (the data directory, as for
JupyterHub's own `jupyterhub.sqlite`) and hands them to the `apply_*` functions.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

from traitlets import Bool, Dict, Enum, Float, HasTraits, Integer, List, TraitError, Unicode, default, validate

from graders.settings_files import (
    DataDirSettings,
    checked_by,
    flatten_sections,
    matching,
    not_negative,
    read_toml,
    settings_from,
)
from graders.timeutil import SCHOOL_TIMEZONE, check_timezone

__all__ = ["SECTIONS", "HubSettings", "SettingsError", "SettingsWarning", "read_toml", "settings_from"]
SETTINGS_FILE = "truongso.toml"
LEGACY_CERTIFICATES_FILE = "certificates.toml"  # before [certificates] of truongso.toml; read with a warning
RUN_SETTINGS_FILE = Path("run") / "settings.json"

# truongso.toml's sections and the settings each holds. `data_dir` and `demo` stay at the top;
# `[certificates]` is the `certificates` setting itself (graders.certificates.config.CertificateSettings).
SECTIONS: dict[str, tuple[str, ...]] = {
    "school": ("timezone", "courses_root"),
    "server": tuple(
        "ip port base_url public_url hub_ip hub_port proxy_api_port proxy_command service_ports ssl_cert ssl_key "
        "http_redirect_port".split()
    ),
    "databases": ("db_url", "hub_db_url"),
    "accounts": (
        "ldap_url",
        "ldap_bind_dn_template",
        "ldap_allowed_groups",
        "oidc_issuer",
        "oidc_client_id",
        "oidc_client_secret_file",
        "oidc_username_claim",
        "local_passwords",
        "login_max_failures",
        "login_max_failures_per_address",
        "login_lockout_seconds",
        "min_password_length",
        "auth_refresh_seconds",
    ),
    "workspaces": tuple(
        "spawner workspace_image workspace_network mem_limit cpu_limit pids_limit workspace_disk_limit "
        "workspace_disk_dir idle_timeout_seconds concurrent_spawn_limit".split()
    ),
    "class_day": (
        "prewarm_minutes",
        "prewarm_parallel",
        "prewarm_grace_minutes",
        "prewarm_check_seconds",
        "workspace_idle_memory",
    ),
    "docker": ("docker_prefix",),
    "cluster": tuple(
        "advertise_addr registry registry_port homes_dir home_volume_options gateway_image workspaces_on_manager "
        "grade_on_cluster".split()
    ),
    "exchange": ("exchange_quota_mb", "exchange_attempts_per_hour"),
    "grading": ("gradebook_url",),
}
TOP_LEVEL = ("data_dir", "demo", "certificates")


class SettingsError(ValueError):
    """A setting has a value we cannot run with; the message names it."""


class SettingsWarning(FutureWarning):
    """A settings file still works but should change (the CLI prints it as one bilingual line)."""


class HubSettings(DataDirSettings, HasTraits):
    """Everything an operator can set, with the reasons in `help`."""

    data_dir = Unicode(
        "data",
        help="Directory holding the databases, secrets, workspaces (local spawner) and logs. "
        "Relative paths are taken from the current directory.",
    ).tag(config=True)
    ip = Unicode("127.0.0.1", help="Address the public proxy listens on.").tag(config=True)
    port = Integer(8000, help="Port the public proxy listens on.").tag(config=True)
    base_url = Unicode("/", help="URL prefix of the whole site, e.g. /truongso/.").tag(config=True)
    spawner = Enum(
        ["auto", "docker", "swarm", "local"],
        "auto",
        help="docker: one container per learner (production, one server). swarm: one Docker Swarm service per "
        "learner, on the cluster's nodes ([cluster]). local: processes on this machine, NOT isolated, for trying "
        "it out. auto: docker when an engine answers, else local.",
    ).tag(config=True)
    demo = Bool(False, help="Create the demo class and accounts and print their passwords.").tag(config=True)
    db_url = Unicode(
        help="SQLAlchemy URL of Trường Số's own database (people, classes, passwords). "
        "Default: SQLite in the data directory; PostgreSQL by URL in production.",
    ).tag(config=True)
    hub_db_url = Unicode(
        help="SQLAlchemy URL of JupyterHub's database. Default: SQLite in the data directory.",
    ).tag(config=True)
    gradebook_url = Unicode(
        "sqlite:///{data_dir}/courses/{course_id}/gradebook.db",
        help="nbgrader gradebook of each course; {data_dir} and {course_id} are filled in. "
        "PostgreSQL e.g. postgresql://truongso@db/gradebook_{course_id}.",
    ).tag(config=True)
    hub_ip = Unicode(
        "127.0.0.1",
        help="Address the hub's internal API listens on; workspaces must reach it.",
    ).tag(config=True)
    hub_port = Integer(0, help="Port of the hub's internal API; 0 picks a free one at start.").tag(config=True)
    proxy_api_port = Integer(0, help="Port of the proxy's REST API (loopback); 0 picks a free one.").tag(config=True)
    proxy_command = Unicode(
        help="Path of configurable-http-proxy. Default: the copy `make setup` installs in .venv/proxy, "
        "else the one on PATH.",
    ).tag(config=True)
    ssl_cert = Unicode(
        "",
        help="PEM certificate (with its chain) for HTTPS, a file the school provides; with ssl_key. Empty: HTTP "
        "(or TLS ended by a reverse proxy in front).",
    ).tag(config=True)
    ssl_key = Unicode("", help="PEM private key of ssl_cert.").tag(config=True)
    http_redirect_port = Integer(
        0, help="With HTTPS: a port (e.g. 80) whose plain-HTTP requests are redirected to the HTTPS port; 0: none."
    ).tag(config=True)
    public_url = Unicode(
        help="The address people use to reach this hub, e.g. https://truongso.example.gov.vn/ (printed in "
        "certificates' QR codes). Default: http://<ip>:<port><base_url>.",
    ).tag(config=True)
    service_ports = Dict(
        value_trait=Integer(),
        help="Port of each hub service (exchange, portal, …); missing ones are picked free at start.",
    ).tag(config=True)
    login_max_failures = Integer(
        5, help="Failed logins in a row before an account is locked for login_lockout_seconds."
    ).tag(config=True)
    ldap_url = Unicode(
        "",
        help="The ministry's LDAP / Active Directory for sign-in, ldap://host[:port] or ldaps://host[:port]; "
        "classes and roles still come from the directory, matched by username. Empty: local passwords only.",
    ).tag(config=True)
    ldap_bind_dn_template = List(
        Unicode(),
        help='DNs a login binds as, {username} filled in, e.g. ["uid={username},ou=people,dc=bo,dc=gov,dc=vn"].',
    ).tag(config=True)
    ldap_allowed_groups = List(
        Unicode(), help="Group DNs a ministry account must belong to (a disabled account is taken out); empty: any."
    ).tag(config=True)
    oidc_issuer = Unicode(
        "",
        help="The ministry's OpenID Connect provider (issuer URL, e.g. https://sso.bo.gov.vn/realms/bo) for "
        "sign-in; its redirect URI for this hub is <public_url>hub/oauth_callback. Empty: no OIDC sign-in.",
    ).tag(config=True)
    oidc_client_id = Unicode("", help="This hub's client id at the OpenID provider.").tag(config=True)
    oidc_client_secret_file = Unicode(
        "", help="A file holding this hub's client secret at the OpenID provider (kept out of truongso.toml)."
    ).tag(config=True)
    oidc_username_claim = Unicode(
        "preferred_username",
        help="The provider's claim matched with the directory's usernames; the e-mail claim is tried next.",
    ).tag(config=True)
    local_passwords = Bool(
        True,
        help="With LDAP or OIDC: local passwords work too (false: ministry accounts only; the admin's always works).",
    ).tag(config=True)
    login_max_failures_per_address = Integer(
        100,
        help="Failed logins from one source address (any usernames) before that address is refused for "
        "login_lockout_seconds; 0: off. High: a whole class may log in from behind one office's NAT.",
    ).tag(config=True)
    login_lockout_seconds = Integer(600, help="How long a locked account waits.").tag(config=True)
    min_password_length = Integer(10, help="Shortest password a user may choose.").tag(config=True)
    auth_refresh_seconds = Integer(
        300, help="How often a logged-in user's classes and roles are re-read from the directory."
    ).tag(config=True)
    idle_timeout_seconds = Integer(
        3600, help="Stop workspaces with no activity for this long (0 disables the idle culler)."
    ).tag(config=True)
    concurrent_spawn_limit = Integer(
        100,
        help="Workspaces starting at the same moment (JupyterHub's concurrent_spawn_limit, same default): a login "
        "beyond it is asked to retry in a moment instead of piling onto a busy Docker engine.",
    ).tag(config=True)
    prewarm_parallel = Integer(
        4,
        help="Workspaces pre-warming starts at once (never more than half of concurrent_spawn_limit, so learners "
        "logging in meanwhile keep their place): the pace a 2-core host takes without slowing everyone else.",
    ).tag(config=True)
    prewarm_minutes = Integer(
        10,
        help="Start the workspaces of a class's learners this many minutes before each of its sessions "
        "(`truongso classes sessions`), so logins at the start land on a running workspace. 0: no pre-warming.",
    ).tag(config=True)
    prewarm_grace_minutes = Integer(
        15,
        help="After a session ends, its learners' workspaces idle for this long are stopped (files are kept).",
    ).tag(config=True)
    prewarm_check_seconds = Integer(30, help="How often the class-day service reads the timetable.").tag(config=True)
    workspace_idle_memory = Unicode(
        "300M",
        help="Memory of one idle workspace, for the capacity check before a session when none is running to "
        "measure (measured workspaces win).",
    ).tag(config=True)
    exchange_quota_mb = Integer(
        200,
        help="Exchange storage of one learner, in MB: the compressed size of all their submission attempts, "
        "every course together. A submission that would go over it is refused (HTTP 413) before anything is "
        "written; earlier attempts are never deleted to make room. Raise it to let them submit again. 0: no limit.",
    ).tag(config=True)
    exchange_attempts_per_hour = Integer(
        20,
        help="Submission attempts one learner may make to one assignment in any 60 minutes; the next is refused "
        "(HTTP 429, with the minutes to wait) until the oldest leaves the hour. 0: no limit.",
    ).tag(config=True)

    @validate("exchange_quota_mb", "exchange_attempts_per_hour")
    def _exchange_limit_not_negative(self, proposal: dict) -> int:
        if proposal["value"] < 0:
            raise TraitError(f"{proposal['trait'].name} cannot be negative (0 means no limit)")
        return proposal["value"]

    workspace_image = Unicode(
        "truongso/workspace:latest", help="The learner workspace image (built by `truongso images build`)."
    ).tag(config=True)
    docker_prefix = Unicode(
        "truongso", help="Prefix of the names of the containers, volumes and network Trường Số creates."
    ).tag(config=True)
    workspace_network = Unicode(
        help="Docker network of the workspaces (default: <docker_prefix>-workspaces); created if missing."
    ).tag(config=True)
    mem_limit = Unicode("2G", help="Memory limit of one learner workspace (docker).").tag(config=True)
    cpu_limit = Float(1.0, help="CPU limit of one learner workspace, in cores (docker).").tag(config=True)
    pids_limit = Integer(256, help="Process limit of one learner workspace (docker).").tag(config=True)
    workspace_disk_limit = Unicode(
        "2G",
        help="Size of each learner's home disk (docker): an ext4 image per learner, so a full home is 'no space "
        "left' for that learner only, never a full host disk. Raising it grows disks at their next start; they "
        "never shrink. 0: no limit for new learners (not recommended).",
    ).tag(config=True)
    workspace_disk_dir = Unicode(
        help="Where learners' disk images live and are mounted (default: <data_dir>/homes)."
    ).tag(config=True)
    # [cluster]: several servers in one Docker Swarm (spawner = "swarm"); README "Nhiều máy chủ / Several servers".
    advertise_addr = Unicode(
        help="The manager's address the other nodes reach (swarm init --advertise-addr, the registry, the hub). "
        "Default: the address of Docker's own bridge (docker0)."
    ).tag(config=True)
    registry = Unicode(
        help="host:port of the private registry the nodes pull our images from (default: <advertise_addr>:"
        "<registry_port>, the one `truongso cluster init` runs on the manager). No public registry is used."
    ).tag(config=True)
    registry_port = Integer(5000, help="Port of the private registry run on the manager.").tag(config=True)
    homes_dir = Unicode(
        help="Learners' homes on the shared file server, as mounted on the manager (the hub makes each learner's "
        "folder there). Default: <data_dir>/cluster-homes."
    ).tag(config=True)
    home_volume_options = Dict(
        {"type": "none", "o": "bind", "device": "{homes_dir}/{user}"},
        help="Options of the Docker `local` volume driver that mounts one learner's home on whichever node runs "
        "their workspace; {homes_dir} and {user} (the learner's escaped name) are filled in. NFS, e.g. "
        '{type = "nfs", o = "addr=10.0.0.5,nfsvers=4,rw", device = ":/srv/truongso/homes/{user}"}. The default '
        "binds the same path on every node: the file server's share mounted there (fstab) by the node's admin.",
    ).tag(config=True)
    gateway_image = Unicode(
        "truongso/gateway:latest",
        help="Image of the gateway between the hub and the workspaces' private networks (swarm).",
    ).tag(config=True)
    workspaces_on_manager = Bool(
        False,
        help="Whether workspaces may run on the manager too (it runs the hub, its services, the registry and the "
        "gateway). Off: worker nodes only; a one-server swarm needs it on.",
    ).tag(config=True)
    grade_on_cluster = Bool(
        False, help="`truongso grade` runs its sandboxes as one-shot Swarm services on the worker nodes."
    ).tag(config=True)

    timezone = Unicode(
        SCHOOL_TIMEZONE,
        help="The school's time zone (an IANA name): deadlines typed and shown, workspaces' clocks (TZ), "
        "certificates' dates and serial years.",
    ).tag(config=True)
    courses_root = Unicode(
        help="Folder of the courses (one course.yaml per sub-folder), for every part of the hub: exchange, "
        "portal, formgraders, grading's late penalty, certificates. Default: the repository's courses/. "
        "Relative paths are taken from the current directory.",
    ).tag(config=True)
    certificates = Dict(
        help="Certificate settings ([certificates] of truongso.toml): graders.certificates.config."
        "CertificateSettings, less what the hub gives it (data_dir, db_url, public_url, gradebook_url, "
        "timezone, courses_root).",
    ).tag(config=True)

    _valid_timezone = validate("timezone")(checked_by(check_timezone))

    @default("courses_root")
    def _default_courses_root(self) -> str:
        from graders.curriculum import default_courses_root

        return str(default_courses_root())

    @validate("courses_root")
    def _valid_courses_root(self, proposal: dict) -> str:
        path = Path(proposal["value"]).expanduser().absolute()
        if not path.is_dir():
            raise TraitError(f"courses_root: không có thư mục {path} / no folder {path}")
        return str(path)

    @validate("certificates")
    def _valid_certificates(self, proposal: dict) -> dict:
        from graders.certificates.config import FROM_HUB, CertificateSettings, CertificateSettingsError

        values = proposal["value"]
        given = sorted(set(values) & set(FROM_HUB))
        if given:
            raise TraitError(
                f"[certificates] {', '.join(given)}: set by the hub for the whole school, not here "
                f"({'; '.join(f'{key} in [{section_of(key)}]' for key in given)})"
            )
        try:
            CertificateSettings.create(dict(values), "[certificates]")
        except CertificateSettingsError as exc:
            raise TraitError(str(exc)) from None
        return dict(values)

    _default_db_url = default("db_url")(DataDirSettings._default_db_url)

    @default("hub_db_url")
    def _default_hub_db_url(self) -> str:
        return f"sqlite:///{self.data_path / 'jupyterhub.sqlite'}"

    @default("public_url")
    def _default_public_url(self) -> str:
        host = "127.0.0.1" if self.ip in ("0.0.0.0", "") else self.ip
        return f"{self.scheme}://{host}:{self.port}{self.base_url}"

    @property
    def scheme(self) -> str:
        return "https" if self.ssl_cert else "http"

    @validate("ldap_url")
    def _valid_ldap_url(self, proposal: dict) -> str:
        value = proposal["value"].strip()
        scheme, _, rest = value.partition("://")
        if value and (scheme not in ("ldap", "ldaps") or not rest.strip("/")):
            raise TraitError(f"ldap_url must be ldap://host[:port] or ldaps://host[:port], not {value!r}")
        return value

    @validate("oidc_issuer")
    def _valid_oidc_issuer(self, proposal: dict) -> str:
        value = proposal["value"].strip().rstrip("/")
        scheme, _, rest = value.partition("://")
        if value and (scheme not in ("http", "https") or not rest):
            raise TraitError(f"oidc_issuer must be an http(s):// URL (the provider's issuer), not {value!r}")
        return value

    @validate("ssl_cert", "ssl_key", "oidc_client_secret_file")
    def _readable_file(self, proposal: dict) -> str:
        value = proposal["value"]
        if value and not os.access(value, os.R_OK):
            raise TraitError(f"{proposal['trait'].name}: cannot read {value}")
        return value

    @validate("public_url")
    def _valid_public_url(self, proposal: dict) -> str:
        from urllib.parse import urlparse

        url = proposal["value"]
        if urlparse(url).scheme not in ("http", "https") or not urlparse(url).netloc:
            raise TraitError(f"public_url must be an http(s) address, not {url!r}")
        return url if url.endswith("/") else url + "/"

    @default("workspace_network")
    def _default_workspace_network(self) -> str:
        return f"{self.docker_prefix}-workspaces"

    @default("homes_dir")
    def _default_homes_dir(self) -> str:
        return str(self.data_path / "cluster-homes")

    @default("workspace_disk_dir")
    def _default_workspace_disk_dir(self) -> str:
        return str(self.data_path / "homes")

    @validate("workspace_disk_limit")
    def _valid_disk_limit(self, proposal: dict) -> str:
        from hub.storage import MIN_DISK, parse_size

        try:
            size = parse_size(proposal["value"])
        except ValueError as exc:
            raise TraitError(f"workspace_disk_limit: {exc}") from None
        if 0 < size < MIN_DISK:
            raise TraitError(f"workspace_disk_limit must be 0 or at least {MIN_DISK >> 20}M")
        return proposal["value"].strip()

    @property
    def workspace_disk_bytes(self) -> int:
        from hub.storage import parse_size

        return parse_size(self.workspace_disk_limit)

    _valid_prefix = validate("docker_prefix")(
        matching(
            r"[a-z][a-z0-9-]{0,40}", "docker_prefix must be lower-case letters, digits and '-', starting with a letter"
        )
    )

    @default("proxy_command")
    def _default_proxy_command(self) -> str:
        import shutil
        import sys

        bundled = Path(sys.prefix) / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
        if bundled.exists():
            return str(bundled)
        return shutil.which("configurable-http-proxy") or "configurable-http-proxy"

    @validate("port", "hub_port", "proxy_api_port", "http_redirect_port")
    def _valid_port(self, proposal: dict) -> int:
        value = proposal["value"]
        lowest = 1 if proposal["trait"].name == "port" else 0
        if not lowest <= value <= 65535:
            raise TraitError(f"{proposal['trait'].name} must be a port number {lowest}-65535, not {value}")
        return value

    @validate("base_url")
    def _valid_base_url(self, proposal: dict) -> str:
        value = "/" + proposal["value"].strip("/") + "/"
        return value.replace("//", "/")

    _not_negative = validate(
        "login_max_failures",
        "login_max_failures_per_address",
        "login_lockout_seconds",
        "min_password_length",
        "idle_timeout_seconds",
        "prewarm_minutes",
        "prewarm_grace_minutes",
    )(not_negative)

    @validate("concurrent_spawn_limit", "prewarm_check_seconds", "prewarm_parallel")
    def _at_least_one(self, proposal: dict) -> int:
        if proposal["value"] < 1:
            raise TraitError(f"{proposal['trait'].name} must be at least 1")
        return proposal["value"]

    @validate("workspace_idle_memory")
    def _a_size(self, proposal: dict) -> str:
        from hub.storage import parse_size

        try:
            parse_size(proposal["value"])
        except ValueError as exc:
            raise TraitError(f"workspace_idle_memory: {exc}") from None
        return proposal["value"]

    @property
    def courses_path(self) -> Path:
        return Path(self.courses_root)

    def load_courses(self) -> list[Any]:
        """The courses under `courses_root` (graders.curriculum.Course), sorted by id."""
        from graders.curriculum import load_courses

        return load_courses(self.courses_path)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.trait_names(config=True)}

    @classmethod
    def create(cls, values: dict[str, Any], source: str) -> HubSettings:
        """Settings from a mapping, flat or in SECTIONS; unknown sections, unknown names and bad values raise
        SettingsError naming `source`."""
        known = set(cls.class_trait_names(config=True))
        return settings_from(cls, flatten_sections(values, SECTIONS, known, source, SettingsError), source,
                             SettingsError)  # fmt: skip

    @classmethod
    def load(cls, data_dir: Path, overrides: dict[str, Any]) -> HubSettings:
        """Settings of the data directory's `truongso.toml` (and the old `certificates.toml`, with a
        SettingsWarning) with `overrides` (command-line flags) on top."""
        toml_path = data_dir / SETTINGS_FILE
        values = flatten_sections(read_toml(toml_path, SettingsError), SECTIONS,
                                  set(cls.class_trait_names(config=True)), str(toml_path), SettingsError)  # fmt: skip
        read_legacy_certificates(data_dir, values)
        values.update(overrides)
        values["data_dir"] = str(data_dir.absolute())
        return cls.create(values, str(toml_path))

    def write_run_file(self) -> Path:
        path = self.data_path / RUN_SETTINGS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        return path

    @classmethod
    def from_run_file(cls, working_dir: Path) -> HubSettings:
        path = working_dir / RUN_SETTINGS_FILE
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError(
                f"{path} not found: start the hub with `truongso up`, or run jupyterhub from a data "
                "directory that `truongso up` has prepared"
            ) from None
        return cls.create(values, str(path))


def section_of(name: str) -> str:
    """The section of truongso.toml a setting belongs in ('' for the top level)."""
    return next((section for section, keys in SECTIONS.items() if name in keys), "")


def read_legacy_certificates(data_dir: Path, values: dict[str, Any]) -> None:
    """The data directory's old `certificates.toml`, if any, into `values` (truongso.toml's, flat), with a
    SettingsWarning: truongso.toml's `[certificates]` wins when both exist. Its `timezone` and `courses_root`
    are now the school's settings: they apply school-wide unless truongso.toml sets them. What the hub always
    gave the certificates (data_dir, db_url, public_url, gradebook_url) is ignored, as it was."""
    from graders.certificates.config import FROM_HUB, CertificateSettings, CertificateSettingsError

    path = data_dir / LEGACY_CERTIFICATES_FILE
    if not path.is_file():
        return
    legacy = read_toml(path, SettingsError)
    if "certificates" in values:
        warn(
            f"{path} bị bỏ qua: truongso.toml đã có mục [certificates], mục đó được dùng; hãy xoá {path.name}",
            f"{path} is ignored: truongso.toml has a [certificates] section, which wins; delete {path.name}",
        )
        return
    moved = [key for key in ("timezone", "courses_root") if key in legacy]
    for key in moved:
        value = legacy.pop(key)
        values.setdefault(key, value)
    for key in FROM_HUB:
        legacy.pop(key, None)
    try:  # its own errors name it
        CertificateSettings.create(dict(legacy), str(path))
    except CertificateSettingsError as exc:
        raise SettingsError(str(exc)) from None
    values["certificates"] = legacy
    vi = f"{path} đã lỗi thời: chuyển nội dung vào mục [certificates] của truongso.toml rồi xoá tệp này"
    en = f"{path} is deprecated: move its settings into the [certificates] section of truongso.toml, then delete it"
    if moved:
        names = ", ".join(moved)
        vi += f" ({names} nay là cài đặt chung của cả trường, đặt trong mục [school])"
        en += f" ({names}: now a setting of the whole school, in [school])"
    warn(vi, en)


def warn(vi: str, en: str) -> None:
    warnings.warn(f"{vi} / {en}", SettingsWarning, stacklevel=3)
