"""Remove the Docker resources (containers, workspace networks and their firewall chains, volumes) tests made.

Every hub a test starts creates its own bridge network (`<prefix>-workspaces`), and Docker's default address
pools hold about thirty of them: a run that kept them all, or the leftovers of runs that were killed before their
cleanup, ran a later hub out of subnets ("could not find an available, non-overlapping IPv4 address pool").
So each hub's network goes when the test stops that hub, the session's leftovers go at its end, and a session
starts by removing what sessions that no longer run (killed, crashed) left behind.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

TEST_PREFIX = re.compile(r"^truongso-test-(\d+)-")


def remove_docker_resources(client: object, prefix: str) -> None:
    """Everything named `<prefix>-…`: containers, workspace networks (with their host firewall chains), volumes."""
    from docker.errors import DockerException

    for container in client.containers.list(all=True, filters={"name": f"{prefix}-"}):
        try:
            container.remove(force=True)
        except DockerException:
            pass
    # Every hub of the run has its own sub-prefix (`<prefix>-e2e`, `<prefix>-loop`…) and so its own network.
    for network in client.networks.list(filters={"name": prefix}):
        if not network.name.startswith(f"{prefix}-"):
            continue
        if network.name.endswith("-workspaces"):
            remove_workspace_network(client, network.name)
        else:  # a Swarm learner's overlay network, a grading pool's
            try:
                network.remove()
            except DockerException:
                pass
    for volume in client.volumes.list(filters={"name": f"{prefix}-"}):
        device = (volume.attrs.get("Options") or {}).get("device")
        if device:  # a learner's disk (hub.storage: <disk_dir>/mnt/<user>/home) a crashed hub left mounted
            from hub.storage import release_all

            release_all(Path(device).parents[2])
        try:
            volume.remove(force=True)
        except DockerException:
            pass


def remove_workspace_network(client: object, name: str) -> bool:
    """Remove a hub's workspace network and its firewall chain; False when it is gone already or still in use
    (a container still attached: the hub restart tests keep workspaces across hubs)."""
    from docker.errors import APIError, NotFound

    from hub.network import remove_host_firewall, workspace_network

    try:
        network = client.networks.get(name)
    except NotFound:
        return False
    if network.attrs.get("Containers"):
        return False
    # the firewall chain is named after the hub's docker_prefix, the network after `<docker_prefix>-workspaces`
    remove_host_firewall(workspace_network(network.attrs), name.removesuffix("-workspaces"))
    try:
        network.remove()
    except (APIError, NotFound):
        return False
    return True


def remove_stale_test_resources(client: object) -> list[int]:
    """Remove what test sessions whose process is gone left behind; the pids of those sessions."""
    names = [c.name for c in client.containers.list(all=True, filters={"name": "truongso-test-"})]
    names += [n.name for n in client.networks.list(filters={"name": "truongso-test-"})]
    names += [v.name for v in client.volumes.list(filters={"name": "truongso-test-"})]
    stale = sorted({int(m.group(1)) for m in map(TEST_PREFIX.match, names) if m} - {os.getpid()})
    stale = [pid for pid in stale if not _alive(pid)]
    for pid in stale:
        remove_docker_resources(client, f"truongso-test-{pid}")
    return stale


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
