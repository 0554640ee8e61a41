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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Under pytest-xdist each worker runs whole notebooks (--dist loadfile), so each gets a practice port of its
# own: two kernels never share one in-kernel server (which stops with the kernel that started it). Set before
# helpers is imported, as helpers.defaults reads it then; stored outputs still show :1337 (nbval masks ports).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["PRACTICE_PORT"] = str(_free_port())

from helpers.practice import PACE_VARIABLE  # noqa: E402
from helpers.server import create_app  # noqa: E402
from helpers.server.testing import ServerThread, running_server  # noqa: E402

SETTINGS = ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENAI_MODEL")

# Whatever the developer's shell says: no settings reach a notebook kernel, and the in-kernel server runs flat out.
for _name in SETTINGS:
    os.environ.pop(_name, None)
os.environ[PACE_VARIABLE] = "0"

_SESSION_SERVER = ServerThread(create_app(tokens_per_second=0)).start()
SESSION_ENV = {"OPENAI_BASE_URL": _SESSION_SERVER.base_url, "OPENAI_API_KEY": "not-needed", "OPENAI_MODEL": "practice"}


def _is_notebook_cell(item: pytest.Item) -> bool:
    return str(item.fspath).endswith(".ipynb")


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
