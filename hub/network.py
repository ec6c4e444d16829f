"""The workspaces' network: learners cannot reach each other, the internet, or the host beyond the hub.

- a Docker bridge network with inter-container traffic off (`enable_icc=false`) and `internal` (no route
  out of the machine);
- the hub listens on that bridge's gateway address, so workspaces can reach its API;
- an iptables chain lets workspaces open connections to the host on the hub's port only (everything else
  on the host, e.g. SSH or a database listening on all addresses, is refused);
- no IPv6: the network is created without it and refused if it has it, and the spawner turns IPv6 off
  inside every workspace (sysctls), so there is no IPv6 path for iptables (IPv4 only) to miss.
Fail closed: when the chain cannot be installed, `truongso up` refuses to run Docker workspaces, and the
spawner checks the chain before every start (`check_host_firewall`, two iptables calls) and refuses to
start a workspace when it has gone (e.g. `iptables -F` or a firewall reload behind the hub's back).
Safe to repeat on every start (`ensure_*`).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from graders.text import Text, UserError


@dataclass(frozen=True)
class WorkspaceNetwork:
    name: str
    subnet: str
    gateway: str


def ensure_workspace_network(client: object, name: str, prefix: str) -> WorkspaceNetwork:
    """Create the network if missing; refuse a same-named network that lets containers talk."""
    from docker.errors import APIError, NotFound

    try:
        network = client.networks.get(name)
    except NotFound:
        try:
            network = client.networks.create(
                name,
                driver="bridge",
                internal=True,
                enable_ipv6=False,  # the host firewall is IPv4 (iptables): no IPv6 path may exist to bypass it
                options={"com.docker.network.bridge.enable_icc": "false"},
                labels={"org.truongso.prefix": prefix},
            )
        except APIError as exc:
            if "address pool" not in str(exc):
                raise
            # Docker's default pools hold about thirty bridge networks; unused ones are the usual cause
            raise UserError(
                f"Docker hết dải địa chỉ cho mạng mới {name}; xoá các mạng không dùng (docker network prune) "
                "hoặc thêm dải vào default-address-pools của Docker",
                f"Docker has no address range left for the new network {name}; remove unused networks "
                "(docker network prune) or add ranges to Docker's default-address-pools",
            ) from None
        network.reload()
    problem = network_problem(network.attrs)
    if problem is not None:
        raise UserError(
            f"{problem.vi}; xoá nó (docker network rm {name}) hoặc chọn workspace_network khác",
            f"{problem.en}; remove it (docker network rm {name}) or choose another workspace_network",
        )
    return workspace_network(network.attrs)


def workspace_network(attrs: dict) -> WorkspaceNetwork:
    """Name, subnet and gateway of a network from its `docker network inspect` attributes."""
    config = attrs["IPAM"]["Config"][0]
    return WorkspaceNetwork(name=attrs["Name"], subnet=config["Subnet"], gateway=config["Gateway"])


def network_problem(attrs: dict) -> Text | None:
    """What makes this network unfit for workspaces, or None: containers must not talk to each other,
    go out of the machine, or have IPv6 (which our IPv4 firewall would not see)."""
    name = attrs.get("Name", "?")
    if (attrs.get("Options") or {}).get("com.docker.network.bridge.enable_icc") != "false" or not attrs.get("Internal"):
        return Text(
            f"mạng Docker {name} cho phép các container nói chuyện với nhau hoặc ra ngoài",
            f"Docker network {name} lets containers talk to each other or go out",
        )
    if attrs.get("EnableIPv6"):
        return Text(
            f"mạng Docker {name} bật IPv6, tường lửa của workspace chỉ lọc IPv4",
            f"Docker network {name} has IPv6 on, and the workspace firewall filters IPv4 only",
        )
    return None


def firewall_chain(prefix: str) -> str:
    # iptables chain names are at most 28 characters: a digest keeps long prefixes apart.
    import hashlib

    return f"TSWS-{hashlib.sha256(prefix.encode()).hexdigest()[:12]}"


def firewall_rules(network: WorkspaceNetwork, chain: str, allowed_ports: list[int]) -> list[list[str]]:
    """The rules of `chain` (iptables arguments), in order: replies, the allowed ports, then refuse."""
    rules = [["-A", chain, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"]]
    for port in allowed_ports:
        rules.append(["-A", chain, "-p", "tcp", "-d", network.gateway, "--dport", str(port), "-j", "RETURN"])
    rules.append(["-A", chain, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"])
    rules.append(["-A", chain, "-j", "REJECT"])
    return rules


def firewall_restore_input(chain: str, rules: list[list[str]]) -> str:
    """`iptables-restore --noflush` input that creates or replaces `chain` in one transaction: running
    workspaces (they outlive hub restarts) never see the chain empty, as they would between -F and -A."""
    lines = ["*filter", f":{chain} - [0:0]", *(" ".join(rule) for rule in rules), "COMMIT", ""]
    return "\n".join(lines)


# How to fix it, said once: every refusal below ends with it.
FIREWALL_FIX = Text(
    "cài iptables (apt-get install iptables) và chạy truongso up với quyền root, hoặc dùng --spawner local "
    "để dùng thử (không cách ly)",
    "install iptables (apt-get install iptables) and run truongso up as root, or use --spawner local for a "
    "trial (not isolated)",
)


def firewall_error(vi: str, en: str) -> UserError:
    """A refusal to run workspaces unprotected: what is wrong, then how to fix it, on one line."""
    return UserError(f"{vi}; {FIREWALL_FIX.vi}", f"{en}; {FIREWALL_FIX.en}")


def _iptables() -> str:
    iptables = shutil.which("iptables")
    if iptables is None:
        raise firewall_error(
            "không có lệnh iptables nên không chặn được workspace truy cập các cổng của máy chủ",
            "iptables is missing, so workspaces cannot be kept off the host's ports",
        )
    return iptables


def _run(iptables: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([iptables, "-w", *args], capture_output=True, text=True)


def _jump(network: WorkspaceNetwork, chain: str) -> list[str]:
    # `! -i lo`: the host's own connections to the bridge address (hub to services) are not workspaces'
    return ["INPUT", "!", "-i", "lo", "-s", network.subnet, "-j", chain]


def ensure_host_firewall(network: WorkspaceNetwork, prefix: str, allowed_ports: list[int]) -> None:
    """Install the rules, or raise UserError (with how to fix it): workspaces never run unprotected."""
    iptables = _iptables()
    restore = shutil.which("iptables-restore")
    if restore is None:
        raise firewall_error("không có lệnh iptables-restore", "iptables-restore is missing")
    chain = firewall_chain(prefix)
    rules = firewall_rules(network, chain, allowed_ports)
    done = subprocess.run(
        [restore, "-w", "--noflush"], input=firewall_restore_input(chain, rules), capture_output=True, text=True
    )
    if done.returncode != 0:
        reason = " ".join(done.stderr.split())[:300]
        raise firewall_error(
            f"không cài được chuỗi iptables {chain} ({reason})", f"cannot install the iptables chain {chain} ({reason})"
        )
    jump = _jump(network, chain)
    if _run(iptables, "-C", *jump).returncode != 0:
        inserted = _run(iptables, "-I", *jump)
        if inserted.returncode != 0:
            reason = " ".join(inserted.stderr.split())[:300]
            raise firewall_error(f"iptables lỗi: {reason}", f"iptables failed: {reason}")
    problem = check_host_firewall(network, prefix)
    if problem is not None:  # e.g. an iptables that answers 0 but installs nothing
        raise firewall_error(problem.vi, problem.en)


def check_host_firewall(network: WorkspaceNetwork, prefix: str) -> Text | None:
    """What is missing from the workspaces' firewall, or None when it is in place.

    Cheap enough for every spawn (two iptables calls): the INPUT jump for the network's subnet exists, and
    the chain ends with the two catch-all REJECTs, so whatever else is in it, nothing falls through to the
    host's other ports."""
    try:
        iptables = _iptables()
    except UserError as exc:
        return exc.text
    chain = firewall_chain(prefix)
    if _run(iptables, "-C", *_jump(network, chain)).returncode != 0:
        return Text(
            f"tường lửa của workspace (chuỗi iptables {chain} cho {network.subnet}) không còn",
            f"the workspace firewall (iptables chain {chain} for {network.subnet}) is gone",
        )
    listed = _run(iptables, "-S", chain)
    rules = listed.stdout.splitlines()
    ends = [
        f"-A {chain} -p tcp -j REJECT --reject-with tcp-reset",
        f"-A {chain} -j REJECT --reject-with icmp-port-unreachable",
    ]
    if listed.returncode != 0 or rules[-2:] != ends:
        return Text(
            f"chuỗi iptables {chain} đã bị thay đổi, không còn chặn các cổng khác của máy chủ",
            f"the iptables chain {chain} was changed and no longer blocks the host's other ports",
        )
    return None


def remove_host_firewall(network: WorkspaceNetwork, prefix: str) -> None:
    iptables = shutil.which("iptables")
    if iptables is None:
        return
    chain = firewall_chain(prefix)
    _run(iptables, "-D", *_jump(network, chain))
    _run(iptables, "-F", chain)
    _run(iptables, "-X", chain)
