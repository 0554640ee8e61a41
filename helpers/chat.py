"""Calls: a non-streamed reply, and text pieces from a stream, with what was collected along the way.

Chunk parsing lives here and nowhere else. It copes with what real servers send: chunks with no
choices (the usage chunk), ``content`` of None, ``role`` on every chunk, the finish_reason on the last
content chunk, no usage at all, and an error event in the middle of a stream.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import AsyncIterator, Iterator, Sequence, Union

import openai
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletionChunk

from . import config
from .errors import explain

Messages = Sequence[dict]
Prompt = Union[str, Messages]


def as_messages(prompt: Prompt) -> list[dict]:
    """A prompt string becomes one user message; a list of messages is used as it is."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return list(prompt)


@dataclass
class Reply:
    """A non-streamed reply."""

    text: str
    finish_reason: str | None
    usage: CompletionUsage | None
    seconds: float
    model: str


def complete(
    prompt: Prompt, *, client: openai.OpenAI | None = None, model: str | None = None, **params
) -> Reply:
    """One chat completion, not streamed: the text, why it ended, usage and how long it took."""
    settings = config.settings(model=model)
    client = client or config.client(settings)
    started = time.perf_counter()
    response = client.chat.completions.create(model=settings.model, messages=as_messages(prompt), **params)
    choice = response.choices[0]
    return Reply(
        text=choice.message.content or "",
        finish_reason=choice.finish_reason,
        usage=response.usage,
        seconds=time.perf_counter() - started,
        model=response.model,
    )


@dataclass
class StreamResult:
    """What a stream delivered, complete or not."""

    pieces: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    usage: CompletionUsage | None = None
    chunks: int = 0
    time_to_first_token: float | None = None
    seconds: float = 0.0
    stopped: bool = False
    error: str | None = None  # a one-line explanation, when the stream failed
    started: float = field(default_factory=time.perf_counter, repr=False)

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def tokens(self) -> int:
        """Completion tokens as the server counted them, else the number of text pieces."""
        return self.usage.completion_tokens if self.usage else len(self.pieces)

    @property
    def tokens_per_second(self) -> float:
        """Generation speed, after the first token arrived."""
        if self.time_to_first_token is None:
            return 0.0
        generating = self.seconds - self.time_to_first_token
        return (self.tokens - 1) / generating if generating > 0 and self.tokens > 1 else 0.0

    def add(self, chunk: ChatCompletionChunk) -> str:
        """Take in one chunk; return its new text ("" if none)."""
        self.chunks += 1
        if chunk.usage is not None:
            self.usage = chunk.usage
        if not chunk.choices:  # the usage chunk, or a keep-alive
            return ""
        choice = chunk.choices[0]
        if choice.finish_reason:
            self.finish_reason = choice.finish_reason
        piece = (choice.delta.content if choice.delta else None) or ""
        if piece:
            if self.time_to_first_token is None:
                self.time_to_first_token = time.perf_counter() - self.started
            self.pieces.append(piece)
        return piece

    def finish(self, *, stopped: bool = False, error: BaseException | None = None) -> None:
        """Record the end. An interrupt or an early exit counts as stopped; other errors are explained."""
        if self.seconds == 0.0 or stopped or error is not None:
            self.seconds = time.perf_counter() - self.started
        if stopped or isinstance(error, (KeyboardInterrupt, GeneratorExit, asyncio.CancelledError)):
            self.stopped = True
        elif error is not None and self.error is None:
            self.error = explain(error)

    def summary(self) -> str:
        """One line: tokens, speed, time; and why it ended."""
        ending = "stopped" if self.stopped else (f"error: {self.error}" if self.error else self.finish_reason)
        first = f", first token {self.time_to_first_token:.2f} s" if self.time_to_first_token is not None else ""
        return f"{self.tokens} tokens, {self.tokens_per_second:.1f} tok/s, {self.seconds:.2f} s{first} ({ending})"


class TextStream:
    """The text pieces of a chat stream. ``result`` fills in as you iterate, even if it fails midway.

    >>> for piece in stream("write a poem about a tree"): print(piece, end="", flush=True)
    """

    def __init__(self, response: openai.Stream[ChatCompletionChunk], result: StreamResult | None = None) -> None:
        self.response = response
        self.result = result or StreamResult()

    def __iter__(self) -> Iterator[str]:
        try:
            for chunk in self.response:
                piece = self.result.add(chunk)
                if piece:
                    yield piece
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

    def __init__(self, response: openai.AsyncStream[ChatCompletionChunk], result: StreamResult | None = None) -> None:
        self.response = response
        self.result = result or StreamResult()

    async def __aiter__(self) -> AsyncIterator[str]:
        try:
            async for chunk in self.response:
                piece = self.result.add(chunk)
                if piece:
                    yield piece
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


def stream(
    prompt: Prompt, *, client: openai.OpenAI | None = None, model: str | None = None, include_usage: bool = True, **params
) -> TextStream:
    """Start a streamed reply and return its text pieces. Asks for the usage chunk; servers that
    refuse ``stream_options`` are asked again without it."""
    settings = config.settings(model=model)
    client = client or config.client(settings)
    result = StreamResult()
    request = dict(model=settings.model, messages=as_messages(prompt), **params)
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
    include_usage: bool = True,
    **params,
) -> AsyncTextStream:
    """The same as stream(), with an AsyncOpenAI client: ``async for piece in await astream(...)``."""
    settings = config.settings(model=model)
    client = client or config.async_client(settings)
    result = StreamResult()
    request = dict(model=settings.model, messages=as_messages(prompt), **params)
    try:
        response = await client.chat.completions.create(**_stream_params(request, include_usage))
    except openai.APIStatusError as error:
        if not (include_usage and _rejects_stream_options(error)):
            raise
        response = await client.chat.completions.create(**_stream_params(request, False))
    return AsyncTextStream(response, result)
