"""The workspaces' network: learners cannot reach each other, the internet, or the host beyond the hub.

- a Docker bridge network with inter-container traffic off (`enable_icc=false`) and `internal` (no route
  out of the machine);
- the hub listens on that bridge's gateway address, so workspaces can reach its API;
- an iptables chain lets workspaces open connections to the host on the hub's port only (everything else
  on the host, e.g. SSH or a database listening on all addresses, is refused).
Safe to repeat on every start (`ensure_*`).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from hub.i18n import Text, UserError


@dataclass(frozen=True)
class WorkspaceNetwork:
    name: str
    subnet: str
    gateway: str


def ensure_workspace_network(client: object, name: str, prefix: str) -> WorkspaceNetwork:
    """Create the network if missing; refuse a same-named network that lets containers talk."""
    from docker.errors import NotFound

    try:
        network = client.networks.get(name)
    except NotFound:
        network = client.networks.create(
            name,
            driver="bridge",
            internal=True,
            options={"com.docker.network.bridge.enable_icc": "false"},
            labels={"org.truongso.prefix": prefix},
        )
        network.reload()
    attrs = network.attrs
    if attrs.get("Options", {}).get("com.docker.network.bridge.enable_icc") != "false" or not attrs.get("Internal"):
        raise UserError(
            f"mạng Docker {name} đã có nhưng cho phép các container nói chuyện với nhau; xoá nó "
            f"(docker network rm {name}) hoặc chọn workspace_network khác",
            f"Docker network {name} exists but lets containers talk to each other or go out; remove it "
            f"(docker network rm {name}) or choose another workspace_network",
        )
    config = attrs["IPAM"]["Config"][0]
    return WorkspaceNetwork(name=name, subnet=config["Subnet"], gateway=config["Gateway"])


def firewall_chain(prefix: str) -> str:
    # iptables chain names are at most 28 characters: a digest keeps long prefixes apart.
    import hashlib

    return f"TSWS-{hashlib.sha256(prefix.encode()).hexdigest()[:12]}"


def firewall_rules(network: WorkspaceNetwork, chain: str, allowed_ports: list[int]) -> list[list[str]]:
    """The iptables commands (without the leading `iptables`) that rebuild `chain` from scratch."""
    rules = [
        ["-F", chain],
        ["-A", chain, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"],
    ]
    for port in allowed_ports:
        rules.append(["-A", chain, "-p", "tcp", "-d", network.gateway, "--dport", str(port), "-j", "RETURN"])
    rules.append(["-A", chain, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"])
    rules.append(["-A", chain, "-j", "REJECT"])
    return rules


def ensure_host_firewall(network: WorkspaceNetwork, prefix: str, allowed_ports: list[int]) -> Text | None:
    """Install the rules; returns a warning (not an error) when iptables cannot be used here."""
    iptables = shutil.which("iptables")
    if iptables is None:
        return Text(
            "không có iptables: workspace có thể kết nối tới mọi cổng của máy chủ",
            "iptables is missing: workspaces can connect to every port of the host",
        )
    chain = firewall_chain(prefix)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([iptables, "-w", *args], capture_output=True, text=True)

    if run("-n", "-L", chain).returncode != 0 and run("-N", chain).returncode != 0:
        return Text("không tạo được chuỗi iptables (cần quyền root)", "cannot create the iptables chain (needs root)")
    for rule in firewall_rules(network, chain, allowed_ports):
        done = run(*rule)
        if done.returncode != 0:
            return Text(f"lỗi iptables: {done.stderr.strip()}", f"iptables failed: {done.stderr.strip()}")
    # `! -i lo`: the host's own connections to the bridge address (hub to services) are not workspaces'
    jump = ["INPUT", "!", "-i", "lo", "-s", network.subnet, "-j", chain]
    if run("-C", *jump).returncode != 0:
        run("-I", *jump)
    return None


def remove_host_firewall(network: WorkspaceNetwork, prefix: str) -> None:
    iptables = shutil.which("iptables")
    if iptables is None:
        return
    chain = firewall_chain(prefix)
    subprocess.run(
        [iptables, "-w", "-D", "INPUT", "!", "-i", "lo", "-s", network.subnet, "-j", chain], capture_output=True
    )
    subprocess.run([iptables, "-w", "-F", chain], capture_output=True)
    subprocess.run([iptables, "-w", "-X", chain], capture_output=True)
