"""The reference list of English interface strings a Vietnamese page must not show: every text of JupyterHub's
own templates (the pinned release's), as a person would read it. Pages built from a catalog show English only
inside `.en` / `.ts-en` spans, which the crawl removes before it looks."""

from __future__ import annotations

import re
from functools import lru_cache

from hub.i18n.upstream import jupyterhub_templates

NOT_UI = {"JupyterHub", "URL", "Server"}  # product names and words our Vietnamese pages may carry as data


@lru_cache(maxsize=1)
def jupyterhub_strings() -> tuple[str, ...]:
    found: set[str] = set()
    for path in sorted(jupyterhub_templates().glob("*.html")):
        text = path.read_text(encoding="utf-8")
        for pattern in (r"<script.*?</script>", r"<style.*?</style>", r"\{#.*?#\}"):
            text = re.sub(pattern, "", text, flags=re.S)
        text = re.sub(r"\{%.*?%\}|\{\{.*?\}\}|<[^>]+>", "\n", text, flags=re.S)
        for line in text.split("\n"):
            line = " ".join(line.split()).strip(" .,:;()'")
            if len(line) < 4 or line in NOT_UI or not re.search(r"[A-Za-z]{3}", line):
                continue
            if " " not in line and line.islower():
                continue  # lone lower-case words (start, stop, delete) are too common inside data to judge
            found.add(line)
    return tuple(sorted(found))


def english_left(visible_text: str) -> list[str]:
    """The reference strings found in a page's visible text (English spans removed beforehand)."""
    text = " ".join(visible_text.split())
    return [s for s in jupyterhub_strings() if re.search(rf"(?<![A-Za-z]){re.escape(s)}(?![A-Za-z])", text)]
