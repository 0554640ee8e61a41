"""The practice server with a log of when each piece of every chat completion left it, so that the browser's
timestamps (``performance.timeOrigin + performance.now()``) can be compared with them."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from tests.support import timed_sse_events


@dataclass
class Exchange:
    """One chat completion request: its JSON body and, for each piece of response body, when it was sent."""

    request: dict = field(default_factory=dict)
    sent: list[tuple[float, bytes]] = field(default_factory=list)  # (time.time(), body)

    def content_timeline(self) -> list[tuple[float, str]]:
        """(when it left the server, the reply text so far) for each chunk that carried text."""
        timeline, text = [], ""
        for when, event in timed_sse_events(self.sent):
            if event.data == "[DONE]":
                continue
            for choice in json.loads(event.data).get("choices") or []:
                piece = (choice.get("delta") or {}).get("content") or ""
                if piece:
                    text += piece
                    timeline.append((when, text))
        return timeline

    @property
    def text(self) -> str:
        timeline = self.content_timeline()
        return timeline[-1][1] if timeline else ""


class SendLog:
    """ASGI middleware around the practice server: records every chat completion's body pieces with the
    wall-clock time they were handed to the socket."""

    def __init__(self, app) -> None:
        self.app = app
        self.exchanges: list[Exchange] = []

    @property
    def state(self):  # server.app.state.stats works as with the bare app
        return self.app.state

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/chat/completions"):
            await self.app(scope, receive, send)
            return
        exchange = Exchange()
        self.exchanges.append(exchange)
        body = bytearray()

        async def logged_receive():
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
                if not message.get("more_body"):
                    try:
                        exchange.request = json.loads(body or b"{}")
                    except ValueError:
                        pass
            return message

        async def logged_send(message) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                exchange.sent.append((time.time(), bytes(message["body"])))
            await send(message)

        await self.app(scope, logged_receive, logged_send)
