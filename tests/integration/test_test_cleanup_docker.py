"""The suite gives back Docker's address pools: a killed run's networks are removed by the next run, a live
run's are left alone (tests/support/docker_resources.py). Without this, CI's engine ran out of subnets."""

from __future__ import annotations

import os
import subprocess

from docker.errors import DockerException
from support.docker_resources import remove_stale_test_resources, remove_workspace_network


def dead_pid() -> int:
    """The pid of a process that has ended (and, with pids reused only after wrap-around, stays free)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_a_dead_sessions_networks_go_and_a_live_ones_stay(docker_client: object) -> None:
    dead = dead_pid()
    live = os.getppid()  # a running process that is not this session
    made = []
    try:
        for pid in (dead, live):
            made.append(
                docker_client.networks.create(f"truongso-test-{pid}-x-workspaces", driver="bridge", internal=True)
            )
        assert dead in remove_stale_test_resources(docker_client)
        names = {n.name for n in docker_client.networks.list(filters={"name": "truongso-test-"})}
        assert f"truongso-test-{dead}-x-workspaces" not in names
        assert f"truongso-test-{live}-x-workspaces" in names
    finally:
        for network in made:
            remove_workspace_network(docker_client, network.name)


def test_a_network_still_in_use_is_kept(docker_client: object, docker_prefix: str, workspace_image: str) -> None:
    name = f"{docker_prefix}-inuse-workspaces"
    network = docker_client.networks.create(name, driver="bridge", internal=True)
    container = docker_client.containers.run(
        workspace_image, ["sleep", "60"], name=f"{docker_prefix}-inuse", network=name, detach=True, user="1000"
    )
    try:
        assert not remove_workspace_network(docker_client, name)  # a hub restart keeps its workspaces' network
        container.remove(force=True)
        assert remove_workspace_network(docker_client, name)
        assert not docker_client.networks.list(names=[name])
    finally:
        for leftover in (container, network):
            try:
                leftover.remove(force=True) if leftover is container else leftover.remove()
            except DockerException:
                pass
