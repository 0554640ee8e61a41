"""What the suites and benchmarks share: waiting for a condition, percentiles, a child process and its
environment, reading server-sent events (with httpx-sse), and notebooks made by a test.

Imported as ``tests.support`` (pytest's ``pythonpath`` and the benchmarks' ``python -m tests.bench.…`` both
put the checkout on sys.path).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import nbformat
from httpx_sse import EventSource, ServerSentEvent

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


# --- waiting, and figures -------------------------------------------------------------


def wait_until(condition: Callable[[], T], timeout: float,
               message: str | Callable[[], str] = "condition not met in time", *, interval: float = 0.02,
               pause: Callable[[float], None] = time.sleep) -> T:
    """Call `condition` every `interval` seconds until it returns something true, and return that.

    After `timeout` seconds it fails with AssertionError(`message`), which may be a function, called then, so
    that the message can show the state at the end. `pause` sleeps between calls (a Playwright page's
    ``wait_for_timeout`` keeps the page's events flowing).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(message() if callable(message) else message)
        pause(interval)


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of values, interpolated linearly between neighbours; NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- child processes ------------------------------------------------------------------------


def child_env(**changes: str | None) -> dict[str, str]:
    """The environment for a child process: this one's, with the checkout first on PYTHONPATH (so that
    ``python -m helpers`` is this checkout's whatever the venv holds) and unbuffered output; then `changes`,
    where None removes a variable."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1"}
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@dataclass
class ChildProcess:
    """A process a test or benchmark started, its output going to a log file."""

    name: str
    process: subprocess.Popen
    log: Path
    own_group: bool = False  # started in a session of its own: stopping it stops its children too

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def wait_until_ready(self, ready: Callable[[], object], timeout: float, interval: float = 0.1) -> None:
        """Wait until `ready()` is true; fail, with the end of the log, if the process exits or time runs out."""

        def check() -> object:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with code {self.process.returncode} before it was ready:\n"
                                     f"{self.log_tail()}")
            return ready()

        wait_until(check, timeout, lambda: f"{self.name} was not ready within {timeout:g} s:\n{self.log_tail()}",
                   interval=interval)

    def stop(self, stop_signal: int = signal.SIGINT, timeout: float = 5) -> None:
        """Send `stop_signal` (SIGINT: uvicorn shuts down cleanly), then kill it if it has not exited in time."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(stop_signal)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            if self.own_group:
                os.killpg(self.process.pid, signal.SIGKILL)
            else:
                self.process.kill()
            self.process.wait(timeout=timeout)


@contextmanager
def started(name: str, command: list[str], log: Path, *, env: dict[str, str] | None = None, cwd: Path = ROOT,
            own_group: bool = False, stop_signal: int = signal.SIGINT,
            stop_timeout: float = 5) -> Iterator[ChildProcess]:
    """Run `command` (output to `log`, environment `child_env()` unless given) and stop it when the block ends."""
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   cwd=cwd, env=child_env() if env is None else env, start_new_session=own_group)
    child = ChildProcess(name, process, log, own_group)
    try:
        yield child
    finally:
        child.stop(stop_signal, stop_timeout)


# --- server-sent events ---------------------------------------------------------------------


def sse_events(response: httpx.Response) -> Iterator[ServerSentEvent]:
    """The events of a text/event-stream response, each as soon as it has arrived."""
    return EventSource(response).iter_sse()


def asse_events(response: httpx.Response) -> AsyncIterator[ServerSentEvent]:
    """The events of a text/event-stream response read with an AsyncClient, each as soon as it has arrived."""
    return EventSource(response).aiter_sse()


def timed_sse_events(pieces: Iterable[tuple[float, bytes]]) -> Iterator[tuple[float, ServerSentEvent]]:
    """Events from a body recorded as (time, bytes) pieces, each with the time of the piece that completed it."""
    clock = {"now": 0.0}

    def body() -> Iterator[bytes]:
        for when, data in pieces:
            clock["now"] = when
            yield data

    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())
    for event in sse_events(response):
        yield clock["now"], event


# --- notebooks ------------------------------------------------------------------------------

PYTHON_KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                 "language_info": {"name": "python"}}


def python_notebook(*cells: str | nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A notebook for the python3 kernel; a string is a code cell."""
    return nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(cell) if isinstance(cell, str) else cell for cell in cells],
        metadata=PYTHON_KERNEL,
    )


def cell_tags(cell: nbformat.NotebookNode) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def jupyter_dirs(base: Path) -> dict[str, str]:
    """Environment variables that give a Jupyter server and its kernels directories of their own under `base`
    (made here), so that nobody's own settings, kernels' history or workspaces get in."""
    names = {"JUPYTER_CONFIG_DIR": "config", "JUPYTER_DATA_DIR": "data", "JUPYTER_RUNTIME_DIR": "runtime",
             "JUPYTERLAB_SETTINGS_DIR": "settings", "JUPYTERLAB_WORKSPACES_DIR": "workspaces", "IPYTHONDIR": "ipython"}
    for folder in names.values():
        (base / folder).mkdir(parents=True, exist_ok=True)
    return {variable: str(base / folder) for variable, folder in names.items()}
