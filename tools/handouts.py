"""`make handouts`: every notebook as a self-contained HTML page, an index, and one PDF of the course.

    python -m tools.handouts notebooks dist/handouts [--no-pdf] [--chromium /usr/bin/chromium]

writes, for each ``notebooks/NN-name.ipynb``, ``NN-name.html`` with its stored outputs, then
``index.html`` (links to every page), ``course.html`` (all notebooks on one page) and
``course.pdf`` (course.html printed by headless Chromium, one notebook per new sheet).

The pages never touch the network, so they work in a room with no Wi-Fi. Widgets are drawn as
static HTML from the stored widget state (``handout_widgets.py``), not by a widget manager: measured
on these notebooks, nbconvert's export with ``@jupyter-widgets/html-manager`` made each widget page
2.2 MB when the manager was inlined (and then it drew nothing: its webpack bundle cannot find its own
path in an inline script), or needed a 4.7 MB folder beside the pages (the script and its fonts); it
draws the widgets after the load event, which the PDF would have to wait for; and it cannot draw a
custom (anywidget) view offline at all. The static pages are 280-360 KB (most of it JupyterLab's CSS),
hold no script, show everything at load, and print as they look. The parts: ``handout_pages.py`` (a page, the course page, the index),
``handout_widgets.py`` (widget views), ``handout_pdf.py`` (the PDF's layout; tools/chromium.py prints); this file builds and is the
command line.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tools.chromium import CHROMIUM, count_pdf_pages
from tools.handout_pages import course_page, export_page, index_page, make_exporter
from tools.handout_pdf import print_course

NOTEBOOK_GLOB = "[0-9][0-9]-*.ipynb"


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


def course_title(source: Path) -> str:
    readme = source.parent / "README.md"
    if readme.is_file():
        match = re.search(r"^#\s+(.+?)\s*$", readme.read_text(encoding="utf-8"), re.MULTILINE)
        if match:
            return re.sub(r"[*_`]", "", match.group(1))
    return "Course handouts"


def build(source: Path, out: Path, *, pdf: bool = True, chromium: str = CHROMIUM) -> Build:
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
    pages = []
    for path in notebooks:
        soup, title, warnings = export_page(exporter, path, stems)
        handout = Handout(notebook=path, page=out / f"{path.stem}.html", title=title)
        handout.page.write_text(str(soup), encoding="utf-8")
        result.handouts.append(handout)
        result.warnings += warnings
        pages.append((handout.number, path.stem, title, soup))

    title = course_title(source)
    result.course_html = out / "course.html"
    result.course_html.write_text(str(course_page(pages, title)), encoding="utf-8")

    if pdf:
        if not Path(chromium).exists():
            result.warnings.append(f"no PDF: {chromium} is missing (apt-get install -y chromium)")
        else:
            result.pdf = out / "course.pdf"
            result.blocked_requests = print_course(result.course_html, result.pdf, chromium)
            result.pdf_pages = count_pdf_pages(result.pdf)

    result.index = out / "index.html"
    listed = [(h.number, h.page.name, h.title) for h in result.handouts]
    result.index.write_text(index_page(title, listed, pdf=result.pdf is not None), encoding="utf-8")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="folder of NN-name.ipynb notebooks")
    parser.add_argument("out", type=Path, help="output folder, e.g. dist/handouts")
    parser.add_argument("--no-pdf", action="store_true", help="HTML only")
    parser.add_argument("--chromium", default=CHROMIUM, help=f"Chromium to print with (default {CHROMIUM})")
    args = parser.parse_args(argv)

    result = build(args.source, args.out, pdf=not args.no_pdf, chromium=args.chromium)
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
