"""The browser suite (`make test-browser`): JupyterLab in Debian's Chromium, driven by Playwright.

One practice server (30 tokens per second, so streams are slow enough to watch) and one JupyterLab
run for the whole session. JupyterLab is token-less, on a free loopback port, with config, data,
runtime, settings and workspace directories of its own, serving a temporary copy of the notebooks
(outputs and widget state stripped) so that running them never touches the repository.

Screenshots, the JupyterLab log and latency figures go to artifacts/browser/ at the repository root.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import sync_playwright

from helpers.server import create_app
from helpers.server.testing import ServerThread, free_port

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
# The machine's network is closed: without these Chromium keeps trying (and failing) to phone home.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TOKENS_PER_SECOND = 30
LAB_START_TIMEOUT = 60  # s
PAGE_TIMEOUT = 60_000  # ms, for loading JupyterLab and starting a kernel
CELL_TIMEOUT = 90_000  # ms, for one cell to finish

# JupyterLab settings for a quiet, predictable UI: every cell in the DOM (no virtual scrolling),
# no news or update checks (the network is closed), no autosave racing with the tests.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none", "autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
}


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


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


# --- the practice server, with a log of when each chunk left it --------------------------------


@dataclass
class Exchange:
    """One chat completion request: its JSON body and, for each piece of response body, when it was sent."""

    request: dict = field(default_factory=dict)
    sent: list[tuple[float, bytes]] = field(default_factory=list)  # (time.time(), body)

    def content_timeline(self) -> list[tuple[float, str]]:
        """(when it left the server, the reply text so far) for each chunk that carried text."""
        timeline, text = [], ""
        for when, body in self.sent:
            for event in body.split(b"\n\n"):
                data = event.strip()
                if not data.startswith(b"data: ") or data == b"data: [DONE]":
                    continue
                chunk = json.loads(data[len(b"data: "):])
                for choice in chunk.get("choices") or []:
                    piece = (choice.get("delta") or {}).get("content") or ""
                    if piece:
                        text += piece
                        timeline.append((when, text))
        return timeline

    @property
    def text(self) -> str:
        timeline = self.content_timeline()
        return timeline[-1][1] if timeline else ""


class SendLog:
    """ASGI middleware around the practice server: records every chat completion's body chunks
    with the wall-clock time they were handed to the socket, so that the browser's timestamps
    (``performance.timeOrigin + performance.now()``) can be compared with them."""

    def __init__(self, app) -> None:
        self.app = app
        self.exchanges: list[Exchange] = []

    @property
    def state(self):  # server.app.state.stats works as with the bare app
        return self.app.state

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/chat/completions"):
            await self.app(scope, receive, send)
            return
        exchange = Exchange()
        self.exchanges.append(exchange)
        body = bytearray()

        async def logged_receive():
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
                if not message.get("more_body"):
                    try:
                        exchange.request = json.loads(body or b"{}")
                    except ValueError:
                        pass
            return message

        async def logged_send(message) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                exchange.sent.append((time.time(), bytes(message["body"])))
            await send(message)

        await self.app(scope, logged_receive, logged_send)


@pytest.fixture(scope="session")
def practice() -> ServerThread:
    """The practice server at 30 tokens per second. ``practice.app.state.stats`` counts streams and
    disconnects; ``practice.app.exchanges`` has every chat completion with its send times."""
    server = ServerThread(SendLog(create_app(tokens_per_second=TOKENS_PER_SECOND)), port=free_port()).start()
    yield server
    server.stop()


# --- JupyterLab ---------------------------------------------------------------------------------


def strip_outputs(path: Path) -> None:
    """A fresh start: no stored outputs, execution counts or widget state (which JupyterLab would
    otherwise restore, showing the stored stream before the cell runs)."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, path)


@dataclass
class Lab:
    url: str
    root: Path
    process: subprocess.Popen
    log: Path
    front_end: str = "jupyterlab"

    def notebook_url(self, name: str) -> str:
        if self.front_end == "notebook7":
            return f"{self.url}/notebooks/{name}"
        return f"{self.url}/lab/tree/{name}?reset"

    def api(self, method: str, path: str, timeout: float = 10):
        request = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_sessions(self) -> None:
        """Stop the kernels that the last test's notebooks started."""
        try:
            for session in self.api("GET", "/api/sessions"):
                self.api("DELETE", f"/api/sessions/{session['id']}", timeout=30)
        except (urllib.error.URLError, OSError, ValueError):
            pass

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# Every test runs in both front ends: JupyterLab 4, and Jupyter Notebook 7 (the same widget manager,
# @jupyter-widgets/jupyterlab-manager, and the same cells, in a page of its own).
FRONT_ENDS = {
    "jupyterlab": ["lab", "--LabApp.expose_app_in_browser=True"],
    "notebook7": ["notebook", "--JupyterNotebookApp.expose_app_in_browser=True"],
}


# Notebook 7.6 raises this from its own settings loading as soon as any widget shows (an ipywidgets Button
# alone does it, with no helpers widget on the page): not the page under test.
KNOWN_PAGE_ERRORS = {"notebook7": ("TypeError: Cannot read properties of undefined (reading 'schema')",
                                   "Cannot read properties of undefined (reading 'schema')")}


@pytest.fixture(scope="session", params=list(FRONT_ENDS))
def lab(request, practice, tmp_path_factory, artifacts) -> Lab:
    """JupyterLab (or Notebook 7) in a subprocess, serving a temporary copy of notebooks/ to kernels that
    talk to the practice server."""
    front_end = request.param
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for path in root.glob("*.ipynb"):
        strip_outputs(path)
    dirs = {name: base / name for name in ("config", "data", "runtime", "settings", "workspaces", "ipython")}
    for path in dirs.values():
        path.mkdir()
    for plugin, values in LAB_SETTINGS.items():
        package, _, name = plugin.rpartition("/")
        target = dirs["settings"] / package / f"{name}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))

    port = free_port()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
        "IPYTHONDIR": str(dirs["ipython"]),
        "OPENAI_BASE_URL": practice.base_url,
        "OPENAI_API_KEY": "practice",
        "OPENAI_MODEL": "practice",
        "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(REPO)])),
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable, "-m", "jupyter", FRONT_ENDS[front_end][0], "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={root}", "--ServerApp.terminals_enabled=False",
        f"--LabApp.workspaces_dir={dirs['workspaces']}", f"--LabApp.user_settings_dir={dirs['settings']}",
        "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        FRONT_ENDS[front_end][1],  # window.jupyterapp: the cells' execution state
    ]
    log = artifacts / f"{front_end}.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(command, env=env, cwd=root, stdout=log_file, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    server = Lab(url=f"http://127.0.0.1:{port}", root=root, process=process, log=log, front_end=front_end)
    try:
        deadline = time.monotonic() + LAB_START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {process.returncode}:\n{server.log_tail()}")
            try:
                server.api("GET", "/api/status", timeout=2)
                break
            except (urllib.error.URLError, OSError, ValueError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not answer in {LAB_START_TIMEOUT} s:\n{server.log_tail()}")
                time.sleep(0.2)
        yield server
    finally:
        server.shutdown_sessions()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own process group: JupyterLab and its kernels
            process.wait(timeout=5)


# --- Chromium -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run .ci/browser.sh (apt-get install -y chromium)", pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, lab, artifacts, request):
    """A fresh browser context and page; its final state is saved as artifacts/browser/<test>.png."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    known = KNOWN_PAGE_ERRORS.get(lab.front_end, ())
    page.on("pageerror", lambda error: None if str(error) in known else page.console_errors.append(str(error)))
    # JupyterLab sometimes asks for a kernel although the notebook names one (a race with loading
    # the kernel specs): accept its choice whenever that dialog is in the way.
    page.add_locator_handler(
        page.locator(".jp-Dialog").filter(has_text="Select Kernel"),
        lambda dialog: dialog.locator(".jp-Dialog-button.jp-mod-accept").click(),
    )
    yield page
    name = re.sub(r"^test_", "", request.node.name)
    try:
        page.screenshot(path=str(artifacts / f"{name}.png"))
    except Exception as error:  # a failed screenshot must not hide the test's own result
        print(f"screenshot failed: {error}")
    context.close()
    lab.shutdown_sessions()


# --- a notebook open in JupyterLab --------------------------------------------------------------

# In the page (JupyterLab runs with expose_app_in_browser): the panel of the notebook at `path`, and
# each cell's [executionCount, executionState] from its model (null for markdown). The model, not the
# "[n]:" prompt, because a cell whose source is hidden (an exercise's solution) shows no prompt.
PANEL_JS = "Array.from(window.jupyterapp.shell.widgets('main')).find(w => w.context && w.context.path === path)"
# Ready: every cell is on the page, and the notebook's kernel is there and idle (its session's own word:
# Notebook 7 has no status bar, and the toolbar's indicator already says "idle" while there is no kernel).
READY_JS = """(path) => {
    let cells = 0, status = 'no panel';
    try {
        const panel = %s;
        cells = panel.content.widgets.length;
        const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
        status = kernel ? kernel.status : 'no kernel';
    } catch (error) {}
    if (document.querySelectorAll('.jp-Notebook .jp-Notebook-cell').length !== cells) cells = -1;
    return {cells, idle: status === 'idle', status};
}""" % PANEL_JS
STATES_JS = """(path) => (%s).content.widgets.map(
    cell => cell.model.type === 'code' ? [cell.model.executionCount, cell.model.executionState] : null)""" % PANEL_JS


class Notebook:
    """A notebook from the temporary root, open in JupyterLab, its cells located by their source."""

    def __init__(self, page, lab: Lab, name: str) -> None:
        self.page, self.lab, self.name = page, lab, name
        self.cells = nbformat.read(lab.root / name, as_version=4).cells

    def open(self) -> "Notebook":
        """Load the notebook in JupyterLab and wait until all its cells are there and its kernel is idle."""
        self.page.goto(self.lab.notebook_url(self.name), timeout=PAGE_TIMEOUT)
        select_kernel = self.page.locator(".jp-Dialog").filter(has_text="Select Kernel")
        deadline = time.monotonic() + PAGE_TIMEOUT / 1000
        while True:
            state = self.page.evaluate(READY_JS, self.name)
            if state["cells"] == len(self.cells) and state["idle"]:
                return self
            if select_kernel.count():  # see the page fixture: accept the kernel the notebook names
                select_kernel.locator(".jp-Dialog-button.jp-mod-accept").first.click()
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not load with an idle kernel: {state} "
                                     f"({len(self.cells)} cells in the file)")
            self.page.wait_for_timeout(100)

    # finding cells

    def index(self, predicate: str | Callable[[str], bool], *, after: int = -1) -> int:
        """The first code cell after `after` whose source contains `predicate` (or satisfies it),
        skipping exercise solutions."""
        test = predicate if callable(predicate) else (lambda source: predicate in source)
        for index, cell in enumerate(self.cells):
            if index > after and cell.cell_type == "code" and "solution" not in cell.metadata.get("tags", []):
                if test(cell.source):
                    return index
        raise AssertionError(f"{self.name}: no code cell matches {predicate!r}")

    def cell(self, index: int):
        return self.page.locator(".jp-Notebook .jp-Notebook-cell").nth(index)

    def states(self) -> list:
        """[execution count, "idle" or "running"] of each code cell (None for markdown cells)."""
        return self.page.evaluate(STATES_JS, self.name)

    # running cells

    def select(self, index: int) -> None:
        """Make the cell the active one, in command mode, with the keyboard focus on the notebook."""
        self.cell(index).scroll_into_view_if_needed()
        self.page.evaluate(
            """([path, index]) => {
                const notebook = (%s).content;
                notebook.deselectAll();
                notebook.activeCellIndex = index;
                notebook.mode = 'command';
                notebook.node.focus();
            }""" % PANEL_JS,
            [self.name, index],
        )

    def start(self, index: int):
        """Run one cell (Ctrl+Enter on the active cell) without waiting; returns its execution count before.
        JupyterLab marks the cell running at once; if it did not, the key press went astray: retry."""
        before = self.states()[index][0]
        for attempt in range(3):
            self.select(index)
            self.page.keyboard.press("Control+Enter")
            try:
                self.page.wait_for_function(
                    """([path, index, before]) => {
                        const [count, state] = (%s)(path)[index];
                        return state === 'running' || count !== before;
                    }""" % STATES_JS,
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
            """([path, index, before]) => {
                const [count, state] = (%s)(path)[index];
                return state !== 'running' && count !== null && count !== before;
            }""" % STATES_JS,
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
        must_not_fail = [i for i in code if "raises-exception" not in self.cells[i].metadata.get("tags", [])]
        self.page.wait_for_function(
            """([path, code, mustNotFail]) => {
                const states = (%s)(path);
                const done = code.every(i => states[i][1] !== 'running' && states[i][0] !== null);
                const cells = document.querySelectorAll('.jp-Notebook .jp-Notebook-cell');
                const failed = mustNotFail.some(i => Array.from(cells[i].querySelectorAll(
                    '.jp-Cell-outputArea [data-mime-type="application/vnd.jupyter.stderr"]'))
                    .some(node => node.textContent.includes('Traceback (most recent call last)')));
                return done || failed;
            }""" % STATES_JS,
            arg=[self.name, code, must_not_fail], timeout=timeout, polling=200,
        )
        for index in code:
            self.check_no_error(index)
        states = self.states()
        not_run = [i for i in code if states[i][0] is None]
        assert not not_run, f"{self.name}: cells {not_run} did not run"

    def check_no_error(self, index: int) -> None:
        if "raises-exception" in self.cells[index].metadata.get("tags", []):
            return
        stderr = self.cell(index).locator(
            ".jp-Cell-outputArea > .jp-OutputArea-child > [data-mime-type='application/vnd.jupyter.stderr']")
        text = "\n".join(stderr.all_text_contents())
        assert "Traceback (most recent call last)" not in text, f"{self.name} cell {index} failed:\n{text[-2000:]}"

    def interrupt_kernel(self) -> None:
        self.page.locator(".lm-MenuBar-item", has_text="Kernel").click()
        self.page.locator(".lm-Menu-item", has_text="Interrupt Kernel").first.click()

    # watching a stream view (helpers.display.StreamView) in a cell's output

    def output(self, index: int):
        """The cell's Output widget (the stream's text)."""
        return self.cell(index).locator(".jp-Cell-outputArea .widget-output").first

    def view(self, index: int) -> dict:
        """What the cell's stream view shows now: {stream, text, markdown, status}."""
        return self.page.evaluate(
            "(index) => (%s)(document.querySelectorAll('.jp-Notebook .jp-Notebook-cell')[index])" % READ_VIEW_JS,
            index)

    def wait_for_status(self, index: int, *needles: str, timeout: float = CELL_TIMEOUT) -> str:
        """Wait until the cell's status line contains one of `needles`; returns the status."""
        self.page.wait_for_function(
            """([index, needles]) => {
                const cell = document.querySelectorAll('.jp-Notebook .jp-Notebook-cell')[index];
                const status = cell && cell.querySelector('.jp-Cell-outputArea .widget-hbox > .widget-html');
                return !!status && needles.some(needle => status.textContent.includes(needle));
            }""",
            arg=[index, list(needles)], timeout=timeout, polling=50,
        )
        return self.view(index)["status"]

    def watch(self, index: int, interval_ms: int = 100) -> None:
        """Start recording the cell's stream view in the page: a sample every `interval_ms`, and
        every change of the streamed text (MutationObserver) with the time of the next frame."""
        self.page.evaluate(WATCH_JS, [index, interval_ms])

    def watched(self, index: int) -> dict:
        """Stop recording; {"samples": [{t, stream, text, markdown, status}], "changes": [{t, frame, length}],
        "longest": the longest streamed text seen}. Times are epoch milliseconds."""
        return self.page.evaluate(UNWATCH_JS, index)


# In the page: what a StreamView shows. `stream` is the text streamed into the Output widget (stdout),
# `text` all of its text (after a Markdown render, too), `status` the status line.
READ_VIEW_JS = """(cell) => {
    const out = cell.querySelector('.jp-Cell-outputArea .widget-output');
    const status = cell.querySelector('.jp-Cell-outputArea .widget-hbox > .widget-html');
    const streams = out ? out.querySelectorAll('[data-mime-type="application/vnd.jupyter.stdout"]') : [];
    return {
        stream: Array.from(streams).map(node => node.textContent).join(''),
        text: out ? out.textContent : '',
        markdown: !!(out && out.querySelector('.jp-RenderedMarkdown')),
        status: status ? status.textContent.trim() : '',
    };
}"""
WATCH_JS = """([index, interval]) => {
    const cell = document.querySelectorAll('.jp-Notebook .jp-Notebook-cell')[index];
    const read = %s;
    const now = () => performance.timeOrigin + performance.now();
    const watch = {samples: [], changes: [], longest: '', last: null};
    watch.timer = setInterval(() => watch.samples.push({t: now(), ...read(cell)}), interval);
    watch.observer = new MutationObserver(() => {
        const t = now();
        const stream = read(cell).stream;
        if (stream === watch.last) return;
        watch.last = stream;
        if (stream.length > watch.longest.length) watch.longest = stream;
        const change = {t, frame: null, length: stream.length};
        watch.changes.push(change);
        // The next frame's rendering runs right after its requestAnimationFrame callbacks; a task
        // queued from there runs once that frame is done: the text can be on screen by then.
        requestAnimationFrame(() => setTimeout(() => { change.frame = now(); }, 0));
    });
    watch.observer.observe(cell, {subtree: true, childList: true, characterData: true});
    window.__watches = window.__watches || {};
    window.__watches[index] = watch;
}""" % READ_VIEW_JS
UNWATCH_JS = """async (index) => {
    const watch = window.__watches[index];
    clearInterval(watch.timer);
    watch.observer.disconnect();
    await new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve, 0)));
    return {samples: watch.samples, changes: watch.changes, longest: watch.longest};
}"""


@pytest.fixture
def open_notebook(page, lab) -> Callable[[str], Notebook]:
    """``notebook = open_notebook("04-streaming.ipynb")``: open it in JupyterLab and wait for its kernel."""
    return lambda name: Notebook(page, lab, name).open()
