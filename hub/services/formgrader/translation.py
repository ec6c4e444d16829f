"""nbgrader's formgrader in Vietnamese: its page templates, its manual-grading view and its scripts.

nbgrader has no translation hooks, so the pinned release's files are read as shipped and rewritten in memory
when the formgrader starts, one exact fragment at a time (the table is in vietnamese.py). Every file must have
the digest it had when the table was written and every fragment must be found: an nbgrader upgrade that changes
them fails the formgrader's start, and `python -m hub.services.formgrader.translation`, with the file and the
fragment named, instead of showing a half-English page. Only displayed text is changed, never a value the code
compares (statuses such as "released" stay as they are).

    python -m hub.services.formgrader.translation          (checks digests and fragments; exit 1 on a problem)
    python -m hub.services.formgrader.translation FILE     (prints FILE translated, e.g. templates/base.tpl)
"""

from __future__ import annotations

import hashlib
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from hub.services.formgrader.vietnamese import FRAGMENTS, NOT_FOUND, UPSTREAM_SHA256


class TranslationOutOfDate(RuntimeError):
    pass


def formgrader_root() -> Path:
    import nbgrader.server_extensions.formgrader as formgrader

    return Path(formgrader.__file__).parent


def translate(relpath: str, source: str) -> str:
    """`source` (the upstream file `relpath`) with every fragment of its table replaced."""
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    if digest != UPSTREAM_SHA256[relpath]:
        raise TranslationOutOfDate(
            f"nbgrader's formgrader file {relpath} changed (sha256 {digest}, the table was written for "
            f"{UPSTREAM_SHA256[relpath]}): an nbgrader upgrade? update hub/services/formgrader/vietnamese.py"
        )
    missing = [en for en, _ in FRAGMENTS[relpath] if en not in source]
    if missing:
        raise TranslationOutOfDate(
            f"nbgrader's {relpath} no longer holds: "
            + "; ".join(map(repr, missing))
            + " (update hub/services/formgrader/vietnamese.py)"
        )
    for en, vi in FRAGMENTS[relpath]:
        source = source.replace(en, vi)
    return source


@lru_cache(maxsize=1)
def translated_files() -> dict[str, str]:
    """Every translated file by its path under nbgrader's formgrader folder."""
    root = formgrader_root()
    return {relpath: translate(relpath, (root / relpath).read_text(encoding="utf-8")) for relpath in FRAGMENTS}


def problems() -> list[str]:
    root = formgrader_root()
    found = []
    for relpath in FRAGMENTS:
        try:
            translate(relpath, (root / relpath).read_text(encoding="utf-8"))
        except (TranslationOutOfDate, OSError) as exc:
            found.append(str(exc))
    return found


def _script_handler() -> type:
    from tornado import web

    class TranslatedScriptHandler(web.RequestHandler):
        """One of nbgrader's formgrader scripts, translated; served like nbgrader's static files (no login)."""

        def initialize(self, scripts: dict[str, str]) -> None:
            self.scripts = scripts

        def get(self, name: str) -> None:
            script = self.scripts.get(name)
            if script is None:
                raise web.HTTPError(404)
            self.set_header("Content-Type", "application/javascript; charset=UTF-8")
            self.set_header("Cache-Control", "no-cache")
            self.finish(script)

    return TranslatedScriptHandler


def _not_found_handler() -> type:
    from nbgrader.server_extensions.formgrader.handlers import Template404

    class TranslatedNotFound(Template404):
        """nbgrader's catch-all under /formgrader/, answering 404 with a page of the formgrader's own look in
        Vietnamese (nbgrader hands 404 to jupyter-server's English error page)."""

        def write_error(self, status_code: int, **kwargs: Any) -> None:
            if status_code != 404:
                return super().write_error(status_code, **kwargs)
            self.write(self.render("truongso_404.tpl", base_url=self.base_url, error_code=404))

    return TranslatedNotFound


def _replace_handler(router: Any, old: type, new: type) -> int:
    """Every rule of `router` (and the routers inside it) whose target is `old` gets `new` instead."""
    replaced = 0
    for rule in getattr(router, "rules", []):
        if rule.target is old:
            rule.target = rule.handler_class = new  # (a URLSpec keeps both)
            replaced += 1
        else:
            replaced += _replace_handler(rule.target, old, new)
    return replaced


def install(web_app: Any) -> int:
    """Put the translations ahead of nbgrader's own in a running formgrader (after nbgrader's extension loaded):
    page templates in its Jinja environment, the manual-grading template in its exporter, scripts in front of
    its static handler. Returns how many files are translated."""
    from jinja2 import ChoiceLoader, DictLoader
    from jupyter_server.utils import url_path_join

    files = translated_files()
    settings = web_app.settings
    pages = {path.removeprefix("templates/"): text for path, text in files.items() if path.startswith("templates/")
             and not path.startswith("templates/formgrade/")}  # fmt: skip
    pages["truongso_404.tpl"] = NOT_FOUND
    env = settings["nbgrader_jinja2_env"]
    env.loader = ChoiceLoader([DictLoader(pages), env.loader])
    env.cache = None  # nothing rendered yet, but never serve an English page from a warm cache
    # The exporter's template is "formgrade" (formgrade/index.html.j2, which imports formgrade_macros.html.j2):
    # nbconvert tries extra_loaders before its template folders.
    formgrade = {path.removeprefix("templates/formgrade/"): text for path, text in files.items()
                 if path.startswith("templates/formgrade/") and not path.endswith(".json")}  # fmt: skip
    settings["nbgrader_exporter"].extra_loaders = [DictLoader(formgrade)]
    scripts = {path.removeprefix("static/"): text for path, text in files.items() if path.startswith("static/")}
    names = "|".join(name.replace(".", r"\.") for name in scripts)
    pattern = url_path_join(settings["base_url"], rf"/formgrader/static/({names})")
    web_app.add_handlers(".*$", [(pattern, _script_handler(), {"scripts": scripts})])
    rules = web_app.default_router.rules
    rules.insert(0, rules.pop(-2))  # ahead of nbgrader's static handler (add_handlers appends before the catch-all)
    from nbgrader.server_extensions.formgrader.handlers import Template404

    if not _replace_handler(web_app.default_router, Template404, _not_found_handler()):
        raise TranslationOutOfDate("nbgrader's formgrader no longer routes /formgrader/* to Template404")
    return len(files)


def main(argv: list[str]) -> int:
    if argv:
        print(translated_files()[argv[0]])
        return 0
    found = problems()
    for problem in found:
        print(problem, file=sys.stderr)
    if not found:
        print(f"formgrader: {sum(map(len, FRAGMENTS.values()))} strings in Vietnamese in {len(FRAGMENTS)} files")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
