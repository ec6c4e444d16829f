"""`truongso up`: the hub/startup steps in order (each checks before it changes anything), then become the hub."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from graders.text import UserError
from hub.cli.common import add_data_dir, load_settings
from hub.keys import HubSecrets
from hub.settings import HubSettings
from hub.startup.cluster_host import ensure_cluster_gateway, ensure_swarm_ready
from hub.startup.content import ensure_accounts, ensure_course_folders, ensure_databases
from hub.startup.data_dir import ensure_data_dir, ensure_no_hub_running
from hub.startup.docker_host import ensure_host_protection, ensure_spawner, ensure_workspace_network
from hub.startup.ports import ensure_internal_ports, ensure_public_port_free
from hub.startup.tls import ensure_sign_in, ensure_tls_files
from hub.upgrade import refuse_old_schemas

HUB_CONFIG = Path(__file__).resolve().parent.parent / "jupyterhub_config.py"
ADMIN_PASSWORD_ENV = "TRUONGSO_ADMIN_PASSWORD"


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("up", help="chạy hub / run the training hub")
    add_data_dir(p)
    p.add_argument("--ip", help="địa chỉ lắng nghe / address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="cổng / port (default 8000)")
    p.add_argument(
        "--spawner", choices=["auto", "docker", "swarm", "local"], help="docker | swarm | local | auto (default)"
    )
    p.add_argument("--demo", action="store_true", help="tạo lớp và tài khoản demo / demo class and accounts")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    data_dir = ensure_data_dir(args.data_dir)
    ensure_no_hub_running(data_dir)
    overrides = {k: v for k, v in (("ip", args.ip), ("port", args.port), ("spawner", args.spawner)) if v}
    if args.demo:
        overrides["demo"] = True
    settings = load_settings(data_dir, overrides)
    # Inputs are checked before anything is created, started or warned about.
    admin_password = admin_password_from_env(settings)
    refuse_old_schemas(settings, data_dir)  # an older release's data: `truongso upgrade` first, on purpose
    ensure_tls_files(settings)
    ensure_sign_in(settings)
    ensure_public_port_free(settings, data_dir)
    if settings.spawner == "swarm":
        ensure_swarm_ready(settings)
    else:
        settings.spawner = ensure_spawner(settings.spawner, settings.workspace_image)
    network = ensure_workspace_network(settings) if settings.spawner in ("docker", "swarm") else None
    settings = ensure_internal_ports(settings, data_dir)
    secrets = HubSecrets.ensure(data_dir)
    if network is not None:
        ensure_host_protection(settings, secrets, network)
    if network is not None and settings.spawner == "swarm":
        ensure_cluster_gateway(settings, secrets, network)
    directory = ensure_databases(settings)
    ensure_course_folders(settings, directory)
    generated, demo = ensure_accounts(settings, directory, admin_password)
    directory.dispose()
    print_accounts(settings, generated, demo)
    settings.write_run_file()
    return exec_hub(settings)


def admin_password_from_env(settings: HubSettings) -> str | None:
    admin_password = os.environ.get(ADMIN_PASSWORD_ENV) or None
    if admin_password is not None and len(admin_password) < settings.min_password_length:
        raise UserError(
            f"{ADMIN_PASSWORD_ENV} phải dài ít nhất {settings.min_password_length} ký tự",
            f"{ADMIN_PASSWORD_ENV} must be at least {settings.min_password_length} characters",
        )
    return admin_password


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
    argv = [sys.executable, "-m", "hub.hubapp", "--config", str(HUB_CONFIG)]  # JupyterHub, bounded clean-up
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)
    return 0  # not reached
