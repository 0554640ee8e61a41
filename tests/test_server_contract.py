"""The practice server, seen through the current ``openai`` client: the contract the notebooks rely on.

Every reply is parsed with the openai package's own types, so a shape the real client would
reject fails here first. Faults (``X-Practice-Fault`` or ``model+spec``) must raise the same
exceptions a real server's errors raise.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

POEM = [{"role": "user", "content": "write a poem about a tree"}]
STORY = [{"role": "user", "content": "tell me a long story"}]
QUESTION = [{"role": "user", "content": "How do I learn to juggle with three balls?"}]
FAULT = "X-Practice-Fault"


@pytest.fixture
def client(practice_server) -> openai.OpenAI:
    """An openai client for the session's practice server, bounded so that a hang fails fast."""
    return openai.OpenAI(base_url=practice_server.base_url, api_key="x", timeout=10, max_retries=0)


def fault(spec: str) -> dict[str, str]:
    return {FAULT: spec}


def stream_chunks(client: openai.OpenAI, messages: list[dict], **kwargs: Any) -> list[ChatCompletionChunk]:
    return list(client.chat.completions.create(model="practice", messages=messages, stream=True, **kwargs))


def content_pieces(chunks: list[ChatCompletionChunk]) -> list[str]:
    """The non-empty content deltas of a stream, in order (the role chunk's "" is not a piece)."""
    return [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]


def chat(client: openai.OpenAI, messages: list[dict], **kwargs: Any) -> ChatCompletion:
    return client.chat.completions.create(model=kwargs.pop("model", "practice"), messages=messages, **kwargs)


# --- non-streamed ----------------------------------------------------------------------------


def test_non_stream_response_has_the_openai_shape(client):
    before = time.time()
    raw = client.chat.completions.with_raw_response.create(model="practice", messages=POEM)
    body = raw.http_response.json()
    completion = raw.parse()

    assert isinstance(completion, ChatCompletion)
    ChatCompletion.model_validate(body)  # strict: the JSON itself, not only what the client kept
    assert completion.id.startswith("chatcmpl-") and len(completion.id) > len("chatcmpl-")
    assert completion.object == "chat.completion"
    assert before - 5 <= completion.created <= time.time() + 5
    assert completion.model == "practice"
    assert len(completion.choices) == 1
    choice = completion.choices[0]
    assert choice.index == 0
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert "Rooted deep" in choice.message.content
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_two_requests_get_two_ids(client):
    assert chat(client, POEM).id != chat(client, POEM).id


@pytest.mark.parametrize("model", ["gpt-4o-mini", "my-local-model", "llama3.1:8b", "meta/Llama-3-8B-Instruct"])
def test_any_model_name_is_echoed(client, model):
    assert chat(client, POEM, model=model).model == model
    chunks = list(client.chat.completions.create(model=model, messages=POEM, stream=True))
    assert {c.model for c in chunks} == {model}


def test_models_endpoint_lists_practice(client):
    models = client.models.list()
    names = [m.id for m in models]
    assert "practice" in names
    assert all(m.object == "model" for m in models)
    assert client.models.retrieve("practice").id == "practice"


def test_content_as_a_list_of_text_parts(client):
    parts = [{"type": "text", "text": "write a poem "}, {"type": "text", "text": "about a tree"}]
    completion = chat(client, [{"role": "user", "content": parts}])
    assert completion.choices[0].message.content == chat(client, POEM).choices[0].message.content
    assert "Rooted deep" in completion.choices[0].message.content


def test_the_poem_prompt_gets_the_poem(client):
    text = chat(client, POEM).choices[0].message.content
    assert "Rooted deep" in text
    assert "".join(content_pieces(stream_chunks(client, POEM))) == text


# --- streamed --------------------------------------------------------------------------------


def test_stream_chunks_have_the_openai_shape(client):
    stream = client.chat.completions.with_raw_response.create(model="practice", messages=POEM, stream=True)
    chunks = list(stream.parse())
    assert stream.http_response.headers["content-type"].startswith("text/event-stream")

    for chunk in chunks:
        ChatCompletionChunk.model_validate(chunk.model_dump())
        assert chunk.object == "chat.completion.chunk"
    assert len({c.id for c in chunks}) == 1, "every chunk of one stream shares one id"
    assert chunks[0].id.startswith("chatcmpl-")
    assert len({c.created for c in chunks}) == 1

    first = chunks[0].choices[0]
    assert first.delta.role == "assistant"
    assert first.delta.content == ""
    assert first.finish_reason is None

    last = chunks[-1]
    assert len(last.choices) == 1, "no usage chunk unless stream_options.include_usage is true"
    assert last.choices[0].finish_reason == "stop"
    assert last.choices[0].delta.content is None and last.choices[0].delta.role is None
    assert last.usage is None

    middle = chunks[1:-1]
    assert middle and all(len(c.choices) == 1 and c.choices[0].finish_reason is None for c in middle)
    assert all(c.choices[0].delta.role is None for c in middle)


def test_stream_pieces_are_about_one_token_each(client):
    chunks = stream_chunks(client, POEM, stream_options={"include_usage": True})
    pieces = content_pieces(chunks)
    assert len(pieces) == len(chunks) - 3  # role, finish and usage chunks carry no text
    for piece in pieces:
        word = piece.strip()
        assert word == "" or (len(word) <= 8 and not any(ch.isspace() for ch in word)), repr(piece)
    assert len(pieces) > 50
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == len(pieces)


def test_usage_chunk_only_when_asked(client):
    with_usage = stream_chunks(client, POEM, stream_options={"include_usage": True})
    usage_chunk = with_usage[-1]
    assert usage_chunk.choices == []
    assert usage_chunk.usage is not None
    assert usage_chunk.usage.total_tokens == usage_chunk.usage.prompt_tokens + usage_chunk.usage.completion_tokens
    assert all(c.usage is None for c in with_usage[:-1])
    assert with_usage[-2].choices[0].finish_reason == "stop"
    assert usage_chunk.usage == chat(client, POEM).usage

    for options in (None, {"include_usage": False}):
        kwargs = {"stream_options": options} if options is not None else {}
        chunks = stream_chunks(client, POEM, **kwargs)
        assert all(c.choices for c in chunks), "no choices: [] chunk when usage was not asked for"
        assert all(c.usage is None for c in chunks)


@pytest.mark.parametrize("messages", [POEM, QUESTION, [{"role": "user", "content": "count to 40"}]])
def test_streamed_text_equals_non_streamed_text(client, messages):
    whole = chat(client, messages).choices[0].message.content
    assert whole
    assert "".join(content_pieces(stream_chunks(client, messages))) == whole
    assert chat(client, messages).choices[0].message.content == whole, "the same request, the same reply"


def test_long_story_has_at_least_1000_chunks(client):
    pieces = content_pieces(stream_chunks(client, STORY))
    assert len(pieces) >= 1000
    assert "".join(pieces) == chat(client, STORY).choices[0].message.content


@pytest.mark.parametrize("limit_name", ["max_tokens", "max_completion_tokens"])
@pytest.mark.parametrize("limit", [1, 7, 50])
def test_token_limits_cut_with_finish_reason_length(client, limit_name, limit):
    chunks = stream_chunks(client, POEM, **{limit_name: limit})
    assert len(content_pieces(chunks)) == limit
    assert chunks[-1].choices[0].finish_reason == "length"

    completion = chat(client, POEM, **{limit_name: limit})
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.completion_tokens == limit
    assert completion.choices[0].message.content == "".join(content_pieces(chunks))


def test_limit_above_the_reply_length_finishes_with_stop(client):
    full = chat(client, POEM)
    completion = chat(client, POEM, max_tokens=full.usage.completion_tokens)
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.content == full.choices[0].message.content


@pytest.mark.parametrize("stop", ["sun", ["storm", "sun"], ["\n\n"]])
def test_stop_sequences_are_honoured(client, stop):
    full = chat(client, POEM).choices[0].message.content
    sequences = [stop] if isinstance(stop, str) else stop
    expected = full[: min(full.index(s) for s in sequences)]

    completion = chat(client, POEM, stop=stop)
    assert completion.choices[0].message.content == expected
    assert completion.choices[0].finish_reason == "stop"
    assert not any(s in completion.choices[0].message.content for s in sequences)
    assert "".join(content_pieces(stream_chunks(client, POEM, stop=stop))) == expected


# --- faults ----------------------------------------------------------------------------------

STATUS_FAULTS = [
    ("401", openai.AuthenticationError, 401),
    ("404", openai.NotFoundError, 404),
    ("429", openai.RateLimitError, 429),
    ("500", openai.InternalServerError, 500),
    ("503", openai.InternalServerError, 503),
]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize(("spec", "exception", "status"), STATUS_FAULTS, ids=[s for s, _, _ in STATUS_FAULTS])
def test_status_faults_raise_the_matching_exception(client, spec, exception, status, stream):
    with pytest.raises(exception) as raised:
        client.chat.completions.create(model="practice", messages=POEM, stream=stream, extra_headers=fault(spec))
    assert raised.value.status_code == status
    error = raised.value.response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]


def test_rate_limit_sends_retry_after(client):
    with pytest.raises(openai.RateLimitError) as raised:
        chat(client, POEM, extra_headers=fault("429"))
    assert raised.value.response.headers["retry-after"] == "1"
    with pytest.raises(openai.RateLimitError) as raised:
        chat(client, POEM, extra_headers=fault("429=2"))
    assert raised.value.response.headers["retry-after"] == "2"


@pytest.mark.timeout(30)
def test_rate_limit_once_then_the_client_retry_succeeds(fresh_server):
    server = fresh_server()
    retrying = openai.OpenAI(base_url=server.base_url, api_key="x", timeout=10)  # default max_retries=2
    start = time.monotonic()
    completion = retrying.chat.completions.create(model="practice", messages=POEM, extra_headers=fault("429*1"))
    elapsed = time.monotonic() - start
    assert "Rooted deep" in completion.choices[0].message.content
    assert server.app.state.stats.requests == 2, "one 429, then one retry"
    assert elapsed >= 0.9, "the client waited for Retry-After: 1"


@pytest.mark.timeout(30)
def test_rate_limit_every_time_exhausts_the_retries(fresh_server):
    server = fresh_server()
    retrying = openai.OpenAI(base_url=server.base_url, api_key="x", timeout=10, max_retries=1)
    with pytest.raises(openai.RateLimitError):
        retrying.chat.completions.create(model="practice", messages=POEM, extra_headers=fault("429=0.1"))
    assert server.app.state.stats.requests == 2


def read_until_error(stream: Iterator[ChatCompletionChunk]) -> tuple[list[str], BaseException | None]:
    """Iterate a stream; return the content pieces received before it raised, and what it raised."""
    pieces: list[str] = []
    try:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
    except Exception as error:  # noqa: BLE001 - the test inspects it
        return pieces, error
    return pieces, None


def test_in_stream_error_raises_api_error_after_5_pieces(client):
    full = content_pieces(stream_chunks(client, STORY))
    stream = client.chat.completions.create(model="practice", messages=STORY, stream=True, extra_headers=fault("error@5"))
    pieces, error = read_until_error(stream)
    assert pieces == full[:5]
    assert isinstance(error, openai.APIError)
    assert not isinstance(error, (openai.APIStatusError, openai.APIConnectionError))
    assert "stream" in error.message


def test_disconnect_mid_stream_raises_connection_error_after_5_pieces(client):
    full = content_pieces(stream_chunks(client, STORY))
    stream = client.chat.completions.create(
        model="practice", messages=STORY, stream=True, extra_headers=fault("disconnect@5")
    )
    pieces, error = read_until_error(stream)
    assert pieces == full[:5]
    assert isinstance(error, (openai.APIConnectionError, httpx.TransportError)), repr(error)


def test_disconnect_without_stream_raises_connection_error(client):
    with pytest.raises(openai.APIConnectionError):
        chat(client, POEM, extra_headers=fault("disconnect"))


def test_in_stream_error_without_stream_is_a_500(client):
    with pytest.raises(openai.InternalServerError):
        chat(client, POEM, extra_headers=fault("error@5"))


@pytest.mark.timeout(20)
def test_stall_before_first_byte_delays_but_completes(client):
    start = time.monotonic()
    chunks = stream_chunks(client, POEM, extra_headers=fault("stall=1"))
    assert time.monotonic() - start >= 0.9
    assert "Rooted deep" in "".join(content_pieces(chunks))
    assert chunks[-1].choices[0].finish_reason == "stop"

    start = time.monotonic()
    completion = chat(client, POEM, extra_headers=fault("stall=1"))
    assert time.monotonic() - start >= 0.9
    assert "Rooted deep" in completion.choices[0].message.content


@pytest.mark.timeout(20)
def test_stall_mid_stream_delays_after_3_pieces(client):
    stream = client.chat.completions.create(model="practice", messages=POEM, stream=True, extra_headers=fault("stall=1@3"))
    arrivals: list[tuple[float, str]] = []
    start = time.monotonic()
    finish = None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append((time.monotonic(), chunk.choices[0].delta.content))
        if chunk.choices and chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
    assert finish == "stop"
    assert arrivals[2][0] - start < 0.5, "the first three pieces come at once"
    assert arrivals[3][0] - arrivals[2][0] >= 0.9, "then a one-second silence"
    assert "Rooted deep" in "".join(text for _, text in arrivals)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_stall_longer_than_the_client_timeout_raises_timeout(practice_server, stream):
    impatient = openai.OpenAI(base_url=practice_server.base_url, api_key="x", timeout=1, max_retries=0)
    start = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        impatient.chat.completions.create(model="practice", messages=POEM, stream=stream, extra_headers=fault("stall=3"))
    assert 0.9 <= time.monotonic() - start < 2.5


@pytest.mark.parametrize(
    ("model", "exception"),
    [("practice+429", openai.RateLimitError), ("gpt-4o+404", openai.NotFoundError), ("practice+500*5", openai.InternalServerError)],
)
def test_fault_in_the_model_name(client, model, exception):
    with pytest.raises(exception) as raised:
        chat(client, POEM, model=model)
    assert "+" not in raised.value.message, "the fault spec is not part of the model name"


def test_fault_in_the_model_name_is_stripped_from_the_echo(client):
    stream = client.chat.completions.create(model="gpt-4o+error@5", messages=STORY, stream=True)
    pieces, error = read_until_error(stream)
    assert len(pieces) == 5 and isinstance(error, openai.APIError)
    assert chat(client, POEM, model="gpt-4o+429*0").model == "gpt-4o"


def test_unknown_fault_is_a_bad_request(client):
    with pytest.raises(openai.BadRequestError) as raised:
        chat(client, POEM, extra_headers=fault("explode"))
    assert "explode" in raised.value.message
    with pytest.raises(openai.BadRequestError) as raised:
        chat(client, POEM, model="practice+explode")
    assert raised.value.param == "model"
