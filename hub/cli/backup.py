"""`truongso backup` and `truongso restore`: one checked archive of the data directory (hub/backup)."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from graders.text import UserError
from hub.cli.common import add_data_dir, existing_data_dir, load_settings


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("backup", help="sao lưu thư mục dữ liệu / back up the data directory")
    add_data_dir(p)
    p.add_argument(
        "--output",
        type=Path,
        help="tệp sao lưu / archive to write (default: ./truongso-backup-<date>-<time>.tar.gz)",
    )
    p.set_defaults(run=run_backup)
    r = verbs.add_parser("restore", help="khôi phục từ bản sao lưu / restore from a backup")
    r.add_argument("archive", type=Path, help="tệp sao lưu / the backup archive")
    r.add_argument("--data-dir", type=Path, required=True, help="thư mục mới hoặc rỗng / a new or empty folder")
    r.add_argument("--check", action="store_true", help="chỉ kiểm tra / only check the archive, write nothing")
    r.set_defaults(run=run_restore)


def run_backup(args: argparse.Namespace) -> int:
    from hub.backup import write_backup

    data_dir = existing_data_dir(args.data_dir)
    _refuse_outside_databases(data_dir)
    output = args.output or Path(f"truongso-backup-{datetime.now():%Y%m%d-%H%M%S}.tar.gz")
    result = write_backup(data_dir, output)
    print(f"Đã sao lưu / backed up: {result.archive}")
    print(f"  tệp / files: {result.files} (cơ sở dữ liệu / databases: {result.databases}), {result.bytes:,} bytes")
    print(f"  SHA-256: {result.digest}  (giữ riêng mã này / keep this digest apart from the archive)")
    for path in result.changed:
        print(f"  ! {path}: thay đổi trong lúc sao lưu / changed while it was read")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from hub.backup.archive import describe, restore_backup, verify_backup

    if args.check:
        manifest = verify_backup(args.archive)
        print(f"Bản sao lưu hợp lệ / the archive is sound: {describe(manifest)}")
        return 0
    from hub.backup.after_restore import forget_running_workspaces

    manifest = restore_backup(args.archive, args.data_dir)
    facts = describe(manifest)
    print(f"Đã khôi phục / restored into {args.data_dir}: {facts['files']} tệp / files from {facts['created_at']}")
    forgotten = forget_running_workspaces(args.data_dir / "jupyterhub.sqlite")
    if forgotten:
        print(f"  {forgotten} máy làm việc sẽ khởi động lại từ đầu / workspaces will start anew (files kept)")
    print(f"  Chạy / run: truongso up --data-dir {args.data_dir}")
    return 0


def _refuse_outside_databases(data_dir: Path) -> None:
    """The archive holds the data directory; databases elsewhere (PostgreSQL) are not in it."""
    settings = load_settings(data_dir)
    elsewhere = [url for url in (settings.db_url, settings.hub_db_url, settings.gradebook_url)
                 if not url.startswith("sqlite:")]  # fmt: skip
    if elsewhere:
        raise UserError(
            "cơ sở dữ liệu PostgreSQL không nằm trong thư mục dữ liệu: sao lưu chúng bằng pg_dump (chưa hỗ trợ ở đây)",
            "PostgreSQL databases are outside the data directory: back them up with pg_dump (not supported here yet)",
        )
