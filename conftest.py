"""Shared fixtures.

Python tests talk to one practice server that runs for the whole session (full speed, on a free port): an
autouse fixture points OPENAI_BASE_URL at it for each of them. Notebooks are run as a learner runs them:
their kernels start with no OPENAI_* variables, so each notebook's first cell, ``helpers.ensure_server()``,
starts the practice server inside its own kernel (at full speed: PRACTICE_TOKENS_PER_SECOND=0).
"""

from __future__ import annotations

import os
import socket

import pytest


os.environ.pop("PRACTICE_PORT", None)  # the tests expect the practice server's defaults, whatever the shell says


def _practice_port_for_this_worker() -> str:
    """A port of this worker's own for its notebooks' in-kernel servers: 1338, 1339, ... (four digits like
    1337, so the stored outputs' columns line up), the first one free from the worker's number on."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    for port in range(1338 + 10 * worker, 1338 + 10 * worker + 10):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return str(port)
    raise RuntimeError("no free practice port for this pytest worker")


from helpers.practice import PACE_VARIABLE
from helpers.server import create_app
from helpers.server.testing import ServerThread, running_server

SETTINGS = ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENAI_MODEL")

# Whatever the developer's shell says: no settings reach a notebook kernel, and the in-kernel server runs flat out.
for _name in SETTINGS:
    os.environ.pop(_name, None)
os.environ[PACE_VARIABLE] = "0"

_SESSION_SERVER = ServerThread(create_app(tokens_per_second=0)).start()
SESSION_ENV = {"OPENAI_BASE_URL": _SESSION_SERVER.base_url, "OPENAI_API_KEY": "not-needed", "OPENAI_MODEL": "practice"}


def _is_notebook_cell(item: pytest.Item) -> bool:
    return str(item.fspath).endswith(".ipynb")


# Under pytest-xdist each worker runs whole notebooks (--dist loadfile), and each worker's kernels get a practice
# port of their own: two kernels never share one in-kernel server (it stops with the kernel that started it).
# Only the kernels see it (they start during the first cell's setup); this process keeps :1337 as its default.
WORKER_PRACTICE_PORT = _practice_port_for_this_worker() if os.environ.get("PYTEST_XDIST_WORKER") else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    if WORKER_PRACTICE_PORT and _is_notebook_cell(item):
        os.environ["PRACTICE_PORT"] = WORKER_PRACTICE_PORT
        try:
            yield
        finally:
            os.environ.pop("PRACTICE_PORT", None)
    else:
        yield


@pytest.fixture(autouse=True)
def practice_settings(request, monkeypatch):
    """Python tests: the session's practice server. Notebook cells: nothing (their kernel has its own)."""
    if not _is_notebook_cell(request.node):
        for name, value in SESSION_ENV.items():
            monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def practice_server() -> ServerThread:
    """The session's practice server (full speed, no key). Its app's ``state.stats`` counts streams."""
    return _SESSION_SERVER


@pytest.fixture
def fresh_server():
    """A practice server of one's own, for tests that count streams or need settings of their own."""
    def start(**settings):
        context = running_server(**settings)
        server = context.__enter__()
        started.append(context)
        return server

    started: list = []
    yield start
    for context in started:
        context.__exit__(None, None, None)
