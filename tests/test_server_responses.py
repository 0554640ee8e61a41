"""The practice server's Responses API (POST /v1/responses): event order and numbering, usage, incomplete,
previous_response_id and its bound, store, errors and faults; and the helpers' result, the same through
either API."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import jsonschema
import openai
import pytest

import helpers
from helpers.server import replies

WEATHER_TOOL = {"type": "function", "name": "get_weather", "description": "Get the weather in a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
TEXT_EVENTS = ["response.created", "response.in_progress", "response.output_item.added",
               "response.content_part.added"]
CLOSING = ["response.output_text.done", "response.content_part.done", "response.output_item.done",
           "response.completed"]


@pytest.fixture
def client(practice_server) -> openai.OpenAI:
    return openai.OpenAI(base_url=practice_server.base_url, api_key="x", max_retries=0)


def events(client, **params) -> list:
    with client.responses.create(stream=True, **params) as stream:
        return list(stream)


def test_a_text_reply_streams_in_openais_event_order(client):
    sent = events(client, model="practice", input="write a haiku")
    types = [e.type for e in sent]
    deltas = len(replies.tokenize(replies.HAIKU))
    assert types == TEXT_EVENTS + ["response.output_text.delta"] * deltas + CLOSING
    assert [e.sequence_number for e in sent] == list(range(len(sent)))
    assert "".join(e.delta for e in sent if e.type == "response.output_text.delta") == replies.HAIKU
    final = sent[-1].response
    assert final.status == "completed" and final.output_text == replies.HAIKU
    assert final.usage.output_tokens == deltas and final.usage.input_tokens > 0
    assert sent[0].response.status == "in_progress" and sent[0].response.usage is None


def test_the_bytes_are_named_server_sent_events(practice_server):
    body = {"model": "practice", "input": "say this is a test", "stream": True}
    raw = httpx.post(practice_server.base_url + "/responses", json=body, timeout=10).text
    blocks = raw.strip().split("\n\n")
    for block in blocks:
        event, data = block.split("\n")
        assert event.startswith("event: ") and data.startswith("data: ")
        assert json.loads(data[6:])["type"] == event[7:]


def test_not_streamed_the_same_reply(client):
    response = client.responses.create(model="practice", input=[{"role": "user", "content": "write a haiku"}],
                                       instructions="Be brief.")
    assert response.output_text == replies.HAIKU and response.status == "completed"
    assert response.instructions == "Be brief." and response.id.startswith("resp_")


def test_max_output_tokens_ends_incomplete_with_the_reason(client):
    sent = events(client, model="practice", input="tell me a long story", max_output_tokens=20)
    assert sent[-1].type == "response.incomplete"
    assert sent[-1].response.incomplete_details.reason == "max_output_tokens"
    assert sent[-1].response.usage.output_tokens == 20
    with pytest.raises(openai.BadRequestError, match="max_output_tokens"):
        client.responses.create(model="practice", input="hi", max_output_tokens=5)


def test_a_thinking_model_streams_a_reasoning_summary_before_the_text(client):
    types = [e.type for e in events(client, model="practice-thinking", input="write a haiku")]
    first_text = types.index("response.output_text.delta")
    assert types.index("response.reasoning_summary_text.delta") < first_text
    assert types.index("response.reasoning_summary_part.done") < first_text
    final = client.responses.create(model="practice-thinking", input="write a haiku")
    assert final.output[0].type == "reasoning" and "haiku" in final.output[0].summary[0].text
    assert final.usage.output_tokens_details.reasoning_tokens > 10


def test_openai_reasoning_models_show_a_summary_only_when_asked(client):
    hidden = [e.type for e in events(client, model="o4-mini", input="write a haiku")]
    assert "response.reasoning_summary_text.delta" not in hidden and "response.output_item.added" in hidden
    shown = [e.type for e in events(client, model="o4-mini", input="write a haiku", reasoning={"summary": "auto"})]
    assert "response.reasoning_summary_text.delta" in shown


def test_function_calls_stream_as_items_with_argument_deltas(client):
    sent = events(client, model="practice", input="What's the weather in Paris and Tokyo?", tools=[WEATHER_TOOL])
    added = [e.item for e in sent if e.type == "response.output_item.added"]
    assert [(i.type, i.name, i.arguments) for i in added] == [("function_call", "get_weather", "")] * 2
    done = [e for e in sent if e.type == "response.function_call_arguments.done"]
    assert [json.loads(e.arguments) for e in done] == [{"city": "Paris"}, {"city": "Tokyo"}]
    deltas = [e for e in sent if e.type == "response.function_call_arguments.delta"]
    assert len(deltas) >= 6 and {d.item_id for d in deltas} == {i.id for i in added}
    assert sent[-1].type == "response.completed"


def test_function_call_outputs_are_answered_after_previous_response_id(client):
    first = client.responses.create(model="practice", input="What's the weather in Paris and Tokyo?", tools=[WEATHER_TOOL])
    outputs = [{"type": "function_call_output", "call_id": item.call_id, "output": json.dumps({"temperature": 20 + i})}
               for i, item in enumerate(first.output)]
    second = client.responses.create(model="practice", previous_response_id=first.id, input=outputs, tools=[WEATHER_TOOL])
    assert "Paris" in second.output_text and "temperature 21" in second.output_text
    with pytest.raises(openai.BadRequestError, match="call_nope"):
        client.responses.create(model="practice", input=[{"type": "function_call_output", "call_id": "call_nope",
                                                          "output": "{}"}])


def test_previous_response_id_continues_a_conversation(client):
    first = client.responses.create(model="practice", input="My name is Ada.")
    second = client.responses.create(model="practice", input="What is my name?", previous_response_id=first.id)
    assert "Ada" in second.output_text and second.previous_response_id == first.id
    alone = client.responses.create(model="practice", input="What is my name?")
    assert "Ada" not in alone.output_text


def test_an_unknown_previous_response_is_a_404_in_openais_form(practice_server):
    body = {"model": "practice", "input": "hi", "previous_response_id": "resp_nope"}
    response = httpx.post(practice_server.base_url + "/responses", json=body, timeout=10)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "previous_response_not_found"
    assert response.json()["error"]["param"] == "previous_response_id"


def test_store_false_keeps_nothing(client):
    kept = client.responses.create(model="practice", input="My name is Ada.")
    assert client.responses.retrieve(kept.id).id == kept.id
    forgotten = client.responses.create(model="practice", input="My name is Ada.", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="practice", input="What is my name?", previous_response_id=forgotten.id)


def test_the_store_is_bounded_oldest_first(fresh_server):
    server = fresh_server()
    server.app.state.responses.limit = 3
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    ids = [client.responses.create(model="practice", input=f"count to {n}").id for n in range(1, 6)]
    assert len(server.app.state.responses) == 3
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(ids[0])
    assert client.responses.retrieve(ids[-1]).output_text == "1 2 3 4 5"


def test_the_store_is_bounded_in_bytes_too(fresh_server):
    """1,000 requests of the 1 MiB the server accepts must not keep 1 GB: the size bound drops the oldest."""
    server = fresh_server()
    store = server.app.state.responses
    store.max_bytes = 1_000_000
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    big = "tree " * 60_000  # 300 kB
    ids = [client.responses.create(model="practice", input=f"{big} {n}").id for n in range(6)]
    assert 1 <= len(store) <= 3 and store.bytes <= store.max_bytes
    assert store.bytes == sum(store.get(i).size for i in ids if store.get(i))  # what is counted is what is kept
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(ids[0])
    assert client.responses.retrieve(ids[-1]).id == ids[-1]


@pytest.mark.parametrize("spec, error", [("429", openai.RateLimitError), ("401", openai.AuthenticationError),
                                         ("500", openai.InternalServerError), ("404", openai.NotFoundError)])
def test_status_faults(client, spec, error):
    with pytest.raises(error):
        client.responses.create(model=f"practice+{spec}", input="hi")


def test_an_error_fault_fails_the_response_mid_stream(client):
    sent = events(client, model="practice+error@5", input="write a poem about a tree")
    assert [e.type for e in sent].count("response.output_text.delta") == 5
    assert sent[-1].type == "response.failed" and sent[-1].response.status == "failed"
    assert "practice fault" in sent[-1].response.error.message


def test_a_disconnect_fault_drops_the_connection(client):
    with pytest.raises(openai.APIConnectionError):
        events(client, model="practice+disconnect@5", input="write a poem about a tree")


@pytest.mark.parametrize("body, param", [
    ({"model": "practice"}, "input"),
    ({"model": "practice", "input": 5}, "input"),
    ({"model": "practice", "input": [{"role": "robot", "content": "hi"}]}, "input[0].role"),
    ({"model": "practice", "input": [{"type": "image", "url": "x"}]}, "input[0].type"),
    ({"model": "practice", "input": "hi", "text": {"format": {"type": "yaml"}}}, "text.format.type"),
    ({"model": "practice", "input": "hi", "reasoning": {"effort": "enormous"}}, "reasoning.effort"),
    ({"input": "hi"}, "model"),
])
def test_bad_requests_are_400s_naming_the_parameter(practice_server, body, param):
    response = httpx.post(practice_server.base_url + "/responses", json=body, timeout=10)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


# --- the helpers: one result whichever API ---------------------------------------------------------------

CHAT_WEATHER_TOOL = {"type": "function", "function": {k: v for k, v in WEATHER_TOOL.items() if k != "type"}}
CASES = [
    ("practice", "write a poem about a tree", {}),
    ("practice-thinking", "write a haiku", {}),
    ("practice-thinking+think-tags", "write a haiku", {}),
    ("o4-mini", "write a haiku", {}),
    ("practice", "What's the weather in Paris and Tokyo?", {"tools": [CHAT_WEATHER_TOOL]}),
    ("practice", "tell me a long story", {"max_tokens": 30}),
]


def snapshot(result) -> tuple:
    return (result.text, result.thinking, [(c.index, c.id, c.name, c.arguments) for c in result.tool_calls],
            result.finish_reason, result.tokens, result.reasoning_tokens, result.error, result.stopped)


@pytest.mark.parametrize("model, prompt, params", CASES, ids=[f"{m}:{p[:12]}" for m, p, _ in CASES])
def test_the_helpers_result_is_the_same_through_either_api(practice_server, model, prompt, params):
    results = []
    for api in ("chat", "responses"):
        text_stream = helpers.stream(prompt, model=model, api=api, **params)
        list(text_stream)
        results.append(snapshot(text_stream.result))
        reply = helpers.complete(prompt, model=model, api=api, **params)
        results.append((reply.text, reply.thinking, [(c.index, c.id, c.name, c.arguments) for c in reply.tool_calls],
                        reply.finish_reason, reply.usage.completion_tokens,
                        reply.usage.completion_tokens_details.reasoning_tokens, None, False))
    assert all(r == results[0] for r in results), results


def test_a_failed_response_raises_with_the_text_kept(practice_server):
    text_stream = helpers.stream("write a poem about a tree", model="practice+error@5", api="responses")
    with pytest.raises(openai.APIError, match="practice fault"):
        list(text_stream)
    assert len(text_stream.result.pieces) == 5 and "kept" in text_stream.result.error


def test_check_says_the_responses_api_is_there(practice_server):
    report = helpers.check(show=False)
    assert report.responses_api is True and "Responses API works" in str(report)


# --- against OpenAI's own published description (vendored for the fuzzer: tests/fuzz/) -----------------

SPEC = json.loads((Path(__file__).parent / "fuzz" / "openai-openapi.json").read_text())
SCHEMA_CASES = [
    ("practice", "write a haiku", {}),
    ("practice-thinking", "write a haiku", {}),
    ("practice-thinking+think-tags", "write a haiku", {}),
    ("practice", "What's the weather in Paris and Tokyo?", {"tools": [WEATHER_TOOL]}),
    ("practice", "tell me a long story", {"max_output_tokens": 16}),
    ("practice+error@3", "write a haiku", {"stream": True}),
    ("o4-mini", "write a haiku", {"reasoning": {"summary": "auto"}}),
    ("practice", "the answer as json", {"text": {"format": {"type": "json_object"}}}),
]


def openai_schema(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**SPEC, "$ref": f"#/components/schemas/{name}"})


@pytest.mark.parametrize("model, prompt, params", SCHEMA_CASES, ids=[f"{m}:{list(p)}" for m, _, p in SCHEMA_CASES])
def test_events_and_bodies_are_valid_against_openais_published_schema(practice_server, model, prompt, params):
    request = {"model": model, "input": prompt, **params}
    with httpx.Client(base_url=practice_server.base_url, timeout=10) as http:
        streamed = http.post("/responses", json={**request, "stream": True}).text
        events = [json.loads(block.split("data: ", 1)[1]) for block in streamed.strip().split("\n\n")]
        bodies = [] if params.get("stream") else [http.post("/responses", json=request).json()]
    for event in events:
        error = jsonschema.exceptions.best_match(openai_schema("ResponseStreamEvent").iter_errors(event))
        assert error is None, (event["type"], error.message[:300])
    for body in bodies:
        error = jsonschema.exceptions.best_match(openai_schema("Response").iter_errors(body))
        assert error is None, error.message[:300]
