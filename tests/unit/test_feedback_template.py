"""Feedback pages in Vietnamese (graders/feedback): our copy of nbgrader's feedback template follows the pinned
upstream file, renders a real course notebook with Vietnamese headings, and wins over nbgrader's own wherever
feedback is generated while the formgrader keeps its other templates."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from traitlets.config import Config

from graders import feedback

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "courses" / "phan-tich-du-lieu" / "source" / "01-python-co-ban" / "python-co-ban.ipynb"


def test_our_translation_follows_the_pinned_nbgrader_template() -> None:
    digest = hashlib.sha256(feedback.upstream_template().read_bytes()).hexdigest()
    assert digest == feedback.UPSTREAM_SHA256, (
        "nbgrader's feedback template changed (an nbgrader upgrade?): carry its changes into "
        "graders/feedback/templates/feedback/index.html.j2, then update UPSTREAM_SHA256"
    )


def render(config: Config) -> str:
    nb = nbformat.read(SOURCE, as_version=4)
    graded = 0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") or meta.get("task"):
            meta["score"] = meta.get("points", 0) / 2
            meta["comment"] = "Cần làm tròn 1 chữ số." if meta.get("solution") else None
            graded += 1
    assert graded, "the course notebook has graded cells"
    resources = {"nbgrader": {"notebook": "python-co-ban", "score": 3.5, "max_score": 7, "late_penalty": 1}}
    # GenerateFeedback adds bootstrap's CSS folder to the template paths; so does this
    css = feedback.upstream_template().parents[2] / "static" / "node_modules" / "bootstrap" / "dist" / "css"
    config.HTMLExporter.extra_template_paths = [str(css)]
    body, _ = HTMLExporter(config=config).from_notebook_node(nb, resources=resources)
    return body


def test_feedback_pages_are_vietnamese_first() -> None:
    body = render(Config({"HTMLExporter": feedback.exporter_config()}))
    assert '<html lang="vi">' in body
    assert '(Điểm <span class="en">Score</span>: 3.5 / 7.0)' in body
    assert "Trừ điểm nộp muộn" in body and "Ô kiểm tra" in body and "Bài làm của học viên" in body
    assert "Nhận xét của giảng viên" in body and "Cần làm tròn 1 chữ số." in body
    visible = re.sub(r'<span class="en">[^<]*</span>|<[^>]+>|<style.*?</style>', " ", body, flags=re.S)
    for english in ("(Score:", "Test cell", "Written response", "Coding free-response", "(Top)", "Comments:"):
        assert english not in visible, english


def test_the_stock_template_is_what_we_replace() -> None:
    """Without our folder first, nbgrader's English page comes out: the test above can fail."""
    stock = render(
        Config(
            {
                "HTMLExporter": {
                    "template_name": "feedback",
                    "extra_template_basedirs": [str(feedback.upstream_template().parents[1])],
                }
            }
        )
    )
    assert "(Score: 3.5 / 7.0)" in stock and "Trừ điểm nộp muộn" not in stock and "Ô kiểm tra" not in stock


def test_the_formgraders_config_keeps_its_own_views_and_uses_our_feedback() -> None:
    config_file = REPO / "hub" / "services" / "formgrader" / "nbgrader_config.py"
    namespace: dict = {"get_config": Config}
    exec(compile(config_file.read_text(encoding="utf-8"), str(config_file), "exec"), namespace)
    c = namespace["c"]
    basedirs = list(c.HTMLExporter.extra_template_basedirs)
    assert basedirs == feedback.exporter_config()["extra_template_basedirs"]
    # nbgrader's API asks for "feedback" by name: ours is found first; "formgrade" is still nbgrader's
    found = {
        name: next(Path(d) / name for d in basedirs if (Path(d) / name).is_dir()) for name in ("feedback", "formgrade")
    }
    assert found["feedback"] == feedback.TEMPLATES / "feedback"
    assert found["formgrade"] == feedback.upstream_template().parents[1] / "formgrade"
