"""The helpers with thinking models and tool calls: the thinking kept apart from the answer in every dialect
(split tags included), tool calls assembled, honest timing, and check() with thinking and reasoning models."""

from __future__ import annotations

import json

import openai
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import helpers
from helpers.chat.think_tags import ThinkTags
from helpers.server import replies
from helpers.server.testing import ServerThread

HAIKU = replies.HAIKU
DIALECTS = ["reasoning_content", "reasoning", "think-tags"]
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_each_dialect_streams_into_thinking_and_answer(practice_server, dialect):
    text_stream = helpers.stream("write a haiku", model=f"practice-thinking+{dialect}")
    assert "".join(text_stream) == HAIKU  # iterating gives the answer only
    result = text_stream.result
    assert "haiku" in result.thinking and "<think>" not in result.thinking and "think>" not in result.text
    assert result.phase == "done" and result.finish_reason == "stop"
    assert result.time_to_first_token <= result.time_to_first_answer
    assert result.reasoning_tokens == result.usage.completion_tokens_details.reasoning_tokens > 10
    assert result.tokens == result.usage.completion_tokens  # thinking counted in the speed too


@pytest.mark.parametrize("dialect", DIALECTS)
def test_complete_keeps_the_thinking_apart(practice_server, dialect):
    reply = helpers.complete("write a haiku", model=f"practice-thinking+{dialect}")
    assert reply.text == HAIKU and "haiku" in reply.thinking and "<think>" not in reply.text


def test_hidden_thinking_is_counted_and_timed(fresh_server):
    server = fresh_server(tokens_per_second=200)
    client = openai.OpenAI(base_url=server.base_url, api_key="x")
    text_stream = helpers.stream("write a haiku", client=client, model="o4-mini")
    assert "".join(text_stream) == HAIKU
    result = text_stream.result
    assert result.thinking == "" and result.reasoning_tokens > 10
    assert result.time_to_first_answer > 0.15  # the thinking took its time before the first word


def test_the_progress_of_a_stream_moves_while_the_model_thinks(practice_server):
    text_stream = helpers.stream("write a haiku", model="practice-thinking")
    phases = []
    for _ in text_stream.progress():
        phases.append(text_stream.result.phase)
    assert phases.index("thinking") < phases.index("answering") and phases.count("thinking") > 10


def pieces_through_tags(pieces: list[str]) -> tuple[str, str]:
    result = helpers.StreamResult()
    for piece in pieces:
        result.add_text(piece)
    result.finish()
    return result.thinking, result.text


@pytest.mark.parametrize("pieces", [
    ["<think>", "\nabc", "</think>", "\n\nAnswer"],
    ["<th", "ink>\nabc</thi", "nk>\n", "\nAns", "wer"],
    ["<", "t", "h", "i", "n", "k", ">", "abc", "<", "/", "think", ">", "Answer"],
    ["  <think>abc</think>Answer"],
])
def test_think_tags_split_across_chunks(pieces):
    thinking, text = pieces_through_tags(pieces)
    assert (thinking.strip(), text) == ("abc", "Answer")


def test_a_lone_closing_tag_turns_what_came_before_into_thinking():
    assert pieces_through_tags(["ab", "c</th", "ink>\n\nAnswer"]) == ("abc", "Answer")


@pytest.mark.parametrize("pieces", [["a < b", " and <thing>"], ["<", "b>bold</b>"], ["<thinking is fun"]])
def test_text_that_only_looks_like_a_tag_is_kept(pieces):
    assert pieces_through_tags(pieces) == ("", "".join(pieces))


def test_an_unclosed_think_is_all_thinking():
    tags = ThinkTags()
    assert tags.split("<think>still thinking</thi") == ("still thinking", "", False)
    assert tags.flush() == ""


def test_parallel_tool_calls_are_assembled_by_index(practice_server):
    messages = [{"role": "user", "content": "What's the weather in Paris and Tokyo?"}]
    text_stream = helpers.stream(messages, tools=[WEATHER_TOOL])
    assert "".join(text_stream) == ""
    result = text_stream.result
    assert [c.index for c in result.tool_calls] == [0, 1] and result.finish_reason == "tool_calls"
    assert [c.parsed_arguments for c in result.tool_calls] == [{"city": "Paris"}, {"city": "Tokyo"}]
    assert all(c.id and c.name == "get_weather" for c in result.tool_calls)
    reply = helpers.complete(messages, tools=[WEATHER_TOOL])
    assert [(c.name, c.parsed_arguments) for c in reply.tool_calls] == [(c.name, c.parsed_arguments)
                                                                        for c in result.tool_calls]


OLLAMA_STYLE = (  # a whole call in one chunk, with no index, and the thinking in `reasoning`
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
    b'"delta":{"role":"assistant","content":"","reasoning":"Weather needs a tool."},"finish_reason":null}]}\n\n'
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
    b'"delta":{"role":"assistant","content":"","tool_calls":[{"id":"call_1","type":"function","function":'
    b'{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"}}]},"finish_reason":"tool_calls"}]}\n\n'
    b"data: [DONE]\n\n"
)


async def ollama(_request: Request) -> Response:
    return Response(OLLAMA_STYLE, media_type="text/event-stream")


def test_a_whole_call_in_one_chunk_without_an_index():
    server = ServerThread(Starlette(routes=[Route("/v1/chat/completions", ollama, methods=["POST"])])).start()
    try:
        client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
        text_stream = helpers.stream("weather?", client=client, model="m", include_usage=False)
        list(text_stream)
    finally:
        server.stop()
    result = text_stream.result
    assert result.thinking == "Weather needs a tool." and result.text == ""
    assert [(c.index, c.id, c.parsed_arguments) for c in result.tool_calls] == [(0, "call_1", {"city": "Paris"})]


def test_the_result_derives_its_state_and_finishes_once():
    result = helpers.StreamResult()
    assert result.phase == "waiting" and not result.finished and result.time_to_first_token is None
    result.add_thinking("hmm")
    assert result.phase == "thinking" and result.thinking_seconds >= 0
    result.add_text("Hi")
    result.finish()
    ended = result.ended_at
    result.finish()
    result.finish(error=ValueError("late"))
    assert result.ended_at == ended and result.phase == "failed" and result.seconds == ended - result.started


def test_check_gives_a_thinking_model_room_to_think(practice_server):
    report = helpers.check(helpers.settings(model="practice-thinking"), show=False)
    assert report.ok and report.thinks and "thinking" in str(report)
    assert "OK" in str(report)


def test_check_with_an_openai_reasoning_model_uses_max_completion_tokens(practice_server):
    report = helpers.check(helpers.settings(model="o4-mini"), show=False)
    assert report.ok and "max_completion_tokens" in str(report) and "does not show it" in str(report)


def test_the_reasoning_model_400s_are_explained_with_their_fix(practice_server):
    client = helpers.client()
    for params, fix in [({"max_tokens": 10}, "max_completion_tokens=... instead of max_tokens"),
                        ({"temperature": 0.3}, "leave temperature out")]:
        with pytest.raises(openai.BadRequestError) as raised:
            client.chat.completions.create(model="o4-mini", messages=[{"role": "user", "content": "hi"}], **params)
        assert fix in helpers.explain(raised.value)


def test_out_of_credit_is_not_retried_and_says_so(practice_server):
    client = helpers.client(max_retries=2)
    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model="practice+quota", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.response.request.headers["x-stainless-retry-count"] == "0"
    explanation = helpers.explain(raised.value)
    assert "insufficient_quota" in explanation and "Retrying will not help" in explanation


def test_tool_call_arguments_in_the_result_are_json_text(practice_server):
    result = helpers.stream("What's the weather in Paris?", tools=[WEATHER_TOOL]).result
    assert result.tool_calls == []  # nothing read yet
    text_stream = helpers.stream("What's the weather in Paris?", tools=[WEATHER_TOOL])
    list(text_stream)
    (call,) = text_stream.result.tool_calls
    assert json.loads(call.arguments) == {"city": "Paris"}
