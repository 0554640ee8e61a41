"""The practice server's ASGI app: OpenAI's chat routes, answered offline and deterministically."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import AsyncIterator

from openai.types import Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..defaults import PRACTICE_OWNER, TOKENS_PER_SECOND
from . import access, errors, models, replies
from .errors import APIError
from .faults import Action, Fault
from .stream import DropConnection, EventStreamResponse, Stats, paced, sse
from .validation import ChatRequest, parse_chat_request, parse_json

CONTENT_MARKER = "\x00content\x00"  # a stand-in for a piece of text while a chunk template is built
MAX_BODY_BYTES = 1024 * 1024
PACE_HEADER = "x-practice-tokens-per-second"
CREATED = 1_700_000_000  # a fixed "created" for the model list
log = logging.getLogger("uvicorn.error")


@dataclass
class Settings:
    tokens_per_second: float = TOKENS_PER_SECOND
    api_key: str | None = field(default=None, repr=False)  # the room's key: never in a repr or a log


def create_app(tokens_per_second: float = TOKENS_PER_SECOND, api_key: str | None = None) -> Starlette:
    """The practice server as an ASGI app (``uvicorn.run(create_app())``, or mount it in tests)."""
    app = Starlette(
        routes=[
            Route(path, list_models, methods=["GET"]) for path in ("/v1/models", "/models")
        ]
        + [Route(path, retrieve_model, methods=["GET"]) for path in ("/v1/models/{model:path}", "/models/{model:path}")]
        + [Route(path, chat_completions, methods=["POST"]) for path in ("/v1/chat/completions", "/chat/completions")]
        + [Route("/practice/stats", stats, methods=["GET"]), Route("/", index, methods=["GET"])],
        exception_handlers={HTTPException: http_error, APIError: api_error, Exception: unexpected_error},
        middleware=[Middleware(access.RequestIds)],
    )
    app.state.settings = Settings(tokens_per_second=tokens_per_second, api_key=api_key)
    app.state.stats = Stats()
    return app


# --- errors ---------------------------------------------------------------------------------


async def api_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, APIError)
    return error.response()


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 405:
        message = f"Method {request.method} is not allowed for {request.url.path}."
        return APIError(405, message, headers=dict(error.headers or {})).response()
    message = (
        f"Invalid URL ({request.method} {request.url.path}). "
        "The practice server answers /v1/models and /v1/chat/completions."
    )
    return APIError(error.status_code, message).response()


async def unexpected_error(request: Request, error: Exception) -> Response:
    """A crash: logged with its traceback and request id, answered as what it is (never as a practice fault)."""
    request_id = access.request_id(request.scope)
    log.error("Internal error in the practice server (request id %s)", request_id, exc_info=error)
    return errors.internal_error(request_id).response()


# --- checks every request goes through -------------------------------------------------------


def check_key(request: Request) -> None:
    expected = request.app.state.settings.api_key
    if not expected:
        return
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not sent.strip():
        raise errors.missing_key()
    if not hmac.compare_digest(sent.strip().encode(), expected.encode()):
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


# --- routes ---------------------------------------------------------------------------------


async def index(request: Request) -> Response:
    base = f"{request.url.scheme}://{request.url.netloc}/v1"
    return JSONResponse({"message": f"This is the practice server. Use base URL {base}", "base_url": base})


async def stats(request: Request) -> Response:
    check_key(request)
    return JSONResponse(request.app.state.stats.as_dict())


async def list_models(request: Request) -> Response:
    check_key(request)
    data = [Model(id=name, object="model", created=CREATED, owned_by=PRACTICE_OWNER).model_dump() for name in models.LISTED]
    return JSONResponse({"object": "list", "data": data})


async def retrieve_model(request: Request) -> Response:
    check_key(request)
    name = request.path_params["model"]
    return JSONResponse(Model(id=name, object="model", created=CREATED, owned_by=PRACTICE_OWNER).model_dump())


async def chat_completions(request: Request) -> Response:
    request.app.state.stats.requests += 1
    check_key(request)
    check_json_content_type(request)
    chat = parse_chat_request(parse_json(await read_body(request)))
    try:
        chosen = models.choose(chat.model, request.headers)
    except models.ModelOptionError as error:
        raise errors.bad_request(str(error), param=error.param) from None
    model, fault = chosen.name, chosen.fault
    pace = _pace(request)

    if fault is not None:
        status_error = fault.status_error(model)
        if status_error is not None:
            raise status_error
        await asyncio.sleep(fault.pause_before_reply(chat.stream))

    pieces, finish_reason = replies.plan_reply(chat.messages, chat.max_tokens, chat.stop)
    usage = _usage(chat, len(pieces))
    if chat.stream:
        events = _chunks(chat, model, pieces, finish_reason, usage, fault)
        return EventStreamResponse(paced(events, pace), request.app.state.stats)
    action = fault.action if fault is not None else None
    if action is Action.ERROR:
        raise errors.server_error()
    body = _completion(model, "".join(pieces), finish_reason, usage)
    if action is Action.DROP:
        return HalfSentResponse(body)
    return JSONResponse(body)


def _pace(request: Request) -> float:
    sent = request.headers.get(PACE_HEADER)
    if sent is None:
        return request.app.state.settings.tokens_per_second
    try:
        pace = float(sent)
    except ValueError:
        pace = -1
    if not pace >= 0:  # NaN too: it compares false with everything
        raise errors.bad_request(f"Invalid {PACE_HEADER} header {sent!r}: expected a number >= 0.")
    return pace


def _usage(chat: ChatRequest, completion_tokens: int) -> dict:
    prompt_tokens = replies.count_prompt_tokens(chat.messages)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _completion(model: str, text: str, finish_reason: str, usage: dict) -> dict:
    body = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": usage,
        "system_fingerprint": "fp_practice",
    }
    ChatCompletion.model_validate(body)  # the real API's own type: the shape cannot drift
    return body


async def _chunks(
    chat: ChatRequest, model: str, pieces: list[str], finish_reason: str, usage: dict, fault: Fault | None
) -> AsyncIterator[bytes]:
    """The SSE events of one streamed reply: role, content pieces, finish, [usage], [DONE]."""
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_practice",
    }
    if chat.include_usage:
        base["usage"] = None  # OpenAI sends usage: null on every chunk but the last

    def event(data: dict) -> bytes:
        ChatCompletionChunk.model_validate(data)  # the real API's own type: the shape cannot drift
        return sse(data)

    def chunk(delta: dict, finish: str | None = None) -> bytes:
        return event({**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]})

    # Content chunks differ only in their text: build (and check) the rest once, then fill in each piece.
    head, tail = chunk({"content": CONTENT_MARKER}).split(json.dumps(CONTENT_MARKER).encode())

    def content_chunk(piece: str) -> bytes:
        return head + json.dumps(piece).encode() + tail

    yield chunk({"role": "assistant", "content": ""})
    for index in range(len(pieces) + 1):
        action = fault.action_at(index, len(pieces)) if fault is not None else None
        if action is Action.ERROR:
            yield sse(errors.in_stream_error())
            return
        if action is Action.DROP:
            raise DropConnection()
        if action is Action.PAUSE:
            await asyncio.sleep(fault.seconds)
        if index < len(pieces):
            yield content_chunk(pieces[index])
    yield chunk({}, finish_reason)
    if chat.include_usage:
        yield event({**base, "choices": [], "usage": usage})
    yield b"data: [DONE]\n\n"


class HalfSentResponse:
    """A reply cut off halfway: headers promise the whole body, the socket closes after half."""

    def __init__(self, body: dict) -> None:
        self.payload = JSONResponse(body).body

    async def __call__(self, scope, receive, send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(self.payload)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self.payload[: len(self.payload) // 2], "more_body": True})
