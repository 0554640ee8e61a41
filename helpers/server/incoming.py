"""What every request goes through before a reply is made: the key, the body, the model and its options,
the pace, and the faults that answer before any reply (an HTTP error, a stall)."""

from __future__ import annotations

import asyncio
import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse

from . import errors, models
from .errors import APIError
from .faults import Action
from .validation import parse_json

MAX_BODY_BYTES = 1024 * 1024
PACE_HEADER = "x-practice-tokens-per-second"


def check_key(request: Request) -> None:
    expected = request.app.state.settings.api_key
    if not expected:
        return
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not sent.strip():
        raise errors.missing_key()
    if not hmac.compare_digest(sent.strip().encode(), expected.encode()):  # constant time: no timing hints
        raise errors.wrong_key()


def check_json_content_type(request: Request) -> None:
    """A body must be JSON: a form or a multipart upload is refused even if its bytes happen to parse."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        hint = " (curl sends forms with -d unless you add -H 'Content-Type: application/json')" if "form" in content_type else ""
        raise APIError(415, f"Unsupported Content-Type {content_type!r}: send the body as JSON with "
                       f"'Content-Type: application/json'{hint}.", code="unsupported_media_type")


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    too_large = APIError(413, f"Request body too large: the limit is {limit // 1024} KiB.", code="request_too_large")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


async def read_json(request: Request) -> dict:
    """Count the request, check the key, and read the body as a JSON object."""
    request.app.state.stats.requests += 1
    check_key(request)
    check_json_content_type(request)
    return parse_json(await read_body(request))


def choose_model(request: Request, name: str) -> models.Model:
    try:
        return models.choose(name, request.headers)
    except models.ModelOptionError as error:
        raise errors.bad_request(str(error), param=error.param) from None


def pace(request: Request) -> float:
    """Tokens per second for this request: the header's, or the server's."""
    sent = request.headers.get(PACE_HEADER)
    if sent is None:
        return request.app.state.settings.tokens_per_second
    try:
        value = float(sent)
    except ValueError:
        value = -1
    if not 0 <= value < float("inf"):
        raise errors.bad_request(f"Invalid {PACE_HEADER} header {sent!r}: expected a number >= 0.")
    return value


async def faults_before_reply(model: models.Model, streamed: bool) -> None:
    """Answer a status fault now, or wait out a stall before the first byte."""
    fault = model.fault
    if fault is None:
        return
    status_error = fault.status_error(model.name)
    if status_error is not None:
        raise status_error
    await asyncio.sleep(fault.pause_before_reply(streamed))
    if not streamed and fault.action is Action.ERROR:
        raise errors.server_error()


class HalfSentResponse:
    """A reply cut off halfway: headers promise the whole body, the socket closes after half (the 'disconnect'
    fault, not streamed)."""

    def __init__(self, body: dict) -> None:
        self.payload = JSONResponse(body).body

    async def __call__(self, scope, receive, send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(self.payload)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self.payload[: len(self.payload) // 2], "more_body": True})


def reply_or_drop(model: models.Model, body: dict) -> JSONResponse | HalfSentResponse:
    """A non-streamed reply, unless the 'disconnect' fault cuts it off."""
    if model.fault is not None and model.fault.action is Action.DROP:
        return HalfSentResponse(body)
    return JSONResponse(body)
