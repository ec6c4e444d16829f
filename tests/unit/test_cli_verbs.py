"""The verb list and the verb modules agree: no phantom verb, no verb module left out of `truongso --help`."""

from __future__ import annotations

from pathlib import Path

import hub.cli
from hub.cli import VERBS, build_parser


def test_every_verb_module_is_listed_and_every_listed_verb_exists() -> None:
    folder = Path(hub.cli.__file__).parent
    modules = {p.stem for p in folder.glob("*.py") if "def register(" in p.read_text(encoding="utf-8")}
    assert set(VERBS) == modules
    choices = build_parser()._subparsers._group_actions[0].choices  # argparse keeps its sub-commands here
    assert list(choices) == list(VERBS)
