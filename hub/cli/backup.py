"""`truongso backup`: one checked archive of the data directory (hub/backup); `truongso restore` brings it back."""

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


def run_backup(args: argparse.Namespace) -> int:
    from hub.backup import write_backup

    data_dir = existing_data_dir(args.data_dir)
    refuse_outside_databases(data_dir)
    output = args.output or Path(f"truongso-backup-{datetime.now():%Y%m%d-%H%M%S}.tar.gz")
    result = write_backup(data_dir, output)
    print(f"Đã sao lưu / backed up: {result.archive}")
    print(f"  tệp / files: {result.files} (cơ sở dữ liệu / databases: {result.databases}), {result.bytes:,} bytes")
    print(f"  SHA-256: {result.digest}  (giữ riêng mã này / keep this digest apart from the archive)")
    for path in result.changed:
        print(f"  ! {path}: thay đổi trong lúc sao lưu / changed while it was read")
    return 0


def refuse_outside_databases(data_dir: Path) -> None:
    """The archive holds the data directory; databases elsewhere (PostgreSQL) are not in it."""
    settings = load_settings(data_dir)
    elsewhere = [url for url in (settings.db_url, settings.hub_db_url, settings.gradebook_url)
                 if not url.startswith("sqlite:")]  # fmt: skip
    if elsewhere:
        raise UserError(
            "cơ sở dữ liệu PostgreSQL không nằm trong thư mục dữ liệu: sao lưu chúng bằng pg_dump (chưa hỗ trợ ở đây)",
            "PostgreSQL databases are outside the data directory: back them up with pg_dump (not supported here yet)",
        )
