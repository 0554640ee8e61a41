"""Checking a Responses request (POST /v1/responses) and turning its ``input`` into a conversation.

Input items become the chat-form messages the rest of the server reads: messages stay messages,
``function_call`` items become an assistant message's tool calls, ``function_call_output`` items become
tool messages. ``previous_response_id`` puts the stored conversation in front; ``instructions`` go first
and, as OpenAI's do, apply to this response only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import structured
from .tools import Choice, Tool, check_tool_messages, parse_choice, parse_tools
from .errors import APIError, bad_request
from .store import ResponseStore
from .validation import flag, optional_int, optional_number, wrong_type, reasoning_effort

ROLES = {"user", "system", "developer", "assistant"}
TEXT_PARTS = {"input_text", "output_text", "text"}
MIN_OUTPUT_TOKENS = 16  # OpenAI's minimum for max_output_tokens


@dataclass
class ResponsesRequest:
    model: str
    messages: list[dict]  # the whole conversation: instructions, what came before, this input
    new_messages: list[dict]  # what this request adds (kept with the response)
    raw_input: Any
    instructions: str | None = None
    stream: bool = False
    store: bool = True
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    tools: list[Tool] = field(default_factory=list)
    raw_tools: list = field(default_factory=list)
    tool_choice: Choice = field(default_factory=Choice)
    raw_tool_choice: Any = "auto"
    parallel_tool_calls: bool = True
    text_format: structured.Format | None = None
    raw_text: dict = field(default_factory=lambda: {"format": {"type": "text"}})
    reasoning_effort: str | None = None
    reasoning_summary: str | None = None
    previous_response_id: str | None = None
    metadata: dict = field(default_factory=dict)


def parse_responses_request(body: dict, store: ResponseStore) -> ResponsesRequest:
    model = body.get("model")
    if not isinstance(model, str):
        raise bad_request("You must provide a model parameter.", param="model", code="missing_required_parameter") \
            if model is None else wrong_type("model", "a string", model)
    if "input" not in body:
        raise bad_request("Missing required parameter: 'input'.", param="input", code="missing_required_parameter")
    new_messages = input_messages(body["input"])
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise wrong_type("instructions", "a string", instructions)
    previous_id = body.get("previous_response_id")
    earlier = _earlier(previous_id, store)
    messages = ([{"role": "system", "content": instructions}] if instructions else []) + earlier + new_messages
    check_tool_messages(messages)
    offered = parse_tools(body.get("tools"), nested=False)
    text = body.get("text")
    if text is not None and not isinstance(text, dict):
        raise wrong_type("text", "an object", text)
    text_format = structured.parse_format((text or {}).get("format"), param="text.format", nested=False)
    structured.require_json_mentioned(text_format, messages, param="input")
    reasoning = body.get("reasoning") or {}
    if not isinstance(reasoning, dict):
        raise wrong_type("reasoning", "an object", reasoning)
    summary = reasoning.get("summary")
    if summary not in (None, "auto", "concise", "detailed"):
        raise bad_request(f"Invalid value for 'reasoning.summary': expected 'auto', 'concise' or 'detailed', "
                          f"but got {summary!r}.", param="reasoning.summary", code="invalid_value")
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise wrong_type("metadata", "an object", metadata)
    return ResponsesRequest(
        model=model, messages=messages, new_messages=new_messages, raw_input=body["input"], instructions=instructions,
        stream=flag(body, "stream"), store=flag(body, "store", default=True),
        max_output_tokens=optional_int(body, "max_output_tokens", MIN_OUTPUT_TOKENS),
        temperature=optional_number(body, "temperature", 0, 2), top_p=optional_number(body, "top_p", 0, 1),
        tools=offered, raw_tools=[{**tool, "strict": tool.get("strict", True)} for tool in body.get("tools") or []],
        tool_choice=parse_choice(body.get("tool_choice"), offered, nested=False),
        raw_tool_choice=body.get("tool_choice") or "auto",
        parallel_tool_calls=flag(body, "parallel_tool_calls", default=True),
        text_format=text_format, raw_text=text or {"format": {"type": "text"}},
        reasoning_effort=reasoning_effort(reasoning.get("effort"), "reasoning.effort"), reasoning_summary=summary,
        previous_response_id=previous_id, metadata=metadata,
    )


def _earlier(previous_id: Any, store: ResponseStore) -> list[dict]:
    if previous_id is None:
        return []
    if not isinstance(previous_id, str):
        raise wrong_type("previous_response_id", "a string", previous_id)
    stored = store.get(previous_id)
    if stored is None:
        raise APIError(404, f"Previous response with id '{previous_id}' not found.", param="previous_response_id",
                       code="previous_response_not_found")
    return [dict(m) for m in stored.messages if m.get("role") != "system"]  # its instructions do not carry over


def input_messages(value: Any) -> list[dict]:
    """``input`` as chat-form messages."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list):
        raise wrong_type("input", "a string or an array of input items", value)
    messages: list[dict] = []
    for index, item in enumerate(value):
        param = f"input[{index}]"
        if not isinstance(item, dict):
            raise wrong_type(param, "an object", item)
        kind = item.get("type", "message")
        if kind == "message":
            messages.append(_message(item, param))
        elif kind == "function_call":
            call = {"id": _text(item, "call_id", param), "type": "function",
                    "function": {"name": _text(item, "name", param), "arguments": _text(item, "arguments", param)}}
            if messages and messages[-1]["role"] == "assistant" and messages[-1].get("tool_calls"):
                messages[-1]["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": _text(item, "call_id", param),
                             "content": _text(item, "output", param)})
        elif kind != "reasoning":  # reasoning items from an earlier output are accepted and not needed
            raise bad_request(f"Invalid value for '{param}.type': the practice server accepts 'message', "
                              "'function_call', 'function_call_output' and 'reasoning' items.",
                              param=f"{param}.type", code="invalid_value")
    return messages


def _message(item: dict, param: str) -> dict:
    role = item.get("role")
    if not isinstance(role, str) or role not in ROLES:
        raise bad_request(f"Invalid value: {role!r}. Supported values for '{param}.role' are: {', '.join(sorted(ROLES))}.",
                          param=f"{param}.role", code="invalid_value")
    content = item.get("content")
    if isinstance(content, str):
        return {"role": role, "content": content}
    if not isinstance(content, list):
        raise wrong_type(f"{param}.content", "a string or an array of content parts", content)
    texts = []
    for number, part in enumerate(content):
        where = f"{param}.content[{number}]"
        if not isinstance(part, dict) or part.get("type") not in TEXT_PARTS:
            raise bad_request(f"Invalid value for '{where}': the practice server accepts only text parts "
                              "('input_text', 'output_text').", param=where, code="invalid_value")
        texts.append(_text(part, "text", where))
    return {"role": role, "content": "".join(texts)}


def _text(item: dict, name: str, param: str) -> str:
    value = item.get(name)
    if not isinstance(value, str):
        if value is None:
            raise bad_request(f"Missing required parameter: '{param}.{name}'.", param=f"{param}.{name}",
                              code="missing_required_parameter")
        raise wrong_type(f"{param}.{name}", "a string", value)
    return value
