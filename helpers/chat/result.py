"""What a reply delivered, streamed or not: the answer, the thinking, the tool calls, usage and timing.

Chunks (Chat Completions) and events (Responses) are read into one ``StreamResult`` by ``chunks.py`` and
``events.py``; a display only ever looks at the result. Everything that can be derived (the text, the phase,
the speed) is a property, so it is always up to date, complete or not.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from openai.types import CompletionUsage

from ..errors import explain
from .think_tags import ThinkTags


@dataclass
class ToolCall:
    """One tool call, assembled from its deltas by index."""

    index: int
    id: str | None = None
    name: str = ""
    arguments: str = ""  # the JSON text, as far as it has arrived

    @property
    def parsed_arguments(self) -> Any:
        """The arguments as Python values, or None while (or if) they are not valid JSON."""
        try:
            return json.loads(self.arguments) if self.arguments else None
        except ValueError:
            return None


@dataclass
class StreamResult:
    """What a stream delivered, complete or not. ``pieces`` is the answer, ``thinking_pieces`` the reasoning."""

    pieces: list[str] = field(default_factory=list)
    thinking_pieces: list[str] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: CompletionUsage | None = None
    chunks: int = 0  # chunks (or events) read: more than the tokens, as some carry no text
    stopped: bool = False
    error: str | None = None  # a one-line explanation, when the stream failed
    started: float = field(default_factory=time.perf_counter, repr=False)
    first_token_at: float | None = field(default=None, repr=False)  # thinking, text or a tool call
    first_answer_at: float | None = field(default=None, repr=False)  # text or a tool call
    ended_at: float | None = field(default=None, repr=False)
    tags: ThinkTags = field(default_factory=ThinkTags, repr=False)

    # --- taking things in (called by the chunk and event readers) ---

    def add_text(self, text: str) -> str:
        """Answer text, which may hold <think> tags; returns the part that is answer."""
        thinking, answer, moved = self.tags.split(text)
        if moved:  # a closing tag with no opening one: what came so far was thinking after all
            self.thinking_pieces.extend(self.pieces)
            self.pieces.clear()
            self.first_answer_at = None
        if thinking:
            self.add_thinking(thinking)
        if answer:
            self._arrived(answer=True)
            self.pieces.append(answer)
        return answer

    def add_thinking(self, text: str) -> None:
        if text:
            self._arrived(answer=False)
            self.thinking_pieces.append(text)

    def add_tool_call(self, index: int, id: str | None, name: str | None, arguments: str | None) -> ToolCall:
        """A tool call's delta: the first carries its id and name, the rest pieces of the arguments."""
        self._arrived(answer=True)
        call = next((c for c in self.tool_calls if c.index == index), None)
        if call is None:
            call = ToolCall(index)
            self.tool_calls.append(call)
        call.id = id or call.id
        call.name = call.name or (name or "")
        call.arguments += arguments or ""
        return call

    def _arrived(self, answer: bool) -> None:
        now = time.perf_counter()
        self.first_token_at = self.first_token_at or now
        if answer:
            self.first_answer_at = self.first_answer_at or now

    def finish(self, *, stopped: bool = False, error: BaseException | None = None) -> None:
        """Record the end, once. An interrupt or an early exit counts as stopped; other errors are explained."""
        if self.ended_at is None:
            self.ended_at = time.perf_counter()
            held = self.tags.flush()  # text held back in case it was the start of a tag
            if held:
                self.add_text(held)
        if stopped or isinstance(error, (KeyboardInterrupt, GeneratorExit, asyncio.CancelledError)):
            self.stopped = True
        elif error is not None and self.error is None:
            self.error = explain(error)

    # --- what can be derived ---

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def thinking(self) -> str:
        return "".join(self.thinking_pieces)

    @property
    def finished(self) -> bool:
        return self.ended_at is not None

    @property
    def seconds(self) -> float:
        """From the request to the end (or to now, while it runs)."""
        return (self.ended_at or time.perf_counter()) - self.started

    @property
    def time_to_first_token(self) -> float | None:
        return None if self.first_token_at is None else self.first_token_at - self.started

    @property
    def time_to_first_answer(self) -> float | None:
        return None if self.first_answer_at is None else self.first_answer_at - self.started

    @property
    def thinking_seconds(self) -> float:
        """How long the model thought before answering (so far, while it still thinks)."""
        if not self.thinking_pieces or self.first_token_at is None:
            return 0.0
        return (self.first_answer_at or self.ended_at or time.perf_counter()) - self.first_token_at

    @property
    def reasoning_tokens(self) -> int:
        """Thinking tokens: as the server counted them (even when it hides the thinking), else the pieces."""
        details = self.usage.completion_tokens_details if self.usage else None
        if details is not None and details.reasoning_tokens:
            return details.reasoning_tokens
        return len(self.thinking_pieces)

    @property
    def tokens(self) -> int:
        """Completion tokens (thinking included) as the server counted them, else the pieces that arrived."""
        if self.usage is not None:
            return self.usage.completion_tokens
        return len(self.pieces) + len(self.thinking_pieces) + sum(bool(c.arguments) for c in self.tool_calls)

    @property
    def tokens_per_second(self) -> float:
        """Generation speed over every token, thinking included, from the first one on."""
        if self.first_token_at is None:
            return 0.0
        generating = (self.ended_at or time.perf_counter()) - self.first_token_at
        return (self.tokens - 1) / generating if generating > 0 and self.tokens > 1 else 0.0

    @property
    def phase(self) -> str:
        if self.stopped:
            return "stopped"
        if self.error:
            return "failed"
        if self.finished:
            return "done"
        if self.pieces:
            return "answering"
        if self.tool_calls:
            return "calling tools"
        if self.thinking_pieces:
            return "thinking"
        return "waiting"

    def summary(self) -> str:
        """One line: tokens, speed, time, when the answer began; and why it ended."""
        ending = "stopped" if self.stopped else (f"error: {self.error}" if self.error else self.finish_reason)
        thought = f" ({self.reasoning_tokens} thinking)" if self.reasoning_tokens else ""
        first = f", first token {self.time_to_first_token:.2f} s" if self.time_to_first_token is not None else ""
        answer = (f", answer after {self.time_to_first_answer:.2f} s"
                  if self.reasoning_tokens and self.time_to_first_answer is not None else "")
        return (f"{self.tokens} tokens{thought}, {self.tokens_per_second:.1f} tok/s, {self.seconds:.2f} s"
                f"{first}{answer} ({ending})")
