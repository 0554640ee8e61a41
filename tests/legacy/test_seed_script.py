"""The seed script, verbatim, under the openai 0.x client it was written for.

The only change is its server address: ``http://localhost:1337`` becomes the port of the
session's practice server. It runs twice, streamed as written and with ``stream=False``,
and must print exactly the tree poem both times.

The python to use is ``LEGACY_PYTHON`` (a venv with openai==0.28.1; ``make test-legacy`` makes it).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from helpers.server.replies import TREE_POEM
from tests.support import ROOT

# The copy that notebook 07 shows learners, byte for byte the original (tests/test_notebooks.py checks its hash
# against the documented example's).
STORED_SEED = ROOT / "notebooks" / "legacy" / "test_interference.py"
SEED_ADDRESS = "http://localhost:1337"
LEGACY_VERSION = "0.28.1"


@pytest.fixture(scope="module")
def legacy_python() -> str:
    """The python of the openai==0.28.1 venv; missing or wrong is a failure, not a skip."""
    python = os.environ.get("LEGACY_PYTHON")
    if not python:
        pytest.fail(
            "LEGACY_PYTHON is not set: point it at the python of a venv with openai==0.28.1, "
            "or run `make test-legacy`, which makes that venv and sets it.",
            pytrace=False,
        )
    try:
        found = subprocess.run(
            [python, "-c", "import openai; print(openai.version.VERSION)"],
            capture_output=True, text=True, timeout=60,
        )
    except OSError as error:
        pytest.fail(f"LEGACY_PYTHON={python} cannot be run: {error}", pytrace=False)
    if found.returncode != 0 or found.stdout.strip() != LEGACY_VERSION:
        pytest.fail(
            f"LEGACY_PYTHON={python} should have openai=={LEGACY_VERSION}, "
            f"but says: {(found.stdout + found.stderr).strip()[-300:]}",
            pytrace=False,
        )
    return python


def seed_source() -> str:
    """The seed script, as the repository keeps it for learners."""
    return STORED_SEED.read_text(encoding="utf-8")


def test_stored_copy_holds_one_address_and_one_stream():
    assert STORED_SEED.exists(), f"the stored copy of the seed script is missing: {STORED_SEED}"
    source = STORED_SEED.read_text(encoding="utf-8")
    assert source.count(SEED_ADDRESS) == 1
    assert source.count("stream=True") == 1


def run_seed(python: str, source: str, tmp_path: Path) -> subprocess.CompletedProcess:
    script = tmp_path / "test_interference.py"
    script.write_text(source, encoding="utf-8")
    # The script sets its own key and base; the suite's OPENAI_* variables must not help it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return subprocess.run([python, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("stream", [True, False], ids=["as-written-stream", "stream-false"])
def test_seed_script_prints_the_poem(legacy_python, practice_server, tmp_path, stream):
    original = seed_source()
    source = original.replace(SEED_ADDRESS, f"http://localhost:{practice_server.port}")
    assert source.count(str(practice_server.port)) >= 1 and SEED_ADDRESS not in source
    if not stream:
        source = source.replace("stream=True", "stream=False")
        assert "stream=True" not in source
    assert len(source.splitlines()) == len(original.splitlines()), "only values change, no lines"

    stats = practice_server.app.state.stats
    requests_before, completed_before = stats.requests, stats.completed_streams
    result = run_seed(legacy_python, source, tmp_path)

    assert result.returncode == 0, result.stderr
    # print(token, end="") after each piece when streamed; one print() of the whole message otherwise.
    assert result.stdout == (TREE_POEM if stream else TREE_POEM + "\n")
    assert stats.requests == requests_before + 1, "the script talked to this practice server"
    assert stats.completed_streams == completed_before + (1 if stream else 0)
