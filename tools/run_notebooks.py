"""`make notebooks`: run each notebook top to bottom against a fresh practice server and store the outputs.

The stored outputs are what nbval compares with under `make test`, so they are never edited by hand.
Widget state is stored too, so that a saved notebook (or its HTML) shows the streamed text.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat

from helpers.server.testing import running_server
from tools.notebook_client import notebook_client

TIMEOUT = 120  # seconds per cell


def run_notebook(path: Path, timeout: float = TIMEOUT) -> float:
    """Run the notebook at `path` and store it with its outputs; returns the seconds it took."""
    notebook = nbformat.read(path, as_version=4)
    client = notebook_client(notebook, path.parent, timeout, record_timing=False, coalesce_streams=True)
    started = time.perf_counter()
    client.execute()
    nbformat.write(notebook, path)
    return time.perf_counter() - started


def main(paths: list[str]) -> int:
    with running_server(tokens_per_second=0) as server:
        os.environ.update(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="not-needed", OPENAI_MODEL="practice")
        for path in map(Path, paths):
            seconds = run_notebook(path)
            print(f"{path}: {seconds:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
