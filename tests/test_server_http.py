"""The practice server at the byte level, with raw httpx: SSE framing, unbuffered streaming,
root routes, and an OpenAI-style JSON error (never a crash) for every bad request."""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

import httpx
import pytest

from tests.support import sse_events

CHAT = "/v1/chat/completions"
MESSAGES = [{"role": "user", "content": "say this is a test"}]
GOOD = {"model": "practice", "messages": MESSAGES}
ONE_MIB = 1024 * 1024


@pytest.fixture
def http(practice_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=practice_server.root_url, timeout=10) as client:
        yield client


def sse_data(response: httpx.Response) -> list[str]:
    """The data of each event of a streamed response, checking the framing: the body is nothing but
    ``data: ...`` lines, each followed by a blank line (one line per event: no other fields, no comments)."""
    events = list(sse_events(response))
    assert response.content == b"".join(b"data: " + event.data.encode() + b"\n\n" for event in events), (
        response.content[:200])
    return [event.data for event in events]


def assert_openai_error(response: httpx.Response, status: int, param: Any = ...) -> dict:
    """The response is ``{"error": {"message", "type", "param", "code"}}`` with this status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"]
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and error["type"]
    assert error["code"] is None or isinstance(error["code"], str)
    if param is not ...:
        assert error["param"] == param, error
    return error


def assert_still_serving(http: httpx.Client) -> None:
    response = http.post(CHAT, json=GOOD)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "This is a test."


# --- server-sent events ------------------------------------------------------------------------


@pytest.mark.parametrize("include_usage", [False, True])
def test_stream_is_server_sent_events(http, include_usage):
    body = {**GOOD, "stream": True}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    response = http.post(CHAT, json=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers.get("cache-control") == "no-cache"
    assert response.content.endswith(b"data: [DONE]\n\n")

    events = sse_data(response)
    assert events[-1] == "[DONE]"
    assert events.count("[DONE]") == 1
    chunks = [json.loads(event) for event in events[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "This is a test."
    assert (chunks[-1]["choices"] == []) is include_usage


def test_non_stream_is_plain_json(http):
    response = http.post(CHAT, json=GOOD)
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["object"] == "chat.completion"


@pytest.mark.timeout(20)
def test_events_are_sent_as_produced(fresh_server):
    """At 20 tokens/s, "count to 20" takes about a second: events must trickle in, not arrive together."""
    server = fresh_server(tokens_per_second=20)
    body = {"model": "practice", "messages": [{"role": "user", "content": "count to 20"}], "stream": True}
    arrivals: list[float] = []
    with httpx.Client(timeout=10) as client:
        start = time.monotonic()
        with client.stream("POST", server.base_url + "/chat/completions", json=body) as response:
            for _event in sse_events(response):
                arrivals.append(time.monotonic() - start)
    total = arrivals[-1]
    assert len(arrivals) == 23  # role, 20 numbers, finish, [DONE]
    assert total >= 0.9, "paced at 20 events a second"
    assert arrivals[0] < 0.3 and arrivals[0] < total / 3, "the first event is not held back"
    assert arrivals[11] - arrivals[1] >= 0.35, "ten events are spread over half a second"
    gaps = sorted(b - a for a, b in zip(arrivals, arrivals[1:]))
    assert gaps[len(gaps) // 2] >= 0.03, f"events arrive one by one, not in bursts: {gaps}"


# --- routes ----------------------------------------------------------------------------------


def test_root_models_route_is_the_v1_one(http):
    root, v1 = http.get("/models"), http.get("/v1/models")
    assert root.status_code == v1.status_code == 200
    assert root.json() == v1.json()
    assert root.json()["object"] == "list"
    assert "practice" in [model["id"] for model in root.json()["data"]]


@pytest.mark.parametrize("stream", [False, True])
def test_root_chat_route_is_the_v1_one(http, stream):
    body = {"model": "practice", "messages": [{"role": "user", "content": "write a poem about a tree"}], "stream": stream}
    root, v1 = http.post("/chat/completions", json=body), http.post(CHAT, json=body)
    assert root.status_code == v1.status_code == 200
    if stream:
        assert [json.loads(e)["choices"] for e in sse_data(root)[:-1]] == [
            json.loads(e)["choices"] for e in sse_data(v1)[:-1]
        ]
    else:
        assert root.json()["choices"] == v1.json()["choices"]
        assert "Rooted deep" in root.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/nothing", 404),
        ("POST", "/v1/completions", 404),
        ("POST", "/v2/chat/completions", 404),
        ("GET", "/v1/chat/completions", 405),
        ("PUT", "/v1/chat/completions", 405),
        ("POST", "/v1/models", 405),
        ("DELETE", "/models", 405),
    ],
)
def test_unknown_paths_and_wrong_methods(http, method, path, status):
    response = http.request(method, path, json=GOOD)
    error = assert_openai_error(response, status)
    assert path in error["message"]
    if status == 405:
        assert response.headers.get("allow")
    assert_still_serving(http)


# --- bad request bodies ----------------------------------------------------------------------

USER = {"role": "user", "content": "hi"}


def body_with(**fields: Any) -> dict:
    return {**GOOD, **fields}


RAW_BAD_BODIES = {
    "truncated": b'{"model": "practice", "messages": [',
    "trailing-comma": b'{"model": "practice", "messages": [{"role": "user", "content": "hi"}],}',
    "single-quotes": b"{'model': 'practice'}",
    "empty": b"",
    "not-utf8": b'{"model": "\xff\xfe"}',
    "deeply-nested": b"[" * 100_000 + b"]" * 100_000,
    "array": b"[]",
    "array-of-request": json.dumps([GOOD]).encode(),
    "string": b'"write a poem about a tree"',
    "number": b"42",
    "null": b"null",
    "true": b"true",
}


@pytest.mark.parametrize("raw", RAW_BAD_BODIES.values(), ids=RAW_BAD_BODIES.keys())
def test_body_that_is_not_a_json_object(http, raw):
    response = http.post(CHAT, content=raw, headers={"content-type": "application/json"})
    assert_openai_error(response, 400, param=None)
    assert_still_serving(http)


BAD_FIELDS = {
    # name: (body, param)
    "missing-messages": ({"model": "practice"}, "messages"),
    "null-messages": (body_with(messages=None), "messages"),
    "empty-messages": (body_with(messages=[]), "messages"),
    "messages-string": (body_with(messages="hi"), "messages"),
    "messages-object": (body_with(messages=USER), "messages"),
    "message-string": (body_with(messages=["hi"]), "messages[0]"),
    "message-list": (body_with(messages=[["user", "hi"]]), "messages[0]"),
    "second-message-null": (body_with(messages=[USER, None]), "messages[1]"),
    "content-int": (body_with(messages=[{"role": "user", "content": 5}]), "messages[0].content"),
    "content-object": (body_with(messages=[{"role": "user", "content": {"text": "hi"}}]), "messages[0].content"),
    "user-content-missing": (body_with(messages=[{"role": "user"}]), "messages[0].content"),
    "part-string": (body_with(messages=[{"role": "user", "content": ["hi"]}]), "messages[0].content[0]"),
    "part-image": (
        body_with(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]),
        "messages[0].content[0].type",
    ),
    "part-text-int": (
        body_with(messages=[{"role": "user", "content": [{"type": "text", "text": 3}]}]),
        "messages[0].content[0].text",
    ),
    "unknown-role": (body_with(messages=[{"role": "wizard", "content": "hi"}]), "messages[0].role"),
    "missing-role": (body_with(messages=[{"content": "hi"}]), "messages[0].role"),
    "missing-model": ({"messages": MESSAGES}, "model"),
    "model-int": (body_with(model=4), "model"),
    "model-list": (body_with(model=["practice"]), "model"),
    "stream-string": (body_with(stream="yes"), "stream"),
    "stream-int": (body_with(stream=1), "stream"),
    "max-tokens-string": (body_with(max_tokens="10"), "max_tokens"),
    "max-tokens-float": (body_with(max_tokens=1.5), "max_tokens"),
    "max-tokens-bool": (body_with(max_tokens=True), "max_tokens"),
    "max-tokens-zero": (body_with(max_tokens=0), "max_tokens"),
    "max-tokens-negative": (body_with(max_tokens=-5), "max_tokens"),
    "max-completion-tokens-zero": (body_with(max_completion_tokens=0), "max_completion_tokens"),
    "temperature-string": (body_with(temperature="hot"), "temperature"),
    "temperature-too-high": (body_with(temperature=2.5), "temperature"),
    "temperature-negative": (body_with(temperature=-0.1), "temperature"),
    "top-p-too-high": (body_with(top_p=1.5), "top_p"),
    "stop-int": (body_with(stop=5), "stop"),
    "stop-list-of-ints": (body_with(stop=[1, 2]), "stop"),
    "stop-too-many": (body_with(stop=["a", "b", "c", "d", "e"]), "stop"),
    "n-2": (body_with(n=2), "n"),
    "n-0": (body_with(n=0), "n"),
    "stream-options-without-stream": (body_with(stream_options={"include_usage": True}), "stream_options"),
    "stream-options-with-stream-false": (
        body_with(stream=False, stream_options={"include_usage": True}),
        "stream_options",
    ),
    "stream-options-not-object": (body_with(stream=True, stream_options=True), "stream_options"),
    "include-usage-string": (body_with(stream=True, stream_options={"include_usage": "yes"}), "include_usage"),
}


@pytest.mark.parametrize(("body", "param"), BAD_FIELDS.values(), ids=BAD_FIELDS.keys())
def test_bad_field_is_a_400_naming_the_parameter(http, body, param):
    error = assert_openai_error(http.post(CHAT, json=body), 400, param=param)
    assert error["type"] == "invalid_request_error"
    assert_still_serving(http)


@pytest.mark.parametrize("stream", [False, True])
def test_bad_fields_in_a_stream_request_get_json_not_sse(http, stream):
    response = http.post(CHAT, json=body_with(stream=stream, max_tokens=0))
    assert_openai_error(response, 400, param="max_tokens")


def test_unknown_fields_are_ignored(http):
    response = http.post(CHAT, json=body_with(seed=1, user="me", logit_bias={}, tools=None, n=1))
    assert response.status_code == 200


# --- body size -------------------------------------------------------------------------------


def padded_request(size: int) -> bytes:
    """A valid request body of exactly ``size`` bytes (JSON allows trailing whitespace)."""
    raw = json.dumps(GOOD).encode()
    return raw + b" " * (size - len(raw))


def test_a_body_of_exactly_1_mib_is_accepted(http):
    response = http.post(CHAT, content=padded_request(ONE_MIB), headers={"content-type": "application/json"})
    assert response.status_code == 200


def test_a_body_over_1_mib_is_413(http):
    response = http.post(CHAT, content=padded_request(ONE_MIB + 1), headers={"content-type": "application/json"})
    assert_openai_error(response, 413)
    assert_still_serving(http)


def test_a_long_message_over_1_mib_is_413(http):
    big = {"model": "practice", "messages": [{"role": "user", "content": "x" * (2 * ONE_MIB)}]}
    assert_openai_error(http.post(CHAT, json=big), 413)
    assert_still_serving(http)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("total", [ONE_MIB + 64 * 1024, 3 * ONE_MIB])
def test_a_chunked_upload_over_1_mib_is_413(practice_server, total):
    def upload() -> Iterator[bytes]:
        yield json.dumps(GOOD).encode()[:-1] + b', "pad": "'
        sent = 0
        while sent < total:
            yield b"x" * 65536
            sent += 65536
        yield b'"}'

    with httpx.Client(base_url=practice_server.root_url, timeout=10) as http:
        response = http.post(CHAT, content=upload(), headers={"content-type": "application/json"})
        assert "content-length" not in response.request.headers
        assert response.request.headers["transfer-encoding"] == "chunked"
        assert_openai_error(response, 413)
    with httpx.Client(base_url=practice_server.root_url, timeout=10) as http:
        assert_still_serving(http)


def test_a_small_chunked_upload_is_accepted(http):
    response = http.post(CHAT, content=iter([json.dumps(GOOD)[:10].encode(), json.dumps(GOOD)[10:].encode()]))
    assert response.status_code == 200


# --- practice headers ------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["explode", "429x", "stall=abc", "@5", "disconnect@-1", "500**1"])
def test_unknown_fault_spec_is_a_400(http, spec):
    error = assert_openai_error(http.post(CHAT, json=GOOD, headers={"X-Practice-Fault": spec}), 400, param=None)
    assert "fault" in error["message"].lower()
    assert_openai_error(http.post(CHAT, json=body_with(model=f"practice+{spec}")), 400, param="model")
    assert_still_serving(http)


@pytest.mark.parametrize("pace", ["fast", "-1", ""])
def test_bad_pace_header_is_a_400(http, pace):
    response = http.post(CHAT, json=body_with(stream=True), headers={"X-Practice-Tokens-Per-Second": pace})
    assert_openai_error(response, 400)


def test_server_survived_everything(http, practice_server):
    """Run last in this module: after all the bad input above, the server still answers."""
    assert_still_serving(http)
    response = http.post(CHAT, json=body_with(stream=True))
    assert response.content.endswith(b"data: [DONE]\n\n")
    assert practice_server.server.started and not practice_server.server.should_exit
