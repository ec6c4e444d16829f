"""`truongso cluster init | join-command | nodes | drain NODE | activate NODE | status`: several servers in one
Docker Swarm (hub.cluster.swarm), each a thin wrapper over Docker's own command, printed before it runs."""

from __future__ import annotations

import argparse
import sys

from hub.cli.common import add_action, add_verb, load_settings
from hub.engine import connect_docker


def register(verbs: argparse._SubParsersAction) -> None:
    sub = add_verb(verbs, "cluster", "nhiều máy chủ (Docker Swarm) / several servers (Docker Swarm)")
    add_action(
        sub,
        "init",
        "máy này làm manager và chạy registry riêng / make this machine the manager, run the private registry",
        run_init,
    )
    add_action(
        sub,
        "join-command",
        "lệnh để máy khác tham gia / the command another server runs to join",
        run_join_command,
        data_dir=False,
    )
    add_action(sub, "nodes", "các máy chủ / the nodes (docker node ls)", run_nodes, data_dir=False)
    for action, help in (
        ("drain", "ngừng đặt workspace lên máy này / stop placing workspaces on a node"),
        ("activate", "cho máy nhận workspace lại / let a node take workspaces again"),
    ):
        p = add_action(sub, action, help, run_availability)
        p.add_argument("node", metavar="NODE", help="tên máy (hostname) hoặc ID / hostname or node ID")
    add_action(
        sub,
        "status",
        "máy chủ, tài nguyên, workspace, registry / nodes, resources, workspaces, registry",
        run_status,
    )


def run_init(args: argparse.Namespace) -> int:
    from hub.cluster.swarm import init

    settings = load_settings(args.data_dir)
    init(settings, connect_docker(300), print)
    return 0


def run_join_command(args: argparse.Namespace) -> int:
    from hub.cluster.swarm import join_command

    join_command(print)
    return 0


def run_nodes(args: argparse.Namespace) -> int:
    from hub.cluster.swarm import nodes

    nodes(print)
    return 0


def run_availability(args: argparse.Namespace) -> int:
    from hub.cluster.swarm import set_availability

    settings = load_settings(args.data_dir)  # workspaces_on_manager: whether the manager takes workspaces
    availability = "drain" if args.action == "drain" else "active"
    set_availability(args.node, availability, print, managers_take_workspaces=settings.workspaces_on_manager)
    return 0


def run_status(args: argparse.Namespace) -> int:
    from hub.cluster.registry import registry_address
    from hub.cluster.swarm import status

    settings = load_settings(args.data_dir)
    _, registry_ok = status(settings, print)
    if not registry_ok:
        registry = registry_address(settings)
        print(
            f"truongso: lỗi / error: registry {registry} không trả lời; chạy `truongso cluster init` / "
            f"the registry {registry} does not answer; run `truongso cluster init`",
            file=sys.stderr,
        )
        return 1
    return 0
