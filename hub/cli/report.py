"""Placeholder: `truongso report`, filled by the work on issue 14."""

from __future__ import annotations

import argparse

from hub.cli.common import add_verb


def register(verbs: argparse._SubParsersAction) -> None:
    add_verb(verbs, "report", "(đang xây dựng / being built)")
