"""Student content made inert wherever an instructor or a student reads it.

Three places, three kinds of escaping, none of them written by hand:

- **Notebooks** (the autograded copy that formgrader and the feedback pages render):
  ``InertNotebook``, nbconvert's ``SanitizeHTML`` preprocessor (bleach underneath) with a
  teaching-friendly allow-list: markdown, raw cells and ``text/html``/``text/markdown``
  outputs lose every tag and attribute outside the list (``<script>``, ``<style>``,
  ``<iframe>``, ``<svg>``, ``on*=`` handlers, ``javascript:`` links are escaped into
  visible text); output types that are code (``application/javascript``, ``image/svg+xml``,
  widget views) are dropped; image data must be base64. Text the instructor wrote
  (a cell whose source is exactly a cell of the release) is left as it is.
- **Terminals**: ``terminal_safe`` writes control and format characters (ESC, OSC, CR,
  bidi overrides) as visible escapes, so a reason cannot clear the screen, retitle the
  window or forge a line of the grade table.
- **Spreadsheets**: ``csv_safe`` prefixes a cell that a spreadsheet would read as a
  formula (``= + - @``, tab, CR first) with an apostrophe, as OWASP recommends.
"""
from __future__ import annotations

import base64
import binascii
import html
import re
import unicodedata
from html.parser import HTMLParser

import bleach

from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbformat.notebooknode import NotebookNode
from traitlets import Bool, Set

# Tags and attributes a student's answer or a library's HTML output (a table, say) may keep.
TAGS = ["a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2",
        "h3", "h4", "h5", "h6", "hr", "i", "ins", "kbd", "li", "ol", "p", "pre", "s", "samp", "small", "span",
        "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var"]
ATTRIBUTES = {"a": ["href", "title"], "abbr": ["title"], "td": ["colspan", "rowspan", "style"],
              "th": ["colspan", "rowspan", "style"], "p": ["style"], "span": ["style"], "div": ["style"]}
# Inline styles keep colours and alignment (check results, library tables); nothing that moves, hides or overlays.
STYLES = ["color", "background-color", "font-weight", "font-style", "text-align"]
RENDERED_METADATA = ("filenames", "width", "height", "unconfined", "alt", "isolated")
NOTEBOOK_METADATA = ("kernelspec", "language_info", "nbgrader")
LINK_PROTOCOLS = {"http", "https", "mailto", "attachment"}
RASTER = ("image/png", "image/jpeg")
RASTER_DATA = ("data:image/png;base64,", "data:image/jpeg;base64,")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_VISIBLE_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def terminal_safe(text) -> str:
    """``text`` with every control or format character written as a visible escape (``\\x1b``).

    Newlines and tabs are escaped too: one table row stays one line.
    """
    text = str(text)
    return "".join(ascii(ch)[1:-1] if unicodedata.category(ch) in _VISIBLE_CATEGORIES else ch for ch in text)


def csv_safe(value):
    """``value`` for a CSV cell: a string a spreadsheet would run as a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _is_base64(data) -> bool:
    if not isinstance(data, str):
        return False
    try:
        base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _output_metadata(metadata) -> dict:
    """An output's metadata without what nbconvert's templates put into the page (file names used
    as image sources, sizes, alt texts, isolation), except numeric image sizes; data the page
    never shows (a visible check's verdict, say) stays."""
    if not isinstance(metadata, dict):
        return {}
    kept = {k: v for k, v in metadata.items() if k not in RENDERED_METADATA and "/" not in k}
    kept.update(_size_metadata(metadata))
    return kept


def _size_metadata(metadata) -> dict:
    """Only numeric ``width``/``height`` per raster type survive from an output's metadata."""
    kept = {}
    for mime in RASTER:
        sizes = metadata.get(mime) if isinstance(metadata, dict) else None
        if isinstance(sizes, dict):
            numeric = {k: v for k, v in sizes.items() if k in ("width", "height") and isinstance(v, (int, float))
                       and not isinstance(v, bool)}
            if numeric:
                kept[mime] = numeric
    return kept


class InertNotebook(SanitizeHTML):
    """nbconvert's ``SanitizeHTML`` with the course's allow-list, applied to everything a student wrote.

    ``instructor_texts``: sources of markdown and raw cells exactly as the release has them;
    those are the instructor's and are kept verbatim (they may hold deliberate HTML).
    """

    instructor_texts = Set(help="markdown/raw cell sources of the release, kept as they are").tag(config=True)
    enabled = Bool(True, help="on by default: nbconvert registers preprocessors disabled").tag(config=True)

    def __init__(self, **kw):
        kw.setdefault("tags", TAGS)
        kw.setdefault("attributes", ATTRIBUTES)
        kw.setdefault("styles", STYLES)
        super().__init__(**kw)

    def preprocess(self, nb, resources):
        if not self.instructor_texts:
            self.instructor_texts = set(_release_texts(self.config, resources))
        # Notebook metadata is the student's too: widget state would make the page load widget code
        # from a CDN, a title would retitle the page. Only what nbgrader and the kernel need stays.
        nb.metadata = NotebookNode({k: v for k, v in nb.metadata.items() if k in NOTEBOOK_METADATA})
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type in ("markdown", "raw"):
            if cell.source not in self.instructor_texts:
                cell.source = self.sanitize_html_tags(cell.source)
                if cell.cell_type == "markdown" and unsafe_links(cell.source):
                    cell.source = as_text(cell.source)
            if "attachments" in cell:
                cell.attachments = {name: {m: d for m, d in bundle.items() if m in RASTER and _is_base64(d)}
                                    for name, bundle in cell.attachments.items() if isinstance(bundle, dict)}
            return cell, resources
        if cell.cell_type == "code":
            cell.outputs = self.sanitize_code_outputs(cell.outputs)
            for output in cell.outputs:
                if output.get("output_type") in ("display_data", "execute_result"):
                    markdown = output.data.get("text/markdown")
                    if isinstance(markdown, str) and unsafe_links(markdown):
                        output.data["text/markdown"] = as_text(markdown)
                    for mime in RASTER:
                        if mime in output.data and not _is_base64(output.data[mime]):
                            del output.data[mime]
                    output.metadata = _output_metadata(output.get("metadata", {}))
            return cell, resources
        return cell, resources

    def sanitize_html_tags(self, html_str):
        return super().sanitize_html_tags(html_str if isinstance(html_str, str) else "".join(html_str))


class _AnyAttachment(dict):
    def __contains__(self, name):
        return True

    def __missing__(self, name):
        return {"image/png": ""}


class _Links(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value or "" for name, value in attrs if name in ("href", "src")]


def unsafe_links(markdown: str) -> list[str]:
    """Link and image targets in ``markdown``, as nbconvert renders it, that bleach would not keep
    (``javascript:``, ``data:``, and any scheme but http, https, mailto and attachment)."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    parser = _Links()
    try:  # attachments stay ``attachment:`` links (their data is checked on its own)
        parser.feed(MarkdownWithMath(renderer=IPythonRenderer(escape=False, attachments=_AnyAttachment())).render(markdown))
    except Exception as exc:  # what nbconvert cannot render is shown as text
        return [f"(unrenderable: {type(exc).__name__})"]
    unsafe = []
    for url in parser.urls:
        if url.startswith(RASTER_DATA):  # an attachment or an inline raster image: not a script
            continue
        probe = bleach.clean(f'<a href="{html.escape(url, quote=True)}">x</a>', tags={"a"}, attributes={"a": ["href"]},
                             protocols=LINK_PROTOCOLS)
        if "href=" not in probe:
            unsafe.append(url)
    return unsafe


def as_text(markdown: str) -> str:
    """``markdown`` shown as a plain-text block (nothing in it is a link any more), with a note."""
    longest = max((len(run) for run in re.findall(r"`+", markdown)), default=0)
    fence = "`" * max(3, longest + 1)
    return (f"*The grader shows this answer as text: it holds a link to something other than a web page.*\n\n"
            f"{fence}text\n{markdown}\n{fence}")


def inert_notebook(nb, instructor_texts=()):
    """``nb`` (an nbformat node) sanitised in place by ``InertNotebook``; returns it."""
    InertNotebook(instructor_texts=set(instructor_texts)).preprocess(nb, {})
    return nb


def _release_texts(config, resources) -> list[str]:
    """Markdown and raw sources of the release notebook nbgrader is processing (empty if unknown)."""
    from pathlib import Path

    import nbformat

    info = resources.get("nbgrader", {}) if isinstance(resources, dict) else {}
    assignment, notebook = info.get("assignment"), info.get("notebook")
    if not (assignment and notebook):
        return []
    course = config.CourseDirectory
    path = Path(course.root or ".") / course.release_directory / assignment / f"{notebook}.ipynb"
    if not path.is_file():
        return []
    release = nbformat.read(path, as_version=4)
    return [c.source for c in release.cells if c.cell_type in ("markdown", "raw")]
