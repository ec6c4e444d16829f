"""`truongso up`: check everything that can be checked, prepare the data directory, then become the hub."""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from pathlib import Path

from graders.text import UserError
from hub.cli.common import add_data_dir, load_settings, open_directory
from hub.directory import accounts
from hub.directory.db import DirectoryError, check_sqlite_file
from hub.keys import HubSecrets
from hub.settings import HubSettings

HUB_CONFIG = Path(__file__).resolve().parent.parent / "jupyterhub_config.py"
ADMIN_PASSWORD_ENV = "TRUONGSO_ADMIN_PASSWORD"


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("up", help="chạy hub / run the training hub")
    add_data_dir(p)
    p.add_argument("--ip", help="địa chỉ lắng nghe / address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="cổng / port (default 8000)")
    p.add_argument("--spawner", choices=["auto", "docker", "local"], help="docker | local | auto (default)")
    p.add_argument("--demo", action="store_true", help="tạo lớp và tài khoản demo / demo class and accounts")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    data_dir = ensure_data_dir(args.data_dir)
    clear_previous_run(data_dir)
    overrides = {k: v for k, v in (("ip", args.ip), ("port", args.port), ("spawner", args.spawner)) if v}
    if args.demo:
        overrides["demo"] = True
    settings = load_settings(data_dir, overrides)
    # Inputs are checked before anything is created, started or warned about.
    admin_password = os.environ.get(ADMIN_PASSWORD_ENV) or None
    if admin_password is not None and len(admin_password) < settings.min_password_length:
        raise UserError(
            f"{ADMIN_PASSWORD_ENV} phải dài ít nhất {settings.min_password_length} ký tự",
            f"{ADMIN_PASSWORD_ENV} must be at least {settings.min_password_length} characters",
        )
    check_port_free(settings.ip, settings.port, our_proxy_pid(data_dir))
    settings.spawner = resolve_spawner(settings.spawner, settings.workspace_image)
    if settings.spawner == "docker":
        prepare_docker(settings)
    settings = resolve_ports(settings, previous_settings(data_dir))
    secrets = HubSecrets.ensure(data_dir)
    if settings.spawner == "docker":
        protect_host(settings, secrets)
    try:
        check_sqlite_file(settings.hub_db_url)
    except DirectoryError as exc:
        raise UserError(f"không dùng được cơ sở dữ liệu: {exc}", f"cannot use the database: {exc}") from None
    directory = open_directory(settings)
    from hub.services.formgrader import ensure_course_dirs

    ensure_course_dirs(settings)
    if settings.demo:
        from hub.demo import ensure_demo_releases

        ensure_demo_releases(settings, directory)
        ensure_course_dirs(settings, warn=False)  # files nbgrader just wrote belong to the formgraders' user too
    with directory.session() as session:
        generated = accounts.ensure_admin(session, admin_password)
        demo = accounts.ensure_demo(session, course_ids()) if settings.demo else []
    directory.dispose()
    print_accounts(settings, generated, demo)
    settings.write_run_file()
    return exec_hub(settings)


def ensure_data_dir(data_dir: Path) -> Path:
    data_dir = data_dir.expanduser().absolute()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UserError(
            f"không ghi được vào thư mục dữ liệu {data_dir}: {reason}",
            f"cannot write to the data directory {data_dir}: {reason}",
        ) from None
    return data_dir


def clear_previous_run(data_dir: Path) -> None:
    """Refuse to start a second hub on one data directory; stop what a crashed one left behind."""
    from hub.cli.down import hub_pid, processes_of, stop_processes

    running = hub_pid(data_dir)
    if running is not None:
        raise UserError(
            f"hub của thư mục dữ liệu này đang chạy (pid {running}); dừng bằng `truongso down`",
            f"a hub already runs on this data directory (pid {running}); stop it with `truongso down`",
        )
    stop_processes(processes_of(data_dir))


def check_port_free(ip: str, port: int, our_proxy: int | None = None) -> None:
    """One line if another program holds the port; our own proxy from a previous start is fine
    (JupyterHub replaces it)."""
    exc = bind_error(ip, port)
    if exc is None or (exc.errno == errno.EADDRINUSE and our_proxy is not None):
        return
    if exc.errno == errno.EADDRINUSE:
        raise UserError(
            f"cổng {port} trên {ip} đang được chương trình khác dùng; chọn cổng khác bằng --port",
            f"port {port} on {ip} is already in use; choose another with --port",
        )
    raise UserError(f"không mở được {ip}:{port}: {exc.strerror}", f"cannot listen on {ip}:{port}: {exc.strerror}")


def our_proxy_pid(data_dir: Path) -> int | None:
    """The pid of the proxy a previous start left running (cleanup_proxy is off), if it still runs."""
    try:
        pid = int((data_dir / "run" / "proxy.pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"configurable-http-proxy" in cmdline else None


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


def resolve_ports(settings: HubSettings, previous: HubSettings | None) -> HubSettings:
    """Free ports for 0, the same ones as last time when possible: running workspaces know the hub's
    API address from their start, so it must not move when the hub restarts."""
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


def prepare_docker(settings: HubSettings) -> None:
    """The workspaces' network; the hub listens on its gateway so that workspaces reach the hub's API."""
    import docker
    from docker.errors import DockerException

    from hub.network import ensure_workspace_network

    try:
        network = ensure_workspace_network(docker.from_env(), settings.workspace_network, settings.docker_prefix)
    except DockerException as exc:
        raise UserError(f"lỗi Docker: {exc}", f"Docker error: {exc}") from None
    if settings.hub_ip == "127.0.0.1":
        settings.hub_ip = network.gateway


def protect_host(settings: HubSettings, secrets: HubSecrets) -> None:
    import docker

    from hub.configure import workspace_ports
    from hub.network import ensure_host_firewall, ensure_workspace_network
    from hub.storage import check_disk_support

    network = ensure_workspace_network(docker.from_env(), settings.workspace_network, settings.docker_prefix)
    # Fail closed: no firewall, no Docker workspaces (UserError says how to fix it).
    ensure_host_firewall(network, settings.docker_prefix, workspace_ports(settings, secrets))
    if settings.workspace_disk_bytes:
        check_disk_support(Path(settings.workspace_disk_dir))
    else:
        print(
            "CẢNH BÁO: workspace_disk_limit = 0, học viên mới không bị giới hạn dung lượng lưu trữ / "
            "WARNING: workspace_disk_limit = 0, new learners' storage is unlimited",
            file=sys.stderr,
            flush=True,
        )


def resolve_spawner(choice: str, image: str) -> str:
    from hub.spawner import docker_ready

    if choice == "local":
        return choice
    ready, reason = docker_ready(image)
    if ready:
        return "docker"
    if choice == "docker":
        raise UserError(f"không dùng được Docker: {reason.vi}", f"cannot use Docker: {reason.en}")
    bar = "!" * 78
    print(
        f"{bar}\n"
        f"CẢNH BÁO: không dùng được Docker ({reason.vi}).\n"
        "  Không gian làm việc sẽ chạy như tiến trình trên máy này, KHÔNG được cách ly giữa các học viên.\n"
        "  Chỉ dùng để dùng thử.\n"
        f"WARNING: Docker is not usable ({reason.en}).\n"
        "  Workspaces run as processes on this machine and are NOT isolated from each other.\n"
        "  For trying Trường Số out only.\n"
        f"{bar}",
        file=sys.stderr,
        flush=True,
    )
    return "local"


def course_ids() -> set[str]:
    from graders.curriculum import CourseError, load_courses

    try:
        return {c.id for c in load_courses()}
    except CourseError as exc:
        raise UserError(f"học liệu lỗi: {exc}", f"the curriculum is broken: {exc}") from None


def print_accounts(settings: HubSettings, admin_password: str | None, demo: list) -> None:
    url = f"http://{settings.ip}:{settings.port}{settings.base_url}"
    lines = [f"Trường Số: {url}  (thư mục dữ liệu / data directory: {settings.data_path})"]
    if admin_password:
        lines += [
            "Tài khoản quản trị vừa được tạo; mật khẩu chỉ hiện MỘT lần, hãy ghi lại:",
            "The admin account was created; its password is shown ONCE, write it down:",
            f"  admin  {admin_password}",
        ]
    if demo:
        lines.append("Tài khoản demo (mật khẩu mới mỗi lần chạy) / demo accounts (new passwords at every start):")
        lines += [f"  {a.username:<10} {a.password}  {a.role:<10} {a.full_name}" for a in demo]
    print("\n".join(lines), flush=True)


def exec_hub(settings: HubSettings) -> int:
    os.chdir(settings.data_path)
    argv = [sys.executable, "-m", "jupyterhub", "--config", str(HUB_CONFIG)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)
    return 0  # not reached
