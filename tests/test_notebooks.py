"""What nbval does not check: the notebooks' shape, their secrets, and their stored widget state."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from tests.support import ROOT, cell_tags
from tools.handout_widgets import WIDGET_STATE

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
KEY_LIKE = re.compile(r"sk-[A-Za-z0-9_\-]{16,}|Bearer\s+[A-Za-z0-9_\-]{16,}")
STREAMING_CALLS = ("stream_to_output", "side_by_side", "with out", "with output")


def load(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def test_the_learning_path_is_complete():
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == list(range(1, 11)), [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_api_key_anywhere(path):
    assert not KEY_LIKE.search(path.read_text()), f"{path.name} holds something that looks like an API key"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_errors_only_where_meant(path):
    for index, cell in enumerate(load(path).cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if errors:
            assert "raises-exception" in cell_tags(cell), f"{path.name} cell {index}: unexpected {errors[0].ename}"
        stderr = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stderr")
        assert "Traceback" not in stderr, f"{path.name} cell {index} printed a traceback"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_come_from_a_full_run(path):
    code = [c for c in load(path).cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: run `make notebooks` (counts {counts})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_header_and_navigation(path):
    cells = load(path).cells
    first, last = cells[0], cells[-1]
    assert first.cell_type == "markdown" and first.source.lstrip().startswith("#")
    assert "What you will learn" in first.source and "What you need" in first.source
    links = re.compile(r"\]\((\d\d-[a-z0-9-]+\.ipynb)\)")
    for cell in (first, last):
        assert cell.cell_type == "markdown" and links.search(cell.source), f"{path.name}: navigation links"
    for target in links.findall(first.source + last.source):
        assert (path.parent / target).exists(), f"{path.name} links to missing {target}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_ignored_outputs_are_only_widget_streams_shown_again_next(path):
    cells = load(path).cells
    for index, cell in enumerate(cells):
        assert not {"nbval-skip", "NBVAL_SKIP"} & cell_tags(cell) and "NBVAL_SKIP" not in cell.source
        if "nbval-ignore-output" not in cell_tags(cell):
            continue
        assert any(call in cell.source for call in STREAMING_CALLS), f"{path.name} cell {index} ignores output"
        following = next(c for c in cells[index + 1 :] if c.cell_type == "code")
        assert following.outputs and "nbval-ignore-output" not in cell_tags(following), (
            f"{path.name} cell {index}: the next code cell must show the final text for nbval to compare"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_widget_state_shows_the_streamed_text(path):
    """A saved notebook, opened without a kernel, still shows what was streamed into Output widgets."""
    notebook = load(path)
    streams = [c for c in notebook.cells if "nbval-ignore-output" in cell_tags(c)]
    if not streams:
        return
    state = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    outputs = [m["state"].get("outputs", []) for m in state.values() if m.get("model_name") == "OutputModel"]
    views = [m["state"].get("text", "") for m in state.values() if m.get("model_name") == "AnyModel"]  # StreamWidget
    stored_text = json.dumps(outputs) + json.dumps(views)
    assert any(o for o in outputs) or any(views), f"{path.name}: no Output widget or stream view state stored"
    following_texts = []
    for index, cell in enumerate(notebook.cells):
        if cell in streams:
            following = next(c for c in notebook.cells[index + 1 :] if c.cell_type == "code")
            following_texts.append("".join(o.get("text", "") for o in following.outputs if o.output_type == "stream"))
    sample = [line for text in following_texts for line in text.splitlines() if len(line) > 20][:3]
    for line in sample:
        assert json.dumps(line)[1:-1][:20] in stored_text, f"{path.name}: {line[:40]!r} not in widget state"
