"""The offline install bundle, for real: `truongso bundle` on this machine, then a machine with no network at all (a
container on network `none`, made from our Debian base image, with its own Docker engine as ENVIRONMENT.md runs
one) unpacks it and runs its installer. The installer puts in the Debian packages it lacks (make, Docker, Node.js…),
the hub's virtualenv from the bundle's wheels, the proxy from its npm cache, the images from `docker save`, and
`make run` brings the demo hub up: no package index, mirror or registry can be reached, so every part came from
the bundle. Tampered and partial bundles are refused in tests/unit/test_offline_bundle.py.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.hub import ACCOUNT_LINE, truongso
from support.swarm_cluster import NODE_RUN_OPTIONS

from images.base import DEFAULT_BASE_TAG

READY_TIMEOUT = 1200  # unpack 2.4 GB, ~300 Debian packages, ~170 wheels, load the images, start the hub
LOGIN = "import urllib.request as u; print(u.urlopen('http://127.0.0.1:8000/hub/login', timeout=5).status)"


def docker(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args[:3])}…: {result.stderr.strip()}")
    return result


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory, workspace_image: str, grader_image: str) -> Path:
    """One bundle for the module, made with the registries this machine may use (PyPI, Debian, npm)."""
    output = tmp_path_factory.mktemp("bundle") / "truongso-offline.tar"
    made = truongso("bundle", "--output", str(output), timeout=1800)
    assert made.returncode == 0, made.stdout + made.stderr
    assert f"SHA-256: {output.with_name(output.name + '.sha256').read_text().split()[0]}" in made.stdout
    return output


@pytest.fixture
def closed_machine(docker_client: object, docker_prefix: str, bundle: Path) -> Iterator[str]:
    name = f"{docker_prefix}-offline"
    docker(
        "run", "-d", "--name", name, "--network", "none", *NODE_RUN_OPTIONS,
        "-v", f"{bundle}:/media/truongso-offline.tar:ro", "-v", f"{name}-lib:/var/lib/docker",
        DEFAULT_BASE_TAG, "sleep", "infinity",
    )  # fmt: skip
    try:
        yield name
    finally:
        docker("rm", "-f", "-v", name, check=False)
        docker("volume", "rm", "-f", f"{name}-lib", check=False)


def test_a_closed_machine_installs_and_runs_the_hub_from_the_bundle(closed_machine: str) -> None:
    network = json.loads(docker("inspect", closed_machine).stdout)[0]["HostConfig"]["NetworkMode"]
    assert network == "none"  # nothing but loopback: no index, mirror or registry to fall back on
    # The one setting given: this container has no loop devices for size-limited learner disks (a school's server
    # has; test_workspace_disk_docker.py covers them), and `up` refuses rather than run without them unsaid.
    install = (
        "cd /opt && tar xf /media/truongso-offline.tar && cd truongso-* && mkdir data && "
        "echo 'workspace_disk_limit = \"0\"' > data/truongso.toml && "
        '(bash scripts/offline-install.sh; echo "installer ended: $?") > /opt/install.log 2>&1'
    )
    docker("exec", "-d", closed_machine, "bash", "-c", install)
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        answer = docker("exec", closed_machine, "python3", "-c", LOGIN, check=False)
        if answer.stdout.strip() == "200":
            break
        log = docker("exec", closed_machine, "cat", "/opt/install.log", check=False).stdout
        assert "installer ended" not in log and time.monotonic() < deadline, log[-6000:]
        time.sleep(5)

    log = docker("exec", closed_machine, "cat", "/opt/install.log").stdout
    assert "installing system packages from the offline bundle" in log  # Docker, make, Node.js were missing
    assert "loading the images" in log and "everything reused" in log  # loaded, not rebuilt
    assert any(ACCOUNT_LINE.match(line) for line in log.splitlines()), log[-3000:]  # demo accounts printed
    for image in ("truongso/workspace:latest", "truongso/grader:latest"):
        docker("exec", closed_machine, "docker", "image", "inspect", image)
    # the hub's packages are the bundle's wheels, at the versions this machine runs
    freeze = docker("exec", closed_machine, "bash", "-c", "/opt/truongso-*/.venv/bin/pip freeze").stdout
    assert "jupyterhub==" in freeze and "nbgrader==" in freeze
