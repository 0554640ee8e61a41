"""Function tools: checking them, deciding when the practice model calls one, and answering with the results.

The rules, which the README repeats for learners:
- ``tool_choice: "none"`` never calls; a named function is always called; ``"required"`` calls the best match.
- ``"auto"`` (the default) calls the best-matching tool, unless the last message is a tool result (then it
  answers with the results) or the prompt is one of the catalogue's own (a poem, a story, counting...).
- The best match shares the most words with the prompt (name and description); a tie goes to the first tool.
- When the prompt names several places ("weather in Paris and Tokyo") and the tool has a place parameter
  (city, location...), it makes one call per place, in parallel, unless ``parallel_tool_calls`` is false.
- Arguments are valid against the tool's JSON Schema, whatever it is, and taken from the prompt where they can be.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Sequence

from . import replies
from .schema import SchemaError, check_schema, example_value
from .errors import APIError, bad_request

NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
PLACE_PARAMETERS = ("city", "location", "place", "town", "destination")
PLACES = {  # a small gazetteer: what the prompt may say -> the place's name
    "paris": "Paris", "tokyo": "Tokyo", "london": "London", "new york": "New York", "nyc": "New York",
    "san francisco": "San Francisco", "sf": "San Francisco", "berlin": "Berlin", "madrid": "Madrid",
    "rome": "Rome", "sydney": "Sydney", "amsterdam": "Amsterdam", "lisbon": "Lisbon", "seoul": "Seoul",
    "toronto": "Toronto", "mumbai": "Mumbai", "cairo": "Cairo", "boston": "Boston", "chicago": "Chicago",
}


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict  # a JSON Schema for the arguments object


@dataclass(frozen=True)
class Choice:
    mode: str = "auto"  # "auto" | "none" | "required" | "function"
    name: str | None = None  # the function, for mode "function"


# --- checking what the client sent -------------------------------------------------------------------


def parse_tools(value: Any, *, nested: bool = True) -> list[Tool]:
    """Chat Completions nests each function (``{"type": "function", "function": {...}}``); Responses does not."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _invalid("tools", "an array of tools")
    parsed = []
    for index, tool in enumerate(value):
        param = f"tools[{index}]"
        if not isinstance(tool, dict):
            raise _invalid(param, "an object")
        if tool.get("type") != "function":
            raise bad_request(f"Invalid value for '{param}.type': the practice server supports only 'function' tools.",
                              param=f"{param}.type", code="invalid_value")
        function, where = (tool.get("function"), f"{param}.function") if nested else (tool, param)
        if not isinstance(function, dict):
            raise bad_request(f"Missing required parameter: '{where}'.", param=where, code="missing_required_parameter")
        name = function.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            raise bad_request(
                f"Invalid '{where}.name': expected a string of 1 to 64 letters, digits, underscores or dashes, "
                f"but got {name!r}.", param=f"{where}.name", code="invalid_value")
        parameters = function.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(parameters, dict):
            raise _invalid(f"{where}.parameters", "an object (a JSON Schema)")
        try:
            check_schema(parameters)
        except SchemaError as error:
            raise bad_request(f"Invalid schema for function '{name}': {error}", param=f"{where}.parameters",
                              code="invalid_function_parameters") from None
        description = function.get("description")
        parsed.append(Tool(name, description if isinstance(description, str) else "", parameters))
    if len({tool.name for tool in parsed}) < len(parsed):
        raise bad_request("Invalid 'tools': function names must be unique.", param="tools", code="invalid_value")
    return parsed


def parse_choice(value: Any, tools: Sequence[Tool], *, nested: bool = True) -> Choice:
    if value is None:
        return Choice("auto")
    if value in ("auto", "none", "required"):
        if value == "required" and not tools:
            raise bad_request("Invalid value for 'tool_choice': 'required' needs at least one tool in 'tools'.",
                              param="tool_choice", code="invalid_value")
        return Choice(value)
    named = value.get("function") if nested and isinstance(value, dict) else value
    name = named.get("name") if isinstance(named, dict) else None
    if not isinstance(value, dict) or value.get("type") != "function" or not isinstance(name, str):
        raise bad_request(
            "Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or "
            + ("{'type': 'function', 'function': {'name': ...}}." if nested else "{'type': 'function', 'name': ...}."),
            param="tool_choice", code="invalid_value")
    if name not in {tool.name for tool in tools}:
        raise bad_request(f"Invalid value for 'tool_choice': function '{name}' is not in 'tools'.",
                          param="tool_choice", code="invalid_value")
    return Choice("function", name)


def check_tool_messages(messages: Sequence[dict]) -> None:
    """Each tool message answers a call of the assistant message before it, and every call gets its answer."""
    waiting: dict[str, int] = {}  # call id -> index of the assistant message that made the call
    for index, message in enumerate(messages):
        role = message.get("role")
        if waiting and role != "tool":
            raise _unanswered(waiting)
        if role == "assistant" and message.get("tool_calls") is not None:
            waiting = {call_id: index for call_id in _call_ids(message, index)}
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str):
                raise bad_request(f"Missing required parameter: 'messages[{index}].tool_call_id'.",
                                  param=f"messages[{index}].tool_call_id", code="missing_required_parameter")
            if call_id not in waiting:
                raise bad_request(
                    f"Invalid parameter: messages with role 'tool' must be a response to a preceding message with "
                    f"'tool_calls' (no call has the id {call_id!r}).", param=f"messages[{index}].tool_call_id")
            del waiting[call_id]


def _call_ids(message: dict, index: int) -> list[str]:
    calls = message["tool_calls"]
    if not isinstance(calls, list):
        raise _invalid(f"messages[{index}].tool_calls", "an array")
    ids = []
    for number, call in enumerate(calls):
        param = f"messages[{index}].tool_calls[{number}]"
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(call, dict) or not isinstance(call.get("id"), str) or not isinstance(function, dict) \
                or not isinstance(function.get("name"), str) or not isinstance(function.get("arguments"), str):
            raise _invalid(param, "{'id': ..., 'type': 'function', 'function': {'name': ..., 'arguments': '...'}}")
        ids.append(call["id"])
    return ids


def _unanswered(waiting: dict[str, int]) -> APIError:
    index = next(iter(waiting.values()))
    return bad_request(
        "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
        f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(waiting)}",
        param=f"messages[{index}].role")


def _invalid(param: str, expected: str) -> APIError:
    return bad_request(f"Invalid type for '{param}': expected {expected}.", param=param, code="invalid_type")


# --- what the model does ---------------------------------------------------------------------------


def last_turn_is_tool_results(messages: Sequence[dict]) -> bool:
    return bool(messages) and messages[-1].get("role") == "tool"


def plan_calls(messages: Sequence[dict], tools: Sequence[Tool], choice: Choice, parallel: bool) -> list[tuple[str, str]]:
    """The calls to make, as (name, arguments JSON); [] to answer in text."""
    if not tools or choice.mode == "none":
        return []
    prompt = replies.last_user_text(messages)
    if choice.mode == "auto" and (last_turn_is_tool_results(messages) or replies.in_catalogue(prompt)):
        return []
    tool = next(t for t in tools if t.name == choice.name) if choice.name else _best_match(tools, prompt)
    place = _place_parameter(tool.parameters)
    places = _places(prompt) if place else []
    if len(places) > 1 and parallel:
        return [(tool.name, _arguments(tool, hint, place, name)) for hint, name in places]
    return [(tool.name, _arguments(tool, prompt, place, places[0][1] if places else None))]


def _arguments(tool: Tool, hint: str, place: str | None, place_name: str | None) -> str:
    arguments = example_value(tool.parameters, hint=hint)
    if place and place_name and isinstance(arguments, dict) and _plain_string(tool.parameters, place):
        arguments[place] = place_name
    return json.dumps(arguments, separators=(",", ":"), ensure_ascii=False)


def _words(text: str) -> set[str]:
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)  # getWeather -> get Weather
    return {w for w in re.findall(r"[a-z]{3,}", text.lower())} - {"get", "the", "and", "for", "with"}


def _best_match(tools: Sequence[Tool], prompt: str) -> Tool:
    asked = _words(prompt)
    scores = [len(asked & _words(f"{tool.name} {tool.description}")) for tool in tools]
    return tools[scores.index(max(scores))]


def _place_parameter(parameters: dict) -> str | None:
    properties = parameters.get("properties")
    if not isinstance(properties, dict):
        return None
    return next((name for name in properties if name.lower() in PLACE_PARAMETERS), None)


def _plain_string(parameters: dict, name: str) -> bool:
    schema = parameters["properties"][name]
    return isinstance(schema, dict) and schema.get("type") == "string" and not set(schema) & {
        "enum", "const", "pattern", "format", "maxLength", "minLength"}


def _places(prompt: str) -> list[tuple[str, str]]:
    """The places a prompt names, in order: (as written, the place's name)."""
    found = []
    for match in re.finditer(r"\b(" + "|".join(sorted(PLACES, key=len, reverse=True)) + r")\b", prompt, re.IGNORECASE):
        name = PLACES[match.group(1).lower()]
        if name not in [n for _, n in found]:
            found.append((match.group(1), name))
    return found


def answer_from_results(messages: Sequence[dict]) -> str:
    """A short answer built from the tool results at the end of the conversation."""
    calls = {}
    for message in messages:
        for call in message.get("tool_calls") or []:
            calls[call["id"]] = call["function"]
    lines = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        function = calls.get(message["tool_call_id"], {"name": "the tool", "arguments": "{}"})
        lines.insert(0, f"- {_label(function)}: {_facts(replies.message_text(message))}")
    return "Here is what I found:\n\n" + "\n".join(lines)


def _label(function: dict) -> str:
    try:
        arguments = json.loads(function["arguments"])
    except ValueError:
        arguments = None
    first = next((v for v in arguments.values() if isinstance(v, str)), None) if isinstance(arguments, dict) else None
    return f"**{first}**" if first else f"**{function['name']}**"


def _facts(content: str) -> str:
    try:
        value = json.loads(content)
    except ValueError:
        return content.strip() or "(no result)"
    if isinstance(value, dict):
        return ", ".join(f"{key.replace('_', ' ')} {item}" for key, item in value.items()) or "(no result)"
    return json.dumps(value, ensure_ascii=False)
