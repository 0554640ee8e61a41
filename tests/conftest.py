"""Fixtures more than one suite uses (the practice server ones are in the checkout's conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import chromium

HERE = Path(__file__).resolve().parent
MARKED_SUITES = ("browser", "real_model")  # folders whose tests carry the marker of that name (pyproject.toml)


def pytest_collection_modifyitems(items):
    for item in items:
        path = Path(item.path).resolve()
        if HERE in path.parents and path.relative_to(HERE).parts[0] in MARKED_SUITES:
            item.add_marker(getattr(pytest.mark, path.relative_to(HERE).parts[0]))


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, for the whole session (tools/chromium.py); an error that says how to
    install it when it is missing."""
    with chromium.launched() as launched:
        yield launched
