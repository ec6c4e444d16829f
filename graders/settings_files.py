"""Settings files read as data: TOML into traitlets classes, with one-line errors naming the file.

At the bottom of the layers: the hub's truongso.toml and the certificates' settings both use it.
`flatten_sections` turns truongso.toml's sections (`[server]`, `[grading]`, …) into the flat names of the
traitlets class, so a setting has one name and one validation whichever layout the file uses.
`DataDirSettings` and the validators below are what both settings classes do alike.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from traitlets import TraitError


class DataDirSettings:
    """Mixin of a traitlets settings class with `data_dir`, `db_url` and `gradebook_url` traits (the hub's
    settings and the certificates'): what follows from them."""

    data_dir: str
    gradebook_url: str

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser().absolute()

    def gradebook_url_for(self, course_id: str) -> str:
        return self.gradebook_url.format(data_dir=self.data_path, course_id=course_id)

    def _default_db_url(self) -> str:
        """The `db_url` default (the class registers it: `@default` is not inherited from a mixin)."""
        return f"sqlite:///{self.data_path / 'truongso.sqlite'}"


def not_negative(_settings: Any, proposal: dict) -> int:
    """A `@validate` method for counts where 0 is allowed: `_x = validate("a", "b")(not_negative)`."""
    if proposal["value"] < 0:
        raise TraitError(f"{proposal['trait'].name} cannot be negative")
    return proposal["value"]


def checked_by(check: Callable[[Any], Any]) -> Callable[[Any, dict], Any]:
    """A `@validate` method whose value is `check(value)`; the ValueError `check` raises becomes a TraitError
    naming the setting: `_valid_timezone = validate("timezone")(checked_by(check_timezone))`."""

    def validator(_settings: Any, proposal: dict) -> Any:
        try:
            return check(proposal["value"])
        except ValueError as exc:
            raise TraitError(f"{proposal['trait'].name}: {exc}") from None

    return validator


def matching(pattern: str, message: str) -> Callable[[Any, dict], str]:
    """A `@validate` method: the value must match `pattern` whole, else a TraitError says `message`."""

    def validator(_settings: Any, proposal: dict) -> str:
        if not re.fullmatch(pattern, proposal["value"]):
            raise TraitError(message)
        return proposal["value"]

    return validator


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
