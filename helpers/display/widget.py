"""The widgets the views are made of: a stream (anywidget), a chat input, a scrolling transcript.

Why a small custom widget, and why the text travels as it does (2,000-token Markdown reply, paced at
30 tokens/s; kernel-level figures from tests/test_display.py, page figures from the browser suite):

- Re-sending the rendered text (an Output's state, ``update_display_data``, or re-rendering the open
  Markdown block) grows with the square of the reply: tens of times its size at 20 refreshes a second.
- A widget that receives only the new text and renders Markdown in the page costs the text once. The
  front end's own Markdown renderer does the rendering (see stream_view.js), so nothing else travels.
- The saved notebook must hold the final text (nbval, handouts, a page read offline). nbclient, which
  runs ``make notebooks``, keeps only widget *state* and ignores custom messages, so deltas sent as
  custom messages would need the whole text sent again at the end: 2x. In a cell the text therefore goes
  as plain stdout captured by an Output widget (``capture``): nbclient and JupyterLab both keep captured
  output in the Output's saved state, so the kernel sends each character once (1.0x). The page's copy of
  that Output would send the whole text back after every message (and ipywidgets echo it), which
  stream_view.js switches off for this carrier.
- Output sent from a widget event (a button click) has no cell to go to: JupyterLab drops it. There the
  new text goes as custom messages (also 1.0x), which the page adds to the widget's state in the page,
  and JupyterLab saves that state with the notebook (nbclient never runs widget events).
- A view made with ``capture=False`` (chat bubbles, side_by_side columns) sends custom messages in a cell
  too, and its final text once more in its state (2x): a cell that drives a chat app keeps its own output,
  and views sharing a cell do not take turns holding its output (two more messages a refresh each).
- The kernel keeps the whole text in the ``text`` trait without sending it, so a page that reloads
  while the kernel runs asks the kernel for the state and gets the text back.

Measured (tests/test_display.py, python -m tests.bench.bench_display --paced): the 2,000-token Markdown reply
at 30 tokens/s carries 1.00x its bytes in text, at about 22 display messages a second.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Callable

import anywidget
import ipywidgets as widgets
import traitlets
from ipywidgets.widgets.trait_types import TypedTuple

_HERE = files(__package__)


def _asset(name: str) -> str:
    """A page-side file without its comment lines and indentation: every view sends its own copy to the
    page (that is how anywidget works), so the reasons stay in the file and out of the kernel's traffic."""
    lines = (line.strip() for line in _HERE.joinpath(name).read_text(encoding="utf-8").splitlines())
    return "\n".join(line for line in lines if line and not line.startswith(("//", "/*")))


class Capture(widgets.Output):
    """The Output that carries a view's text in a cell. A front end that mirrors an Output (JupyterLab's,
    nbclient's) sends its whole list of outputs back after every captured message, and ipywidgets would
    echo each of those back out: the kernel's copy here is kept, but not echoed."""

    outputs = TypedTuple(trait=traitlets.Dict(), help="The output messages synced from the frontend.").tag(
        sync=True, echo_update=False)


class StreamWidget(anywidget.AnyWidget):
    """One streamed reply in the page: thinking, tool calls, the answer (Markdown or plain), status, Stop."""

    _esm = _asset("stream_view.js")
    _css = _asset("stream_view.css")

    title = traitlets.Unicode("").tag(sync=True)
    markdown = traitlets.Bool(True).tag(sync=True)
    bubble = traitlets.Unicode("").tag(sync=True)  # "", "user" or "assistant": chat bubble styling
    capture = traitlets.Instance(Capture, allow_none=True).tag(sync=True, **widgets.widget_serialization)
    text = traitlets.Unicode("").tag(sync=True)  # the answer; the kernel's copy is set without sending
    thinking = traitlets.Unicode("").tag(sync=True)
    thinking_seconds = traitlets.Float(0.0).tag(sync=True)
    tool_calls = traitlets.List(traitlets.Dict()).tag(sync=True)  # [{"name", "arguments"}]
    phase = traitlets.Unicode("waiting").tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    stoppable = traitlets.Bool(False).tag(sync=True)
    done = traitlets.Bool(False).tag(sync=True)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.stop_handlers: list[Callable[[], None]] = []
        self.on_msg(self._on_page_message)

    def _on_page_message(self, _widget, content: dict, _buffers) -> None:
        if isinstance(content, dict) and content.get("event") == "stop":
            for handler in list(self.stop_handlers):
                handler()

    def set_quietly(self, **values) -> None:
        """Set traits in the kernel only: the page already has these values, or will ask for them."""
        with self._lock_property(**values):  # ipywidgets' own guard against echoing a page's update back
            for name, value in values.items():
                setattr(self, name, value)


class ChatInput(anywidget.AnyWidget):
    """A text box with a Send button: Enter sends, Shift+Enter starts a new line. ``on_submit(handler)``
    calls ``handler(text)``; ``submit(text)`` does from code what typing and Enter do."""

    _esm = _asset("chat_input.js")
    _css = _asset("chat_input.css")

    placeholder = traitlets.Unicode("Type a message; Enter sends, Shift+Enter for a new line").tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.handlers: list[Callable[[str], None]] = []
        self.on_msg(lambda _widget, content, _buffers: self.submit(content.get("submit", "")))

    def on_submit(self, handler: Callable[[str], None]) -> None:
        self.handlers.append(handler)

    def submit(self, text: str) -> None:
        if text.strip() and not self.disabled:
            for handler in list(self.handlers):
                handler(text.strip())


def bubble(text: str, role: str = "user", *, markdown: bool | None = None) -> StreamWidget:
    """A finished chat message as a bubble: the user's on the right as typed, the assistant's on the left
    as Markdown. Its text travels once, in the widget's state."""
    return StreamWidget(text=text, bubble=role, markdown=(role != "user") if markdown is None else markdown,
                        phase="done", done=True)


def transcript(max_height: str = "480px") -> widgets.VBox:
    """A scrolling column for chat bubbles that follows the newest text unless the reader scrolls up."""
    box = widgets.VBox(layout=widgets.Layout(max_height=max_height, overflow="auto", padding="4px"))
    box.add_class("helpers-follow")
    return box
