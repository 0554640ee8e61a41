"""The course PDF: a handout page printed by Debian's headless Chromium, driven by Playwright.

Never a downloaded browser. Every request to anything but file:/data: is blocked and reported, so a
page that would need the network fails the build instead of printing without what it fetched. The
pages hold no script, so what is printed at the load event is the whole page: there is no render to
wait for.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")
FOOTER = ('<div style="font-size:8px;width:100%;text-align:center;color:#666">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')


def print_pdf(page: Path, pdf: Path, chromium: str = CHROMIUM, timeout: float = 60) -> list[str]:
    """Print an HTML file to an A4 PDF; return the non-local requests it blocked.

    Playwright runs in a thread of its own, so that this works from a caller that has an event loop
    running (a notebook, or a test that already drives a browser).
    """
    with ThreadPoolExecutor(1) as worker:
        return worker.submit(_print_pdf, page, pdf, chromium, timeout).result()


def _print_pdf(page: Path, pdf: Path, chromium: str, timeout: float) -> list[str]:
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []

    def route(route) -> None:
        if route.request.url.startswith(LOCAL_SCHEMES):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
                                             timeout=timeout * 1000)
        try:
            tab = browser.new_page()
            tab.set_default_timeout(timeout * 1000)
            tab.route("**/*", route)
            tab.goto(page.resolve().as_uri(), wait_until="load")
            tab.pdf(path=str(pdf), format="A4", print_background=True,
                    margin={"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"},
                    display_header_footer=True, header_template="<span></span>", footer_template=FOOTER,
                    outline=True, tagged=True)
        finally:
            browser.close()
    return blocked


def count_pdf_pages(pdf: Path) -> int:
    """Pages in a PDF written by Chromium (its page objects are not compressed)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read_bytes()))
