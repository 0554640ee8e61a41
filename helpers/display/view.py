"""A view of one stream: it takes the StreamResult as it fills in and shows it, throttled.

``StreamView`` shows it in a notebook (a StreamWidget, see widget.py for how the text travels);
``PlainView`` prints it, for a terminal or an IPython without a notebook front end.
"""

from __future__ import annotations

import sys
import time
from typing import Callable

import ipywidgets as widgets
from IPython import get_ipython
from IPython.display import display

from ..chat import StreamResult
from .throttle import STATUS_PER_SECOND, TEXT_PER_SECOND, Throttle
from .widget import Capture, StreamWidget

# Which capture Output each running cell's output goes to now (cell message id -> Output): the page and
# nbclient route a cell's output to the Output that claimed that cell's id last.
_claims: dict[str, widgets.Output] = {}


def has_front_end() -> bool:
    """Whether widgets can show: code runs in a Jupyter kernel (not a terminal or plain IPython)."""
    return getattr(get_ipython(), "kernel", None) is not None


def _parent_header() -> dict:
    kernel = getattr(get_ipython(), "kernel", None)
    parent = kernel.get_parent() if kernel is not None else None
    return (parent or {}).get("header", {})


def _in_cell() -> bool:
    """Whether this code runs for a cell (an execute request). Code run by a widget event (a button's
    on_click, or a task it started) runs for a comm message, and once that message is handled the page
    drops any output sent for it; there the text has to travel as widget messages instead."""
    return _parent_header().get("msg_type", "execute_request") == "execute_request"


def _tool_calls(result: StreamResult) -> list[dict]:
    return [{"name": call.name, "arguments": call.arguments} for call in result.tool_calls]


def ending(result: StreamResult) -> str:
    """The status line of a finished stream: how it ended."""
    if result.error:
        return f"⚠ {result.error}"
    if result.stopped:
        return f"■ stopped after {result.tokens} tokens, {result.seconds:.1f} s"
    return f"✓ {result.summary()}"


class StreamView:
    """A stream in the notebook: optional title, thinking, tool calls, the reply as Markdown (or plain text
    with ``markdown=False``), a status line and a Stop button. Display it, then ``refresh(result)`` as the
    result fills in and ``finish(result)`` at the end; ``on_stop`` says what the Stop button does."""

    def __init__(self, title: str | None = None, *, markdown: bool = True, stop_button: bool = True,
                 bubble: str = "", hint: str = "", capture: bool | None = None) -> None:
        self.capture = Capture()
        self.widget = StreamWidget(title=title or "", markdown=markdown, stoppable=stop_button, bubble=bubble,
                                   capture=self.capture)
        self.hint = hint  # said in the status line while streaming, e.g. how to stop
        self.text_throttle = Throttle(TEXT_PER_SECOND)
        self.status_throttle = Throttle(STATUS_PER_SECOND)
        self.shown = 0  # answer pieces already sent
        self.shown_thinking = 0
        self.tool_calls: list[dict] = []
        # capture=False: the text goes as widget messages, and the final text once more in the widget's state
        # (2x instead of 1x), borrowing no cell's output. For views that live outside the cell that fills them
        # (chat bubbles: a cell that drives the app must keep its own output), and for views that share a cell
        # (side_by_side: they would take turns holding the cell's output, two more messages a refresh each).
        self.capture_output = not bubble if capture is None else capture

    def _ipython_display_(self) -> None:
        display(self.widget)

    def on_stop(self, handler: Callable[[], None]) -> None:
        """What the Stop button does (the last handler given); ``stop()`` does the same from code."""
        self.widget.stop_handlers[:] = [handler]

    def stop(self) -> None:
        for handler in list(self.widget.stop_handlers):
            handler()

    def refresh(self, result: StreamResult) -> None:
        """Called for every piece: sends what is new at most TEXT_PER_SECOND times a second, and the
        status line at most STATUS_PER_SECOND times a second."""
        now = time.perf_counter()  # once per piece: this runs for every token, so it must cost next to nothing
        if self.text_throttle.due(now):
            self._send_new(result)
        if self.status_throttle.due(now):
            self._send_status(result)

    def finish(self, result: StreamResult) -> None:
        """The final render: all remaining text, and a status line that says how it ended."""
        self._send_new(result)
        self._release()
        with self.widget.hold_sync():
            self.widget.phase = result.phase
            self.widget.status = ending(result)
            self.widget.done = True
        if not self.capture_output and _in_cell():  # the text once more, in the state a saved notebook keeps
            self.widget.set_quietly(text=result.text, thinking=result.thinking)
            self.widget.send_state(["text", "thinking"])
        self.widget.set_quietly(text=result.text, thinking=result.thinking)

    # --- how the new text travels (see widget.py) ---

    def _send_new(self, result: StreamResult) -> None:
        text = "".join(result.pieces[self.shown :])
        self.shown = len(result.pieces)
        thinking = "".join(result.thinking_pieces[self.shown_thinking :])
        self.shown_thinking = len(result.thinking_pieces)
        phase = result.phase
        calls = _tool_calls(result) if result.tool_calls else []
        if phase != self.widget.phase or calls != self.tool_calls:
            with self.widget.hold_sync():
                self.widget.phase = phase
                self.widget.thinking_seconds = result.thinking_seconds
                if calls != self.tool_calls:
                    self.widget.tool_calls = self.tool_calls = calls
        if not (text or thinking):
            return
        if _in_cell() and self.capture_output:
            self._claim()
            for stream, new in ((sys.stderr, thinking), (sys.stdout, text)):
                if new:
                    stream.write(new)
                    _send_soon(stream)
        else:
            self.widget.send({"text": text, "thinking": thinking})
            self.widget.set_quietly(text=result.text, thinking=result.thinking)

    def _send_status(self, result: StreamResult) -> None:
        hint = f" ({self.hint})" if self.hint else ""
        self.widget.status = (f"⏵ {result.phase} · {result.tokens} tokens · {result.tokens_per_second:.1f} tok/s"
                              f" · {result.seconds:.1f} s{hint}")

    def _claim(self) -> None:
        """Route this cell's output to this view's capture Output, once per stream: the page and nbclient
        register the Output when its msg_id changes. Setting it around every write (as ``with output:``
        does) would cost two more messages per refresh. Several views streaming in one cell (side_by_side)
        take turns: at most one holds the cell at a time, as nbclient can only unregister the last one."""
        parent = _parent_header().get("msg_id", "")
        holder = _claims.get(parent)
        if holder is self.capture:
            return
        sys.stdout.flush(), sys.stderr.flush()  # what was printed before belongs where it was going
        if holder is not None and holder.msg_id == parent:
            holder.msg_id = ""
        self.capture.msg_id = parent
        _claims[parent] = self.capture

    def _release(self) -> None:
        parent = self.capture.msg_id
        if parent:
            sys.stdout.flush(), sys.stderr.flush()  # waits: see _send_soon
            self.capture.msg_id = ""
            if _claims.get(parent) is self.capture:
                del _claims[parent]


def _send_soon(stream) -> None:
    """Send what was written now, without waiting for it to leave: ipykernel's flush() hands the send to its
    IO thread and then blocks until that thread is done (~1.5 ms, six times a stream at full speed: 3% of a
    2,000-token reply). Between refreshes nothing else changes where the text goes. Claiming and releasing
    the Output do wait: the IO thread's flush queues its message behind anything scheduled meanwhile, such
    as the Output's new msg_id, which would then overtake the last of the text."""
    pub_thread = getattr(stream, "pub_thread", None)
    send = getattr(stream, "_flush", None)  # ipykernel's OutStream; anything else is flushed as usual
    if pub_thread is not None and send is not None and getattr(pub_thread, "thread", None) is not None:
        pub_thread.schedule(send)
    else:
        stream.flush()


class PlainView:
    """A stream printed as plain text, for a terminal or an IPython without a notebook front end."""

    def __init__(self, title: str | None = None) -> None:
        if title:
            print(title)
        self.shown = 0

    def on_stop(self, handler: Callable[[], None]) -> None:
        pass  # nothing to click: Ctrl-C stops

    def refresh(self, result: StreamResult) -> None:
        text = "".join(result.pieces[self.shown :])
        self.shown = len(result.pieces)
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()

    def finish(self, result: StreamResult) -> None:
        self.refresh(result)
        print(f"\n{ending(result)}", flush=True)
