"""`truongso upgrade`: a data directory written by an older release brought to this one, after a backup."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from graders.db import DatabaseFileError
from graders.text import UserError
from hub.cli.common import add_data_dir, existing_data_dir, load_settings


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("upgrade", help="nâng cấp dữ liệu lên phiên bản này / upgrade the data to this release")
    add_data_dir(p)
    p.add_argument(
        "--backup-dir",
        type=Path,
        help="nơi ghi bản sao lưu trước khi nâng cấp / where the backup taken first goes (default: beside the data)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hub.backup import write_backup
    from hub.cli.backup import outside_databases
    from hub.startup.data_dir import ensure_no_hub_running
    from hub.upgrade import schema_status, upgrade_all

    data_dir = existing_data_dir(args.data_dir).absolute()
    ensure_no_hub_running(data_dir)
    settings = load_settings(data_dir)
    behind = schema_status(settings)
    if not behind:
        print("Dữ liệu đã ở phiên bản này, không cần nâng cấp / the data is already at this release: nothing to do")
        return 0
    for item in behind:
        print(f"  {item.what}: {item.found} → {item.wanted}")
    backup_dir = args.backup_dir or data_dir.parent
    archive = backup_dir / f"truongso-before-upgrade-{datetime.now():%Y%m%d-%H%M%S}.tar.gz"
    result = write_backup(data_dir, archive, outside_databases(settings))  # every database, before any change
    print(f"Đã sao lưu trước / backed up first: {result.archive} (SHA-256 {result.digest})")
    try:
        upgrade_all(settings)
    except (DatabaseFileError, OSError) as exc:
        raise UserError(
            f"nâng cấp thất bại: {exc}; khôi phục bằng `truongso restore {archive} --data-dir <thư mục mới>`",
            f"the upgrade failed: {exc}; restore with `truongso restore {archive} --data-dir <a new folder>`",
        ) from None
    still = schema_status(settings)
    if still:
        raise UserError(f"vẫn còn cũ: {still}", f"still behind after the upgrade: {still}")
    print("Đã nâng cấp / upgraded. Chạy / run: truongso up --data-dir " + str(args.data_dir))
    return 0
