"""`truongso`: the one command an admin or instructor types. A thin layer over plain functions."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from graders.text import UserError


class Parser(argparse.ArgumentParser):
    """argparse that ends a bad invocation with one line, not a usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: lỗi cú pháp / usage error: {message} (xem / see: {self.prog} --help)\n")


# Verbs in the order `truongso --help` lists them; each module has `register(subparsers)`.
VERBS = (
    "up",
    "down",
    "users",
    "classes",
    "images",
    "bundle",
    "grade",
    "certificates",
    "report",
    "demo",
    "backup",
    "restore",
    "upgrade",
    "service",
    "cluster",
    "kubernetes",
)


def build_parser() -> Parser:
    import importlib

    parser = Parser(prog="truongso", description="Trường Số — quản trị / administration")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=Parser)
    verbs.required = True
    for name in VERBS:  # a missing verb module is a packaging bug: it fails loudly, never silently skipped
        importlib.import_module(f"hub.cli.{name}").register(verbs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except UserError as exc:
        print(f"truongso: lỗi / error: {exc.text}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
