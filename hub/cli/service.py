"""`truongso service install | remove`: the hub as a systemd service (starts at boot, restarts on failure, after
the Docker engine), its output in the journal and in rotating files under <data dir>/logs."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from graders.text import UserError
from hub.cli.common import add_action, add_verb, existing_data_dir

UNIT = "truongso.service"
UNIT_DIR = Path("/etc/systemd/system")


def register(verbs: argparse._SubParsersAction) -> None:
    actions = add_verb(verbs, "service", "chạy hub như một dịch vụ systemd / the hub as a systemd service")
    p = add_action(actions, "install", "cài và bật dịch vụ / write and enable the unit", run_install)
    p.add_argument("--port", type=int, default=8000, help="cổng / port (default 8000)")
    p.add_argument("--ip", default="0.0.0.0", help="địa chỉ lắng nghe / address to listen on (default 0.0.0.0)")
    p.add_argument("--unit-dir", type=Path, default=UNIT_DIR, help=f"nơi ghi tệp unit / where (default {UNIT_DIR})")
    p.add_argument("--no-start", action="store_true", help="chỉ ghi tệp / write the unit only")
    r = add_action(actions, "remove", "tắt và xoá dịch vụ / disable and remove the unit", run_remove, data_dir=False)
    r.add_argument("--unit-dir", type=Path, default=UNIT_DIR, help=f"nơi có tệp unit / where (default {UNIT_DIR})")


def unit_text(data_dir: Path, ip: str, port: int) -> str:
    """The unit: `truongso up` in the foreground (it becomes the hub), `truongso down` to stop what it started;
    the learners' Docker workspaces are not in the unit's processes and keep running across a restart."""
    truongso = _quoted(Path(sys.executable).with_name("truongso"))
    folder = _quoted(data_dir)
    return f"""\
[Unit]
Description=Trường Số training hub ({str(data_dir).replace("%", "%%")})
Documentation=file://{Path(__file__).resolve().parents[2] / "README.md"}
After=network-online.target docker.service
Wants=network-online.target docker.service

[Service]
Type=simple
WorkingDirectory={str(data_dir.parent).replace("%", "%%")}
Environment=PYTHONUNBUFFERED=1
ExecStart={truongso} up --data-dir {folder} --ip {ip} --port {port}
ExecStopPost={truongso} down --data-dir {folder}
KillMode=mixed
TimeoutStopSec=60
Restart=on-failure
RestartSec=5

[Install]
WantedBy=multi-user.target
"""


def _quoted(path: Path) -> str:
    """A path as one word of a unit's command line: quoted, and % doubled (systemd's specifiers)."""
    text = str(path).replace("%", "%%").replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir() and shutil.which("systemctl") is not None


def run_install(args: argparse.Namespace) -> int:
    data_dir = existing_data_dir(args.data_dir).absolute()
    if not 1 <= args.port <= 65535:
        raise UserError(f"cổng không hợp lệ: {args.port}", f"not a port number: {args.port}")
    unit = args.unit_dir / UNIT
    try:
        args.unit_dir.mkdir(parents=True, exist_ok=True)
        unit.write_text(unit_text(data_dir, args.ip, args.port), encoding="utf-8")
    except OSError as exc:
        raise UserError(f"không ghi được {unit}: {exc.strerror}", f"cannot write {unit}: {exc.strerror}") from None
    print(f"Đã ghi / written: {unit}")
    if args.no_start:
        return 0
    if not systemd_running():
        print(
            "systemd không chạy ở máy này: bật sau bằng / systemd is not running here; later: "
            f"systemctl daemon-reload && systemctl enable --now {UNIT}"
        )
        return 0
    for command in (["daemon-reload"], ["enable", "--now", UNIT]):
        done = subprocess.run(["systemctl", *command], capture_output=True, text=True)
        if done.returncode != 0:
            raise UserError(
                f"systemctl {' '.join(command)} thất bại: {done.stderr.strip()}",
                f"systemctl {' '.join(command)} failed: {done.stderr.strip()}",
            )
    print(f"Đã bật / enabled and started: {UNIT} (journalctl -u {UNIT}; logs in {data_dir / 'logs'})")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    unit = args.unit_dir / UNIT
    if systemd_running():
        subprocess.run(["systemctl", "disable", "--now", UNIT], capture_output=True, text=True)
    unit.unlink(missing_ok=True)
    if systemd_running():
        subprocess.run(["systemctl", "daemon-reload"], capture_output=True, text=True)
    print(f"Đã xoá / removed: {unit}")
    return 0
