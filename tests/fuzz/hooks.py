"""Schemathesis hooks for fuzzing the practice server (loaded with SCHEMATHESIS_HOOKS=tests/fuzz/hooks.py).

Checks beyond schemathesis's own:
- openai_error_body: every 4xx and 5xx answers OpenAI's error shape, {"error": {"message", "type", "param", "code"}},
  with a message that says something, as the openai package and the helpers expect.
- event_stream_well_formed: a streamed reply is server-sent events, every event's data a JSON object, ending as
  its API ends a stream (Chat Completions: "data: [DONE]"; Responses: a response.completed or .incomplete event
  whose "event:" names its type), with no error event inside it (schemathesis checks each chunk against OpenAI's
  schema for it; this checks the framing around the chunks, which the schema cannot describe).

OpenAI's description, as loaded:
- A streamed reply's schema describes the JSON in each event's "data" (OpenAI's convention: OpenAPI 3.1 has no
  way to say so), and the last event is "data: [DONE]", which the description leaves out. Schemathesis reads a
  3.1 stream schema as describing each event object ({"data", "event", "id"}), so before loading, each stream
  schema is restated in OpenAPI 3.2's words for what OpenAI means: an itemSchema whose "data" is "[DONE]" or
  JSON (contentMediaType) valid against OpenAI's schema (contentSchema). Every chunk is checked that way.

Generation:
- One request body in ten has one of its strings changed: to end with a lone surrogate (JSON's "\\ud800", which
  schemathesis, generating UTF-8 text, never sends by itself; see json_with_lone_surrogates), or to a long run of a word the practice server's
  replies look for (a fuzzer's dictionary).
- Half of the chat requests that do not ask to stream are streamed: OpenAI's schema makes "stream" one optional
  field among thirty, so without this few streamed replies would be checked (and "stream_options" would mostly
  come without it, which OpenAI refuses too).
- A body with "stream_options" but not "stream" is streamed (every phase; see before_call).
- A request whose model name asks for a practice fault that fails on purpose ("practice+500", "+stall=60", ...)
  is not sent: it would be answered as asked, which is the fault's job, not a bug. Nor is a path parameter over
  8 KiB (see filter_case).
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

import schemathesis
from hypothesis import strategies as st

DELIBERATE_FAULT = re.compile(r"\+\s*(500|503|stall|disconnect|error)", re.IGNORECASE)
# JSON can spell half of a UTF-16 pair ("\ud800"); schemathesis generates UTF-8 text only, so it never sends one by
# itself. The body holds a stand-in (a private-use character), which the JSON serializer below turns into a lone
# surrogate on the wire: a real one in the body would break schemathesis's own checks of the body.
SURROGATE_STAND_IN = "\U0010fffd"
STAND_IN_ESCAPED = b"\\udbff\\udffd"  # how json.dumps spells the stand-in
LONE_SURROGATE_ESCAPED = b"\\ud800"
MAX_PATH_PARAMETER = 8192
# Words the practice server's replies look for (helpers/server/replies.py), as a fuzzer's dictionary: a long run of
# one of them is what made a pattern there take quadratic time.
PROMPT_WORDS = ["poem", "tree", "trees", "haiku", "long story", "count to 7", "my name is", "what is my name",
                "say this is a test", "hello", "capital of France", "say ok"]


def _event_schema(chunk_schema: dict) -> dict:
    """One server-sent event whose data is "[DONE]" or JSON valid against chunk_schema (OpenAPI 3.2 words)."""
    data_is_json = {"contentMediaType": "application/json", "contentSchema": chunk_schema}
    return {
        "type": "object",
        "required": ["data"],
        "properties": {"data": {"if": {"const": "[DONE]"}, "then": {}, "else": data_is_json}},
    }


@schemathesis.hook
def before_load_schema(context: schemathesis.HookContext, raw_schema: dict) -> None:
    for path_item in raw_schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for response in operation.get("responses", {}).values():
                for media_type, content in response.get("content", {}).items():
                    if media_type.startswith("text/event-stream") and "schema" in content:
                        content["itemSchema"] = _event_schema(content.pop("schema"))


def _string_paths(value: Any, path: tuple = ()) -> list[tuple]:
    """Where the strings are in a JSON value (keys, then indexes)."""
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _string_paths(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _string_paths(item, (*path, index))]
    return []


def _replaced(value: Any, path: tuple, new: str) -> Any:
    """A copy of value with the string at path replaced."""
    if not path:
        return new
    head, *rest = path
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = _replaced(value[head], tuple(rest), new)
    return copy


def _mutated(body: Any, paths: list[tuple], rng: random.Random) -> Any:
    """One body in ten gets one of its strings changed: half of them end with a lone surrogate, half become a long
    run of one of the practice server's prompt words."""
    dice = rng.random()
    if not paths or dice >= 0.1:
        return body
    path = rng.choice(paths)
    old = body
    for key in path:
        old = old[key]
    new = old + SURROGATE_STAND_IN if dice < 0.05 else (rng.choice(PROMPT_WORDS) + " ") * rng.randint(1_000, 40_000)
    return _replaced(body, path, new)


@schemathesis.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy:
    if context.operation is None or context.operation.method.upper() != "POST" or not isinstance(body, dict):
        return st.just(body)
    not_streamed = body.get("stream") in (None, False)  # absent, null or false: not a negative case about "stream"
    bodies = st.sampled_from([body, {**body, "stream": True}]) if not_streamed else st.just(body)
    paths = _string_paths(body)
    # A true random (seeded by Hypothesis): Hypothesis's own draws favour 0 and small values, so a dice drawn with
    # st.integers, or st.randoms' default, would come up "mutate" far more often than one time in ten.
    return st.tuples(bodies, st.randoms(use_true_random=True)).map(lambda drawn: _mutated(drawn[0], paths, drawn[1]))


@schemathesis.serializer("application/json")
def json_with_lone_surrogates(_context: Any, value: Any) -> bytes:
    """JSON as schemathesis sends it (ASCII, escapes for the rest), with each stand-in spelled as a lone surrogate."""
    if isinstance(value, bytes):
        return value
    return json.dumps(value, default=str).encode().replace(STAND_IN_ESCAPED, LONE_SURROGATE_ESCAPED)


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: schemathesis.Case, kwargs: dict) -> None:
    """Every phase: "stream_options" without "stream" is refused (by OpenAI too) before the rest of the body is read,
    and the coverage phase's base body has both ("stream": null, "stream_options": {}): every variant of it would
    get that one 400, so the body is sent streamed, and each variant reaches the field it is about."""
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("stream_options"), dict) and body.get("stream") in (None, False):
        case.body = {**body, "stream": True}


@schemathesis.hook
def filter_case(context: schemathesis.HookContext, case: schemathesis.Case) -> bool:
    body = case.body
    model = body.get("model") if isinstance(body, dict) else None
    if isinstance(model, str) and DELIBERATE_FAULT.search(model):
        return False
    # uvicorn refuses a request line over 64 KiB itself, in plain text ("Invalid HTTP request received."), before
    # the app sees it: not an answer of the practice server's, and no client builds such a URL. (A long model name,
    # echoed in a reply, can come back as a path parameter.)
    return all(len(str(value)) <= MAX_PATH_PARAMETER for value in (case.path_parameters or {}).values())


def _is_nullable_string(value: Any) -> bool:
    return value is None or isinstance(value, str)


@schemathesis.check
def openai_error_body(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"A {response.status_code} whose body is not JSON: {response.content[:200]!r}") from None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or set(error) != {"message", "type", "param", "code"}:
        raise AssertionError(
            f'A {response.status_code} whose body is not {{"error": {{"message", "type", "param", "code"}}}}: '
            f"{response.content[:300]!r}"
        )
    if not isinstance(error["message"], str) or not error["message"].strip():
        raise AssertionError(f"A {response.status_code} with no message: {error!r}")
    if not isinstance(error["type"], str) or not error["type"]:
        raise AssertionError(f"A {response.status_code} with no type: {error!r}")
    if not _is_nullable_string(error["param"]) or not _is_nullable_string(error["code"]):
        raise AssertionError(f"A {response.status_code} whose param or code is neither a string nor null: {error!r}")
    return None


# How each API ends a stream: Chat Completions with "data: [DONE]"; the Responses API with a last event of its own.
RESPONSES_LAST_EVENTS = {"response.completed", "response.incomplete"}


def _events(text: str) -> list[tuple[str | None, str]]:
    """(event name, data) of each server-sent event; an event's fields are "event:" and "data:" lines."""
    parsed = []
    for block in text.split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
            else:
                raise AssertionError(f"A line that is neither 'event:' nor 'data:': {line[:200]!r}")
        parsed.append((name, "\n".join(data)))
    return parsed


@schemathesis.check
def event_stream_well_formed(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    content_type = (response.headers.get("content-type") or [""])[0]
    if not content_type.startswith("text/event-stream"):
        return None
    text = response.content.decode("utf-8")
    if not text.endswith("\n\n"):
        raise AssertionError(f"The stream does not end with a blank line: {text[-200:]!r}")
    events = _events(text[:-2])
    chat = case.operation.path.endswith("/chat/completions")
    if not getattr(response, "stream_cut_short", False):  # read up to max-stream-events: the end is not there yet
        if chat and events[-1][1] != "[DONE]":
            raise AssertionError(f"The stream does not end with 'data: [DONE]': {events[-1][1][:200]!r}")
        if not chat and events[-1][0] not in RESPONSES_LAST_EVENTS:
            raise AssertionError(f"The stream does not end with {' or '.join(sorted(RESPONSES_LAST_EVENTS))}: "
                                 f"{events[-1][0]!r}")
    for name, data in events:
        if data == "[DONE]" and chat:
            continue
        payload = json.loads(data)
        if not isinstance(payload, dict):
            raise AssertionError(f"An event whose data is not a JSON object: {data[:200]!r}")
        if payload.get("error") or payload.get("type") == "error" or name == "error":
            raise AssertionError(f"An error event inside the stream: {data[:300]!r}")
        if name is not None and payload.get("type") != name:
            raise AssertionError(f"An event named {name!r} whose data's type is {payload.get('type')!r}")
    return None
