"""Every notebook, top to bottom on a fresh kernel, against llama.cpp serving SmolLM2-135M.

A real model's replies differ from the practice server's, so this checks that every cell succeeds,
not what it prints (nbval on the practice server checks that). Cells tagged ``raises-exception``
may raise; no other cell may, nor print a traceback. A ``raises-exception`` cell that does not
raise here (practice-only faults are ignored by llama.cpp) is reported as a warning.

The notebooks run in a temporary copy of notebooks/, so the checkout is never modified; the
executed copies stay in pytest's temporary directory for a look afterwards (the path is printed).
"""

from __future__ import annotations

import shutil
import time
import warnings
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from tests.support import ROOT, cell_tags
from tools.notebook_client import notebook_client

NOTEBOOKS_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]-*.ipynb"))
# Seconds per cell. SmolLM2-135M makes 30-80 tokens/s on 2 busy cores, and a call without max_tokens may
# ramble on to the end of the context (2,048 tokens): 80 s has been seen for one such reply.
CELL_TIMEOUT = 180


@pytest.fixture(scope="session")
def notebooks_copy(tmp_path_factory) -> Path:
    """A copy of notebooks/ (with whatever files the notebooks read beside them)."""
    copy = tmp_path_factory.mktemp("real-notebooks") / "notebooks"
    shutil.copytree(NOTEBOOKS_DIR, copy, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return copy


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks in {NOTEBOOKS_DIR}"


def cell_times(notebook: nbformat.NotebookNode) -> list[tuple[int, datetime, datetime]]:
    """(cell index, start, end) of each executed code cell, from the times nbclient records."""
    times = []
    for index, cell in enumerate(notebook.cells):
        execution = cell.get("metadata", {}).get("execution", {})
        start, end = execution.get("iopub.execute_input"), execution.get("shell.execute_reply")
        if start and end:
            times.append((index, datetime.fromisoformat(start.replace("Z", "+00:00")),
                          datetime.fromisoformat(end.replace("Z", "+00:00"))))
    return times


def slowest_cells(notebook: nbformat.NotebookNode, count: int = 3) -> list[tuple[float, int]]:
    """[(seconds, cell index)] of the slowest code cells."""
    timed = [(round((end - start).total_seconds(), 1), index) for index, start, end in cell_times(notebook)]
    return sorted(timed, reverse=True)[:count]


def longest_pause(notebook: nbformat.NotebookNode) -> tuple[float, int]:
    """(seconds, cell index): the longest time between one cell's end and the next one's start."""
    times = cell_times(notebook)
    pauses = [(round((b[1] - a[2]).total_seconds(), 1), b[0]) for a, b in zip(times, times[1:])]
    return max(pauses, default=(0.0, 0))


def problems_in(notebook: nbformat.NotebookNode) -> tuple[list[str], list[str]]:
    """(failures, notes): errors where none is meant and tracebacks on stderr; raises-exception cells that did not."""
    failures, notes = [], []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        first_line = cell.source.strip().splitlines()[0][:70] if cell.source.strip() else ""
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        meant = "raises-exception" in cell_tags(cell)
        if errors and not meant:
            error = errors[0]
            failures.append(f"cell {index} ({first_line!r}): {error.ename}: {str(error.evalue)[:300]}")
        elif meant and not errors:
            notes.append(f"cell {index} ({first_line!r}) is tagged raises-exception but raised nothing here")
        stderr = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stderr")
        if "Traceback" in stderr:
            failures.append(f"cell {index} ({first_line!r}) printed a traceback: {stderr[-300:]}")
    return failures, notes


@pytest.mark.timeout(20 * 60)
@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS])
def test_notebook_runs_against_llama_cpp(name, notebooks_copy, record_property):
    path = notebooks_copy / name
    notebook = nbformat.read(path, as_version=4)
    client = notebook_client(
        notebook, notebooks_copy, CELL_TIMEOUT,
        allow_errors=True,  # run every cell, then report all the failures at once
        record_timing=True,  # the copy's cells get start/end times: the slowest are reported
    )
    started = time.perf_counter()
    try:
        client.execute()
    except (CellTimeoutError, DeadKernelError) as error:
        pytest.fail(f"{name}: {type(error).__name__}: {str(error)[-500:]}", pytrace=False)
    finally:
        seconds = time.perf_counter() - started
        record_property("notebook", name)
        record_property("notebook_seconds", seconds)
        record_property("slowest_cells", slowest_cells(notebook))
        record_property("longest_pause", longest_pause(notebook))
        nbformat.write(notebook, path)  # the executed copy, to look at afterwards
    failures, notes = problems_in(notebook)
    for note in notes:
        warnings.warn(f"{name} {note}", stacklevel=1)
    assert not failures, f"{name} failed against llama.cpp (executed copy: {path}):\n" + "\n".join(failures)
