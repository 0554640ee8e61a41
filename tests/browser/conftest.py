"""The browser suite (`make test-browser`): JupyterLab in Debian's Chromium, driven by Playwright.

One practice server (30 tokens per second, so streams are slow enough to watch) and one JupyterLab
(jupyterlab.py) run for the whole session, as does Chromium (the `browser` fixture, tests/conftest.py);
each test gets a fresh page, and opens notebooks in it as page objects (notebook_page.py, with
notebook_page.js in the page).

Screenshots, the JupyterLab log and latency figures go to artifacts/browser/ at the repository root.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import pytest

from helpers.server import create_app
from helpers.server.testing import ServerThread
from tests.browser.jupyterlab import Lab, running_lab
from tests.browser.notebook_page import SCRIPT, SELECT_KERNEL, Notebook, accept_kernel
from tests.browser.send_log import SendLog
from tests.support import ROOT

ARTIFACTS = ROOT / "artifacts" / "browser"
TOKENS_PER_SECOND = 30


FIGURES: list[str] = []


@pytest.fixture
def report():
    """``report("...")``: print a line now (seen with -s) and again in the summary at the end of the run
    (seen always, as `make test-browser` does not pass -s)."""
    def add(line: str) -> None:
        print(line)
        FIGURES.append(line)
    return add


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("browser suite figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def practice() -> ServerThread:
    """The practice server at 30 tokens per second. ``practice.app.state.stats`` counts streams and
    disconnects; ``practice.app.exchanges`` has every chat completion with its send times."""
    server = ServerThread(SendLog(create_app(tokens_per_second=TOKENS_PER_SECOND))).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def lab(practice, tmp_path_factory, artifacts) -> Lab:
    """JupyterLab, serving a temporary copy of notebooks/ to kernels that talk to the practice server."""
    with running_lab(tmp_path_factory.mktemp("lab"), artifacts / "jupyterlab.log", practice.base_url) as running:
        yield running


@pytest.fixture
def page(browser, lab, artifacts, request):
    """A fresh browser context and page; its final state is saved as artifacts/browser/<test>.png."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    context.add_init_script(path=SCRIPT)
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    page.add_locator_handler(page.locator(".jp-Dialog").filter(has_text=SELECT_KERNEL), accept_kernel)
    yield page
    name = re.sub(r"^test_", "", request.node.name)
    try:
        page.screenshot(path=str(artifacts / f"{name}.png"))
    except Exception as error:  # a failed screenshot must not hide the test's own result
        print(f"screenshot failed: {error}")
    context.close()
    lab.shutdown_sessions()


@pytest.fixture
def open_notebook(page, lab) -> Callable[[str], Notebook]:
    """``notebook = open_notebook("04-streaming.ipynb")``: open it in JupyterLab and wait for its kernel."""
    return lambda name: Notebook(page, lab.url, lab.root, name).open()
