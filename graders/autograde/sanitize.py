"""Neutralise content of a graded notebook that would run in the instructor's browser.

Outputs keep only display types a notebook viewer renders passively; HTML is cleaned with bleach (tables and
text formatting survive, scripts, event handlers, frames and javascript: links do not), SVG with scripts or
handlers is dropped, JavaScript and widget outputs are dropped. Markdown keeps its syntax: only raw HTML tags
and dangerous link targets in it are touched. Anything removed that could have run is recorded.
"""

from __future__ import annotations

import html
import re
from typing import Any

import bleach
from bleach.css_sanitizer import CSSSanitizer
from nbconvert.preprocessors import Preprocessor

from graders.autograde.findings import Finding

SAFE_MIMES = {"text/plain", "text/latex", "image/png", "image/jpeg", "image/gif", "application/json"}
TAGS = frozenset(
    "a abbr b blockquote br caption code col colgroup dd del details div dl dt em h1 h2 h3 h4 h5 h6 hr i img "
    "ins kbd li ol p pre q s samp small span strike strong sub summary sup table tbody td tfoot th thead tr "
    "tt u ul var".split()
)
PLAIN_ATTRS = frozenset({"class", "title", "style", "align", "valign", "colspan", "rowspan", "border", "alt", "width",
                         "height"})  # fmt: skip
CSS_PROPERTIES = (
    "text-align vertical-align color background-color font-weight font-style font-size width height border "
    "border-collapse padding margin white-space"
).split()
CSS = CSSSanitizer(allowed_css_properties=CSS_PROPERTIES)
DANGER = re.compile(
    r"<\s*(script|iframe|object|embed|form|meta|link|base|frame|applet|foreignobject)\b|\bon[a-z]+\s*=|"
    r"(java|vb)script\s*:|data\s*:\s*text/html|srcdoc\s*=",
    re.I,
)
BLOCKS = re.compile(r"<(script|style)\b.*?(</\1\s*>|\Z)", re.I | re.S)
TAG = re.compile(r"<!--.*?-->|<(/?)([A-Za-z][\w:-]*)((?:[^<>\"']|\"[^\"]*\"|'[^']*')*)>", re.S)
MD_LINK = re.compile(r"(\]\s*\(\s*<?|^\s*\[[^\]]+\]:\s*<?)\s*((?:java|vb)script|data)\s*:", re.I | re.M)
SVG_BAD_TAGS = {"script", "foreignobject", "iframe", "object", "embed", "handler", "set", "animate"}


def _attr_ok(tag: str, name: str, value: str) -> bool:
    if name in PLAIN_ATTRS:
        return True
    if tag == "a" and name == "href":
        return value.strip().lower().startswith(("http://", "https://", "mailto:", "#"))
    if tag == "img" and name == "src":
        return bool(re.match(r"data:image/(png|jpeg|gif);base64,", value.strip(), re.I))
    return False


def dangerous(text: str) -> bool:
    return bool(DANGER.search(text) or DANGER.search(html.unescape(text)))


def clean_html(text: str) -> str:
    text = BLOCKS.sub("", text)
    return bleach.clean(text, tags=TAGS, attributes=_attr_ok, protocols={"http", "https", "mailto", "data"},
                        strip=True, strip_comments=True, css_sanitizer=CSS)  # fmt: skip


def clean_markdown(text: str) -> str:
    """Markdown stays markdown: raw HTML tags are cleaned one by one, dangerous link targets defused."""
    text = BLOCKS.sub("", text)

    def tag(m: re.Match[str]) -> str:
        whole, closing, name = m.group(0), m.group(1), (m.group(2) or "").lower()
        if whole.startswith("<!--"):
            return ""
        if name not in TAGS:
            return html.escape(whole)
        if closing:
            return f"</{name}>"
        cleaned = clean_html(whole)
        return cleaned[: -len(f"</{name}>")] if cleaned.endswith(f"</{name}>") else cleaned

    return MD_LINK.sub(lambda m: m.group(1) + "#removed-", TAG.sub(tag, text))


def svg_is_safe(text: str) -> bool:
    from defusedxml import ElementTree

    try:
        root = ElementTree.fromstring(text.encode("utf-8"))
    except Exception:
        return False
    for el in root.iter():
        local = str(el.tag).rsplit("}", 1)[-1].lower()
        if local in SVG_BAD_TAGS:
            return False
        for name, value in el.attrib.items():
            attr = name.rsplit("}", 1)[-1].lower()
            if attr.startswith("on") or (attr == "href" and not value.strip().startswith("#")):
                return False
            if re.search(r"(java|vb)script\s*:|data\s*:\s*text/html", re.sub(r"[\s\x00-\x1f]", "", value), re.I):
                return False
    return True


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def clean_output(output: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(cleaned output, whether something active was removed)."""
    if output.get("output_type") not in ("display_data", "execute_result"):
        return output, False
    active = False
    data = {}
    for mime, value in dict(output.get("data", {})).items():
        if mime in SAFE_MIMES:
            data[mime] = value
        elif mime in ("text/html", "text/markdown"):
            text = _text(value)
            active |= dangerous(text)
            data[mime] = clean_html(text) if mime == "text/html" else clean_markdown(text)
        elif mime == "image/svg+xml":
            text = _text(value)
            if svg_is_safe(text):
                data[mime] = text
            else:
                active = True
        else:  # JavaScript, widgets, anything a viewer might execute or we do not know
            active = True
    if not data:
        data["text/plain"] = "[Trường Số: đầu ra đã bị gỡ / output removed]"
    meta = {k: v for k, v in dict(output.get("metadata", {})).items() if k in SAFE_MIMES}
    return {**output, "data": data, "metadata": meta}, active


class SanitizeActiveContent(Preprocessor):
    """Runs last on the host's copy, before the autograded notebook is written."""

    def preprocess_cell(self, cell: Any, resources: dict[str, Any], index: int) -> tuple[Any, Any]:
        from nbformat.notebooknode import from_dict

        ctx = resources["truongso"]
        label = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell {index}"
        active = False
        if cell.cell_type == "code":
            outputs = []
            for out in cell.get("outputs", []):
                cleaned, hit = clean_output(out)
                active |= hit
                outputs.append(from_dict(cleaned))
            cell.outputs = outputs
        elif cell.cell_type in ("markdown", "raw") and ("<" in cell.source or ":" in cell.source):
            cleaned = clean_markdown(cell.source) if cell.cell_type == "markdown" else clean_html(cell.source)
            if cleaned != cell.source:
                active |= dangerous(cell.source) or bool(MD_LINK.search(cell.source))
                cell.source = cleaned
        for name, bundle in list(cell.get("attachments", {}).items()):
            kept = {m: v for m, v in bundle.items()
                    if m in SAFE_MIMES or (m == "image/svg+xml" and svg_is_safe(_text(v)))}  # fmt: skip
            active |= kept != dict(bundle)
            cell.attachments[name] = from_dict(kept)
        if active:
            ctx.findings.append(Finding("active_content", ctx.notebook, label))
        return cell, resources
