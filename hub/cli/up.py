"""`truongso up`: check everything that can be checked, prepare the data directory, then become the hub."""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from pathlib import Path

from hub.cli.common import add_data_dir, load_settings, open_directory
from hub.directory import accounts
from hub.directory.db import DirectoryError, check_sqlite_file
from hub.i18n import UserError
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
    overrides = {k: v for k, v in (("ip", args.ip), ("port", args.port), ("spawner", args.spawner)) if v}
    if args.demo:
        overrides["demo"] = True
    settings = load_settings(data_dir, overrides)
    check_port_free(settings.ip, settings.port)
    settings = resolve_ports(settings)
    settings.spawner = resolve_spawner(settings.spawner)
    HubSecrets.ensure(data_dir)
    try:
        check_sqlite_file(settings.hub_db_url)
    except DirectoryError as exc:
        raise UserError(f"không dùng được cơ sở dữ liệu: {exc}", f"cannot use the database: {exc}") from None
    directory = open_directory(settings)
    admin_password = os.environ.get(ADMIN_PASSWORD_ENV) or None
    if admin_password is not None and len(admin_password) < settings.min_password_length:
        raise UserError(
            f"{ADMIN_PASSWORD_ENV} phải dài ít nhất {settings.min_password_length} ký tự",
            f"{ADMIN_PASSWORD_ENV} must be at least {settings.min_password_length} characters",
        )
    with directory.session() as session:
        generated = accounts.ensure_admin(session, admin_password)
        demo = accounts.ensure_demo(session, demo_course_id()) if settings.demo else []
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


def check_port_free(ip: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserError(
                    f"cổng {port} trên {ip} đang được chương trình khác dùng; chọn cổng khác bằng --port",
                    f"port {port} on {ip} is already in use; choose another with --port",
                ) from None
            raise UserError(
                f"không mở được {ip}:{port}: {exc.strerror}", f"cannot listen on {ip}:{port}: {exc.strerror}"
            ) from None


def free_port(ip: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((ip, 0))
        return sock.getsockname()[1]


def resolve_ports(settings: HubSettings) -> HubSettings:
    if settings.hub_port == 0:
        settings.hub_port = free_port(settings.hub_ip)
    if settings.proxy_api_port == 0:
        settings.proxy_api_port = free_port()
    return settings


def resolve_spawner(choice: str) -> str:
    if choice != "auto":
        return choice
    from hub.spawner import docker_ready

    ready, reason = docker_ready()
    if ready:
        return "docker"
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


def demo_course_id() -> str | None:
    try:
        from graders.curriculum import default_courses_root, load_courses
    except ImportError:
        return None
    try:
        courses = load_courses(default_courses_root())
    except Exception:  # the demo must start even if a course file is being edited
        return None
    return courses[0].id if courses else None


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
