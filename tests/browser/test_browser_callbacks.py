"""A stream view started by a widget event (a button's on_click) rather than by a cell.

In JupyterLab, output that an Output widget captures is routed by the request it was sent for.
Code run by a button click runs for that click's comm message, and once the click is handled
(the handler only schedules the stream, it cannot await it) the page drops whatever is sent for it:
``with output: print(...)`` shows nothing, while widget messages still arrive. So there the view sends
its new text as widget messages (helpers/display/widget.py), and this checks that the text shows.
"""

from __future__ import annotations

import nbformat
import pytest

from helpers.server import replies
from tests.browser import stream_view

NOTEBOOK = "browser-callbacks.ipynb"
PROMPT = "count to 20"
APP = f"""\
import asyncio
import ipywidgets as widgets
from IPython.display import display
import helpers

place = widgets.VBox()
go = widgets.Button(description="Go")

def on_go(_button):
    view = helpers.StreamView()
    place.children = (view.widget,)
    asyncio.ensure_future(helpers.astream_to_output({PROMPT!r}, view=view))

go.on_click(on_go)
display(widgets.VBox([go, place]))
"""


@pytest.mark.timeout(120)
def test_stream_view_started_by_a_button_shows_its_text(lab, open_notebook, page):
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(APP)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                  "language_info": {"name": "python"}},
    )
    nbformat.write(notebook, lab.root / NOTEBOOK)
    stream_view.install(page)
    notebook = open_notebook(NOTEBOOK)
    notebook.run(0)
    notebook.cell(0).get_by_role("button", name="Go", exact=True).click()
    status = stream_view.wait_for_end(page, 0, timeout=30_000)
    assert status.startswith("✓"), status
    shown = stream_view.view(page, 0)
    expected = replies.reply_text([{"role": "user", "content": PROMPT}])
    assert shown["text"].strip() == expected and shown["shown"] == len(expected), (
        f"the view shows {shown['text']!r} (its status: {status!r})")
