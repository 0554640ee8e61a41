"""Reading Chat Completions chunks (and non-streamed messages) into a StreamResult.

Real servers differ, and this copes with all of them: chunks with no choices (the usage chunk), ``content``
of None, ``role`` on every chunk, the finish reason on the last content chunk, no usage at all, and the
thinking of reasoning models in any of three dialects: ``delta.reasoning_content`` (llama.cpp, DeepSeek,
vLLM before 0.11), ``delta.reasoning`` (Ollama, OpenRouter, vLLM from 0.11), or ``<think>…</think>`` inline
in the content (a server without a reasoning parser). Tool calls arrive in pieces and are put together by index.
"""

from __future__ import annotations

from typing import Any

from openai.types.chat import ChatCompletion, ChatCompletionChunk

from .result import StreamResult

REASONING_FIELDS = ("reasoning_content", "reasoning")  # the first one present wins: some servers send both


def reasoning_of(delta_or_message: Any) -> str:
    """The thinking a delta or message carries in a field of its own, whichever the server uses. The openai
    types do not declare these fields, so they are among the model's extra fields (looked up there directly:
    a missing attribute costs an exception, on every chunk)."""
    extra = getattr(delta_or_message, "__pydantic_extra__", None)
    if not extra:
        return ""
    for name in REASONING_FIELDS:
        value = extra.get(name)
        if isinstance(value, str) and value:
            return value
    return ""


def read_chunk(result: StreamResult, chunk: ChatCompletionChunk) -> str:
    """Take in one chunk; return its new answer text ("" if none)."""
    result.chunks += 1
    if chunk.usage is not None:
        result.usage = chunk.usage
    if not chunk.choices:  # the usage chunk, or a keep-alive
        return ""
    choice = chunk.choices[0]
    if choice.finish_reason:
        result.finish_reason = choice.finish_reason
    delta = choice.delta
    if delta is None:
        return ""
    result.add_thinking(reasoning_of(delta))
    for position, call in enumerate(delta.tool_calls or []):
        function = call.function
        result.add_tool_call(call.index if call.index is not None else position, call.id,
                             function.name if function else None, function.arguments if function else None)
    return result.add_text(delta.content) if delta.content else ""


def read_completion(result: StreamResult, response: ChatCompletion) -> StreamResult:
    """A whole (non-streamed) reply, read into a result as if it had streamed in one piece."""
    choice = response.choices[0] if response.choices else None
    message = choice.message if choice else None
    if message is not None:
        result.add_thinking(reasoning_of(message))
        if message.content:
            result.add_text(message.content)
        for index, call in enumerate(message.tool_calls or []):
            function = getattr(call, "function", None)
            result.add_tool_call(index, call.id, getattr(function, "name", None), getattr(function, "arguments", None))
    result.finish_reason = choice.finish_reason if choice else None
    result.usage = response.usage
    result.chunks = 1
    result.finish()
    return result
