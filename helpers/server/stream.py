"""The server-sent events response: paced, fair to other streams, and quick to notice a client leaving."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import AsyncIterator

import anyio
from starlette.types import Receive, Scope, Send

SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


# At full speed a stream lets the others run after this many events: often enough that no stream waits
# for a long one (a turn is ~0.2 ms), seldom enough that the event loop is not busy switching.
EVENTS_PER_TURN = 16


class DropConnection(Exception):
    """Raised by an event source to close the connection without finishing the response."""


@dataclass
class Stats:
    """What the server has served, for tests and for an instructor's `GET /practice/stats`."""

    requests: int = 0
    active_streams: int = 0
    completed_streams: int = 0
    client_disconnects: int = 0
    dropped_streams: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def sse(data: dict | str) -> bytes:
    """One server-sent event: ``data: <json>`` and a blank line."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {text}\n\n".encode()


async def paced(events: list[bytes] | AsyncIterator[bytes], tokens_per_second: float) -> AsyncIterator[bytes]:
    """Yield events at a steady rate, measured from the start so that delays never add up.

    At 0 tokens per second the stream goes as fast as it can, but still hands the event loop
    to the other streams every few events: a long reply never delays another stream's first token.
    """
    interval = 1 / tokens_per_second if tokens_per_second > 0 else 0.0
    start = time.monotonic()
    index = 0
    async for event in _aiter(events):
        yield event
        index += 1
        if interval:
            await asyncio.sleep(max(0.0, start + index * interval - time.monotonic()))
        elif index % EVENTS_PER_TURN == 0:
            await asyncio.sleep(0)


async def _aiter(events: list[bytes] | AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if isinstance(events, list):
        for event in events:
            yield event
    else:
        async for event in events:
            yield event


class EventStreamResponse:
    """An ASGI response that sends events as they are produced and stops the moment the client leaves.

    A watcher task waits for ``http.disconnect``; when it comes, the event source is cancelled and
    closed, so nothing keeps running (or sleeping) for a client that has gone.
    """

    def __init__(self, events: AsyncIterator[bytes], stats: Stats) -> None:
        self.events = events
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.stats.active_streams += 1
        outcome = "client_disconnects"
        try:
            await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
            async with anyio.create_task_group() as group:

                async def watch_for_disconnect() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    group.cancel_scope.cancel()

                group.start_soon(watch_for_disconnect)
                try:
                    async for event in self.events:
                        if event:  # an empty event (hidden thinking) takes its time but sends nothing
                            await send({"type": "http.response.body", "body": event, "more_body": True})
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    outcome = "completed_streams"
                except DropConnection:
                    outcome = "dropped_streams"  # on purpose: returning unfinished makes uvicorn close the socket
                finally:
                    group.cancel_scope.cancel()
        finally:
            await _close(self.events)
            self.stats.active_streams -= 1
            setattr(self.stats, outcome, getattr(self.stats, outcome) + 1)


async def _close(events: AsyncIterator[bytes]) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        with anyio.CancelScope(shield=True):
            await aclose()
