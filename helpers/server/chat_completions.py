"""POST /v1/chat/completions: the request checked, the reply planned, and sent as one body or as chunks.

Streamed, the chunks follow OpenAI's: a role chunk, then one chunk per piece (thinking in the model's dialect,
answer text, or a fragment of a tool call's arguments, each call opened by a chunk with its index, id, type and
name), a chunk with the finish reason, the usage chunk if asked for, and ``[DONE]``. Every chunk is checked
against the ``openai`` package's own ``ChatCompletionChunk`` type, so the shape cannot drift.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import AsyncIterator, Callable

from openai.types.chat import ChatCompletion, ChatCompletionChunk
from starlette.requests import Request
from starlette.responses import Response

from . import errors, incoming
from .faults import Action, Fault
from .models import Model
from .plan import Ask, Plan, Step, plan
from .stream import DropConnection, EventStreamResponse, paced, sse
from .validation import ChatRequest, parse_chat_request

MARKER = "\x00piece\x00"  # a stand-in for a piece of text while a chunk template is built


async def chat_completions(request: Request) -> Response:
    chat = parse_chat_request(await incoming.read_json(request))
    model = incoming.choose_model(request, chat.model)
    check_reasoning_model_params(chat, model)
    pace = incoming.pace(request)
    await incoming.faults_before_reply(model, chat.stream)
    reply = plan(ask(chat, model))
    if chat.stream:
        return EventStreamResponse(paced(chunks(chat, model, reply), pace), request.app.state.stats)
    return incoming.reply_or_drop(model, completion(model, reply))


def ask(chat: ChatRequest, model: Model) -> Ask:
    return Ask(
        messages=chat.messages, model=model,
        max_tokens=chat.max_completion_tokens if chat.max_completion_tokens is not None else chat.max_tokens,
        stop=chat.stop, temperature=chat.temperature, seed=chat.seed, tools=chat.tools, tool_choice=chat.tool_choice,
        parallel_tool_calls=chat.parallel_tool_calls, response_format=chat.response_format,
        reasoning_effort=chat.reasoning_effort,
    )


def check_reasoning_model_params(chat: ChatRequest, model: Model) -> None:
    """OpenAI's reasoning models refuse max_tokens and any temperature but 1; so does their practice namesake."""
    if not model.openai_reasoning:
        return
    if chat.max_tokens is not None:
        raise errors.bad_request(
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' "
            "instead.", param="max_tokens", code="unsupported_parameter")
    if chat.temperature is not None and chat.temperature != 1:
        raise errors.bad_request(
            f"Unsupported value: 'temperature' does not support {chat.temperature:g} with this model. Only the default "
            "(1) value is supported.", param="temperature", code="unsupported_value")


def usage(reply: Plan) -> dict:
    completion = reply.completion_tokens
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": reply.prompt_tokens + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": len(reply.thinking), "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }


def _message(model: Model, reply: Plan) -> dict:
    content = reply.visible_text()
    message: dict = {"role": "assistant", "content": content or (None if reply.tool_calls else ""), "refusal": None}
    if reply.thinking and model.dialect in ("reasoning_content", "reasoning"):
        message[model.dialect] = "".join(reply.thinking)
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in reply.tool_calls
        ]
    return message


def _head(model: Model) -> dict:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "created": int(time.time()),
        "model": model.name,
        "system_fingerprint": "fp_practice",
    }


def completion(model: Model, reply: Plan) -> dict:
    body = {
        **_head(model),
        "object": "chat.completion",
        "choices": [{"index": 0, "message": _message(model, reply), "logprobs": None, "finish_reason": reply.finish_reason}],
        "usage": usage(reply),
    }
    ChatCompletion.model_validate(body)  # the real API's own type: the shape cannot drift
    return body


async def chunks(chat: ChatRequest, model: Model, reply: Plan) -> AsyncIterator[bytes]:
    """The SSE events of one streamed reply."""
    base = {**_head(model), "object": "chat.completion.chunk"}
    if chat.include_usage:
        base["usage"] = None  # OpenAI sends usage: null on every chunk but the last

    def chunk(delta: dict, finish: str | None = None) -> bytes:
        data = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        ChatCompletionChunk.model_validate(data)  # the real API's own type: the shape cannot drift
        return sse(data)

    render = _PieceChunks(chunk, model.dialect)
    steps = list(reply.steps())
    opened: set[int] = set()
    first = steps[0] if steps else None
    if first is not None and first.kind == "arguments":  # a reply that is only tool calls opens with the first
        opened.add(0)
        yield chunk({"role": "assistant", "content": None, "tool_calls": [_call_head(reply, 0)], "refusal": None})
    else:
        yield chunk({"role": "assistant", "content": "", "refusal": None})
    fault = model.fault
    for index in range(len(steps) + 1):
        action = fault.action_at(index, len(steps)) if fault is not None else None
        if action is not None:
            ending = await _act(action, fault)
            if ending is not None:
                yield ending
                return
        if index == len(steps):
            break
        step = steps[index]
        if step.kind == "arguments" and step.call not in opened:
            opened.add(step.call)
            yield chunk({"tool_calls": [_call_head(reply, step.call)]})
        yield render(step)
    yield chunk({}, reply.finish_reason)
    if chat.include_usage:
        data = {**base, "choices": [], "usage": usage(reply)}
        ChatCompletionChunk.model_validate(data)
        yield sse(data)
    yield b"data: [DONE]\n\n"


async def _act(action: Action, fault: Fault) -> bytes | None:
    """Carry out a fault in the middle of a stream; the event that ends the stream, if it ends."""
    if action is Action.ERROR:
        return sse(errors.in_stream_error())
    if action is Action.DROP:
        raise DropConnection()
    await asyncio.sleep(fault.seconds)
    return None


def _call_head(reply: Plan, index: int) -> dict:
    call = reply.tool_calls[index]
    return {"index": index, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}


class _PieceChunks:
    """Chunks for pieces. They differ only in their text: each kind's chunk is built (and checked) once, then
    filled in, which keeps a long stream cheap. Hidden thinking takes its time but sends nothing."""

    def __init__(self, chunk: Callable[[dict], bytes], dialect: str | None) -> None:
        self.chunk = chunk
        self.dialect = dialect
        self.templates: dict[tuple[str, int], tuple[bytes, bytes]] = {}

    def _delta(self, step: Step) -> dict:
        if step.kind == "thinking":
            return {self.dialect: MARKER}
        if step.kind == "arguments":
            return {"tool_calls": [{"index": step.call, "function": {"arguments": MARKER}}]}
        return {"content": MARKER}

    def __call__(self, step: Step) -> bytes:
        if step.kind == "thinking" and self.dialect == "hidden":
            return b""
        key = (step.kind, step.call)
        if key not in self.templates:
            head, tail = self.chunk(self._delta(step)).split(json.dumps(MARKER).encode())
            self.templates[key] = (head, tail)
        head, tail = self.templates[key]
        return head + json.dumps(step.text).encode() + tail
