"""POST /v1/responses (and GET /v1/responses/{id}): the Responses API, for the same replies as chat.

The same ``Plan`` as Chat Completions, sent as OpenAI's Responses API sends it: one response object, or
typed events, each with its ``sequence_number``: ``response.created``, ``response.in_progress``, then per output
item (reasoning summary, message, function call) ``output_item.added``, its parts and deltas, ``output_item.done``,
and ``response.completed`` (or ``response.incomplete`` when max_output_tokens cut it short, ``response.failed``
for the 'error' fault). Every event and body is checked against the ``openai`` package's own types.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from typing import AsyncIterator, Callable

from openai.types.responses import Response as ResponseObject
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import incoming
from .errors import APIError
from .faults import Action
from .models import Model
from .plan import Ask, Plan, Step, plan
from .responses_request import ResponsesRequest, parse_responses_request
from .store import Stored
from .stream import DropConnection, EventStreamResponse, paced

EVENT = TypeAdapter(ResponseStreamEvent)
MARKER = "\x00piece\x00"


async def create_response(request: Request) -> Response:
    store = request.app.state.responses
    asked = parse_responses_request(await incoming.read_json(request), store)
    model = incoming.choose_model(request, asked.model)
    pace = incoming.pace(request)
    await incoming.faults_before_reply(model, asked.stream)
    reply = plan(Ask(messages=asked.messages, model=model, max_tokens=asked.max_output_tokens,
                     temperature=asked.temperature, tools=asked.tools, tool_choice=asked.tool_choice,
                     parallel_tool_calls=asked.parallel_tool_calls, response_format=asked.text_format,
                     reasoning_effort=asked.reasoning_effort))
    shape = Shape(asked, model, reply)
    if asked.store:
        store.put(shape.id, Stored(asked.messages + shape.output_messages(), shape.body(shape.final_status)))
    if asked.stream:
        return EventStreamResponse(paced(shape.events(), pace), request.app.state.stats)
    return incoming.reply_or_drop(model, shape.body(shape.final_status))


async def retrieve_response(request: Request) -> Response:
    incoming.check_key(request)
    response_id = request.path_params["response_id"]
    stored = request.app.state.responses.get(response_id)
    if stored is None:
        raise APIError(404, f"Response with id '{response_id}' not found.", param="response_id", code="not_found")
    return JSONResponse(stored.body)


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


class Shape:
    """One planned reply in the Responses API's shape: its output items, its body and its events."""

    def __init__(self, asked: ResponsesRequest, model: Model, reply: Plan) -> None:
        self.asked, self.model, self.reply = asked, model, reply
        self.id = _id("resp")
        self.created = time.time()
        self.show_thinking = bool(reply.thinking) and not reply.think_tags and (
            model.dialect != "hidden" or asked.reasoning_summary is not None)
        self.reasoning_id, self.message_id = _id("rs"), _id("msg")
        self.call_ids = [_id("fc") for _ in reply.tool_calls]
        self.final_status = "incomplete" if reply.finish_reason == "length" else "completed"

    # --- the items ---

    def _reasoning_item(self, done: bool) -> dict:
        summary = [{"type": "summary_text", "text": "".join(self.reply.thinking)}] if done and self.show_thinking else []
        return {"id": self.reasoning_id, "type": "reasoning", "summary": summary}

    def _message_item(self, text: str | None, done: bool) -> dict:
        content = [] if text is None else [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
        return {"id": self.message_id, "type": "message", "role": "assistant",
                "status": "completed" if done else "in_progress", "content": content}

    def _call_item(self, index: int, done: bool) -> dict:
        call = self.reply.tool_calls[index]
        return {"id": self.call_ids[index], "type": "function_call", "call_id": call.id, "name": call.name,
                "arguments": call.arguments if done else "", "status": "completed" if done else "in_progress"}

    def output(self) -> list[dict]:
        return [item.done for item in self._items()]

    def output_messages(self) -> list[dict]:
        """The output as chat-form messages, for the conversation a later previous_response_id continues."""
        if self.reply.tool_calls:
            return [{"role": "assistant", "content": None, "tool_calls": [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in self.reply.tool_calls]}]
        return [{"role": "assistant", "content": self.reply.visible_text()}]

    # --- the response object ---

    def body(self, status: str, output: list[dict] | None = None, error: dict | None = None) -> dict:
        done = status != "in_progress"
        reasoning_tokens = len(self.reply.thinking)
        usage = {
            "input_tokens": self.reply.prompt_tokens, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": self.reply.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": self.reply.prompt_tokens + self.reply.completion_tokens,
        }
        body = {
            "id": self.id, "object": "response", "created_at": self.created, "status": status,
            "completed_at": time.time() if status == "completed" else None,
            "error": error, "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
            "instructions": self.asked.instructions, "max_output_tokens": self.asked.max_output_tokens,
            "model": self.model.name, "output": self.output() if output is None else output,
            "parallel_tool_calls": self.asked.parallel_tool_calls,
            "previous_response_id": self.asked.previous_response_id,
            "reasoning": {"effort": self.asked.reasoning_effort, "summary": self.asked.reasoning_summary},
            "store": self.asked.store, "temperature": self.asked.temperature, "text": self.asked.raw_text,
            "tool_choice": self.asked.raw_tool_choice, "tools": self.asked.raw_tools, "top_p": self.asked.top_p,
            "truncation": "disabled", "metadata": self.asked.metadata,
        }
        if done:  # OpenAI's description has no null usage: the key is left out until there is one
            body["usage"] = usage
        ResponseObject.model_validate(body)  # the real API's own type: the shape cannot drift
        return body

    # --- the events ---

    async def events(self) -> AsyncIterator[bytes]:
        sent = _Sequence()
        yield sent.event({"type": "response.created", "response": self.body("in_progress", [])})
        yield sent.event({"type": "response.in_progress", "response": self.body("in_progress", [])})
        steps, index, done = list(self.reply.steps()), 0, []
        fault = self.model.fault
        for item in self._items():
            for event in item.opening:
                yield sent.event(event)
            while True:
                action = fault.action_at(index, len(steps)) if fault is not None else None
                if action is not None and await _act(action, fault.seconds):
                    failed = self.body("failed", done, {"code": "server_error", "message": FAILED})
                    yield sent.event({"type": "response.failed", "response": failed})
                    return
                if index == len(steps) or not item.takes(steps[index]):
                    break
                yield sent.delta(self, steps[index], item.output_index)
                index += 1
            for event in item.closing:
                yield sent.event(event)
            done.append(item.done)
        kind = "response.incomplete" if self.final_status == "incomplete" else "response.completed"
        yield sent.event({"type": kind, "response": self.body(self.final_status, done)})

    def _items(self) -> list[_Item]:
        """The output items in order, each with the events that open and close it and the steps it streams."""
        items: list[_Item] = []
        if self.reply.thinking and not self.reply.think_tags:
            items.append(self._reasoning(len(items)))
        if not self.reply.tool_calls or (self.reply.think_tags and self.reply.thinking):
            items.append(self._message(len(items)))  # with think-tags, the tagged thinking is message text
        items += [self._call(len(items) + i, i) for i in range(len(self.reply.tool_calls))]
        return items

    def _reasoning(self, at: int) -> _Item:
        item, text = self._reasoning_item(True), "".join(self.reply.thinking)
        opening = [{"type": "response.output_item.added", "output_index": at, "item": self._reasoning_item(False)}]
        closing = [{"type": "response.output_item.done", "output_index": at, "item": item}]
        if self.show_thinking:
            common = {"item_id": self.reasoning_id, "output_index": at, "summary_index": 0}
            opening.append({"type": "response.reasoning_summary_part.added", **common,
                            "part": {"type": "summary_text", "text": ""}})
            closing[:0] = [{"type": "response.reasoning_summary_text.done", **common, "text": text},
                           {"type": "response.reasoning_summary_part.done", **common,
                            "part": {"type": "summary_text", "text": text}}]
        return _Item(at, lambda step: step.kind == "thinking", opening, closing, item)

    def _message(self, at: int) -> _Item:
        text = self.reply.visible_text()
        item = self._message_item(text, True)
        common = {"item_id": self.message_id, "output_index": at, "content_index": 0}
        opening = [{"type": "response.output_item.added", "output_index": at, "item": self._message_item(None, False)},
                   {"type": "response.content_part.added", **common,
                    "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}]
        closing = [{"type": "response.output_text.done", **common, "text": text, "logprobs": []},
                   {"type": "response.content_part.done", **common,
                    "part": {"type": "output_text", "text": text, "annotations": [], "logprobs": []}},
                   {"type": "response.output_item.done", "output_index": at, "item": item}]
        return _Item(at, lambda step: step.kind == "text", opening, closing, item)

    def _call(self, at: int, index: int) -> _Item:
        item = self._call_item(index, True)
        opening = [{"type": "response.output_item.added", "output_index": at, "item": self._call_item(index, False)}]
        closing = [{"type": "response.function_call_arguments.done", "item_id": self.call_ids[index],
                    "output_index": at, "name": item["name"], "arguments": item["arguments"]},
                   {"type": "response.output_item.done", "output_index": at, "item": item}]
        return _Item(at, lambda step: step.kind == "arguments" and step.call == index, opening, closing, item)


@dataclass
class _Item:
    output_index: int
    takes: Callable[[Step], bool]  # whether a step streams into this item
    opening: list[dict]
    closing: list[dict]
    done: dict  # the finished item, as response.output holds it


FAILED = "The model stopped with an error in the middle of the response (practice fault)."


async def _act(action: Action, seconds: float) -> bool:
    """Carry out a fault in the middle of a stream; True when the response fails there."""
    if action is Action.DROP:
        raise DropConnection()
    if action is Action.PAUSE:
        await asyncio.sleep(seconds)
        return False
    return True


class _Sequence:
    """Numbers the events and writes them as server-sent events (``event: <type>`` and ``data: <json>``).
    Delta events differ only in their text and number: each kind is built (and checked) once, then filled in."""

    def __init__(self) -> None:
        self.number = 0
        self.templates: dict[tuple, tuple[bytes, bytes, bytes]] = {}

    def event(self, data: dict) -> bytes:
        data = {**data, "sequence_number": self.number}
        EVENT.validate_python(data)  # the real API's own types: the shape cannot drift
        self.number += 1
        return f"event: {data['type']}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()

    def delta(self, shape: Shape, step, at: int) -> bytes:
        if step.kind == "thinking" and not shape.show_thinking:
            return b""  # hidden thinking takes its time but sends nothing
        key = (step.kind, step.call, at)
        if key not in self.templates:
            if step.kind == "thinking":
                data = {"type": "response.reasoning_summary_text.delta", "item_id": shape.reasoning_id,
                        "output_index": at, "summary_index": 0, "delta": MARKER}
            elif step.kind == "arguments":
                data = {"type": "response.function_call_arguments.delta", "item_id": shape.call_ids[step.call],
                        "output_index": at, "delta": MARKER}
            else:
                data = {"type": "response.output_text.delta", "item_id": shape.message_id, "output_index": at,
                        "content_index": 0, "delta": MARKER, "logprobs": []}
            EVENT.validate_python({**data, "sequence_number": 0})
            text = f"event: {data['type']}\ndata: " + json.dumps({**data, "sequence_number": -7}, separators=(",", ":"))
            head, rest = text.encode().split(json.dumps(MARKER).encode())
            middle, tail = rest.split(b"-7")
            self.templates[key] = (head, middle, tail + b"\n\n")
        head, middle, tail = self.templates[key]
        number = self.number
        self.number += 1
        return head + json.dumps(step.text).encode() + middle + str(number).encode() + tail
