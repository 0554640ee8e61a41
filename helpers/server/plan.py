"""What the practice model says to a request, before any API shapes it into chunks or events.

Both APIs (Chat Completions and Responses) turn their request into an ``Ask`` and render the ``Plan``
that ``plan()`` makes of it: the thinking, the answer and the tool calls, each as token-sized pieces, with
the finish reason and the token counts. Keeping this one step means both APIs give the same reply to the
same question, as one model behind two endpoints would.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Iterator, Sequence

from . import replies, structured, thinking, tools
from .tools import Choice, Tool
from .models import Model

THINK_OPEN, THINK_CLOSE = "<think>\n", "\n</think>\n\n"


@dataclass
class Ask:
    """A request for a reply, whichever API it came through."""

    messages: list[dict]  # chat-form messages: role, content, tool_calls, tool_call_id
    model: Model
    max_tokens: int | None = None  # the budget for thinking, answer and tool arguments together
    stop: list[str] = field(default_factory=list)
    temperature: float | None = None
    seed: int | None = None
    tools: list[Tool] = field(default_factory=list)
    tool_choice: Choice = field(default_factory=Choice)
    parallel_tool_calls: bool = True
    response_format: structured.Format | None = None
    reasoning_effort: str | None = None


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str  # the whole JSON text; streamed in pieces
    pieces: list[str] = field(default_factory=list)


@dataclass(slots=True)  # a stream holds one per token: slots make each half the size
class Step:
    """One streamed piece: thinking, answer text, or a fragment of a tool call's arguments."""

    kind: str  # "thinking" | "text" | "arguments"
    text: str
    call: int = -1  # the tool call's index, for "arguments"


@dataclass
class Plan:
    thinking: list[str]  # the pieces of the chain of thought ([] for a model that does not think)
    text: list[str]  # the pieces of the answer
    tool_calls: list[ToolCall]
    finish_reason: str  # "stop" | "length" | "tool_calls"
    prompt_tokens: int
    think_tags: bool = False  # the thinking is sent inline, as <think>…</think> before the answer

    @property
    def completion_tokens(self) -> int:
        return len(self.thinking) + len(self.text) + sum(len(call.pieces) for call in self.tool_calls)

    def steps(self) -> Iterator[Step]:
        """Every piece in the order a model produces them: thinking, then the answer or the tool calls."""
        thinking_kind = "text" if self.think_tags else "thinking"
        for piece in self.thinking:
            yield Step(thinking_kind, piece)
        for piece in self.text:
            yield Step("text", piece)
        for index, call in enumerate(self.tool_calls):
            for piece in call.pieces:
                yield Step("arguments", piece, index)

    def visible_text(self) -> str:
        """The answer as a client sees it in ``content`` (with the thinking inline for think-tags)."""
        return "".join(self.thinking if self.think_tags else []) + "".join(self.text)


def plan(ask: Ask) -> Plan:
    """The reply to ``ask``: think (if the model does), then call tools or answer, within max_tokens."""
    prompt_tokens = replies.count_prompt_tokens(ask.messages)
    thought = thinking.chain_of_thought(ask.messages, ask.reasoning_effort) if ask.model.thinks else []
    think_tags = ask.model.dialect == "think-tags"
    if think_tags and thought:
        thought = replies.tokenize(THINK_OPEN) + thought + replies.tokenize(THINK_CLOSE)
    calls = tools.plan_calls(ask.messages, ask.tools, ask.tool_choice, ask.parallel_tool_calls)
    budget = ask.max_tokens
    if budget is not None and len(thought) >= budget:  # it ran out of tokens while thinking
        return Plan(thought[:budget], [], [], "length", prompt_tokens, think_tags)
    remaining = None if budget is None else budget - len(thought)
    if calls:
        planned, finish = _tool_calls(ask, calls, remaining)
        return Plan(thought, [], planned, finish, prompt_tokens, think_tags)
    text, _ = replies.apply_stop(_answer(ask), ask.stop)
    pieces = replies.tokenize_json(text) if ask.response_format is not None else replies.tokenize(text)
    if remaining is not None and len(pieces) > remaining:
        return Plan(thought, pieces[:remaining], [], "length", prompt_tokens, think_tags)
    return Plan(thought, pieces, [], "stop", prompt_tokens, think_tags)


def _answer(ask: Ask) -> str:
    if ask.response_format is not None:
        return structured.document(ask.response_format, ask.messages)
    if tools.last_turn_is_tool_results(ask.messages):
        return tools.answer_from_results(ask.messages)
    return replies.reply_text(ask.messages, temperature=ask.temperature, seed=ask.seed)


def _tool_calls(ask: Ask, calls: Sequence[tuple[str, str]], remaining: int | None) -> tuple[list[ToolCall], str]:
    planned = []
    for index, (name, arguments) in enumerate(calls):
        digest = hashlib.sha256(repr((ask.messages, name, arguments, index)).encode()).hexdigest()
        planned.append(ToolCall(f"call_{digest[:24]}", name, arguments, replies.tokenize_json(arguments)))
    if remaining is None or sum(len(c.pieces) for c in planned) <= remaining:
        return planned, "tool_calls"
    kept = []
    for call in planned:  # cut off mid-arguments, as a model that runs out of tokens is
        if remaining <= 0:
            break
        call.pieces = call.pieces[:remaining]
        call.arguments = "".join(call.pieces)
        remaining -= len(call.pieces)
        kept.append(call)
    return kept, "length"
