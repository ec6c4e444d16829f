"""Settings files read as data: TOML into traitlets classes, with one-line errors naming the file.

At the bottom of the layers: the hub's truongso.toml and the certificates' settings both use it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from traitlets import TraitError


def settings_from(cls: type, values: dict[str, Any], source: str, error: type[Exception]) -> Any:
    """Traitlets settings from a mapping: unknown names and bad values raise `error` naming `source`."""
    unknown = sorted(set(values) - set(cls.class_trait_names(config=True)))
    if unknown:
        raise error(f"{source}: unknown setting(s) {', '.join(unknown)}")
    try:
        return cls(**values)
    except TraitError as exc:
        raise error(f"{source}: {exc}") from None


def read_toml(path: Path, error: type[Exception]) -> dict[str, Any]:
    """The settings in a TOML file ({} when there is none); unreadable TOML raises `error`."""
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path}: not valid TOML ({exc})") from None
