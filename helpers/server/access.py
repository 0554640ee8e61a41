"""Every request gets an id, sent back as ``x-request-id`` (as OpenAI does) and written in the access log.

A learner can quote the id from ``response._request_id`` or an error message, and the instructor finds the
line. The log shows the path without its query string: a careless client may put a key there.
"""

from __future__ import annotations

import logging
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
# Under uvicorn.error, so the lines share its handler and format, and uvicorn's log level quiets them.
log = logging.getLogger("uvicorn.error.access")


def new_request_id() -> str:
    return f"req_{uuid.uuid4().hex[:24]}"


def request_id(scope: Scope) -> str:
    """The id of the request this scope belongs to ("" outside a request)."""
    return scope.get("state", {}).get("request_id", "")


class RequestIds:
    """ASGI middleware: an id for every HTTP request, in its response headers and its access-log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = new_request_id()
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        answered = False

        async def send_with_id(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
                message["headers"] = [*message.get("headers", []), (HEADER.encode(), rid.encode())]
                _log_line(scope, message["status"], rid, started)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            if not answered:  # the crash handler outside answers 500, with this id
                _log_line(scope, 500, rid, started)
            raise


def _log_line(scope: Scope, status: int, rid: str, started: float) -> None:
    client = scope.get("client") or ("-", 0)
    path = scope["path"] + ("?…" if scope.get("query_string") else "")
    log.info('%s - "%s %s" %d %s %.0f ms', client[0], scope["method"], path, status, rid,
             (time.perf_counter() - started) * 1000)
