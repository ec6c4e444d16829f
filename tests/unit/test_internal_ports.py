"""Internal ports (the hub's API, the proxy's API, each service's) are picked below the kernel's ephemeral range,
distinct, and kept across restarts (hub/startup/ports.py). A port from bind(0) is in that range, where an outgoing
connection could take it before the service bound it: CI saw the portal fail with "Address already in use"."""

from __future__ import annotations

import socket
from pathlib import Path

from hub.settings import HubSettings
from hub.startup.ports import _below_ephemeral_range, ensure_internal_ports, free_port


def first_ephemeral() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])


def test_picked_ports_are_free_distinct_and_below_the_ephemeral_range(tmp_path: Path) -> None:
    settings = HubSettings.create({"data_dir": str(tmp_path), "port": 8123, "spawner": "local"}, "test")
    ensure_internal_ports(settings, tmp_path)
    picked = [settings.hub_port, settings.proxy_api_port, *settings.service_ports.values()]
    assert len(picked) >= 5 and len(set(picked)) == len(picked) and 8123 not in picked
    assert all(20000 <= port < first_ephemeral() for port in picked), picked
    settings.write_run_file()
    again = HubSettings.create({"data_dir": str(tmp_path), "port": 8123, "spawner": "local"}, "test")
    ensure_internal_ports(again, tmp_path)
    assert again.service_ports == settings.service_ports and again.hub_port == settings.hub_port  # kept


def test_a_taken_or_held_port_is_never_picked() -> None:
    low, high = _below_ephemeral_range()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", low + 7))
        holder.listen()
        taken = set(range(low, high, 2))  # every other port of the range is someone else's
        for _ in range(100):
            port = free_port("127.0.0.1", taken)
            assert port not in taken and port != low + 7 and low <= port <= high


def test_without_room_below_the_range_the_kernel_picks(tmp_path: Path) -> None:
    ranges = tmp_path / "ip_local_port_range"
    ranges.write_text("1024\t65000\n")
    assert _below_ephemeral_range(ranges) == (0, 0)
    ranges.write_text("15000 60999\n")
    assert _below_ephemeral_range(ranges) == (10000, 14999)
    ranges.write_text("garbage")
    assert _below_ephemeral_range(ranges) == (20000, 32767)
