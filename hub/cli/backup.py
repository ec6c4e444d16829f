"""`truongso backup`: one checked archive of the data directory (hub/backup); `truongso restore` brings it back."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from graders.text import UserError
from hub.cli.common import add_data_dir, existing_data_dir, load_settings
from hub.settings import HubSettings


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
    databases = outside_databases(load_settings(data_dir))
    output = args.output or Path(f"truongso-backup-{datetime.now():%Y%m%d-%H%M%S}.tar.gz")
    result = write_backup(data_dir, output, databases)
    print(f"Đã sao lưu / backed up: {result.archive}")
    print(f"  tệp / files: {result.files} (cơ sở dữ liệu / databases: {result.databases}), {result.bytes:,} bytes")
    print(f"  SHA-256: {result.digest}  (giữ riêng mã này / keep this digest apart from the archive)")
    for path in result.changed:
        print(f"  ! {path}: thay đổi trong lúc sao lưu / changed while it was read")
    return 0


def outside_databases(settings: HubSettings) -> dict[str, str]:
    """The databases not in the data directory (PostgreSQL), by the setting that names them; each URL once."""
    from hub.backup.postgres import is_postgres

    named = [("db_url", settings.db_url), ("hub_db_url", settings.hub_db_url)]
    named += [(f"gradebook_url-{c.id}", settings.gradebook_url_for(c.id)) for c in settings.load_courses()]
    found: dict[str, str] = {}
    for setting, url in named:
        if url.startswith("sqlite:") or url in found.values():
            continue
        if not is_postgres(url):
            raise UserError(
                f"{setting}: chỉ sao lưu được SQLite và PostgreSQL",
                f"{setting}: only SQLite and PostgreSQL databases are backed up",
            )
        found[setting] = url
    return found
