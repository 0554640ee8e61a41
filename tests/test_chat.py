"""helpers.chat against the practice server, and against raw SSE with every real-server quirk."""

from __future__ import annotations

import asyncio
import json

import openai
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import helpers
from helpers.server import replies
from helpers.server.testing import ServerThread
from tests.support import wait_until

POEM = replies.TREE_POEM


def chunk(content=None, *, role=None, finish=None, usage=None, choices=True) -> dict:
    delta = {}
    if role is not None:
        delta["role"] = role
    delta["content"] = content
    body = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    body["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else []
    if usage is not None:
        body["usage"] = usage
    return body


def sse(*events) -> bytes:
    lines = []
    for event in events:
        lines.append(event if isinstance(event, str) else f"data: {json.dumps(event)}")
    return ("\n\n".join(lines) + "\n\n").encode()


USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
QUIRKS = {
    # role on every chunk, content None on the first, finish_reason on the last content chunk, no usage
    "role-everywhere": sse(
        chunk(None, role="assistant"), chunk("Hel", role="assistant"), chunk("lo", role="assistant", finish="stop"),
        "data: [DONE]",
    ),
    # usage in a chunk with no choices, then [DONE]
    "usage-chunk": sse(chunk("", role="assistant"), chunk("Hel"), chunk("lo"), chunk(None, finish="stop"),
                       chunk(choices=False, usage=USAGE), "data: [DONE]"),
    # keep-alive comments between events, and no [DONE] at all
    "comments-no-done": sse(": ping", chunk("Hel"), ": ping", chunk("lo", finish="stop")),
    # an error event in the middle, as gpt4free sends
    "error-event": sse(chunk("Hel"), chunk("lo"), {"error": {"message": "model crashed", "type": "server_error"}}),
}


async def quirky(request: Request) -> Response:
    body = await request.json()
    return Response(QUIRKS[body["model"]], media_type="text/event-stream")


@pytest.fixture(scope="module")
def quirk_server():
    server = ServerThread(Starlette(routes=[Route("/v1/chat/completions", quirky, methods=["POST"])])).start()
    yield server
    server.stop()


def quirk_client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)


@pytest.mark.parametrize("quirk", ["role-everywhere", "usage-chunk", "comments-no-done"])
def test_stream_survives_quirks(quirk_server, quirk):
    text_stream = helpers.stream("hi", client=quirk_client(quirk_server), model=quirk)
    assert list(text_stream) == ["Hel", "lo"]
    result = text_stream.result
    assert result.text == "Hello" and result.finish_reason == "stop" and result.error is None
    assert result.tokens == (2 if quirk != "usage-chunk" else USAGE["completion_tokens"])
    assert (result.usage is not None) == (quirk == "usage-chunk")
    assert result.time_to_first_token is not None and result.seconds >= result.time_to_first_token


def test_error_event_is_raised_and_the_partial_text_kept(quirk_server):
    text_stream = helpers.stream("hi", client=quirk_client(quirk_server), model="error-event")
    received = []
    with pytest.raises(openai.APIError, match="model crashed"):
        for piece in text_stream:
            received.append(piece)
    assert received == ["Hel", "lo"] and text_stream.result.text == "Hello"
    assert "model crashed" in text_stream.result.error and "kept" in text_stream.result.error


def test_complete_returns_text_reason_usage_and_time(practice_server):
    reply = helpers.complete("write a poem about a tree")
    assert reply.text == POEM and reply.finish_reason == "stop"
    assert reply.usage.completion_tokens == len(replies.tokenize(POEM)) and reply.seconds > 0
    short = helpers.complete("write a poem about a tree", max_tokens=4)
    assert short.finish_reason == "length" and short.usage.completion_tokens == 4


def test_stream_collects_the_result(practice_server):
    text_stream = helpers.stream("write a poem about a tree")
    assert "".join(text_stream) == POEM
    result = text_stream.result
    assert result.usage.completion_tokens == len(result.pieces) == len(replies.tokenize(POEM))
    assert result.finish_reason == "stop" and not result.stopped
    assert result.chunks == len(result.pieces) + 3  # role, pieces, finish, usage
    assert result.tokens_per_second > 0
    assert "tokens" in result.summary() and "(stop)" in result.summary()


def test_leaving_the_loop_early_closes_the_connection(fresh_server):
    server = fresh_server(tokens_per_second=50)
    client = helpers.client(helpers.settings(base_url=server.base_url))
    text_stream = helpers.stream("tell me a long story", client=client)
    for index, _ in enumerate(text_stream):
        if index == 3:
            text_stream.close()
            break
    assert text_stream.result.stopped and len(text_stream.result.pieces) == 4
    wait_until(lambda: server.app.state.stats.client_disconnects == 1, 3)


def test_stream_retries_without_stream_options_when_refused(quirk_server, practice_server):
    refused = {"calls": 0}

    async def strict(request: Request) -> Response:
        refused["calls"] += 1
        if "stream_options" in await request.json():
            error = {"error": {"message": "Unrecognized request argument supplied: stream_options", "type": "x"}}
            return Response(json.dumps(error), status_code=400, media_type="application/json")
        return Response(QUIRKS["role-everywhere"], media_type="text/event-stream")

    server = ServerThread(Starlette(routes=[Route("/v1/chat/completions", strict, methods=["POST"])])).start()
    try:
        text_stream = helpers.stream("hi", client=quirk_client(server))
        assert "".join(text_stream) == "Hello" and refused["calls"] == 2
    finally:
        server.stop()


def test_async_stream(practice_server):
    async def run():
        text_stream = await helpers.astream("write a poem about a tree")
        return [piece async for piece in text_stream], text_stream.result

    pieces, result = asyncio.run(run())
    assert "".join(pieces) == POEM == result.text and result.usage is not None


def test_stream_helpers_keep_partial_text_on_a_disconnect(practice_server):
    text_stream = helpers.stream("write a poem about a tree", extra_headers={"X-Practice-Fault": "disconnect@10"})
    with pytest.raises(openai.APIConnectionError):
        for _ in text_stream:
            pass
    assert len(text_stream.result.pieces) == 10 and POEM.startswith(text_stream.result.text)
    assert "connection broke" in text_stream.result.error
