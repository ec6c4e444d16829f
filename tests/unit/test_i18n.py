"""The message catalogs (hub/i18n): every string our templates mark has a Vietnamese translation, the copies of
JupyterHub's templates follow the pinned upstream files, and fields are escaped however the catalog reads."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader
from markupsafe import Markup

from hub import i18n
from hub.configure import TEMPLATES
from hub.i18n import upstream

REPO = Path(__file__).resolve().parents[2]


def test_every_marked_string_of_our_templates_is_translated() -> None:
    roots = [REPO / d for d in i18n.TEMPLATE_DIRS]
    found = i18n.extract(roots)
    assert len(found) >= 40  # the extractor sees t("…") and _("…"): the check below can fail
    assert i18n.missing("vi", roots) == {}
    result = subprocess.run([sys.executable, "-m", "hub.i18n", "check"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_string_without_translation_is_reported(tmp_path: Path) -> None:
    (tmp_path / "x.html").write_text('{{ t("Successfully logged out.") }} {{ _("A sentence nobody translated") }}')
    assert list(i18n.missing("vi", [tmp_path])) == ["A sentence nobody translated"]
    assert set(i18n.missing("fr", [tmp_path])) == {"Successfully logged out.", "A sentence nobody translated"}


def test_bilingual_text_escapes_fields_and_falls_back_to_english() -> None:
    shown = i18n.bilingual("Starting the workspace of %(name)s", name="<b>an</b>")
    assert shown == Markup(
        'Đang mở không gian làm việc của &lt;b&gt;an&lt;/b&gt; <span class="ts-en">'
        "Starting the workspace of &lt;b&gt;an&lt;/b&gt;</span>"
    )
    assert i18n.bilingual("No such string <i>") == Markup("No such string &lt;i&gt;")
    assert i18n.bilingual("Successfully logged out.", "en") == Markup("Successfully logged out.")
    assert i18n.gettext("Successfully logged out.") == "Đã đăng xuất."
    assert i18n.gettext("Unknown words") == "Unknown words"


@pytest.mark.parametrize("name", sorted(upstream.JUPYTERHUB_TEMPLATES))
def test_our_copies_follow_the_pinned_jupyterhub_templates(name: str) -> None:
    digest = hashlib.sha256((upstream.jupyterhub_templates() / name).read_bytes()).hexdigest()
    assert digest == upstream.JUPYTERHUB_TEMPLATES[name], (
        f"JupyterHub's {name} changed (a JupyterHub upgrade?): carry the change into hub/auth/templates/{name}, "
        "then update hub/i18n/upstream.py"
    )
    assert (TEMPLATES / name).is_file()


@pytest.mark.parametrize("name", sorted(upstream.JUPYTERHUB_TEMPLATES))
def test_our_copies_compile_where_jupyterhub_looks(name: str) -> None:
    """The loader JupyterHub builds: our folder first, its own under the `templates/` prefix."""
    default = str(upstream.jupyterhub_templates())
    loader = ChoiceLoader(
        [PrefixLoader({"templates": FileSystemLoader([default])}), FileSystemLoader([str(TEMPLATES), default])]
    )
    env = Environment(loader=loader, autoescape=True)
    template = env.get_template(name)
    assert template.filename == str(TEMPLATES / name)
    source = (TEMPLATES / name).read_text(encoding="utf-8")
    assert 't("' in source or '{% extends "error.html" %}' in source  # translated, or said by our error page


def test_hub_pages_get_the_functions_from_jupyterhubs_per_user_call() -> None:
    """JupyterHub calls each callable of `template_vars` with the page's user: what comes back is the function."""
    from datetime import datetime

    functions = {name: value(None) for name, value in i18n.template_vars(zone="Asia/Ho_Chi_Minh").items()}
    assert functions["t"]("Successfully logged out.") == Markup(
        'Đã đăng xuất. <span class="ts-en">Successfully logged out.</span>'
    )
    assert functions["_"]("Never expires") == "Không hết hạn"
    assert functions["vn_time"](datetime(2026, 12, 4, 14, 30)) == "04/12/2026 21:30 (UTC+7)"  # naive: UTC
    kolkata = {name: value(None) for name, value in i18n.template_vars(zone="Asia/Kolkata").items()}
    assert kolkata["vn_time"](datetime(2026, 12, 4, 14, 30)) == "04/12/2026 20:00 (UTC+5:30)"
