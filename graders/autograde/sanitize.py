"""Neutralise content of a graded notebook that would run in the instructor's browser.

What is checked is what nbconvert will render, never the source text: a markdown cell (or a `text/markdown`
output) is rendered with nbconvert's own markdown renderer (mistune with nbconvert's IPython renderer), and
HTML is cleaned with nh3 (ammonia, which parses like a browser: entities, `&colon;`, tabs inside a scheme,
mixed case and broken markup are decoded before the allow-list is applied). Allowed: text formatting and
tables, `http(s)`/`mailto`/relative links, images from `http(s)`, relative paths, `data:image/*` and cell
attachments; a few harmless style properties. Everything else — scripts, event handlers, frames, forms,
`javascript:`/`vbscript:`/`data:` links, SVG or MathML inline — is removed. A markdown cell whose rendering
needed cleaning is replaced by the cleaned HTML (which nbconvert passes through unchanged); one that renders
clean keeps its markdown. Outputs keep only display types a notebook viewer renders passively; SVG with
scripts or handlers and JavaScript/widget outputs are dropped.

The `active_content` finding is recorded when cleaning removed something that is not mere styling (a
`<style>` block, a filtered style property): that is decided by cleaning the same parse twice, once with
our allow-list (plus styling) and once letting every known tag, attribute and scheme through, and comparing.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import nh3
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode

from graders.autograde.findings import Finding

SAFE_MIMES = {"text/plain", "text/latex", "image/png", "image/jpeg", "image/gif", "application/json"}
REMOVED_OUTPUT = "[Trường Số: đầu ra đã bị gỡ / output removed]"

TAGS = frozenset(
    "a abbr address article aside b bdi bdo big blockquote br caption center cite code col colgroup dd del "
    "details dfn div dl dt em figcaption figure font footer h1 h2 h3 h4 h5 h6 header hgroup hr i img ins kbd "
    "li main mark nav ol p pre q rp rt ruby s samp section small span strike strong sub summary sup table "
    "tbody td tfoot th thead time tr tt u ul var wbr".split()
)
ATTRIBUTES = {
    "*": {"class", "title", "lang", "dir", "align", "style"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "table": {"border", "cellpadding", "cellspacing", "summary"},
    "td": {"colspan", "rowspan", "valign", "headers"},
    "th": {"colspan", "rowspan", "valign", "headers", "scope"},
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
    "ol": {"start", "type", "reversed"},
    "li": {"value"},
    "font": {"color", "size", "face"},
    "time": {"datetime"},
    "del": {"datetime"},
    "ins": {"datetime"},
    "details": {"open"},
}
# Style properties that change looks, not layout: no position, no negative margins over the grading form.
CSS_PROPERTIES = frozenset(
    "color background-color font-weight font-style font-size font-family text-align text-decoration "
    "vertical-align white-space border border-collapse border-color border-style border-width padding "
    "width height max-width".split()
)
URL_SCHEMES = frozenset({"http", "https", "mailto", "data", "attachment"})  # data:/attachment: for img only
# Content removed with the element, not unwrapped: its text is code or markup, not prose.
DROPPED_WITH_CONTENT = frozenset(
    "script style template noscript noembed noframes xmp iframe object embed applet title textarea select "
    "svg math".split()
)
# The baseline that removes nothing a browser knows (compared with what our allow-list keeps).
EVERY_TAG = (
    TAGS
    | DROPPED_WITH_CONTENT
    | frozenset(
        "acronym animate animatemotion animatetransform area audio base basefont bgsound blink body button "
        "canvas content data datalist dialog dir element fieldset foreignobject form frame frameset handler "
        "head html image input isindex keygen label legend link listener listing map marquee menu menuitem "
        "meta meter multicol nextid nobr optgroup option output param picture plaintext portal progress rb "
        "rtc search set shadow slot source spacer track use video feimage script".split()
    )
)
EVERY_SCHEME = (
    frozenset(nh3.ALLOWED_URL_SCHEMES)
    | URL_SCHEMES
    | frozenset(
        "javascript vbscript livescript mocha jscript file blob about jar view-source feed ms-its mhtml res "
        "wyciwyg chrome resource filesystem intent".split()
    )
)
_NOT_URL = re.compile(r"[\x00-\x20\x7f]+")  # browsers drop these anywhere in a URL before reading its scheme
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
GRADE_ID = re.compile(r"^[A-Za-z0-9_.\-]+$")  # nbgrader's own ids; anything else was typed by a learner


def _url_policy(tag: str, attr: str, value: str) -> str | None:
    """Per-tag URL rules on top of nh3's scheme list: data: and attachment: only as an image's source."""
    if attr not in ("href", "src"):
        return value
    url = _NOT_URL.sub("", value).lower()
    scheme = _SCHEME.match(url)
    if scheme is None:
        return value  # relative
    if scheme.group(1) in ("http", "https", "mailto"):
        return value if tag == "a" or scheme.group(1) != "mailto" else None
    if tag == "img" and attr == "src" and (url.startswith("data:image/") or scheme.group(1) == "attachment"):
        return value
    return None


_COMMON = {"link_rel": None, "strip_comments": True, "attribute_filter": _url_policy, "url_schemes": set(URL_SCHEMES)}
_ALLOWED = nh3.Cleaner(tags=set(TAGS), clean_content_tags=set(DROPPED_WITH_CONTENT), attributes=ATTRIBUTES,
                       filter_style_properties=set(CSS_PROPERTIES), **_COMMON)  # fmt: skip
# The same allow-list with styling untouched: what it removes beyond the baseline is active content.
_ALLOWED_AND_STYLING = nh3.Cleaner(
    tags=set(TAGS | {"style"}),
    clean_content_tags=set(DROPPED_WITH_CONTENT - {"style"}),
    attributes={**ATTRIBUTES, "style": {"scoped", "type", "media"}},
    **_COMMON,
)
_EVERYTHING = nh3.Cleaner(tags=set(EVERY_TAG), clean_content_tags=set(), attributes={}, generic_attribute_prefixes={""},
                          url_schemes=set(EVERY_SCHEME), link_rel=None, strip_comments=True)  # fmt: skip


VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
# A document's own elements: a browser puts their attributes (onload…) on the page's <html>/<body>, while
# a fragment parser (nh3's) drops them, so neither cleaning pass sees them.
DOCUMENT_TAGS = frozenset({"html", "head", "body", "frameset"})


class _Markup(HTMLParser):
    """What a second, simpler parser sees in the markup: tag names, whether every tag is closed in order,
    document-level tags with attributes. Only used to be more careful, never to decide that HTML is safe."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.names: set[str] = set()
        self.open: list[str] = []
        self.balanced = True
        self.document_attributes = False
        self.feed(html)
        self.close()
        self.balanced &= not self.open

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.names.add(tag)
        self.document_attributes |= tag in DOCUMENT_TAGS and bool(attrs)
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        self.names.add(tag)
        self.document_attributes |= tag in DOCUMENT_TAGS and bool(attrs)
        self.balanced &= tag in VOID

    def handle_endtag(self, tag: str) -> None:
        if self.open and self.open[-1] == tag:
            self.open.pop()
        elif tag not in VOID:
            self.balanced = False


def _baseline(html: str, markup: _Markup) -> str:
    """`html` re-serialised with nothing removed but comments and what no browser knows: tag names the
    baseline list lacks (custom elements…) are taken from the markup itself."""
    unknown = markup.names - EVERY_TAG
    if not unknown:
        return _EVERYTHING.clean(html)
    return nh3.clean(html, tags=set(EVERY_TAG | unknown), clean_content_tags=set(), attributes={},
                     generic_attribute_prefixes={""}, url_schemes=set(EVERY_SCHEME), link_rel=None)  # fmt: skip


# Markup whose parse differs between parsers (comments, declarations, processing instructions, bogus end
# tags, NUL): never kept as it was written, always replaced by its cleaned serialisation.
_AMBIGUOUS = re.compile(r"<[!?]|</[^A-Za-z]|\x00")


def _clean(html: str) -> tuple[str | None, bool]:
    """(nh3's serialisation of what is allowed, or None when `html` may be kept exactly as written; whether
    anything active was removed). Kept only when cleaning removes nothing, every tag is an allowed one and is
    closed in order (so it cannot reach into the page around it) and nothing in it parses ambiguously."""
    markup = _Markup(html)
    cleaned = _ALLOWED.clean(html)
    baseline = _baseline(html, markup)
    if cleaned == baseline and markup.names <= TAGS and markup.balanced and not _AMBIGUOUS.search(html):
        return None, False
    active = _ALLOWED_AND_STYLING.clean(html) != baseline or markup.document_attributes
    return cleaned, active


def sanitize_html(html: str) -> tuple[str, bool]:
    """(safe HTML, whether anything active was removed): `html` itself when cleaning would remove nothing
    from it, so honest output keeps its exact text."""
    cleaned, active = _clean(html)
    return (html if cleaned is None else cleaned), active


def clean_html(html: str) -> str:
    return sanitize_html(html)[0]


class _Renderer(IPythonRenderer):
    """nbconvert's renderer, except that a missing attachment is noted instead of failing the whole page."""

    missing_attachment = False

    def _embed_image_or_attachment(self, src: str) -> str:
        try:
            return super()._embed_image_or_attachment(src)
        except Exception:
            self.missing_attachment = True
            return ""


def render_markdown(source: str, attachments: dict[str, Any] | None = None) -> tuple[str, bool]:
    """(the HTML nbconvert's HTMLExporter makes of `source`, heading anchors aside; whether an attachment it
    refers to is missing — nbconvert would refuse to render the notebook)."""
    renderer = _Renderer(escape=False, attachments=dict(attachments or {}), exclude_anchor_links=True)
    return MarkdownWithMath(renderer=renderer).render(source), renderer.missing_attachment


def as_markdown_html(html: str) -> str:
    """Cleaned HTML as markdown that mistune passes through untouched: one HTML block (a `<div>` with no
    blank line, newlines as character references), so nothing in it is read as markdown again."""
    return "<div>" + html.replace("\r", "&#13;").replace("\n", "&#10;") + "</div>"


def sanitize_markdown(source: str, attachments: dict[str, Any] | None = None) -> tuple[str, bool]:
    """(markdown whose rendering is safe, whether anything active was removed). `source` itself when it
    renders to exactly what cleaning keeps; otherwise the cleaned rendering."""
    rendered, missing = render_markdown(source, attachments)
    cleaned, active = _clean(rendered)
    if cleaned is None and not missing:
        return source, False
    return as_markdown_html(rendered if cleaned is None else cleaned), active


def clean_markdown(source: str) -> str:
    return sanitize_markdown(source)[0]


SVG_BAD_TAGS = {"script", "foreignobject", "iframe", "object", "embed", "handler", "listener", "set", "animate",
                "animatemotion", "animatetransform"}  # fmt: skip


def svg_is_safe(text: str) -> bool:
    """SVG is XML, not HTML: parsed strictly (no DTD, no entities), refused with any script, handler or link
    other than to a fragment of itself or a raster image."""
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
            url = _NOT_URL.sub("", value).lower()
            if attr.startswith("on"):
                return False
            raster = local == "image" and re.match(r"data:image/(png|jpeg|gif);", url)
            if attr in ("href", "src") and not (url.startswith("#") or raster):
                return False
            if re.search(r"(java|vb)script:|data:text/html", url):
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
        elif mime == "text/html":
            data[mime], hit = sanitize_html(_text(value))
            active |= hit
        elif mime == "text/markdown":
            data[mime], hit = sanitize_markdown(_text(value))
            active |= hit
        elif mime == "image/svg+xml":
            text = _text(value)
            if svg_is_safe(text):
                data[mime] = text
            else:
                active = True
        else:  # JavaScript, widgets, anything a viewer might execute or we do not know
            active = True
    if not data:
        data["text/plain"] = REMOVED_OUTPUT
    # Display metadata only for what is kept (an output's `isolated`, `filenames`… change how it is shown).
    meta = {k: v for k, v in dict(output.get("metadata", {})).items() if k in SAFE_MIMES}
    return {**output, "data": data, "metadata": meta}, active


def sanitize_cell(cell: NotebookNode) -> bool:
    """Clean one cell in place; whether something that could have run was removed."""
    from nbformat.notebooknode import from_dict

    active = False
    if cell.cell_type == "code":
        outputs = []
        for out in cell.get("outputs", []):
            cleaned, hit = clean_output(out)
            active |= hit
            outputs.append(from_dict(cleaned))
        cell.outputs = outputs
    attachments = cell.get("attachments", {})
    for name, bundle in list(attachments.items()):
        kept = {m: v for m, v in bundle.items()
                if m in SAFE_MIMES or (m == "image/svg+xml" and svg_is_safe(_text(v)))}  # fmt: skip
        active |= kept != dict(bundle)
        attachments[name] = from_dict(kept)
    if cell.cell_type == "markdown":
        cell.source, hit = sanitize_markdown(cell.source, attachments)
        active |= hit
    elif cell.cell_type == "raw" and cell.get("metadata", {}).get("raw_mimetype", "").lower() in ("", "text/html"):
        cell.source, hit = sanitize_html(cell.source)  # nbconvert's HTML exporter shows these raw cells as HTML
        active |= hit
    # The formgrader writes grade ids into HTML attributes unescaped: only nbgrader's own id alphabet passes.
    meta = cell.get("metadata", {}).get("nbgrader")
    if isinstance(meta, dict) and "grade_id" in meta and not GRADE_ID.match(str(meta["grade_id"])):
        meta["grade_id"] = re.sub(r"[^A-Za-z0-9_.\-]", "_", str(meta["grade_id"])) or "_"
        active = True
    return active


def sanitize_notebook_metadata(nb: NotebookNode) -> None:
    """Saved widget state makes nbconvert's page load a widget manager from the internet to render it."""
    nb.metadata.pop("widgets", None)


class SanitizeActiveContent(Preprocessor):
    """Runs last on the host's copy, before the autograded notebook is written; records what it removed."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        sanitize_notebook_metadata(nb)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: Any, resources: dict[str, Any], index: int) -> tuple[Any, Any]:
        ctx = resources["truongso"]
        if sanitize_cell(cell):
            label = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell {index}"
            ctx.findings.append(Finding("active_content", ctx.notebook, label))
        return cell, resources


class SanitizeForDisplay(Preprocessor):
    """The same cleaning where notebooks are shown (the formgrader's pages, feedback): notebooks graded
    before this cleaning existed, or by other means, are shown cleaned too."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        sanitize_notebook_metadata(nb)
        for cell in nb.cells:
            sanitize_cell(cell)
        return nb, resources
