"""`truongso restore`: a backup made by `truongso backup` brought back into a new or empty folder (hub/backup)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(verbs: argparse._SubParsersAction) -> None:
    r = verbs.add_parser("restore", help="khôi phục từ bản sao lưu / restore from a backup")
    r.add_argument("archive", type=Path, help="tệp sao lưu / the backup archive")
    r.add_argument("--data-dir", type=Path, required=True, help="thư mục mới hoặc rỗng / a new or empty folder")
    r.add_argument("--check", action="store_true", help="chỉ kiểm tra / only check the archive, write nothing")
    r.set_defaults(run=run_restore)


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
