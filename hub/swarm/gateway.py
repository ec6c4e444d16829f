"""The gateway: the one container through which the hub (a process on the manager) and the workspaces of a Swarm
cluster reach each other.

Every workspace is alone on its own internal overlay network (no route out of it: not to another learner, not to
a node's Docker API, not to the registry, not to the internet). The gateway is a container on the manager that
sits on the workspaces' bridge network (`hub.network`: its host firewall lets it open connections to the hub's
ports only) and is connected to each running learner's network. It relays with socat, no HTTP parsing:
- learners' networks → the hub's ports (API, exchange): started with the container (images/gateway);
- the hub → one workspace: one relay per running workspace, on the gateway's bridge address and a port of its
  own, added and removed by the spawner (`docker exec`). The proxy routes the learner to that address and port.
"""

from __future__ import annotations

from typing import Any

from docker.errors import DockerException, NotFound

from graders.text import Text, UserError

PREFIX_LABEL = "org.truongso.prefix"
ROLE_LABEL = "org.truongso.role"
RELAY_PORTS = range(20000, 30000)  # the hub's own ports are picked from the ephemeral range (32768+)


def gateway_name(prefix: str) -> str:
    return f"{prefix}-gateway"


def gateway_environment(hub_ip: str, hub_ports: list[int]) -> dict[str, str]:
    return {"TRUONGSO_HUB_IP": hub_ip, "TRUONGSO_HUB_PORTS": " ".join(str(p) for p in hub_ports)}


def ensure_gateway(
    client: Any, *, prefix: str, image: str, bridge_network: str, hub_ip: str, hub_ports: list[int]
) -> str:
    """The gateway running with this image and these hub ports (recreated when they changed: the spawner puts back
    the relays of running workspaces at its next look); its address on the bridge network."""
    name = gateway_name(prefix)
    env = gateway_environment(hub_ip, hub_ports)
    try:
        container = client.containers.get(name)
    except NotFound:
        container = None
    if container is not None:
        current = dict(e.split("=", 1) for e in container.attrs["Config"].get("Env") or [] if "=" in e)
        same = container.attrs["Config"]["Image"] == image and all(current.get(k) == v for k, v in env.items())
        if not same:
            container.remove(force=True)
            container = None
    try:
        if container is None:
            container = client.containers.run(
                image,
                name=name,
                detach=True,
                environment=env,
                network=bridge_network,
                restart_policy={"Name": "unless-stopped"},
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                read_only=True,
                # it sits on every learner's network: it relays ports, it must never route between them
                sysctls={"net.ipv4.ip_forward": "0"},
                pids_limit=4096,  # one socat process per open connection
                mem_limit="256m",
                labels={PREFIX_LABEL: prefix, ROLE_LABEL: "gateway"},
                log_config={"Type": "json-file", "Config": {"max-size": "1m", "max-file": "2"}},
            )
        elif container.status != "running":
            container.start()
        container.reload()
    except DockerException as exc:
        raise UserError(
            f"không chạy được cổng nối {name} ({image}): {exc}", f"cannot run the gateway {name} ({image}): {exc}"
        ) from None
    return gateway_address(container.attrs, bridge_network)


def gateway_address(attrs: dict, bridge_network: str) -> str:
    """The gateway's address on the bridge network ('' when it is not on it)."""
    network = (attrs.get("NetworkSettings", {}).get("Networks") or {}).get(bridge_network) or {}
    return network.get("IPAddress") or ""


def gateway_problem(attrs: dict | None, bridge_network: str) -> Text | None:
    """Why no workspace may start through this gateway, or None."""
    if attrs is None:
        return Text("cổng nối của cụm không còn", "the cluster's gateway container is gone")
    if not attrs.get("State", {}).get("Running"):
        return Text("cổng nối của cụm không chạy", "the cluster's gateway container is not running")
    if not gateway_address(attrs, bridge_network):
        return Text(
            f"cổng nối của cụm không ở trên mạng {bridge_network}",
            f"the cluster's gateway is not on network {bridge_network}",
        )
    return None


def relay_command(port: int, bind_ip: str, target_host: str, target_port: int) -> list[str]:
    """socat relaying the gateway's bridge address:port to a workspace; the target name is resolved at every
    connection, so a workspace Swarm moved to another node is reached at its new address."""
    return ["socat", f"TCP-LISTEN:{port},bind={bind_ip},fork,reuseaddr", f"TCP:{target_host}:{target_port}"]


def stop_relay_command(port: int) -> list[str]:
    return ["pkill", "-f", f"^socat TCP-LISTEN:{port},"]
