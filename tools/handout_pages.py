"""Handout pages: a notebook as one offline HTML page, all of them as one course page, and an index.

A page is nbconvert's lab template less everything it would fetch from a CDN (require.js, MathJax,
Mermaid, the widget loader; no notebook here uses math or diagrams, so ``$`` in prose stays a dollar
sign), with images embedded and every widget view drawn as static HTML (``handout_widgets``). Cells
whose source is hidden in JupyterLab (exercise solutions) are folded; links to other notebooks point
to their pages, and links to the README to the index. In the course page, ids are prefixed per
notebook and those links become links inside the document; on paper the solutions are unfolded.
"""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
from bs4 import BeautifulSoup
from jinja2 import DictLoader
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor

from tools.handout_widgets import WIDGET_STATE, WIDGET_VIEW, WidgetViews

NOTEBOOK_LINK = re.compile(r"^(?:\./)?(?P<stem>[0-9][0-9]-[^/?#]+)\.ipynb$")
README_LINK = re.compile(r"^(?:\.\./|\./)?README\.md$", re.IGNORECASE)

# nbconvert's lab template, less everything it would fetch from a CDN, and less the widget state (the
# views are drawn from it already; the notebook keeps it).
TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_css -%}<style type="text/css">{{ resources.handout_css }}</style>{%- endblock html_head_css -%}
{%- block footer -%}</html>{%- endblock footer -%}
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
.jp-RenderedHTMLCommon .handout-output pre, .jp-RenderedHTMLCommon .handout-text pre { background: none; padding: 0;
  margin: 0; font-size: var(--jp-code-font-size); font-family: var(--jp-code-font-family);
  line-height: var(--jp-code-line-height); }
.handout-text pre { white-space: pre-wrap; border: 1px solid #ddd; padding: 2px 4px; }
.handout-button { font: inherit; font-size: 85%; padding: 1px 8px; border: 1px solid #bbb; border-radius: 2px;
  background: #f5f5f5; color: #666; }
.handout-button-warning { background: #ffe0b2; }
.handout-value { font-family: var(--jp-code-font-family); }
details.handout-hidden > summary { cursor: pointer; color: var(--jp-ui-font-color2, #666); font-style: italic;
  padding: 4px 0 4px 8px; }
@media print {
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


class StaticWidgetsPreprocessor(Preprocessor):
    """Replace every widget view with static HTML drawn from the stored widget state, and tag cells
    whose source or output is hidden in JupyterLab (exercise solutions) for the page to fold."""

    def preprocess(self, nb, resources):
        views = WidgetViews(nb.metadata.get("widgets", {}).get(WIDGET_STATE))
        missing = 0
        for cell in nb.cells:
            jupyter = cell.get("metadata", {}).get("jupyter", {})
            tags = list(cell.get("metadata", {}).get("tags", []))
            tags += [tag for key, tag in (("source_hidden", "handout_source_hidden"),
                                          ("outputs_hidden", "handout_outputs_hidden")) if jupyter.get(key)]
            if tags:
                cell.metadata["tags"] = tags
            for output in cell.get("outputs", []):
                view = output.get("data", {}).get(WIDGET_VIEW)
                if view is None:
                    continue
                output.data = {k: v for k, v in output.data.items() if k != WIDGET_VIEW}
                if view.get("model_id") in views:
                    output.data["text/html"] = views.render(view["model_id"])
                else:
                    missing += 1
        warnings = resources.setdefault("handout_warnings", [])
        if missing:
            warnings.append(f"{missing} widget view(s) without stored state (run tools/run_notebooks.py to store it)")
        if views.generic:
            warnings.append(f"widgets drawn generically, with no renderer of their own in tools/handout_widgets.py: "
                            f"{', '.join(sorted(views.generic))}")
        return nb, resources


def notebook_title(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+?)\s*#*\s*$", cell.source, re.MULTILINE)
            if match:
                return re.sub(r"[*_`]", "", match.group(1))
    return ""


def make_exporter() -> HTMLExporter:
    exporter = HTMLExporter(template_name="lab", extra_loaders=[DictLoader({"handout.html.j2": TEMPLATE})],
                            template_file="handout.html.j2", embed_images=True)
    exporter.register_preprocessor(StaticWidgetsPreprocessor(), enabled=True)
    return exporter


def export_page(exporter: HTMLExporter, path: Path, known: set[str]) -> tuple[BeautifulSoup, str, list[str]]:
    """A notebook as a page: (soup, title, warnings)."""
    nb = nbformat.read(path, as_version=4)
    title = notebook_title(nb) or path.stem
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
        parts = urlsplit(link["href"])
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
            warnings.append(f"relative link {link['href']} points outside the handouts")
    return warnings


def course_page(pages: list[tuple[int, str, str, BeautifulSoup]], title: str) -> BeautifulSoup:
    """All pages in one document, from (number, stem, title, page): a contents list, then each notebook
    from a new sheet, ids prefixed per notebook, links between pages made internal, solutions unfolded."""
    course = copy.copy(pages[0][3])
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
    for number, stem, page_title, _soup in pages:
        item = course.new_tag("li", value=str(number))
        link = course.new_tag("a", href=f"#{stem}")
        link.string = page_title
        item.append(link)
        listing.append(item)
    contents.append(listing)
    main.append(contents)

    stems = {stem for _, stem, _, _ in pages}
    for _number, stem, _title, soup in pages:
        section = course.new_tag("section", attrs={"class": "handout-notebook", "id": stem})
        source = copy.copy(soup.find("main"))
        for element in source.find_all(id=True):
            element["id"] = f"{stem}--{element['id']}"
        for link in source.find_all("a", href=True):
            link["href"] = _course_link(link["href"], stem, stems)
        for details in source.find_all("details"):
            details["open"] = ""  # on paper, solutions are printed
            if details.summary is not None:
                details.summary.string = details.summary.get_text().replace(" (click to show)", "")
        for child in list(source.children):
            section.append(child.extract())
        main.append(section)
    return course


def _course_link(href: str, stem: str, stems: set[str]) -> str:
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return href
    if not parts.path:
        return f"#{stem}--{parts.fragment}" if parts.fragment else f"#{stem}"
    if parts.path == "index.html":
        return "#contents"
    target = parts.path[:-len(".html")]
    if parts.path.endswith(".html") and target in stems:
        return f"#{target}--{parts.fragment}" if parts.fragment else f"#{target}"
    return href


def index_page(title: str, pages: list[tuple[int, str, str]], pdf: bool) -> str:
    """The index: (number, file name, title) per page, the course page, and the PDF if there is one."""
    items = "\n".join(f'<li value="{number}"><a href="{html.escape(name)}">{html.escape(page_title)}</a></li>'
                      for number, name, page_title in pages)
    pdf_link = ', and <a href="course.pdf">as a PDF</a> to print' if pdf else ""
    return INDEX.format(title=html.escape(title), items=items, pdf=pdf_link)
