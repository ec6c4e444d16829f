"""The reference lists of English interface strings a Vietnamese page must not show: every text of JupyterHub's
own templates and of nbgrader's formgrader (templates and the texts its scripts put on the page), as shipped by
the pinned releases, as a person would read them. Pages built from a catalog show English only
inside `.en` / `.ts-en` spans, which the crawl removes before it looks."""

from __future__ import annotations

import re
from functools import lru_cache

from hub.i18n.upstream import jupyterhub_templates


def visible_text_without(selectors: str = "") -> str:
    """JavaScript giving a page's text as read, without the English helper spans (.en, .ts-en) our bilingual
    pages carry and without `selectors` (e.g. a learner's notebook shown inside the page: data, not words)."""
    removed = ".en, .ts-en, script, style, noscript" + (f", {selectors}" if selectors else "")
    return f"""() => {{
    const copy = document.body.cloneNode(true);
    copy.querySelectorAll("{removed}").forEach((e) => e.remove());
    return copy.textContent;
}}"""


VISIBLE_TEXT = visible_text_without()
NOT_UI = {"JupyterHub", "URL", "Server"}  # product names and words our Vietnamese pages may carry as data


def _template_texts(text: str) -> set[str]:
    """The texts a person reads in a Jinja/HTML template (scripts, styles, comments and expressions left out)."""
    for pattern in (r"<script.*?</script>", r"<style.*?</style>", r"<svg.*?</svg>", r"\{#.*?#\}", r"<!--.*?-->"):
        text = re.sub(pattern, "", text, flags=re.S)
    text = re.sub(r"\{%.*?%\}|\{\{.*?\}\}|<[^>]+>", "\n", text, flags=re.S)
    return {line for line in map(_reading, text.split("\n")) if line}


def _reading(line: str) -> str:
    line = " ".join(line.split()).strip(" .,:;()'")
    if len(line) < 4 or line in NOT_UI or not re.search(r"[A-Za-z]{3}", line):
        return ""
    if " " not in line and line.islower():
        return ""  # lone lower-case words (start, stop, delete) are too common inside data to judge
    return line


@lru_cache(maxsize=1)
def jupyterhub_strings() -> tuple[str, ...]:
    found: set[str] = set()
    for path in sorted(jupyterhub_templates().glob("*.html")):
        found |= _template_texts(path.read_text(encoding="utf-8"))
    return tuple(sorted(found))


WORDS = r"[A-Z][a-z]+(?:[ -][A-Za-z][A-Za-z']*)*[.?!]*|[A-Za-z']+(?: [A-Za-z']+)+[.?!]*"  # "Edit", "tests failed"
FORMGRADER_NOT_UI = {"nbgrader", "Email", "Content-Type", "X-XSRFToken", "application/json", "None"}


@lru_cache(maxsize=1)
def formgrader_strings() -> tuple[str, ...]:
    """nbgrader's formgrader: its templates' texts, and the texts in its scripts' string literals that read as
    words for people (a capitalised word or several words; not selectors, URLs, keys or HTTP verbs)."""
    from hub.services.formgrader.translation import formgrader_root

    root = formgrader_root()
    found: set[str] = set()
    for path in [*sorted((root / "templates").glob("*.tpl")), *sorted((root / "templates/formgrade").glob("*.j2"))]:
        found |= _template_texts(path.read_text(encoding="utf-8"))
    for path in sorted((root / "static/js").glob("*.js")):
        for quoted in re.findall(r'"((?:[^"\\\n]|\\.)*)"|\'((?:[^\'\\\n]|\\.)*)\'', path.read_text(encoding="utf-8")):
            for piece in re.sub(r"<[^>]+>", "\n", "".join(quoted)).split("\n"):
                piece = _reading(piece)
                if piece and re.fullmatch(WORDS, piece) and not piece.isupper():
                    found.add(piece)
    return tuple(sorted(found - FORMGRADER_NOT_UI))


# nbgrader's learner lab extension as shipped (the host's copy; images/workspace/nbgrader_lab_vi.py rewrites the
# image's): the texts it puts on screen.
LAB_BUNDLE = "share/jupyter/labextensions/@jupyter/nbgrader/static/161.290a640318af4049.js"
LAB_TEXT = (
    r'(?:innerText|textContent|title|placeholder|tooltip)\s*[=:]\s*"([^"\\]*)"',
    r'setButtonLabel\((?:e=)?"([^"\\]*)"',
    r'(?:label|body|caption)\s*:\s*"([^"\\]*)"',
    r"\\n\s+([A-Z][^\"\\<>]*?)\\n",
    r"<(?:div|span|p|h\d|button|label)[^>]*>\s*([^<>{}]+?)\s*</",
)


@lru_cache(maxsize=1)
def lab_strings() -> tuple[str, ...]:
    """The Assignments tab's and Validate button's English, from the pinned nbgrader's lab bundle."""
    import sys
    from pathlib import Path

    bundle = (Path(sys.prefix) / LAB_BUNDLE).read_text(encoding="utf-8")
    found = {_reading(text.replace("\\n", " ")) for pattern in LAB_TEXT for text in re.findall(pattern, bundle)}
    return tuple(sorted(found - {""}))


def english_left(visible_text: str, reference: tuple[str, ...] | None = None) -> list[str]:
    """The reference strings (JupyterHub's by default) found in a page's visible text (English spans removed
    beforehand)."""
    text = " ".join(visible_text.split())
    strings = jupyterhub_strings() if reference is None else reference
    return [s for s in strings if re.search(rf"(?<![A-Za-z]){re.escape(s)}(?![A-Za-z])", text)]
