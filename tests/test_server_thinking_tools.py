"""The practice server's thinking models, tool calls and structured output, through the real openai client
(which checks every chunk against its own types) and raw HTTP where the bytes matter."""

from __future__ import annotations

import json
from typing import Literal, Optional

import httpx
import jsonschema
import openai
import pytest
from pydantic import BaseModel

from helpers.server import replies
from tests.test_schema_values import MathResponse  # openai-python's parsing.py example

HAIKU = [{"role": "user", "content": "write a haiku"}]
WEATHER_PROMPT = [{"role": "user", "content": "What's the weather in Paris and Tokyo?"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}
DIALECTS = ["reasoning_content", "reasoning", "think-tags", "hidden"]


@pytest.fixture
def client(practice_server) -> openai.OpenAI:
    return openai.OpenAI(base_url=practice_server.base_url, api_key="x", max_retries=0)


def collect(stream) -> dict:
    """What a stream sent, by kind: thinking in each dialect, content, tool calls by index, finish, usage."""
    seen = {"reasoning_content": "", "reasoning": "", "content": "", "calls": {}, "finish": None, "usage": None,
            "heads": []}
    for chunk in stream:
        if chunk.usage is not None:
            seen["usage"] = chunk.usage
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        extra = delta.model_extra or {}
        for key in ("reasoning_content", "reasoning"):
            seen[key] += extra.get(key) or ""
        seen["content"] += delta.content or ""
        for call in delta.tool_calls or []:
            if call.id is not None:
                seen["heads"].append(call.model_dump(exclude_none=True))
                seen["calls"][call.index] = {"id": call.id, "name": call.function.name, "arguments": ""}
            seen["calls"][call.index]["arguments"] += call.function.arguments or ""
        seen["finish"] = chunk.choices[0].finish_reason or seen["finish"]
    return seen


# --- thinking ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("by", ["header", "suffix"])
def test_each_dialect_streams_the_thinking_before_the_answer(client, dialect, by):
    model, headers = ("practice-thinking", {"X-Practice-Reasoning": dialect}) if by == "header" else (
        f"practice-thinking+{dialect}", {})
    seen = collect(client.chat.completions.create(model=model, messages=HAIKU, stream=True,
                                                  stream_options={"include_usage": True}, extra_headers=headers))
    thinking = seen.get(dialect, "")
    if dialect == "think-tags":
        assert seen["content"].startswith("<think>\n") and "\n</think>\n\n" + replies.HAIKU == seen["content"][-len(replies.HAIKU) - 11:]
        thinking = seen["content"].split("</think>")[0]
    else:
        assert seen["content"] == replies.HAIKU
    if dialect == "hidden":
        assert not seen["reasoning_content"] and not seen["reasoning"]
    else:
        assert "haiku" in thinking and len(thinking) > 40
    reasoning_tokens = seen["usage"].completion_tokens_details.reasoning_tokens
    answer_tokens = len(replies.tokenize(replies.HAIKU))
    assert reasoning_tokens > 10 and seen["usage"].completion_tokens == reasoning_tokens + answer_tokens


@pytest.mark.parametrize("dialect", DIALECTS)
def test_not_streamed_the_message_carries_the_same_thinking(client, dialect):
    streamed = collect(client.chat.completions.create(model=f"practice-thinking+{dialect}", messages=HAIKU, stream=True))
    reply = client.chat.completions.create(model=f"practice-thinking+{dialect}", messages=HAIKU)
    message = reply.choices[0].message
    assert message.content == streamed["content"]
    if dialect in ("reasoning_content", "reasoning"):
        assert (message.model_extra or {})[dialect] == streamed[dialect]
    assert reply.usage.completion_tokens_details.reasoning_tokens > 10


def test_reasoning_effort_changes_the_length_of_the_thinking(client):
    lengths = []
    for effort in ["none", "minimal", "low", "medium", "high", "xhigh", "max"]:
        reply = client.chat.completions.create(model="practice-thinking", messages=HAIKU, reasoning_effort=effort)
        lengths.append(reply.usage.completion_tokens_details.reasoning_tokens)
    assert lengths[0] == 0 and lengths == sorted(lengths) and len(set(lengths)) == len(lengths), lengths


def test_a_thinking_model_can_spend_the_whole_budget_thinking(client):
    reply = client.chat.completions.create(model="practice-thinking", messages=HAIKU, max_tokens=20)
    assert reply.choices[0].finish_reason == "length" and reply.choices[0].message.content == ""
    assert reply.usage.completion_tokens_details.reasoning_tokens == 20


def test_a_plain_model_does_not_think(client):
    reply = client.chat.completions.create(model="practice", messages=HAIKU)
    assert reply.usage.completion_tokens_details.reasoning_tokens == 0
    assert "reasoning_content" not in (reply.choices[0].message.model_extra or {})


@pytest.mark.parametrize("model", ["o4-mini", "gpt-5-mini"])
def test_openai_reasoning_models_refuse_max_tokens_and_temperature_as_openai_does(client, model):
    with pytest.raises(openai.BadRequestError, match="max_completion_tokens") as raised:
        client.chat.completions.create(model=model, messages=HAIKU, max_tokens=50)
    assert raised.value.param == "max_tokens"
    with pytest.raises(openai.BadRequestError, match="temperature"):
        client.chat.completions.create(model=model, messages=HAIKU, temperature=0.2)
    reply = client.chat.completions.create(model=model, messages=HAIKU, max_completion_tokens=200)
    assert reply.choices[0].message.content == replies.HAIKU  # thinking hidden, counted
    assert reply.usage.completion_tokens_details.reasoning_tokens > 0


def test_an_unknown_dialect_is_a_400(client):
    with pytest.raises(openai.BadRequestError, match="X-Practice-Reasoning|x-practice-reasoning"):
        client.chat.completions.create(model="practice-thinking", messages=HAIKU,
                                       extra_headers={"X-Practice-Reasoning": "telepathy"})


# --- tool calls --------------------------------------------------------------------------------------


def test_two_places_give_two_parallel_calls_streamed_as_openai_streams_them(client):
    seen = collect(client.chat.completions.create(model="practice", messages=WEATHER_PROMPT, tools=[WEATHER_TOOL],
                                                  stream=True))
    assert seen["finish"] == "tool_calls" and seen["content"] == ""
    assert [h["index"] for h in seen["heads"]] == [0, 1]
    for head in seen["heads"]:  # the first delta of each call: index, id, type and name, empty arguments
        assert head["type"] == "function" and head["function"] == {"name": "get_weather", "arguments": ""}
    cities = [json.loads(seen["calls"][i]["arguments"])["city"] for i in (0, 1)]
    assert cities == ["Paris", "Tokyo"]
    for call in seen["calls"].values():
        jsonschema.validate(json.loads(call["arguments"]), WEATHER_TOOL["function"]["parameters"])


def test_arguments_come_in_several_fragments(practice_server):
    body = {"model": "practice", "messages": WEATHER_PROMPT, "tools": [WEATHER_TOOL], "stream": True}
    raw = httpx.post(practice_server.base_url + "/chat/completions", json=body, timeout=10).text
    fragments = [e for e in raw.split("\n\n") if '"arguments":"' in e and '"arguments":""' not in e]
    assert len(fragments) >= 8


def test_parallel_tool_calls_false_makes_one_call(client):
    reply = client.chat.completions.create(model="practice", messages=WEATHER_PROMPT, tools=[WEATHER_TOOL],
                                           parallel_tool_calls=False)
    calls = reply.choices[0].message.tool_calls
    assert len(calls) == 1 and json.loads(calls[0].function.arguments)["city"] == "Paris"
    assert reply.choices[0].finish_reason == "tool_calls" and reply.choices[0].message.content is None


@pytest.mark.parametrize("choice, expect_call", [("none", False), ("auto", True), ("required", True)])
def test_tool_choice_is_honoured(client, choice, expect_call):
    reply = client.chat.completions.create(model="practice", messages=WEATHER_PROMPT, tools=[WEATHER_TOOL],
                                           tool_choice=choice)
    assert bool(reply.choices[0].message.tool_calls) == expect_call


def test_auto_answers_a_catalogue_prompt_in_text(client):
    reply = client.chat.completions.create(model="practice", messages=HAIKU, tools=[WEATHER_TOOL])
    assert reply.choices[0].message.content == replies.HAIKU and not reply.choices[0].message.tool_calls


SCHEMAS = {
    "nested": {"type": "object", "properties": {
        "person": {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
                   "required": ["name", "age"], "additionalProperties": False},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
        "required": ["person", "tags"], "additionalProperties": False},
    "enums and numbers": {"type": "object", "properties": {
        "unit": {"enum": ["c", "f"]}, "ratio": {"type": "number", "minimum": 0.5, "maximum": 0.75},
        "ok": {"type": "boolean"}, "note": {"type": ["string", "null"]}},
        "required": ["unit", "ratio", "ok", "note"]},
    "defs and anyOf": {"type": "object", "$defs": {"Step": {"type": "object", "properties": {
        "explanation": {"type": "string"}, "output": {"type": "string"}}, "required": ["explanation", "output"]}},
        "properties": {"steps": {"type": "array", "items": {"$ref": "#/$defs/Step"}},
                       "value": {"anyOf": [{"type": "integer"}, {"$ref": "#/$defs/Step"}]}},
        "required": ["steps", "value"]},
    "no parameters": {"type": "object", "properties": {}},
}


@pytest.mark.parametrize("name", SCHEMAS)
def test_a_forced_call_gets_arguments_valid_against_its_schema(client, name):
    tool = {"type": "function", "function": {"name": "record", "parameters": SCHEMAS[name]}}
    other = {"type": "function", "function": {"name": "other", "description": "unrelated"}}
    reply = client.chat.completions.create(model="practice", messages=HAIKU, tools=[other, tool],
                                           tool_choice={"type": "function", "function": {"name": "record"}})
    (call,) = reply.choices[0].message.tool_calls
    assert call.function.name == "record"
    jsonschema.validate(json.loads(call.function.arguments), SCHEMAS[name])


def test_after_tool_results_it_answers_with_them(client):
    first = client.chat.completions.create(model="practice", messages=WEATHER_PROMPT, tools=[WEATHER_TOOL])
    message = first.choices[0].message
    results = [{"role": "tool", "tool_call_id": call.id,
                "content": json.dumps({"temperature": 18 + i, "conditions": "sunny"})}
               for i, call in enumerate(message.tool_calls)]
    history = WEATHER_PROMPT + [message.model_dump(exclude_none=True)] + results
    seen = collect(client.chat.completions.create(model="practice", messages=history, tools=[WEATHER_TOOL], stream=True))
    assert seen["finish"] == "stop" and not seen["calls"]
    assert "Paris" in seen["content"] and "temperature 18" in seen["content"] and "temperature 19" in seen["content"]


@pytest.mark.parametrize("messages, match", [
    (WEATHER_PROMPT + [{"role": "tool", "tool_call_id": "call_nope", "content": "{}"}], "preceding message"),
    (WEATHER_PROMPT + [{"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "user", "content": "and?"}], "call_1"),
    (WEATHER_PROMPT + [{"role": "assistant", "tool_calls": "nope"}], "tool_calls"),
])
def test_tool_messages_that_do_not_fit_are_400s(client, messages, match):
    with pytest.raises(openai.BadRequestError, match=match):
        client.chat.completions.create(model="practice", messages=messages, tools=[WEATHER_TOOL])


@pytest.mark.parametrize("tools, choice, match", [
    ([{"type": "function", "function": {"name": "has space"}}], None, "tools\\[0\\].function.name"),
    ([{"type": "retrieval"}], None, "tools\\[0\\].type"),
    ([{"type": "function"}], None, "tools\\[0\\].function"),
    ([WEATHER_TOOL], {"type": "function", "function": {"name": "nope"}}, "tool_choice"),
    ([WEATHER_TOOL], "sometimes", "tool_choice"),
    ([{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "required": 5}}}], None,
     "Invalid schema"),
    ([WEATHER_TOOL, WEATHER_TOOL], None, "unique"),
])
def test_malformed_tools_are_400s(client, tools, choice, match):
    extra = {"tool_choice": choice} if choice is not None else {}
    with pytest.raises(openai.BadRequestError, match=match):
        client.chat.completions.create(model="practice", messages=WEATHER_PROMPT, tools=tools, **extra)


# --- structured output -------------------------------------------------------------------------------


class Pet(BaseModel):
    name: str
    kind: Literal["cat", "dog", "fish"]
    age: int
    nickname: Optional[str]


def test_json_object_needs_the_word_json(client):
    with pytest.raises(openai.BadRequestError, match="json"):
        client.chat.completions.create(model="practice", messages=HAIKU, response_format={"type": "json_object"})
    reply = client.chat.completions.create(model="practice", response_format={"type": "json_object"},
                                           messages=[{"role": "user", "content": "write a haiku, as JSON"}])
    assert json.loads(reply.choices[0].message.content) == {"answer": replies.HAIKU}


@pytest.mark.parametrize("name", SCHEMAS)
def test_json_schema_replies_are_valid_and_streamed_in_fragments(client, name):
    fmt = {"type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMAS[name], "strict": True}}
    stream = client.chat.completions.create(model="practice", messages=HAIKU, response_format=fmt, stream=True)
    pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    text = "".join(pieces)
    jsonschema.validate(json.loads(text), SCHEMAS[name])
    assert pieces == replies.tokenize_json(text) and (len(pieces) >= 5 or text == "{}")


def test_parse_with_a_pydantic_model(client):
    completion = client.chat.completions.parse(
        model="practice", response_format=MathResponse,
        messages=[{"role": "system", "content": "You are a helpful math tutor."},
                  {"role": "user", "content": "solve 8x + 31 = 2"}])
    parsed = completion.choices[0].message.parsed
    assert isinstance(parsed, MathResponse) and parsed.steps and parsed.final_answer


def test_the_stream_helper_with_a_pydantic_model(client):
    with client.chat.completions.stream(model="practice", response_format=Pet,
                                        messages=[{"role": "user", "content": "Describe a pet"}]) as stream:
        deltas = [event.delta for event in stream if event.type == "content.delta"]
    final = stream.get_final_completion().choices[0].message.parsed
    assert isinstance(final, Pet) and len(deltas) > 3


def test_a_pydantic_tool_through_parse(client):
    completion = client.chat.completions.parse(
        model="practice", messages=[{"role": "user", "content": "Describe a pet"}],
        tools=[openai.pydantic_function_tool(Pet)])
    call = completion.choices[0].message.tool_calls[0]
    assert isinstance(call.function.parsed_arguments, Pet)
