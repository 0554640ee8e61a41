"""Checking a chat completion request body, with OpenAI-style messages for each mistake. Its checks of one
field (`flag`, `optional_int`, `optional_number`, `wrong_type`) serve responses_request.py too."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from . import structured, thinking
from .tools import Choice, Tool, check_tool_messages, parse_choice, parse_tools
from .errors import APIError, bad_request

ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
MAX_STOP_SEQUENCES = 4


@dataclass
class ChatRequest:
    model: str
    messages: list[dict]
    stream: bool = False
    include_usage: bool = False
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    stop: list[str] = field(default_factory=list)
    temperature: float | None = None
    seed: int | None = None
    tools: list[Tool] = field(default_factory=list)
    tool_choice: Choice = field(default_factory=Choice)
    parallel_tool_calls: bool = True
    response_format: structured.Format | None = None
    reasoning_effort: str | None = None


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def wrong_type(param: str, expected: str, value: Any) -> APIError:
    return bad_request(
        f"Invalid type for '{param}': expected {expected}, but got {_type_name(value)} instead.",
        param=param,
        code="invalid_type",
    )


def parse_json(raw: bytes) -> dict:
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as error:  # RecursionError: absurdly deep nesting
        raise bad_request(
            f"We could not parse the JSON body of your request ({error}). "
            "The body should be a JSON object; check quotes, commas and brackets."
        ) from None
    if not isinstance(body, dict):
        raise bad_request(f"The request body must be a JSON object, but got {_type_name(body)}.")
    _refuse_lone_surrogates(body)
    return body


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads joins a valid pair into one character


def _lone_surrogate_at(body: dict) -> str | None:
    """Where a lone surrogate is: the path of its string, or of the object one of whose keys holds it.
    A loop, not recursion: the body may be nested as deep as the JSON parser allows."""
    pending: list[tuple[str, Any]] = [("", body)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if _LONE_SURROGATE.search(value):
                return path
        elif isinstance(value, dict):
            for key, item in value.items():
                if _LONE_SURROGATE.search(key):
                    return path
                pending.append((f"{path}.{key}" if path else key, item))
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
    return None


def _refuse_lone_surrogates(body: dict) -> None:
    """JSON can spell half of a UTF-16 pair (\\ud800), which is no character and which UTF-8 cannot encode:
    refused here with a 400, rather than echoed into a reply that then fails to encode (a 500)."""
    param = _lone_surrogate_at(body)
    if param is not None:
        raise bad_request(
            f"Invalid Unicode in '{param or 'the body'}': it holds a lone surrogate (an escape such as \\ud800 "
            "without its pair), which is not a character. Send the text as UTF-8, or escape a character outside "
            "the Basic Multilingual Plane as a pair (\\ud83d\\ude00).",
            param=param or None,
            code="invalid_value",
        )


def _check_content(index: int, message: dict) -> None:
    param = f"messages[{index}].content"
    content = message.get("content")
    if content is None:
        if message["role"] in ("assistant", "tool", "function"):
            return
        raise bad_request(f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise wrong_type(param, "a string or an array of content parts", content)
    for part_index, part in enumerate(content):
        part_param = f"{param}[{part_index}]"
        if not isinstance(part, dict):
            raise wrong_type(part_param, "an object", part)
        if part.get("type") != "text":
            raise bad_request(
                f"Invalid value for '{part_param}.type': the practice server accepts only 'text' parts.",
                param=f"{part_param}.type",
                code="invalid_value",
            )
        if not isinstance(part.get("text"), str):
            raise wrong_type(f"{part_param}.text", "a string", part.get("text"))


def _check_messages(messages: Any) -> list[dict]:
    if messages is None:
        raise bad_request("Missing required parameter: 'messages'.", param="messages", code="missing_required_parameter")
    if not isinstance(messages, list):
        raise wrong_type("messages", "an array", messages)
    if not messages:
        raise bad_request(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            param="messages",
            code="empty_array",
        )
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise wrong_type(f"messages[{index}]", "an object", message)
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:
            raise bad_request(
                f"Invalid value: {role!r}. Supported values for 'messages[{index}].role' are: "
                f"{', '.join(sorted(ROLES))}.",
                param=f"messages[{index}].role",
                code="invalid_value",
            )
        _check_content(index, message)
    return messages


def optional_int(body: dict, name: str, minimum: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON has one number type: 1.0 is an integer, as JSON Schema says
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type(name, "an integer", value)
    if value < minimum:
        raise bad_request(
            f"Invalid '{name}': integer below minimum value. Expected a value >= {minimum}, but got {value} instead.",
            param=name,
            code="integer_below_min_value",
        )
    return value


def optional_number(body: dict, name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise wrong_type(name, "a number", value)
    if not low <= value <= high:
        raise bad_request(
            f"Invalid '{name}': expected a value between {low:g} and {high:g}, but got {value} instead.",
            param=name,
            code="invalid_value",
        )
    return value


def _stop_sequences(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise wrong_type("stop", "a string or an array of strings", value)
    if len(value) > MAX_STOP_SEQUENCES:
        raise bad_request(
            f"Invalid 'stop': at most {MAX_STOP_SEQUENCES} stop sequences are allowed, but got {len(value)}.",
            param="stop",
        )
    return value


def flag(body: dict, name: str, default: bool = False) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise wrong_type(name, "a boolean", value)
    return value


def parse_chat_request(body: dict) -> ChatRequest:
    """Check every field the practice server uses; unknown fields are ignored, as many servers do."""
    model = body.get("model")
    if model is None:
        raise bad_request("You must provide a model parameter.", param="model", code="missing_required_parameter")
    if not isinstance(model, str):
        raise wrong_type("model", "a string", model)
    messages = _check_messages(body.get("messages"))
    stream = flag(body, "stream")
    stream_options = body.get("stream_options")
    include_usage = False
    if stream_options is not None:
        if not isinstance(stream_options, dict):
            raise wrong_type("stream_options", "an object", stream_options)
        if not stream:
            raise bad_request(
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.", param="stream_options"
            )
        include_usage = flag(stream_options, "include_usage")
    max_tokens = optional_int(body, "max_tokens", 1)
    max_completion_tokens = optional_int(body, "max_completion_tokens", 1)
    n = optional_int(body, "n", 1)
    if n is not None and n > 1:
        raise bad_request(
            f"Invalid 'n': the practice server makes one choice per request, but got n={n}. Leave n out or use 1.",
            param="n",
            code="unsupported_value",
        )
    temperature = optional_number(body, "temperature", 0, 2)
    optional_number(body, "top_p", 0, 1)
    optional_number(body, "presence_penalty", -2, 2)
    optional_number(body, "frequency_penalty", -2, 2)
    offered = parse_tools(body.get("tools"))
    check_tool_messages(messages)
    response_format = structured.parse_format(body.get("response_format"))
    structured.require_json_mentioned(response_format, messages)
    return ChatRequest(
        model=model,
        messages=messages,
        stream=stream,
        include_usage=include_usage,
        max_tokens=max_tokens,
        max_completion_tokens=max_completion_tokens,
        stop=_stop_sequences(body.get("stop")),
        temperature=temperature,
        seed=optional_int(body, "seed", -(2**63)),
        tools=offered,
        tool_choice=parse_choice(body.get("tool_choice"), offered),
        parallel_tool_calls=flag(body, "parallel_tool_calls", default=True),
        response_format=response_format,
        reasoning_effort=reasoning_effort(body.get("reasoning_effort")),
    )


def reasoning_effort(value: Any, param: str = "reasoning_effort") -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise wrong_type(param, "a string", value)
    if value in thinking.SENTENCES:
        return value
    raise bad_request(
        f"Invalid value for '{param}': expected one of {', '.join(thinking.SENTENCES)}, but got {value!r}.",
        param=param, code="invalid_value")
