"""Reading a helpers.display stream view in the page (stream_view.js), and notebooks written for a test.

Uses only what the page is given here, so it works beside any page object: call ``install(page)`` before
the notebook is opened.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

SCRIPT = Path(__file__).with_name("stream_view.js")
ENDED = ("✓", "■", "⚠")


def install(page) -> None:
    page.add_init_script(path=str(SCRIPT))


def view(page, index: int, which: int = 0) -> dict | None:
    return page.evaluate("([index, which]) => streamView.view(index, which)", [index, which])


def wait_for(page, index: int, condition: str, timeout: float, which: int = 0) -> dict:
    """Wait until ``condition`` (JavaScript, of ``v``: what the view shows) holds; returns what it shows."""
    page.wait_for_function(
        "([index, which]) => { const v = streamView.view(index, which); return !!v && (%s); }" % condition,
        arg=[index, which], timeout=timeout, polling=50,
    )
    return view(page, index, which)


def wait_for_status(page, index: int, *needles: str, timeout: float = 90_000, which: int = 0) -> str:
    condition = " || ".join(f"v.status.includes({needle!r})" for needle in needles)
    return wait_for(page, index, condition, timeout, which)["status"]


def wait_for_end(page, index: int, timeout: float = 90_000, which: int = 0) -> str:
    """Wait until the status line says how the stream ended (it starts with ✓, ■ or ⚠); returns it."""
    return wait_for(page, index, "/^[✓■⚠]/.test(v.status)", timeout, which)["status"]


def write_notebook(path: Path, *sources: str) -> str:
    """A notebook of code cells in the lab's folder; returns its name."""
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in sources],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                  "language_info": {"name": "python"}},
    )
    nbformat.write(notebook, path)
    return path.name
