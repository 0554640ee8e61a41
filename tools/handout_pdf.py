"""The course PDF: course.html printed on A4 with page numbers, by Debian's headless Chromium.

The printing itself (offline, every request to anything but file:/data: blocked and reported) is
tools/chromium.py's. The pages hold no script, so what is printed at the load event is the whole page:
there is no render to wait for.
"""

from __future__ import annotations

from pathlib import Path

from tools import chromium

FOOTER = ('<div style="font-size:8px;width:100%;text-align:center;color:#666">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')
LAYOUT = dict(format="A4", print_background=True, margin={"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"},
              display_header_footer=True, header_template="<span></span>", footer_template=FOOTER, outline=True,
              tagged=True)


def print_course(page: Path, pdf: Path, executable: str = chromium.CHROMIUM, timeout: float = 60) -> list[str]:
    """Print a handout page to an A4 PDF; return the non-local requests it blocked."""
    return chromium.print_pdf(page, pdf, executable, timeout, **LAYOUT)
