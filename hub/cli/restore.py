"""`truongso restore`: a backup made by `truongso backup` brought back into a new or empty folder (hub/backup)."""

from __future__ import annotations

import argparse
from pathlib import Path

from graders.text import UserError
from hub.backup.archive import Manifest


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

    manifest = restore_backup(args.archive, args.data_dir, restore_databases)
    facts = describe(manifest)
    print(f"Đã khôi phục / restored into {args.data_dir}: {facts['files']} tệp / files from {facts['created_at']}")
    forgotten = forget_running_workspaces(args.data_dir / "jupyterhub.sqlite")
    if forgotten:
        print(f"  {forgotten} máy làm việc sẽ khởi động lại từ đầu / workspaces will start anew (files kept)")
    print(f"  Chạy / run: truongso up --data-dir {args.data_dir}")
    return 0


def restore_databases(folder: Path, manifest: Manifest) -> None:
    """The PostgreSQL dumps in the archive, each into the database the restored settings name, which must be empty
    (a new server's); all are checked before any is written."""
    from hub.backup import postgres
    from hub.cli.backup import outside_databases
    from hub.cli.common import load_settings

    dumps = {Path(e.path).stem: folder / e.path for e in manifest.files.values() if e.kind == "pgdump"}
    if not dumps:
        return
    urls = outside_databases(load_settings(folder))
    missing = sorted(set(dumps) - set(urls))
    if missing:
        raise UserError(
            f"cài đặt đã khôi phục không còn chỉ tới PostgreSQL cho {missing}",
            f"the restored settings no longer name a PostgreSQL database for {missing}",
        )
    full = sorted(name for name in dumps if not postgres.is_empty(urls[name]))
    if full:
        raise UserError(
            f"cơ sở dữ liệu đích đã có bảng ({full}): khôi phục vào cơ sở dữ liệu rỗng",
            f"the target databases already have tables ({full}): restore into empty ones; nothing changed",
        )
    for name, dumped in sorted(dumps.items()):
        postgres.restore(dumped, urls[name])
        print(f"  PostgreSQL {name}: đã khôi phục / restored")
