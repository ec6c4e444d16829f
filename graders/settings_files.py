"""Settings files read as data: TOML into traitlets classes, with one-line errors naming the file.

At the bottom of the layers: the hub's truongso.toml and the certificates' settings both use it.
`flatten_sections` turns truongso.toml's sections (`[server]`, `[grading]`, …) into the flat names of the
traitlets class, so a setting has one name and one validation whichever layout the file uses.
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


def flatten_sections(
    values: dict[str, Any],
    sections: dict[str, tuple[str, ...]],
    known: set[str],
    source: str,
    error: type[Exception],
) -> dict[str, Any]:
    """Settings written in `sections` (section name -> its setting names) as one flat mapping.

    Top-level names stay as they are (the layout before sections): `settings_from` checks them. A table whose
    name is a setting in `known` (a dict-valued setting, e.g. `[certificates]`, `[service_ports]`) is that
    setting's value. An unknown section, a name in the wrong section, or a setting given both at the top and
    in its section raise `error` naming `source`."""
    home = {key: name for name, keys in sections.items() for key in keys}
    flat: dict[str, Any] = {}
    tables: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        if key in sections and key not in known:
            if not isinstance(value, dict):
                raise error(f"{source}: [{key}] is a section: write it as a table ([{key}] on its own line)")
            tables[key] = value
        elif isinstance(value, dict) and key not in known:
            raise error(f"{source}: unknown section [{key}] (sections: {', '.join(sorted(sections))})")
        else:
            flat[key] = value
    for name, table in tables.items():
        for key, value in table.items():
            if key not in sections[name]:
                where = f" (it belongs in [{home[key]}])" if key in home else ""
                raise error(f"{source}: [{name}] unknown setting(s) {key}{where}")
            if key in flat:
                raise error(f"{source}: {key} is set twice, at the top and in [{name}]: keep one")
            flat[key] = value
    return flat


def read_toml(path: Path, error: type[Exception]) -> dict[str, Any]:
    """The settings in a TOML file ({} when there is none); unreadable TOML raises `error`."""
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path}: not valid TOML ({exc})") from None
