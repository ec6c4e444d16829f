"""The ports: the public one must be ours to take; internal ones are picked free and kept across restarts."""

from __future__ import annotations

import errno
import random
import socket
from pathlib import Path

from graders.text import UserError
from hub.processes import our_proxy_pid
from hub.settings import HubSettings


def ensure_public_port_free(settings: HubSettings, data_dir: Path) -> None:
    """One line if another program holds a port the proxy will listen on (the hub's, and the HTTP redirect's
    when set); our own proxy from a previous start is fine (JupyterHub replaces it)."""
    ports = [(settings.port, "--port")]
    if settings.http_redirect_port:
        ports.append((settings.http_redirect_port, "http_redirect_port"))
    for port, setting in ports:
        _ensure_free(settings.ip, port, setting, data_dir)


def _ensure_free(ip: str, port: int, setting: str, data_dir: Path) -> None:
    exc = bind_error(ip, port)
    if exc is None or (exc.errno == errno.EADDRINUSE and our_proxy_pid(data_dir) is not None):
        return
    if exc.errno == errno.EADDRINUSE:
        raise UserError(
            f"cổng {port} trên {ip} đang được chương trình khác dùng; chọn cổng khác bằng {setting}",
            f"port {port} on {ip} is already in use; choose another with {setting}",
        )
    raise UserError(f"không mở được {ip}:{port}: {exc.strerror}", f"cannot listen on {ip}:{port}: {exc.strerror}")


def ensure_internal_ports(settings: HubSettings, data_dir: Path) -> HubSettings:
    """Free ports for 0, the same ones as last time when possible: running workspaces know the hub's
    API address from their start, so it must not move when the hub restarts."""
    previous = previous_settings(data_dir)
    taken = {settings.port, settings.http_redirect_port, settings.hub_port, settings.proxy_api_port}
    taken |= set(settings.service_ports.values())
    if settings.hub_port == 0:
        old = previous.hub_port if previous and previous.hub_ip == settings.hub_ip else 0
        usable = old and old not in taken and port_is_free(settings.hub_ip, old)
        settings.hub_port = old if usable else free_port(settings.hub_ip, taken)
        taken.add(settings.hub_port)
    if settings.proxy_api_port == 0:
        old = previous.proxy_api_port if previous else 0
        usable = old and old not in taken and port_is_free("127.0.0.1", old)
        settings.proxy_api_port = old if usable else free_port("127.0.0.1", taken)
        taken.add(settings.proxy_api_port)
    from hub.services import port_names

    ports = dict(settings.service_ports)
    for name in port_names(settings):
        if name not in ports:
            # free on every address a service may bind (loopback or the hub's)
            old = previous.service_ports.get(name, 0) if previous and previous.hub_ip == settings.hub_ip else 0
            usable = old and old not in taken and port_is_free(settings.hub_ip, old) and port_is_free("127.0.0.1", old)
            ports[name] = old if usable else free_port(settings.hub_ip, taken)
            taken.add(ports[name])
    settings.service_ports = ports
    return settings


def bind_error(ip: str, port: int) -> OSError | None:
    """Why we could not listen there, or None. SO_REUSEADDR as the hub's own listeners have it: connections
    of a previous hub still in TIME_WAIT must not make its port look taken (the workspaces know that port)."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip, port))
        except OSError as exc:
            return exc
    return None


def port_is_free(ip: str, port: int) -> bool:
    return bind_error(ip, port) is None


def free_port(ip: str = "127.0.0.1", taken: frozenset[int] | set[int] = frozenset()) -> int:
    """A port free on `ip` (and on loopback), not in `taken`, below the kernel's ephemeral range. A port from
    bind(0) comes from that range, where any outgoing connection may take it in the seconds before the service
    binds it (seen in CI: a service's "Address already in use")."""
    low, high = _below_ephemeral_range()
    rng = random.SystemRandom()
    for _ in range(500 if high > low else 0):
        port = rng.randint(low, high)
        if port not in taken and port_is_free(ip, port) and (ip == "127.0.0.1" or port_is_free("127.0.0.1", port)):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # no room below the range: the kernel's pick
        sock.bind((ip, 0))
        return sock.getsockname()[1]


def _below_ephemeral_range(ranges: Path = Path("/proc/sys/net/ipv4/ip_local_port_range")) -> tuple[int, int]:
    """Ports to pick internal ones from: [20000, first ephemeral port), or below it down to 10000 when it starts
    low; (0, 0) when there is no such room."""
    try:
        first = int(ranges.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first = 32768  # Linux's default
    low = 20000 if first > 21000 else 10000
    return (low, first - 1) if first - 1 > low else (0, 0)


def previous_settings(data_dir: Path) -> HubSettings | None:
    try:
        return HubSettings.from_run_file(data_dir)
    except Exception:  # first start, or a file from an older version: pick new ports
        return None
