"""`make notebooks`: run each notebook top to bottom as a learner runs it, and store the outputs.

No server is started here and no OPENAI_* variable reaches the kernels: each notebook's first cell,
``helpers.ensure_server()``, starts the practice server in its kernel on localhost:1337, paced at 30 tokens per
second as after ``make lab``, so the stored outputs show what a learner sees (the URL, the speeds). The stored
outputs are what nbval compares with under `make test`, so they are never edited by hand. Widget state is
stored too, so that a saved notebook (or its HTML) shows the streamed text.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat

from helpers.practice import PACE_VARIABLE
from tools.notebook_client import notebook_client

TIMEOUT = 300  # seconds per cell: a paced stream of a long reply takes a minute
SETTINGS = ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENAI_MODEL", PACE_VARIABLE)


def run_notebook(path: Path, timeout: float = TIMEOUT) -> float:
    """Run the notebook at `path` and store it with its outputs; returns the seconds it took."""
    notebook = nbformat.read(path, as_version=4)
    client = notebook_client(notebook, path.parent, timeout, record_timing=False, coalesce_streams=True)
    started = time.perf_counter()
    client.execute()
    nbformat.write(notebook, path)
    return time.perf_counter() - started


def main(paths: list[str]) -> int:
    for name in SETTINGS:  # a learner's kernel: the practice server's defaults, whatever this shell says
        os.environ.pop(name, None)
    for path in map(Path, paths):
        seconds = run_notebook(path)
        print(f"{path}: {seconds:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
