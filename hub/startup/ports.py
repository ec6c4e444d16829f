"""The ports: the public one must be ours to take; internal ones are picked free and kept across restarts."""

from __future__ import annotations

import errno
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
    if settings.hub_port == 0:
        old = previous.hub_port if previous and previous.hub_ip == settings.hub_ip else 0
        settings.hub_port = old if old and port_is_free(settings.hub_ip, old) else free_port(settings.hub_ip)
    if settings.proxy_api_port == 0:
        old = previous.proxy_api_port if previous else 0
        settings.proxy_api_port = old if old and port_is_free("127.0.0.1", old) else free_port()
    from hub.services import port_names

    ports = dict(settings.service_ports)
    for name in port_names(settings):
        if name not in ports:
            # free on every address a service may bind (loopback or the hub's)
            old = previous.service_ports.get(name, 0) if previous and previous.hub_ip == settings.hub_ip else 0
            usable = old and port_is_free(settings.hub_ip, old) and port_is_free("127.0.0.1", old)
            ports[name] = old if usable else free_port(settings.hub_ip)
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


def free_port(ip: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((ip, 0))
        return sock.getsockname()[1]


def previous_settings(data_dir: Path) -> HubSettings | None:
    try:
        return HubSettings.from_run_file(data_dir)
    except Exception:  # first start, or a file from an older version: pick new ports
        return None
