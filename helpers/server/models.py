"""The practice server's models, and what a model name (with its optional ``+suffixes``) asks for.

Any model name is accepted and echoed back, as gpt4free and llama.cpp do. A name can carry options after
``+`` for clients that cannot set headers: a reasoning dialect (``practice-thinking+think-tags``) and a
practice fault (``practice+429*1``), in any order (``practice-thinking+reasoning+error@20``).

Thinking models stream a chain of thought before the answer, in one of the dialects real servers use:

reasoning_content  ``delta.reasoning_content`` (llama.cpp's server, DeepSeek's API, vLLM before 0.11)
reasoning          ``delta.reasoning`` (Ollama's OpenAI endpoint, OpenRouter, vLLM from 0.11)
think-tags         ``<think>…</think>`` at the start of ``delta.content`` (a server without a reasoning parser)
hidden             not sent at all, only counted in usage (OpenAI's o-series and gpt-5 in Chat Completions)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from ..defaults import PRACTICE_MODEL
from . import faults

THINKING_MODEL = "practice-thinking"
LISTED = [PRACTICE_MODEL, THINKING_MODEL, "gpt-3.5-turbo", "gpt-4o-mini"]
DIALECTS = ("reasoning_content", "reasoning", "think-tags", "hidden")
DIALECT_HEADER = "x-practice-reasoning"
SEPARATOR = "+"

# Names of models that think, as their real namesakes do. OpenAI's own reasoning models hide the thinking and,
# like the real API, refuse max_tokens and a temperature other than 1.
_THINKS = re.compile(r"thinking|reason|deepseek-r1|\br1\b|qwq|qwen3|gpt-oss|magistral|^o\d|^gpt-5", re.IGNORECASE)
_OPENAI_REASONING = re.compile(r"^(o\d|gpt-5)", re.IGNORECASE)


@dataclass(frozen=True)
class Model:
    """What a request's model name asks for."""

    name: str  # without the +suffixes: what the reply echoes back
    thinks: bool
    dialect: str | None  # how thinking is sent; None for a model that does not think
    openai_reasoning: bool  # refuses max_tokens and temperature, as OpenAI's reasoning models do
    fault: faults.Fault | None


class ModelOptionError(ValueError):
    """A +suffix, or a header, the server does not understand."""

    def __init__(self, message: str, param: str | None) -> None:
        super().__init__(message)
        self.param = param


def choose(model: str, headers: Mapping[str, str]) -> Model:
    """Read the model name, its +suffixes and the practice headers."""
    name, *suffixes = model.split(SEPARATOR)
    dialects = [s for s in suffixes if s.lower() in DIALECTS]
    fault_specs = [s for s in suffixes if s.lower() not in DIALECTS]
    if len(fault_specs) > 1 or len(dialects) > 1:
        raise ModelOptionError(
            f"The model name {model!r} has more than one fault or reasoning suffix; use at most one of each, "
            f"e.g. '{THINKING_MODEL}+think-tags+error@20'.",
            "model",
        )
    thinks = bool(_THINKS.search(name))
    openai_reasoning = bool(_OPENAI_REASONING.search(name))
    dialect = headers.get(DIALECT_HEADER) or (dialects[0] if dialects else None)
    if dialect is not None and dialect.lower() not in DIALECTS:
        raise ModelOptionError(
            f"Invalid {DIALECT_HEADER} header {dialect!r}: use one of {', '.join(DIALECTS)}.", None
        )
    if dialect is None:
        dialect = "hidden" if openai_reasoning else "reasoning_content"
    try:
        fault = faults.requested_fault(headers, fault_specs[0] if fault_specs else None)
    except faults.FaultSpecError as error:
        raise ModelOptionError(str(error), None if headers.get(faults.HEADER) else "model") from None
    return Model(name=name, thinks=thinks, dialect=dialect.lower() if thinks else None,
                 openai_reasoning=openai_reasoning, fault=fault)
