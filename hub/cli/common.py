"""Pieces the verbs share: verbs with actions, the data-directory option and opening the directory database."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

from graders.text import UserError
from hub.directory.db import Directory, DirectoryError
from hub.settings import HubSettings, SettingsError, SettingsWarning


def add_verb(verbs: argparse._SubParsersAction, name: str, help: str) -> argparse._SubParsersAction:
    """Add the verb `truongso NAME ACTION …`, an action required; returns where its actions go (`add_action`)."""
    parser = verbs.add_parser(name, help=help)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    return actions


def add_action(
    actions: argparse._SubParsersAction,
    name: str,
    help: str,
    run: Callable[[argparse.Namespace], int],
    *,
    data_dir: bool = True,
) -> argparse.ArgumentParser:
    """Add one action of a verb, which `run`s; with the `--data-dir` option unless `data_dir=False`.
    Returns its parser, for the action's own arguments."""
    parser = actions.add_parser(name, help=help)
    if data_dir:
        add_data_dir(parser)
    parser.set_defaults(run=run)
    return parser


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        default="data",
        type=Path,
        help="thư mục dữ liệu / data directory (default: ./data)",
    )


def load_settings(data_dir: Path, overrides: dict | None = None) -> HubSettings:
    """The data directory's settings (every verb reads them through here); their warnings (an old
    certificates.toml…) printed as one line each on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SettingsWarning)
        try:
            settings = HubSettings.load(data_dir.absolute(), overrides or {})
        except SettingsError as exc:
            raise UserError(f"cấu hình sai: {exc}", f"bad setting: {exc}") from None
    for warning in caught:
        if issubclass(warning.category, SettingsWarning):
            print(f"truongso: cảnh báo / warning: {warning.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return settings


def open_directory(settings: HubSettings) -> Directory:
    """The directory database, schema up to date; one-line errors for damaged or unreachable databases."""
    try:
        directory = Directory(settings.db_url)
        directory.ensure_schema()
    except DirectoryError as exc:
        raise UserError(f"không dùng được cơ sở dữ liệu: {exc}", f"cannot use the database: {exc}") from None
    return directory


def existing_data_dir(data_dir: Path) -> Path:
    """For verbs that need a data directory `truongso up` has already prepared."""
    if not (data_dir / "secrets").is_dir() and not (data_dir / "truongso.toml").is_file():
        raise UserError(
            f"{data_dir} chưa phải thư mục dữ liệu của Trường Số; chạy `truongso up --data-dir {data_dir}` trước",
            f"{data_dir} is not a Trường Số data directory yet; run `truongso up --data-dir {data_dir}` first",
        )
    return data_dir


def print_row_errors(errors: list) -> None:
    """A file import's refusal: the count, then one line per broken row (row, column, reason in both languages)."""
    print(f"Tệp có {len(errors)} lỗi; KHÔNG nhập gì. / {len(errors)} error(s); NOTHING imported.")
    print("dòng/row  cột/column                  lý do / reason")
    for e in errors:
        print(f"{e.row:>8}  {e.column[:26]:<26}  {e.reason.vi} / {e.reason.en}")
