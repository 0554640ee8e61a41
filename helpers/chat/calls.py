"""Calls: a non-streamed reply, and the text of a stream with everything else collected along the way.

Each takes ``api="chat"`` (Chat Completions, the default: every compatible server has it) or
``api="responses"`` (the Responses API); the result is the same either way, so is everything built on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Iterator, Literal, Sequence, Union

import openai
from openai.types import CompletionUsage

from .. import config
from .chunks import read_chunk, read_completion
from .events import EventReader, read_response
from .result import StreamResult, ToolCall

Messages = Sequence[dict]
Prompt = Union[str, Messages]
API = Literal["chat", "responses"]


def as_messages(prompt: Prompt) -> list[dict]:
    """A prompt string becomes one user message; a list of messages is used as it is."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return list(prompt)


@dataclass
class Reply:
    """A non-streamed reply: the answer, the thinking (if the model showed it), any tool calls."""

    text: str
    finish_reason: str | None
    usage: CompletionUsage | None
    seconds: float
    model: str
    thinking: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)


def complete(
    prompt: Prompt, *, client: openai.OpenAI | None = None, model: str | None = None, api: API = "chat", **params
) -> Reply:
    """One reply, not streamed: the text, why it ended, usage and how long it took."""
    settings, request = _request(prompt, model, api, params)
    client = client or config.client(settings)
    result = StreamResult()
    if api == "responses":
        response = client.responses.create(**request)
        read_response(result, response)
    else:
        response = client.chat.completions.create(**request)
        read_completion(result, response)
    return Reply(text=result.text, finish_reason=result.finish_reason, usage=result.usage, seconds=result.seconds,
                 model=response.model, thinking=result.thinking, tool_calls=result.tool_calls)


class TextStream:
    """The answer text of a stream, piece by piece. ``result`` fills in as you iterate (thinking and tool calls
    too), even if the stream fails midway.

    >>> for piece in stream("write a poem about a tree"): print(piece, end="", flush=True)
    """

    def __init__(self, response: openai.Stream, result: StreamResult | None = None,
                 read: Callable[[Any], str] | None = None) -> None:
        self.response = response
        self.result = result or StreamResult()
        self.read = read or (lambda chunk: read_chunk(self.result, chunk))  # or an EventReader, for Responses

    def __iter__(self) -> Iterator[str]:
        for piece in self.progress():
            if piece:
                yield piece

    def progress(self) -> Iterator[str]:
        """After every chunk, its new answer text ("" for one that brought thinking, a tool call or nothing):
        a display refreshes on these, so it moves while the model thinks."""
        try:
            for chunk in self.response:
                yield self.read(chunk)
        except BaseException as error:
            self.result.finish(error=error)  # the partial text stays in result.pieces
            raise
        finally:
            self.response.close()  # at the end, on an error, or when the loop is left early
            self.result.finish()

    def close(self) -> None:
        """Stop now: the connection closes, so the server stops generating."""
        self.response.close()
        self.result.finish(stopped=True)


class AsyncTextStream:
    """The same as TextStream, for ``async for`` with an AsyncOpenAI client."""

    def __init__(self, response: openai.AsyncStream, result: StreamResult | None = None,
                 read: Callable[[Any], str] | None = None) -> None:
        self.response = response
        self.result = result or StreamResult()
        self.read = read or (lambda chunk: read_chunk(self.result, chunk))

    async def __aiter__(self) -> AsyncIterator[str]:
        async for piece in self.progress():
            if piece:
                yield piece

    async def progress(self) -> AsyncIterator[str]:
        try:
            async for chunk in self.response:
                yield self.read(chunk)
        except BaseException as error:
            self.result.finish(error=error)
            raise
        finally:
            await self.response.close()
            self.result.finish()

    async def close(self) -> None:
        await self.response.close()
        self.result.finish(stopped=True)


def _stream_params(params: dict, include_usage: bool) -> dict:
    params = {"stream": True, **params}
    if include_usage:
        params.setdefault("stream_options", {"include_usage": True})
    return params


def _rejects_stream_options(error: openai.APIStatusError) -> bool:
    """A 4xx that names stream_options: a 400 (most servers) or a 422 from a strict pydantic server."""
    return 400 <= error.status_code < 500 and "stream_options" in f"{error.message} {error.body}"


def _request(prompt: Prompt, model: str | None, api: API, params: dict[str, Any]) -> tuple[config.Settings, dict]:
    settings = config.settings(model=model)
    if api == "responses":
        return settings, dict(model=settings.model, input=as_messages(prompt), **as_responses_params(params))
    if api != "chat":
        raise ValueError(f"api must be 'chat' or 'responses', not {api!r}")
    return settings, dict(model=settings.model, messages=as_messages(prompt), **params)


def as_responses_params(params: dict[str, Any]) -> dict[str, Any]:
    """Chat Completions' names for the Responses API, so one argument switches API: max_tokens becomes
    max_output_tokens, and each function tool loses its "function" wrapper."""
    params = dict(params)
    for name in ("max_tokens", "max_completion_tokens"):
        if name in params:
            params["max_output_tokens"] = params.pop(name)
    if params.get("tools"):
        params["tools"] = [{"type": "function", **tool["function"]} if "function" in tool else tool
                           for tool in params["tools"]]
    return params


def stream(
    prompt: Prompt,
    *,
    client: openai.OpenAI | None = None,
    model: str | None = None,
    api: API = "chat",
    include_usage: bool = True,
    **params,
) -> TextStream:
    """Start a streamed reply and return its text pieces. Asks for the usage chunk; servers that
    refuse ``stream_options`` are asked again without it."""
    settings, request = _request(prompt, model, api, params)
    client = client or config.client(settings)
    result = StreamResult()
    if api == "responses":
        response = client.responses.create(stream=True, **request)
        return TextStream(response, result, EventReader(result, response.response.request))
    try:
        response = client.chat.completions.create(**_stream_params(request, include_usage))
    except openai.APIStatusError as error:
        if not (include_usage and _rejects_stream_options(error)):
            raise
        response = client.chat.completions.create(**_stream_params(request, False))
    return TextStream(response, result)


async def astream(
    prompt: Prompt,
    *,
    client: openai.AsyncOpenAI | None = None,
    model: str | None = None,
    api: API = "chat",
    include_usage: bool = True,
    **params,
) -> AsyncTextStream:
    """The same as stream(), with an AsyncOpenAI client: ``async for piece in await astream(...)``."""
    settings, request = _request(prompt, model, api, params)
    client = client or config.async_client(settings)
    result = StreamResult()
    if api == "responses":
        response = await client.responses.create(stream=True, **request)
        return AsyncTextStream(response, result, EventReader(result, response.response.request))
    try:
        response = await client.chat.completions.create(**_stream_params(request, include_usage))
    except openai.APIStatusError as error:
        if not (include_usage and _rejects_stream_options(error)):
            raise
        response = await client.chat.completions.create(**_stream_params(request, False))
    return AsyncTextStream(response, result)
