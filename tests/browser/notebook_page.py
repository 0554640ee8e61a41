"""A notebook open in JupyterLab, as a page object: find cells by their source, run them as a reader does,
and read or watch what a stream view shows. What it reads in the page is notebook_page.js."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import nbformat
from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.support import cell_tags, wait_until

SCRIPT = Path(__file__).with_name("notebook_page.js")  # the page fixture loads it into every page
PAGE_TIMEOUT = 60_000  # ms, for loading JupyterLab and starting a kernel
CELL_TIMEOUT = 90_000  # ms, for one cell to finish
CELLS = ".jp-Notebook .jp-Notebook-cell"
SELECT_KERNEL = "Select Kernel"


def accept_kernel(dialog: Locator) -> None:
    """JupyterLab sometimes asks for a kernel although the notebook names one (a race with loading the
    kernel specs): accept its choice."""
    dialog.locator(".jp-Dialog-button.jp-mod-accept").first.click()


class Notebook:
    """A notebook from the lab's root folder, open in JupyterLab, its cells located by their source."""

    def __init__(self, page: Page, url: str, root: Path, name: str) -> None:
        self.page, self.url, self.name = page, url, name
        self.cells = nbformat.read(root / name, as_version=4).cells

    def open(self) -> "Notebook":
        """Load the notebook in JupyterLab and wait until all its cells are there and its kernel is idle."""
        self.page.goto(f"{self.url}/lab/tree/{self.name}?reset", timeout=PAGE_TIMEOUT)
        select_kernel = self.page.locator(".jp-Dialog").filter(has_text=SELECT_KERNEL)
        state: dict = {}

        def loaded() -> bool:
            state.update(self.page.evaluate("(path) => notebookTest.ready(path)", self.name))
            if state["cells"] == len(self.cells) and state["idle"]:
                return True
            if select_kernel.count():
                accept_kernel(select_kernel)
            return False

        problem = f"{self.name} did not load with an idle kernel"
        wait_until(loaded, PAGE_TIMEOUT / 1000, lambda: f"{problem}: {state} ({len(self.cells)} cells in the file)",
                   interval=0.1, pause=lambda seconds: self.page.wait_for_timeout(seconds * 1000))
        return self

    # finding cells

    def index(self, predicate: str | Callable[[str], bool], *, after: int = -1) -> int:
        """The first code cell after `after` whose source contains `predicate` (or satisfies it),
        skipping exercise solutions."""
        test = predicate if callable(predicate) else (lambda source: predicate in source)
        for index, cell in enumerate(self.cells):
            if index > after and cell.cell_type == "code" and "solution" not in cell_tags(cell):
                if test(cell.source):
                    return index
        raise AssertionError(f"{self.name}: no code cell matches {predicate!r}")

    def cell(self, index: int) -> Locator:
        return self.page.locator(CELLS).nth(index)

    def states(self) -> list:
        """[execution count, "idle" or "running"] of each code cell (None for markdown cells)."""
        return self.page.evaluate("(path) => notebookTest.states(path)", self.name)

    # running cells

    def select(self, index: int) -> None:
        """Make the cell the active one, in command mode, with the keyboard focus on the notebook."""
        self.cell(index).scroll_into_view_if_needed()
        self.page.evaluate("([path, index]) => notebookTest.select(path, index)", [self.name, index])

    def start(self, index: int):
        """Run one cell (Ctrl+Enter on the active cell) without waiting; returns its execution count before.
        JupyterLab marks the cell running at once; if it did not, the key press went astray: retry."""
        before = self.states()[index][0]
        for attempt in range(3):
            self.select(index)
            self.page.keyboard.press("Control+Enter")
            try:
                self.page.wait_for_function(
                    "([path, index, before]) => notebookTest.started(path, index, before)",
                    arg=[self.name, index, before], timeout=5_000, polling=50,
                )
                return before
            except PlaywrightTimeoutError:
                if attempt == 2:
                    raise AssertionError(f"{self.name}: cell {index} did not start") from None
        return before

    def wait(self, index: int, before, timeout: float = CELL_TIMEOUT) -> None:
        """Wait for the cell to have run (a new execution count), then check it raised nothing."""
        self.page.wait_for_function(
            "([path, index, before]) => notebookTest.finished(path, index, before)",
            arg=[self.name, index, before], timeout=timeout, polling=100,
        )
        self.check_no_error(index)

    def run(self, index: int, timeout: float = CELL_TIMEOUT) -> None:
        self.wait(index, self.start(index), timeout)

    def run_range(self, start: int, stop: int) -> None:
        """Run the code cells start..stop-1 one by one, as a reader would with Ctrl+Enter."""
        for index in range(start, stop):
            if self.cells[index].cell_type == "code":
                self.run(index)

    def run_all(self, timeout: float = CELL_TIMEOUT * 2) -> None:
        """Run > Run All Cells, then wait for every code cell to have run (or one to fail)."""
        self.select(0)
        self.page.locator(".lm-MenuBar-item", has_text="Run").click()
        self.page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
        code = [i for i, cell in enumerate(self.cells) if cell.cell_type == "code"]
        must_not_fail = [i for i in code if "raises-exception" not in cell_tags(self.cells[i])]
        self.page.wait_for_function(
            "([path, code, mustNotFail]) => notebookTest.allRunOrFailed(path, code, mustNotFail)",
            arg=[self.name, code, must_not_fail], timeout=timeout, polling=200,
        )
        for index in code:
            self.check_no_error(index)
        states = self.states()
        not_run = [i for i in code if states[i][0] is None]
        assert not not_run, f"{self.name}: cells {not_run} did not run"

    def check_no_error(self, index: int) -> None:
        if "raises-exception" in cell_tags(self.cells[index]):
            return
        stderr = self.cell(index).locator(
            ".jp-Cell-outputArea > .jp-OutputArea-child > [data-mime-type='application/vnd.jupyter.stderr']")
        text = "\n".join(stderr.all_text_contents())
        assert "Traceback (most recent call last)" not in text, f"{self.name} cell {index} failed:\n{text[-2000:]}"

    def interrupt_kernel(self) -> None:
        self.page.locator(".lm-MenuBar-item", has_text="Kernel").click()
        self.page.locator(".lm-Menu-item", has_text="Interrupt Kernel").first.click()

    # watching a stream view (helpers.display.StreamView) in a cell's output

    def output(self, index: int) -> Locator:
        """The cell's Output widget (the stream's text)."""
        return self.cell(index).locator(".jp-Cell-outputArea .widget-output").first

    def view(self, index: int) -> dict:
        """What the cell's stream view shows now: {stream, text, markdown, status}."""
        return self.page.evaluate("(index) => notebookTest.view(index)", index)

    def wait_for_status(self, index: int, *needles: str, timeout: float = CELL_TIMEOUT) -> str:
        """Wait until the cell's status line contains one of `needles`; returns the status."""
        self.page.wait_for_function(
            "([index, needles]) => notebookTest.statusHas(index, needles)",
            arg=[index, list(needles)], timeout=timeout, polling=50,
        )
        return self.view(index)["status"]

    def wait_for_output_text(self, index: int, timeout: float) -> None:
        """Wait until the cell's Output widget shows some text."""
        self.page.wait_for_function("(index) => notebookTest.outputHasText(index)", arg=index, timeout=timeout)

    def watch(self, index: int, interval_ms: int = 100) -> None:
        """Start recording the cell's stream view in the page: a sample every `interval_ms`, and
        every change of the streamed text (MutationObserver) with the time of the next frame."""
        self.page.evaluate("([index, interval]) => notebookTest.watch(index, interval)", [index, interval_ms])

    def watched(self, index: int) -> dict:
        """Stop recording; {"samples": [{t, stream, text, markdown, status}], "changes": [{t, frame, length}],
        "longest": the longest streamed text seen}. Times are epoch milliseconds."""
        return self.page.evaluate("(index) => notebookTest.watched(index)", index)
