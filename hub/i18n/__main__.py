"""`python -m hub.i18n check [LANG]` (exit 1 when a template string lacks a translation) and `extract` (.pot)."""

from __future__ import annotations

import sys
from pathlib import Path

from hub.i18n import DEFAULT_LANGUAGE, DOMAIN, LOCALES, TEMPLATE_DIRS, extract, missing

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str]) -> int:
    roots = [REPO / d for d in TEMPLATE_DIRS]
    if argv[:1] == ["check"]:
        language = argv[1] if len(argv) > 1 else DEFAULT_LANGUAGE
        lacking = missing(language, roots)
        for message, where in sorted(lacking.items()):
            print(f"{where[0]}: {message!r}")
        print(f"{len(lacking)} string(s) without a '{language}' translation", file=sys.stderr)
        return 1 if lacking else 0
    if argv[:1] == ["extract"]:
        from babel.messages.catalog import Catalog
        from babel.messages.pofile import write_po

        template = Catalog(domain=DOMAIN, project="Trường Số")
        for message, where in sorted(extract(roots).items()):
            template.add(message, locations=[(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1])) for w in where])
        with (LOCALES / f"{DOMAIN}.pot").open("wb") as handle:
            write_po(handle, template, omit_header=False, sort_output=True)
        print(f"{len(template)} strings -> {LOCALES / f'{DOMAIN}.pot'}")
        return 0
    print("usage: python -m hub.i18n check [LANG] | extract", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
