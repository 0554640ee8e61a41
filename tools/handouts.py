"""`make handouts`: every notebook as a self-contained HTML page, an index, and one PDF of the course.

    python -m tools.handouts notebooks dist/handouts [--no-pdf] [--chromium /usr/bin/chromium]

writes, for each ``notebooks/NN-name.ipynb``, ``NN-name.html`` with its stored outputs, then
``index.html`` (links to every page), ``course.html`` (all notebooks on one page) and
``course.pdf`` (course.html printed by headless Chromium, one notebook per new page).

The pages never touch the network, so they work in a room with no Wi-Fi:

* Widgets are rendered to static HTML from the widget state that ``tools/run_notebooks.py``
  stores (tools/handout_widgets.py says why not with nbconvert's widget script). The widget state
  itself stays in the page as inert data, for anyone who wants to load a widget manager on it later.
* No script or stylesheet is loaded from a CDN: require.js, MathJax, Mermaid and the widget
  loader are left out of nbconvert's lab template (no notebook here uses math or diagrams;
  ``$`` in prose then stays a dollar sign). Images are embedded as data: URIs.
* Links to other notebooks (``04-streaming.ipynb#Section``) point to their ``.html`` page, and
  links to the README (the notebooks' "Contents") to ``index.html``; in the one-page course and
  the PDF they become links inside the document.

The PDF is printed with Playwright driving Debian's Chromium (tools/chromium.py), with every
request to anything but file:/data: blocked and reported: the build fails if a page tried.
"""

from __future__ import annotations

import argparse
import copy
import html
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
from bs4 import BeautifulSoup
from jinja2 import DictLoader
from nbconvert import HTMLExporter

from tools import chromium
from tools.handout_widgets import StaticWidgetsPreprocessor

NOTEBOOK_GLOB = "[0-9][0-9]-*.ipynb"
NOTEBOOK_LINK = re.compile(r"^(?:\./)?(?P<stem>[0-9][0-9]-[^/?#]+)\.ipynb$")
README_LINK = re.compile(r"^(?:\.\./|\./)?README\.md$", re.IGNORECASE)

# nbconvert's lab template, less everything it would fetch from a CDN.
TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_css -%}<style type="text/css">{{ resources.handout_css }}</style>{%- endblock html_head_css -%}
"""

CSS = """
body.jp-Notebook { max-width: 60rem; margin: 0 auto; padding: 1rem; }
/* Read, not edited: wrap long lines (of code too) at spaces, and anywhere only when a word is too long. */
.jp-OutputArea-output pre, .jp-RenderedText pre, .handout-output pre,
.jp-InputArea-editor .highlight pre { white-space: pre-wrap; word-break: normal; overflow-wrap: anywhere; }
.handout-widget { box-sizing: border-box; min-width: 0; }
.handout-vbox { display: flex; flex-direction: column; }
.handout-hbox { display: flex; flex-direction: row; align-items: baseline; gap: 4px; }
.handout-output { border-left: 3px solid var(--jp-brand-color2, #90caf9); padding: 2px 0 2px 8px; margin: 2px 0; }
.jp-RenderedHTMLCommon .handout-output pre { background: none; padding: 0; margin: 0; font-size: var(--jp-code-font-size);
  font-family: var(--jp-code-font-family); line-height: var(--jp-code-line-height); }
.handout-button { font: inherit; font-size: 85%; padding: 1px 8px; border: 1px solid #bbb; border-radius: 2px;
  background: #f5f5f5; color: #666; }
.handout-button-warning { background: #ffe0b2; }
.handout-value { font-family: var(--jp-code-font-family); }
details.handout-hidden > summary { cursor: pointer; color: var(--jp-ui-font-color2, #666); font-style: italic;
  padding: 4px 0 4px 8px; }
nav.handout-nav { font-size: 90%; margin-bottom: 1rem; }
@media print {
  nav.handout-nav { display: none; }
  .jp-Cell, .handout-output { break-inside: auto; }
  .jp-CodeCell .jp-Cell-inputWrapper { break-inside: avoid; }
}
"""

COURSE_CSS = """
section.handout-notebook { break-before: page; }
section.handout-contents ol { line-height: 1.8; font-size: 110%; }
"""

INDEX = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 44rem; margin: 2rem auto;
  padding: 0 1rem; line-height: 1.5; color: #222; }}
ol {{ line-height: 1.9; }}
a {{ color: #1565c0; }}
.files {{ margin-top: 2rem; font-size: 95%; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>The notebooks with their outputs, readable offline, no Jupyter needed.</p>
<ol>
{items}
</ol>
<p class="files">The whole course: <a href="course.html">on one page</a>{pdf}.</p>
</body>
</html>
"""


@dataclass
class Handout:
    notebook: Path
    page: Path
    title: str

    @property
    def number(self) -> int:
        return int(self.notebook.name[:2])


@dataclass
class Build:
    """What `build` wrote, and what went wrong on the way."""

    handouts: list[Handout] = field(default_factory=list)
    index: Path | None = None
    course_html: Path | None = None
    pdf: Path | None = None
    pdf_pages: int = 0
    warnings: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)


# --- one page --------------------------------------------------------------------------------


def notebook_title(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+?)\s*#*\s*$", cell.source, re.MULTILINE)
            if match:
                return re.sub(r"[*_`]", "", match.group(1))
    return ""


def make_exporter() -> HTMLExporter:
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"handout.html.j2": TEMPLATE})],
        template_file="handout.html.j2",
        embed_images=True,
    )
    exporter.register_preprocessor(StaticWidgetsPreprocessor(), enabled=True)
    return exporter


def export_page(exporter: HTMLExporter, path: Path, known: set[str]) -> tuple[BeautifulSoup, str, list[str]]:
    """A notebook as a page: (soup, title, warnings)."""
    nb = nbformat.read(path, as_version=4)
    title = notebook_title(nb) or path.stem
    nb = copy.deepcopy(nb)
    nb.metadata["title"] = title
    resources = {"metadata": {"name": path.stem, "path": str(path.parent)}, "handout_css": CSS}
    body, resources = exporter.from_notebook_node(nb, resources=resources)
    warnings = [f"{path.name}: {w}" for w in resources.get("handout_warnings", [])]
    soup = BeautifulSoup(body, "html.parser")
    _fold_hidden_cells(soup)
    warnings += [f"{path.name}: {w}" for w in _rewrite_links(soup, known)]
    return soup, title, warnings


def _fold_hidden_cells(soup: BeautifulSoup) -> None:
    """Solutions (source hidden in JupyterLab) are folded: the whole cell, as its output gives it away."""
    for cell in soup.select("div.jp-Cell.celltag_handout_source_hidden"):
        solution = "celltag_solution" in cell.get("class", [])
        parts = list(cell.children) if solution else cell.select(".jp-Cell-inputWrapper")
        _wrap_in_details(soup, parts, "Solution" if solution else "Hidden code")
    for cell in soup.select("div.jp-Cell.celltag_handout_outputs_hidden"):
        _wrap_in_details(soup, cell.select(".jp-Cell-outputWrapper"), "Hidden output")


def _wrap_in_details(soup: BeautifulSoup, parts: list, summary: str) -> None:
    parts = [p for p in parts if getattr(p, "name", None) or str(p).strip()]
    if not parts:
        return
    details = soup.new_tag("details", attrs={"class": "handout-hidden"})
    label = soup.new_tag("summary")
    label.string = f"{summary} (click to show)"
    details.append(label)
    parts[0].insert_before(details)
    for part in parts:
        details.append(part.extract())


def _rewrite_links(soup: BeautifulSoup, known: set[str]) -> list[str]:
    warnings = []
    for link in soup.find_all("a", href=True):
        href = link["href"]
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path:
            continue
        fragment = f"#{parts.fragment}" if parts.fragment else ""
        notebook = NOTEBOOK_LINK.match(parts.path)
        if notebook:
            link["href"] = f"{notebook['stem']}.html{fragment}"
            if notebook["stem"] not in known:
                warnings.append(f"link to {parts.path}, which is not in the handouts (yet)")
        elif README_LINK.match(parts.path):
            link["href"] = "index.html"
        elif not parts.path.endswith(".html"):
            warnings.append(f"relative link {href} points outside the handouts")
    return warnings


# --- the course on one page, and its PDF ----------------------------------------------------


def course_page(pages: list[tuple[Handout, BeautifulSoup]], title: str) -> BeautifulSoup:
    """All pages in one document: ids prefixed per notebook, links between pages made internal."""
    course = copy.copy(pages[0][1])
    course.title.string = title
    style = course.new_tag("style", attrs={"type": "text/css"})
    style.string = COURSE_CSS
    course.head.append(style)
    main = course.find("main")
    main.clear()

    contents = course.new_tag("section", attrs={"class": "handout-contents", "id": "contents"})
    heading = course.new_tag("h1")
    heading.string = title
    contents.append(heading)
    listing = course.new_tag("ol")
    for handout, _soup in pages:
        item = course.new_tag("li", value=str(handout.number))
        link = course.new_tag("a", href=f"#{handout.page.stem}")
        link.string = handout.title
        item.append(link)
        listing.append(item)
    contents.append(listing)
    main.append(contents)

    stems = {handout.page.stem for handout, _ in pages}
    for handout, soup in pages:
        stem = handout.page.stem
        section = course.new_tag("section", attrs={"class": "handout-notebook", "id": stem})
        source = copy.copy(soup.find("main"))
        for element in source.find_all(id=True):
            element["id"] = f"{stem}--{element['id']}"
        for link in source.find_all("a", href=True):
            parts = urlsplit(link["href"])
            if parts.scheme or parts.netloc:
                continue
            if not parts.path:
                link["href"] = f"#{stem}--{parts.fragment}" if parts.fragment else f"#{stem}"
            elif parts.path == "index.html":
                link["href"] = "#contents"
            elif parts.path.endswith(".html") and parts.path[:-5] in stems:
                target = parts.path[:-5]
                link["href"] = f"#{target}--{parts.fragment}" if parts.fragment else f"#{target}"
        for details in source.find_all("details"):
            details["open"] = ""  # on paper, solutions are printed
            if details.summary is not None:
                details.summary.string = details.summary.get_text().replace(" (click to show)", "")
        for child in list(source.children):
            section.append(child.extract())
        main.append(section)
    return course


# How the course prints: A4, page numbers in the footer, the headings as the PDF's outline.
PDF_LAYOUT = dict(
    format="A4",
    print_background=True,
    margin={"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"},
    display_header_footer=True,
    header_template="<span></span>",
    footer_template='<div style="font-size:8px;width:100%;text-align:center;color:#666">'
    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>',
    outline=True,
    tagged=True,
)


def course_title(source: Path) -> str:
    readme = source.parent / "README.md"
    if readme.is_file():
        match = re.search(r"^#\s+(.+?)\s*$", readme.read_text(encoding="utf-8"), re.MULTILINE)
        if match:
            return re.sub(r"[*_`]", "", match.group(1))
    return "Course handouts"


# --- all of it ------------------------------------------------------------------------------


def build(source: Path, out: Path, *, pdf: bool = True, executable: str = chromium.CHROMIUM) -> Build:
    source, out = Path(source), Path(out)
    notebooks = sorted(source.glob(NOTEBOOK_GLOB))
    result = Build()
    if not notebooks:
        result.warnings.append(f"no notebooks {NOTEBOOK_GLOB} in {source}")
        return result
    out.mkdir(parents=True, exist_ok=True)
    stems = {path.stem for path in notebooks}
    for stale in out.glob("[0-9][0-9]-*.html"):
        if stale.stem not in stems:
            stale.unlink()

    exporter = make_exporter()
    pages: list[tuple[Handout, BeautifulSoup]] = []
    for path in notebooks:
        soup, title, warnings = export_page(exporter, path, stems)
        handout = Handout(notebook=path, page=out / f"{path.stem}.html", title=title)
        handout.page.write_text(str(soup), encoding="utf-8")
        result.handouts.append(handout)
        result.warnings += warnings
        pages.append((handout, soup))

    title = course_title(source)
    result.course_html = out / "course.html"
    result.course_html.write_text(str(course_page(pages, title)), encoding="utf-8")

    if pdf:
        problem = chromium.missing(executable)
        if problem:
            result.warnings.append(f"no PDF: {problem}")
        else:
            result.pdf = out / "course.pdf"
            result.blocked_requests = chromium.print_pdf(result.course_html, result.pdf, executable, **PDF_LAYOUT)
            result.pdf_pages = chromium.count_pdf_pages(result.pdf)

    items = "\n".join(
        f'<li value="{h.number}"><a href="{html.escape(h.page.name)}">{html.escape(h.title)}</a></li>'
        for h in result.handouts
    )
    pdf_link = ', and <a href="course.pdf">as a PDF</a> to print' if result.pdf else ""
    result.index = out / "index.html"
    result.index.write_text(INDEX.format(title=html.escape(title), items=items, pdf=pdf_link), encoding="utf-8")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="folder of NN-name.ipynb notebooks")
    parser.add_argument("out", type=Path, help="output folder, e.g. dist/handouts")
    parser.add_argument("--no-pdf", action="store_true", help="HTML only")
    parser.add_argument("--chromium", default=chromium.CHROMIUM,
                        help=f"Chromium to print with (default {chromium.CHROMIUM})")
    args = parser.parse_args(argv)

    result = build(args.source, args.out, pdf=not args.no_pdf, executable=args.chromium)
    for handout in result.handouts:
        print(f"{handout.page}  {handout.title}")
    if result.index:
        print(f"{result.index}  (links to every page)")
    if result.course_html:
        print(f"{result.course_html}  (the course on one page)")
    if result.pdf:
        print(f"{result.pdf}  ({result.pdf_pages} pages)")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for url in result.blocked_requests:
        print(f"error: the course page tried to load {url} (blocked: handouts must work offline)", file=sys.stderr)
    failed = not result.handouts or result.blocked_requests or (not args.no_pdf and result.pdf is None)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
