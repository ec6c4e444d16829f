"""Message catalogs: English source strings in the templates, one gettext catalog per language, read with Babel.

A template says `{{ t("Successfully logged out.") }}`: the page shows the school's language first and the
English source beside it, smaller (`<span class="ts-en">`), as every Trường Số page does; `{{ _("…") }}` gives the
translation alone (attributes, titles). `%(name)s` fields are filled after translation, escaped.
`{{ vn_time(moment) }}` writes a time in the school's zone, labelled.

The catalogs are `locale/<lang>/LC_MESSAGES/truongso.po`; a third language is a new catalog, not code.
`python -m hub.i18n check` lists the strings of our templates that a catalog lacks (tests run it);
`python -m hub.i18n extract` writes the template of all strings (truongso.pot) for translators.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

DOMAIN = "truongso"
LOCALES = Path(__file__).resolve().parent / "locale"
DEFAULT_LANGUAGE = "vi"
# Where our templates live: every string inside t("…") or _("…") there needs a catalog entry.
TEMPLATE_DIRS = ("hub/auth/templates",)


@lru_cache(maxsize=8)
def catalog(language: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """msgid → translation for `language`; empty (English shown) when there is no catalog."""
    from babel.messages.pofile import read_po

    path = LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        parsed = read_po(handle, locale=language, domain=DOMAIN)
    return {m.id: m.string for m in parsed if m.id and isinstance(m.id, str) and m.string and not m.fuzzy}


def gettext(message: str, language: str = DEFAULT_LANGUAGE, **fields: Any) -> str:
    """The translation of `message` (itself when missing), its %(name)s fields filled."""
    text = catalog(language).get(message, message)
    return text % fields if fields else text


def bilingual(message: str, language: str = DEFAULT_LANGUAGE, **fields: Any) -> Markup:
    """HTML: the translation, then the English source in a `ts-en` span; fields are escaped first."""
    safe = {name: escape(value) for name, value in fields.items()}
    translated = catalog(language).get(message)
    english = Markup(escape(message) % safe if safe else escape(message))
    if not translated or language == "en":
        return english
    local = Markup(escape(translated) % safe if safe else escape(translated))
    return Markup('{} <span class="ts-en">{}</span>').format(local, english)


def template_functions(language: str = DEFAULT_LANGUAGE, zone: str = "") -> dict[str, Any]:
    """`t` and `_` in that language and `vn_time` in the school's zone, for a Jinja page's namespace."""

    def t(message: str, **fields: Any) -> Markup:
        return bilingual(message, language, **fields)

    def _(message: str, **fields: Any) -> str:
        return gettext(message, language, **fields)

    def vn_time(moment: datetime | None) -> str:
        return school_time(moment, zone)

    return {"t": t, "_": _, "vn_time": vn_time}


def school_time(moment: datetime | None, zone: str = "") -> str:
    """ "04/12/2026 21:30 (UTC+7)": a moment in the school's zone, labelled; JupyterHub's naive times are UTC."""
    from graders.timeutil import SCHOOL_TIMEZONE, show

    if moment is None:
        return ""
    return show(moment if moment.tzinfo else moment.replace(tzinfo=UTC), zone or SCHOOL_TIMEZONE)


def template_vars(language: str = DEFAULT_LANGUAGE, zone: str = "") -> dict[str, Any]:
    """For JupyterHub's `template_vars`: JupyterHub calls a callable value with the page's user and puts what it
    returns in the namespace, so each function is handed over from such a call (a per-user language could
    choose here)."""
    functions = template_functions(language, zone)
    return {name: (lambda _user, f=function: f) for name, function in functions.items()}


def extract(roots: Iterable[Path]) -> dict[str, list[str]]:
    """Every t("…") and _("…") string in the .html templates under `roots`, with where it is used."""
    from babel.messages.extract import extract_from_dir

    found: dict[str, list[str]] = {}
    for root in roots:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(root),
            method_map=[("**.html", "jinja2.ext:babel_extract")],
            keywords={"t": None, "_": None},
        ):
            if isinstance(message, str) and message:
                found.setdefault(message, []).append(f"{root}/{filename}:{lineno}")
    return found


def missing(language: str, roots: Iterable[Path]) -> dict[str, list[str]]:
    """The strings of the templates under `roots` that `language`'s catalog does not translate."""
    known = catalog(language)
    return {message: where for message, where in extract(roots).items() if message not in known}
