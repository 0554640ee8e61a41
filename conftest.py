"""Shared fixtures. One practice server runs for the whole session; notebook kernels find it
through OPENAI_BASE_URL, set here (at the root, so `pytest notebooks/x.ipynb` works too) before
any kernel starts."""

from __future__ import annotations

import os

import pytest

from helpers.server.testing import ServerThread, running_server
from helpers.server import create_app

# The suite always talks to its own practice server, whatever the developer's shell says.
_SESSION_SERVER = ServerThread(create_app(tokens_per_second=0)).start()
os.environ.update(
    OPENAI_BASE_URL=_SESSION_SERVER.base_url,
    OPENAI_API_KEY="not-needed",
    OPENAI_MODEL="practice",
)


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
