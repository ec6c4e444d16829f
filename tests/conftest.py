"""Shared fixtures: real hubs started with `truongso up`, the Docker engine, our images.

Docker resources made by a test session are named `truongso-test-<pid>-…`: a hub's network goes when the hub
stops, the rest at the session's end, and a session first removes what dead sessions left (support/docker_resources).
Hub and container logs are attached to a test's report only when it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.docker_resources import remove_docker_resources, remove_stale_test_resources
from support.hub import Hub, running_demo_hub
from support.requirements import require

# What a test needs, read from the fixtures it uses (directly or through other fixtures), so markers cannot
# drift from the code: `make test-fast` deselects them. A fixture reached by `request.getfixturevalue` is not
# visible here; such parameters carry the marker on their `pytest.param` instead (tests/scores, tests/unit).
NEEDS = {
    "docker": {"docker_client"},  # every engine-backed fixture depends on it
    "browser": {"browser"},
    "postgres": {"postgres"},
    # A real JupyterHub in a subprocess; start_hub() refuses to run under `make test-fast` (TRUONGSO_TEST_FAST),
    # so a hub fixture missing here fails there instead of slowing the fast tier down.
    "hub": {
        "demo_hub",
        "docker_demo_hub",
        "hub",
        "cert_hub",
        "disk_hub",
        "pg_hub",
        "docker_hub",
        "classday_hub",
        "culler_hub",
        "tls_hub",
        "ldap_hub",
        "oidc_hub",
    },
    "slow": {"graded"},  # every course generated and autograded by nbgrader (tests/courses)
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for marker, fixtures in NEEDS.items():
            if used & fixtures:
                item.add_marker(marker)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when in ("setup", "call"):
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, Hub):
                report.sections.append((f"hub log {value.log_path.name}", value.log()[-8000:]))
                report.sections.append(("containers", value.container_logs()))


@pytest.fixture(scope="session", autouse=True)
def traversable_temp(tmp_path_factory: pytest.TempPathFactory) -> None:
    """pytest makes its temporary folders private (0700); hubs started in them run their formgraders as an
    unprivileged user, who must be able to pass through (0711: pass, not list)."""
    base = tmp_path_factory.getbasetemp()
    for folder in (base, *base.parents):  # under pytest-xdist one level deeper (…/pytest-N/popen-gw0)
        if folder.owner() == "root" and str(folder).startswith("/tmp/"):
            folder.chmod(0o711)


@pytest.fixture(scope="module")
def demo_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A demo hub with the local spawner, shared by the tests of one module."""
    with running_demo_hub(tmp_path_factory.mktemp("hub") / "data") as hub:
        yield hub


@pytest.fixture(scope="session")
def docker_client() -> object:
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except DockerException as exc:
        require(False, f"no Docker engine answers ({exc.__class__.__name__})")
    return client


@pytest.fixture(scope="session")
def docker_prefix(docker_client: object) -> Iterator[str]:
    prefix = f"truongso-test-{os.getpid()}"
    remove_stale_test_resources(docker_client)  # a killed run's networks would exhaust Docker's address pools
    yield prefix
    remove_docker_resources(docker_client, prefix)


def built_image(client: object, name: str) -> str:
    """One of our images (workspace, grader), built air-gapped if this machine does not have it yet."""
    from images.build import build_images

    return build_images(which=(name,), client=client, progress=lambda *a: None).images[name]


@pytest.fixture(scope="session")
def workspace_image(docker_client: object) -> str:
    return built_image(docker_client, "workspace")


@pytest.fixture(scope="session")
def grader_image(docker_client: object) -> str:
    return built_image(docker_client, "grader")


@pytest.fixture(scope="session")
def swarm_cluster(docker_client: object) -> Iterator[object]:
    """The multi-node test Swarm (tests/support/swarm_cluster.py): host manager (active), two worker nodes,
    the private registry. Shared by concurrent sessions; kept between runs with TRUONGSO_KEEP_CLUSTER=1."""
    from support.swarm_cluster import swarm_cluster_fixture

    yield from swarm_cluster_fixture(docker_client)


class Postgres:
    """The machine's PostgreSQL cluster (Debian's), with throwaway databases for this test session."""

    def __init__(self, port: str) -> None:
        self.port = port
        self.created: list[str] = []

    def psql(self, sql: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", "psql", "-p", self.port, "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True,
            text=True,
        )

    def database(self, suffix: str) -> str:
        """A new empty database; its SQLAlchemy URL."""
        name = f"truongso_test_{os.getpid()}_{suffix}"  # quoted below: course ids have hyphens
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        created = self.psql(f'CREATE DATABASE "{name}" OWNER truongso_test')
        require(created.returncode == 0, f"cannot create a PostgreSQL database: {created.stderr.strip()}")
        self.created.append(name)
        return f"postgresql+psycopg://truongso_test:truongso-test@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """PostgreSQL 15 from Debian, started if installed but stopped (`make test` installs it)."""
    require(shutil.which("pg_ctlcluster") is not None, "PostgreSQL is not installed (Debian: postgresql)")
    status = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout
    require(bool(status.strip()), "no PostgreSQL cluster exists")
    version, cluster = status.split()[:2]
    if "online" not in status:
        subprocess.run(["pg_ctlcluster", version, cluster, "start"], capture_output=True, check=False)
    port = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout.split()[2]
    server = Postgres(port)
    server.psql(
        "DO $$BEGIN CREATE ROLE truongso_test LOGIN PASSWORD 'truongso-test'; EXCEPTION WHEN OTHERS THEN END$$;"
    )
    yield server
    for name in server.created:
        server.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url(postgres: Postgres) -> str:
    """A fresh database in the machine's PostgreSQL."""
    return postgres.database("main")


@pytest.fixture
def repo() -> Path:
    return Path(__file__).resolve().parents[1]
