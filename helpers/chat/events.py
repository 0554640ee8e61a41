"""Reading the Responses API's typed events (and whole responses) into the same StreamResult as chat chunks.

``response.output_text.delta`` is answer text, ``response.reasoning_summary_text.delta`` (OpenAI) and
``response.reasoning_text.delta`` (vLLM, Ollama) are thinking, a ``function_call`` item and its
``response.function_call_arguments.delta`` events are a tool call, and ``response.completed`` (or
``.incomplete``) brings the usage. ``response.failed`` and ``error`` events do not raise in the openai client,
so they are raised here, as an error chunk is for chat: the text so far is kept.
"""

from __future__ import annotations

import httpx
import openai
from openai.types import CompletionUsage
from openai.types.completion_usage import CompletionTokensDetails
from openai.types.responses import Response, ResponseUsage

from .result import StreamResult

THINKING_EVENTS = ("response.reasoning_summary_text.delta", "response.reasoning_text.delta")


class ResponseFailed(openai.APIError):
    """A Responses stream that ended in ``response.failed`` or an ``error`` event."""


def usage_of(usage: ResponseUsage | None) -> CompletionUsage | None:
    """The Responses usage in Chat Completions' terms, so one result type holds either."""
    if usage is None:
        return None
    details = usage.output_tokens_details
    return CompletionUsage(
        prompt_tokens=usage.input_tokens, completion_tokens=usage.output_tokens, total_tokens=usage.total_tokens,
        completion_tokens_details=CompletionTokensDetails(reasoning_tokens=details.reasoning_tokens if details else 0),
    )


def finish_reason_of(response: Response, result: StreamResult) -> str:
    if response.status == "incomplete":
        reason = response.incomplete_details.reason if response.incomplete_details else None
        return "length" if reason == "max_output_tokens" else (reason or "incomplete")
    return "tool_calls" if result.tool_calls else "stop"


class EventReader:
    """Reads one stream's events; it remembers which item each tool call's arguments belong to."""

    def __init__(self, result: StreamResult, request: httpx.Request | None = None) -> None:
        self.result = result
        self.request = request
        self.calls: dict[str, int] = {}  # item id -> tool call index

    def __call__(self, event) -> str:
        """Take in one event; return its new answer text ("" if none)."""
        result = self.result
        result.chunks += 1
        kind = event.type
        if kind == "response.output_text.delta":
            return result.add_text(event.delta)
        if kind in THINKING_EVENTS:
            result.add_thinking(event.delta)
        elif kind == "response.output_item.added" and event.item.type == "function_call":
            self.calls[event.item.id or event.item.call_id] = index = len(self.calls)
            result.add_tool_call(index, event.item.call_id, event.item.name, event.item.arguments)
        elif kind == "response.function_call_arguments.delta":
            result.add_tool_call(self.calls.get(event.item_id, 0), None, None, event.delta)
        elif kind in ("response.completed", "response.incomplete"):
            result.usage = usage_of(event.response.usage)
            result.finish_reason = finish_reason_of(event.response, result)
        elif kind in ("response.failed", "error"):
            error = event.response.error if kind == "response.failed" else event
            message = getattr(error, "message", None) or "The response failed."
            raise ResponseFailed(message, self.request, body={"message": message, "code": getattr(error, "code", None)})
        return ""


def read_response(result: StreamResult, response: Response) -> StreamResult:
    """A whole (non-streamed) response, read into a result as if it had streamed in one piece."""
    for item in response.output:
        if item.type == "reasoning":
            result.add_thinking("".join(part.text for part in item.summary) +
                                "".join(part.text for part in (item.content or [])))
        elif item.type == "function_call":
            result.add_tool_call(len(result.tool_calls), item.call_id, item.name, item.arguments)
        elif item.type == "message":
            result.add_text("".join(getattr(part, "text", "") for part in item.content))
    result.usage = usage_of(response.usage)
    result.finish_reason = finish_reason_of(response, result)
    result.chunks = 1
    result.finish()
    return result
