"""Feedback pages in Vietnamese: nbgrader's feedback template with its words translated (templates/feedback).

nbgrader's GenerateFeedback renders the HTMLExporter template named "feedback" (its API insists on that name), found
in the first of `extra_template_basedirs` that has one. `exporter_config()` puts our folder before nbgrader's, for
every place that generates feedback (the formgraders' nbgrader_config.py and the portal's grading loop); nbgrader's
other templates (the formgrader's "formgrade" view) are still found in its own folder.

Our copy follows one upstream file; `UPSTREAM_SHA256` is that file's digest, checked by
tests/unit/test_feedback_template.py, so an nbgrader upgrade that changes the template fails loudly instead of
silently showing an outdated page.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

TEMPLATE_NAME = "feedback"
TEMPLATES = Path(__file__).resolve().parent / "templates"
# nbgrader 0.9.6's server_extensions/formgrader/templates/feedback/index.html.j2
UPSTREAM_SHA256 = "7814929190d8decfcaaeb1e381baefc4de6f77da9afc3cbed25cb8f141265688"


def upstream_template() -> Path:
    """The pinned nbgrader's own feedback template, which ours translates."""
    import nbgrader

    return Path(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader", "templates", "feedback",
                "index.html.j2")  # fmt: skip


def exporter_config() -> dict[str, Any]:
    """HTMLExporter settings for GenerateFeedback: our template first, nbgrader's templates still reachable."""
    return {
        "template_name": TEMPLATE_NAME,
        "extra_template_basedirs": [str(TEMPLATES), str(upstream_template().parents[1])],
    }
