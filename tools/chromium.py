"""Debian's Chromium, driven by Playwright: where it is, how it starts, what an offline page may load, printing.

One place for the handouts (tools/handouts.py prints the PDF), the handouts suite and the browser suite.
Playwright never downloads a browser of its own here: it drives /usr/bin/chromium (`bash .ci/browser.sh`).
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Route

CHROMIUM = "/usr/bin/chromium"
# The machine's network is closed: without these Chromium keeps trying (and failing) to phone home.
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# What a page that works offline may load: itself, what it embeds, and nothing from a network.
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")


class ChromiumMissing(RuntimeError):
    """Chromium is not installed where Playwright is told to find it."""


def missing(executable: str = CHROMIUM) -> str | None:
    """What to do when Chromium is missing, or None when it is there."""
    if os.access(executable, os.X_OK):
        return None
    return f"{executable} is missing: run `bash .ci/browser.sh` (apt-get install -y chromium)"


@contextmanager
def launched(executable: str = CHROMIUM, timeout: float | None = None) -> Iterator["Browser"]:
    """Headless Chromium for the duration of the block; `timeout` (seconds) bounds its start."""
    from playwright.sync_api import sync_playwright

    problem = missing(executable)
    if problem:
        raise ChromiumMissing(problem)
    options = {} if timeout is None else {"timeout": timeout * 1000}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=ARGS, **options)
        try:
            yield browser
        finally:
            browser.close()


def block_network(target: "BrowserContext | Page", blocked: list[str]) -> None:
    """Let `target` load only LOCAL_SCHEMES: every other request is aborted and its URL added to `blocked`."""

    def route(route: "Route") -> None:
        if route.request.url.startswith(LOCAL_SCHEMES):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    target.route("**/*", route)


def print_pdf(page: Path, pdf: Path, executable: str = CHROMIUM, timeout: float = 60, **layout) -> list[str]:
    """Print an HTML file to PDF (`layout`: Playwright's page.pdf options), offline; return the requests it blocked.

    Playwright runs in a thread of its own, so that this works from a caller that has an event loop
    running (a notebook, or a test that already drives a browser).
    """
    with ThreadPoolExecutor(1) as worker:
        return worker.submit(_print_pdf, page, pdf, executable, timeout, layout).result()


def _print_pdf(page: Path, pdf: Path, executable: str, timeout: float, layout: dict) -> list[str]:
    blocked: list[str] = []
    with launched(executable, timeout) as browser:
        tab = browser.new_page()
        tab.set_default_timeout(timeout * 1000)
        block_network(tab, blocked)
        tab.goto(page.resolve().as_uri(), wait_until="load")
        tab.pdf(path=str(pdf), **layout)
    return blocked


def count_pdf_pages(pdf: Path) -> int:
    """Pages in a PDF written by Chromium (its page objects are not compressed)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read_bytes()))
