"""Showing a stream in the notebook: an Output for the text, a status line, a Stop button.

Like ``rich.live.Live``, the view refreshes at a steady rate (5 times a second by default),
whatever the token rate, and always renders the final state. Each refresh sends only the text
that arrived since the last one, as a plain ``stream`` message captured by the Output widget,
so a long reply costs about its own size in kernel messages, never the whole text again.

A blocking (sync) cell cannot hear a button click until it ends, so ``stream_to_output`` stops
on a kernel interrupt (the ■ button). ``astream_to_output`` awaits, which leaves the kernel free to
handle the Stop button, and ``side_by_side`` runs several of those at once.
"""

from __future__ import annotations

import asyncio
import html
import sys
import time
from typing import Sequence

import ipywidgets as widgets
import openai
from IPython import get_ipython
from IPython.display import Markdown, display

from . import chat
from .chat import Prompt, StreamResult

REFRESH_PER_SECOND = 5


class StreamView:
    """The widgets of one stream: optional title, the text, a Stop button and a status line."""

    def __init__(self, title: str | None = None, *, stop_button: bool = True) -> None:
        self.output = widgets.Output(layout=widgets.Layout(min_height="2em", overflow="auto"))
        self.status = widgets.HTML(layout=widgets.Layout(margin="0 0 0 8px"))
        self.stop = widgets.Button(description="Stop", icon="stop", button_style="warning",
                                   layout=widgets.Layout(width="80px", display="" if stop_button else "none"))
        parts = [widgets.HTML(f"<b>{html.escape(title)}</b>")] if title else []
        self.widget = widgets.VBox(parts + [self.output, widgets.HBox([self.stop, self.status])])
        self.shown = 0  # how many pieces are already on screen

    def _ipython_display_(self) -> None:
        display(self.widget)

    def refresh(self, result: StreamResult, state: str) -> None:
        """Send the pieces that arrived since the last refresh, and the status line."""
        new = "".join(result.pieces[self.shown :])
        self.shown = len(result.pieces)
        if new and _in_cell():
            with self.output:
                sys.stdout.write(new)
                sys.stdout.flush()
        elif new:  # from a widget callback: through the widget's state, the whole text so far each time
            self.output.outputs = ({"output_type": "stream", "name": "stdout", "text": result.text},)
        self.status.value = (
            f"<code>{state} · {result.phase} · {result.tokens} tokens · {result.tokens_per_second:.1f} tok/s · "
            f"{result.seconds:.1f} s</code>"
        )

    def finish(self, result: StreamResult, markdown: bool = False) -> None:
        """The final render: all remaining text, and a status line that says how it ended."""
        self.refresh(result, "…")
        self.stop.disabled = True
        if result.error:
            ending = f"⚠ {html.escape(result.error)}"
        elif result.stopped:
            ending = f"■ stopped after {len(result.pieces)} tokens, {result.seconds:.1f} s"
        else:
            ending = f"✓ {html.escape(result.summary())}"
        self.status.value = f"<code>{ending}</code>"
        if markdown and result.text and _in_cell():
            self.output.clear_output(wait=True)
            with self.output:
                display(Markdown(result.text))
        elif markdown and result.text:
            data = {"text/markdown": result.text, "text/plain": result.text}
            self.output.outputs = ({"output_type": "display_data", "data": data, "metadata": {}},)


def _in_cell() -> bool:
    """Whether this code runs for a cell (an execute request). The page routes output sent for a cell
    into the Output widget that captures it; but code run by a widget event (a button's on_click, or
    a task it started) runs for a comm message, and once that message is handled JupyterLab drops
    the output sent for it. There the text has to go through the Output widget's state instead."""
    kernel = getattr(get_ipython(), "kernel", None)
    parent = kernel.get_parent() if kernel is not None else None
    return not parent or parent.get("header", {}).get("msg_type") == "execute_request"


class Throttle:
    """True at most `per_second` times a second."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1 / per_second
        self.next = 0.0

    def due(self) -> bool:
        now = time.perf_counter()
        if now < self.next:
            return False
        self.next = now + self.interval
        return True


def stream_to_output(
    prompt: Prompt,
    *,
    client: openai.OpenAI | None = None,
    model: str | None = None,
    title: str | None = None,
    markdown: bool = False,
    refresh_per_second: float = REFRESH_PER_SECOND,
    **params,
) -> StreamResult:
    """Stream a reply into a widget and return what arrived. Interrupt the kernel (■) to stop early:
    the connection closes and the partial text is kept. Errors end in a one-line status, not a traceback."""
    view = StreamView(title, stop_button=False)
    display(view)
    result = StreamResult()
    throttle = Throttle(refresh_per_second)
    try:
        text_stream = chat.stream(prompt, client=client, model=model, **params)
        result = text_stream.result
        for _ in text_stream.progress():
            if throttle.due():
                view.refresh(result, "⏵ streaming (■ interrupt the kernel to stop)")
    except (Exception, KeyboardInterrupt) as error:
        result.finish(error=error)
    view.finish(result, markdown)
    return result


async def astream_to_output(
    prompt: Prompt,
    *,
    client: openai.AsyncOpenAI | None = None,
    model: str | None = None,
    title: str | None = None,
    markdown: bool = False,
    refresh_per_second: float = REFRESH_PER_SECOND,
    view: StreamView | None = None,
    **params,
) -> StreamResult:
    """``await`` this to stream into a widget with a working Stop button: while it awaits, the kernel
    handles widget events. Stop closes the connection at once and keeps the partial text."""
    if view is None:
        view = StreamView(title)
        display(view)
    result = StreamResult()
    throttle = Throttle(refresh_per_second)

    async def consume() -> None:
        nonlocal result
        text_stream = await chat.astream(prompt, client=client, model=model, **params)
        result = text_stream.result
        async for _ in text_stream.progress():
            if throttle.due():
                view.refresh(result, "⏵ streaming")

    task = asyncio.ensure_future(consume())
    view.stop.on_click(lambda _button: task.cancel())
    try:
        await task
    except (Exception, KeyboardInterrupt, asyncio.CancelledError) as error:
        if isinstance(error, asyncio.CancelledError) and not task.cancelled():
            raise  # the cell itself was cancelled, not our stream
        result.finish(error=error if not task.cancelled() else None, stopped=task.cancelled())
    view.finish(result, markdown)
    return result


async def side_by_side(requests: Sequence[dict], *, client: openai.AsyncOpenAI | None = None) -> list[StreamResult]:
    """Several streams at once, in columns, each with its own Stop button.

    ``requests`` are keyword arguments for astream_to_output, e.g.
    ``[dict(prompt="write a haiku", title="A"), dict(prompt="tell me a long story", max_tokens=60)]``.
    """
    views = [StreamView(r.get("title") or r.get("model") or f"stream {i + 1}") for i, r in enumerate(requests)]
    display(widgets.HBox([v.widget for v in views], layout=widgets.Layout(align_items="flex-start")))
    for view in views:
        view.widget.layout = widgets.Layout(flex="1 1 0", margin="0 8px 0 0")
    runs = [
        astream_to_output(**{k: v for k, v in r.items() if k != "title"}, client=client, view=view)
        for r, view in zip(requests, views)
    ]
    return list(await asyncio.gather(*runs))
