"""Stream a reply into a view: from a blocking cell, from an awaiting cell, or several side by side.

A blocking (sync) cell holds the kernel until it ends, so a Stop button's click waits in the kernel's
queue until the stream is over anyway: ``stream_to_output`` stops on a kernel interrupt (■). Looked at
again for ipykernel 7.4: jupyter-ui-poll 1.1 handles queued messages from inside a cell by calling the
kernel's ``do_one_iteration``, which ipykernel 7 no longer has (it quietly does nothing: a Stop click sent
during a blocking loop under ``ui_events()`` was never handled); ipykernel 7's subshells run messages beside
a busy cell, but only those a front end addresses to a subshell, and the widget manager sends its clicks to
the main shell. The interrupt is passed on once the view shows the partial text, so a Run All stops
there, as it does for any interrupted cell. ``astream_to_output`` awaits, which leaves the kernel free to
handle the Stop button, and ``side_by_side`` runs several at once.
"""

from __future__ import annotations

import asyncio
from typing import Sequence

import ipywidgets as widgets
import openai
from IPython.display import display

from .. import chat
from ..chat import Prompt, StreamResult
from .view import PlainView, StreamView, has_front_end

SYNC_HINT = "■ interrupt the kernel to stop"


def _new_view(title: str | None, markdown: bool, stop_button: bool, hint: str = "") -> StreamView | PlainView:
    if not has_front_end():
        return PlainView(title)
    view = StreamView(title, markdown=markdown, stop_button=stop_button, hint=hint)
    display(view)
    return view


def stream_to_output(
    prompt: Prompt,
    *,
    client: openai.OpenAI | None = None,
    model: str | None = None,
    title: str | None = None,
    markdown: bool = True,
    view: StreamView | PlainView | None = None,
    **params,
) -> StreamResult:
    """Stream a reply into a widget, rendered as Markdown as it arrives (``markdown=False``: plain text),
    and return what arrived. Interrupt the kernel (■) to stop early: the connection closes, the partial
    text stays on screen, and the interrupt goes on (a Run All stops). Errors end in a one-line status."""
    view = view or _new_view(title, markdown, stop_button=False, hint=SYNC_HINT)
    result = StreamResult()
    interrupted = False
    try:
        text_stream = chat.stream(prompt, client=client, model=model, **params)
        result = text_stream.result
        for _ in text_stream.progress():  # every chunk: thinking and tool calls show too
            view.refresh(result)
    except KeyboardInterrupt as error:
        result.finish(error=error)
        interrupted = True
    except Exception as error:
        result.finish(error=error)
    view.finish(result)
    if interrupted:
        raise KeyboardInterrupt  # after the view shows the partial text, so the queued cells stop too
    return result


async def astream_to_output(
    prompt: Prompt,
    *,
    client: openai.AsyncOpenAI | None = None,
    model: str | None = None,
    title: str | None = None,
    markdown: bool = True,
    view: StreamView | PlainView | None = None,
    **params,
) -> StreamResult:
    """``await`` this to stream into a widget with a working Stop button: while it awaits, the kernel
    handles widget events. Stop closes the connection at once and keeps the partial text."""
    view = view or _new_view(title, markdown, stop_button=True)
    result = StreamResult()

    async def consume() -> None:
        nonlocal result
        text_stream = await chat.astream(prompt, client=client, model=model, **params)
        result = text_stream.result
        async for _ in text_stream.progress():
            view.refresh(result)

    task = asyncio.create_task(consume())
    view.on_stop(task.cancel)
    try:
        await task
    except (Exception, KeyboardInterrupt, asyncio.CancelledError) as error:
        if isinstance(error, asyncio.CancelledError) and not task.cancelled():
            raise  # the cell itself was cancelled, not our stream
        result.finish(error=error if not task.cancelled() else None, stopped=task.cancelled())
    view.finish(result)
    return result


async def side_by_side(requests: Sequence[dict], *, client: openai.AsyncOpenAI | None = None) -> list[StreamResult]:
    """Several streams at once, in columns, each with its own Stop button.

    ``requests`` are keyword arguments for astream_to_output, e.g.
    ``[dict(prompt="write a haiku", title="A"), dict(prompt="tell me a long story", max_tokens=60)]``.
    """
    titles = [r.get("title") or r.get("model") or f"stream {i + 1}" for i, r in enumerate(requests)]
    if has_front_end():
        views = [StreamView(title, markdown=r.get("markdown", True), capture=False) for title, r in zip(titles, requests)]
        for view in views:
            view.widget.layout = widgets.Layout(flex="1 1 0", margin="0 8px 0 0", min_width="0")
        display(widgets.HBox([v.widget for v in views], layout=widgets.Layout(align_items="flex-start")))
    else:
        views = [PlainView(title) for title in titles]  # each prints its title when it starts
    runs = [
        astream_to_output(**{k: v for k, v in r.items() if k not in ("title", "markdown")}, client=client, view=view)
        for r, view in zip(requests, views)
    ]
    return list(await asyncio.gather(*runs))
