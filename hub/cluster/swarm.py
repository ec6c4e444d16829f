"""Thin wrappers over Docker's own swarm commands, for `truongso cluster …`: each prints the command it runs.

They talk to the engine the docker CLI reaches (DOCKER_HOST, else the local socket): on the manager. Every
refusal is a UserError raised before anything is changed.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graders.text import UserError

Printer = Callable[[str], None]
PREFIX_LABEL = "org.truongso.prefix"
USER_LABEL = "org.truongso.user"  # on workspace services (hub/swarm/spawner.py), beside org.truongso.prefix


@dataclass(frozen=True)
class NodeInfo:
    """One node as `docker node inspect` describes it, plus the workspaces running there."""

    id: str
    hostname: str
    role: str  # manager | worker
    availability: str  # active | pause | drain
    state: str  # ready | down | unknown | disconnected
    address: str
    memory_bytes: int
    nano_cpus: int
    leader: bool = False
    workspaces: int = 0

    @classmethod
    def from_inspect(cls, data: dict[str, Any], workspaces: int = 0) -> NodeInfo:
        resources = data.get("Description", {}).get("Resources", {})
        return cls(
            id=data["ID"],
            hostname=data.get("Description", {}).get("Hostname", ""),
            role=data["Spec"].get("Role", ""),
            availability=data["Spec"].get("Availability", ""),
            state=data.get("Status", {}).get("State", ""),
            address=data.get("Status", {}).get("Addr", ""),
            memory_bytes=int(resources.get("MemoryBytes") or 0),
            nano_cpus=int(resources.get("NanoCPUs") or 0),
            leader=bool(data.get("ManagerStatus", {}).get("Leader")),
            workspaces=workspaces,
        )


def advertise_address(settings: Any, client: Any = None) -> str:
    """The manager's address the nodes reach: the `advertise_addr` setting, else docker0's address (the gateway
    of Docker's default bridge network)."""
    if settings.advertise_addr:
        return settings.advertise_addr
    import ipaddress

    import docker

    client = client or docker.from_env()
    try:
        config = client.networks.get("bridge").attrs["IPAM"]["Config"][0]
    except (docker.errors.NotFound, LookupError):
        raise UserError(
            "không tìm thấy địa chỉ của docker0: đặt `advertise_addr` trong [cluster]",
            "cannot find docker0's address: set `advertise_addr` in [cluster]",
        ) from None
    # Some engines leave the default bridge's gateway unset in IPAM: it is then the subnet's first address.
    return config.get("Gateway") or str(next(ipaddress.ip_network(config["Subnet"]).hosts()))


def run(args: list[str], printer: Printer | None = print, *, check: bool = True) -> subprocess.CompletedProcess:
    """`docker ARGS`, printed first (`$ docker …`) when a printer is given; a failure is a one-line UserError."""
    if printer:
        printer("$ " + shlex.join(["docker", *args]))
    for attempt in range(10):
        try:
            result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)
        except FileNotFoundError:
            raise UserError("không có lệnh docker trên máy này", "the docker command is not on this machine") from None
        # Swarm refuses an update made while the object changed under it (e.g. a node's own status report):
        # "update out of sequence"; asking again is the answer.
        if result.returncode == 0 or "out of sequence" not in result.stderr or attempt == 9:
            break
        time.sleep(0.5)
    if check and result.returncode != 0:
        detail = _first_line(result.stderr) or f"exit {result.returncode}"
        raise UserError(
            f"`docker {args[0]} {args[1]}` thất bại: {detail}", f"`docker {args[0]} {args[1]}` failed: {detail}"
        )
    return result


def swarm_state() -> tuple[str, bool, str]:
    """(LocalNodeState, is a manager, NodeID) of the engine the CLI reaches."""
    fmt = "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.NodeID}}"
    result = run(["info", "--format", fmt], None, check=False)
    if result.returncode != 0:
        detail = _first_line(result.stderr)
        raise UserError(f"không kết nối được Docker: {detail}", f"cannot reach Docker: {detail}")
    parts = [*result.stdout.split(), "", "", ""]
    return parts[0], parts[1] == "true", parts[2]


def require_manager() -> None:
    state, manager, _ = swarm_state()
    if state != "active" or not manager:
        raise UserError(
            "máy này chưa là manager của một swarm: chạy `truongso cluster init` trước",
            "this engine is not a swarm manager: run `truongso cluster init` first",
        )


def init(settings: Any, client: Any, printer: Printer = print) -> str:
    """Make this engine a swarm manager (kept if it already is one) and start the registry; the registry's
    address. Refused, changing nothing, when the engine is a worker of (or joining) another swarm."""
    from hub.cluster.registry import RegistryTLS, cluster_dir, start_registry, trust_commands

    state, manager, _ = swarm_state()
    addr = advertise_address(settings, client) if state != "active" or manager else ""
    if state == "inactive":
        run(["swarm", "init", "--advertise-addr", addr], printer)
    elif state == "active" and manager:
        printer("Máy này đã là manager của swarm: giữ nguyên / this engine already manages a swarm: kept")
    else:
        raise UserError(
            f"máy này đã ở trong một swarm khác (trạng thái {state}, không phải manager); "
            "rời swarm đó trước (`docker swarm leave`) nếu đúng là muốn vậy",
            f"this engine is already in another swarm (state {state}, not a manager); "
            "leave it first (`docker swarm leave`) if that is really what you want",
        )
    registry = start_registry(settings, client, advertise_addr=addr, progress=lambda line: printer(f"$ {line}"))
    ca = RegistryTLS(cluster_dir(settings)).ca_cert
    printer(f"Registry: https://{registry} (CA {ca})")
    printer("Trên mỗi máy chủ khác, chép CA rồi chạy / on every other server, copy the CA there, then run:")
    for line in trust_commands(registry):
        printer(f"    {line}")
    printer("Sau đó / then: `truongso cluster join-command`")
    return registry


def join_command(printer: Printer = print) -> str:
    """The `docker swarm join …` line a worker runs (Docker prints it)."""
    require_manager()
    result = run(["swarm", "join-token", "worker"], printer)
    printer(result.stdout.rstrip())
    return result.stdout


def nodes(printer: Printer = print) -> str:
    require_manager()
    result = run(["node", "ls"], printer)
    printer(result.stdout.rstrip())
    return result.stdout


def inspect_nodes(prefix: str | None = None, printer: Printer | None = None) -> list[NodeInfo]:
    """Every node, with the number of `prefix`'s workspaces running on it (none counted without a prefix)."""
    ids = run(["node", "ls", "--quiet"], printer).stdout.split()
    data = json.loads(run(["node", "inspect", *ids], printer).stdout) if ids else []
    counts = workspaces_per_node(prefix, printer) if prefix else {}
    return [NodeInfo.from_inspect(d, counts.get(d["ID"], 0)) for d in data]


def workspaces_per_node(prefix: str, printer: Printer | None = None) -> dict[str, int]:
    """{node id: running workspace tasks} of the services our spawner made for `prefix` (docker_prefix)."""
    filters = ["--filter", f"label={PREFIX_LABEL}={prefix}", "--filter", f"label={USER_LABEL}"]
    services = run(["service", "ls", "--quiet", *filters], printer).stdout.split()
    if not services:
        return {}
    tasks = run(["service", "ps", "--quiet", "--filter", "desired-state=running", *services], printer).stdout.split()
    if not tasks:
        return {}
    counts: dict[str, int] = {}
    for task in json.loads(run(["inspect", "--type", "task", *tasks], None).stdout):
        if task.get("Status", {}).get("State") == "running":
            counts[task.get("NodeID", "")] = counts.get(task.get("NodeID", ""), 0) + 1
    return counts


def find_node(name: str, known: list[NodeInfo]) -> NodeInfo:
    """The node called `name` (hostname, ID or ID prefix); one clear line when unknown or ambiguous."""
    matches = [n for n in known if name in (n.hostname, n.id)] or [n for n in known if n.id.startswith(name)]
    names = ", ".join(sorted(n.hostname for n in known)) or "-"
    if not matches:
        raise UserError(
            f"không có máy chủ {name!r} trong swarm (có: {names})", f"no node {name!r} in the swarm (known: {names})"
        )
    if len(matches) > 1:
        ids = ", ".join(n.id[:12] for n in matches)
        raise UserError(
            f"có nhiều máy chủ tên {name!r} ({ids}): dùng ID", f"several nodes are called {name!r} ({ids}): use the ID"
        )
    return matches[0]


def check_drain(target: NodeInfo, known: list[NodeInfo], managers_take_workspaces: bool = False) -> None:
    """Refuse to drain the last node that can run workspaces: they would have nowhere to go. Managers count only
    with `workspaces_on_manager` (otherwise the spawner places workspaces on workers alone)."""

    def takes(n: NodeInfo) -> bool:
        return n.availability == "active" and n.state == "ready" and (managers_take_workspaces or n.role == "worker")

    if takes(target) and not any(takes(n) for n in known if n.id != target.id):
        raise UserError(
            f"không thể drain {target.hostname}: đó là máy chủ cuối cùng đang nhận workspace "
            "(workspace sẽ không còn chỗ chạy); kích hoạt máy khác trước",
            f"cannot drain {target.hostname}: it is the last node accepting workspaces (they would have "
            "nowhere to run); activate another node first",
        )


def set_availability(
    name: str, availability: str, printer: Printer = print, *, managers_take_workspaces: bool = False
) -> NodeInfo:
    """`docker node update --availability drain|active NODE`, after the checks."""
    require_manager()
    known = inspect_nodes()
    target = find_node(name, known)
    if availability == "drain":
        check_drain(target, known, managers_take_workspaces)
    run(["node", "update", "--availability", availability, target.id], printer)
    printer(f"{target.hostname}: {target.availability} → {availability}")
    return target


def status(settings: Any, printer: Printer = print) -> tuple[list[NodeInfo], bool]:
    """Nodes (availability, state, memory, CPUs, workspaces) and whether the registry answers."""
    from hub.cluster.registry import RegistryTLS, cluster_dir, push_address, registry_address, registry_up

    require_manager()
    known = inspect_nodes(settings.docker_prefix, printer)
    registry, ca = registry_address(settings), RegistryTLS(cluster_dir(settings)).ca_cert
    up = all(registry_up(address, ca) for address in {registry, push_address(settings)})
    printer(render_status(known, registry, up))
    return known, up


def render_status(known: list[NodeInfo], registry: str, registry_ok: bool) -> str:
    """The status table: one line per node, then the registry."""
    lines = [
        f"{'máy chủ / node':<24} {'vai trò / role':<15} {'trạng thái / state':<19} {'nhận việc / availability':<25}"
        f" {'RAM':>9} {'CPU':>5} {'workspace':>9}"
    ]
    for n in sorted(known, key=lambda n: (n.role != "manager", n.hostname)):
        role = n.role + (" *" if n.leader else "")
        lines.append(
            f"{n.hostname[:24]:<24} {role:<15} {n.state:<19} {n.availability:<25}"
            f" {n.memory_bytes / 2**30:>7.1f}Gi {n.nano_cpus / 1e9:>5.1f} {n.workspaces:>9}"
        )
    active = sum(1 for n in known if n.availability == "active" and n.state == "ready")
    lines.append(f"Máy nhận workspace / nodes accepting workspaces: {active}/{len(known)}")
    state = "đang chạy / up" if registry_ok else "KHÔNG trả lời / DOWN"
    lines.append(f"Registry {registry}: {state}")
    return "\n".join(lines)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0] if lines else ""
