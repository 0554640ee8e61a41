"""The practice thinking model's chain of thought: deterministic, about the question, as long as the effort asks.

Real thinking models spend from a few dozen to thousands of tokens here before the first word of the answer;
the practice model spends a few sentences, enough to see the thinking stream, fold away, and be counted in
``usage.completion_tokens_details.reasoning_tokens``.
"""

from __future__ import annotations

import re
from typing import Sequence

from . import replies, tools

# OpenAI's reasoning_effort values, and how many sentences the practice model thinks for each ("none": not at all).
SENTENCES = {"none": 0, "minimal": 1, "low": 2, "medium": 4, "high": 6, "xhigh": 7, "max": 8}
DEFAULT_EFFORT = "medium"

# What the model makes of each kind of question, in one sentence (the first match wins).
PLANS = [
    (r"\bhaiku\b", "A haiku: three lines of five, seven and five syllables, about a tree in its seasons."),
    (r"\bpoem\b", "A poem about a tree: rhyming couplets about roots, rings, storms and seasons, ending on a kind image."),
    (r"\blong story\b", "A long story, then: a lighthouse keeper, a clock made of shipwreck brass, one storm, and an "
                        "ending about time."),
    (r"\bcount\b", "Counting is easy: just the numbers, separated by spaces, nothing else."),
    (r"\bmy name\b", "They are asking about their name, so I should look back through the whole conversation for it."),
    (r"\bjson\b", "The answer has to be valid JSON, so every bracket and quote must be right."),
    (r"\bweather\b", "Weather changes by the hour; I cannot know it myself, so a tool should look it up."),
]
GENERAL = [
    "The user asks: \u201c{topic}\u201d.",
    "Let me work out what a good answer needs.",
    "{plan}",
    "I should keep it clear and not too long.",
    "Is there anything in the earlier messages I must take into account?",
    "Let me check the plan against the question once more.",
    "It fits; nothing important is missing.",
    "Time to write the answer.",
]


def chain_of_thought(messages: Sequence[dict], effort: str | None) -> list[str]:
    """The thinking, as token pieces: the first sentences of GENERAL, always ending with the last one."""
    count = SENTENCES[effort or DEFAULT_EFFORT]
    if count == 0:
        return []
    topic = " ".join(replies.last_user_text(messages).split())
    topic = topic if len(topic) <= 60 else topic[:57].rstrip() + "..."
    sentences = [s.format(topic=topic or "nothing", plan=_plan(messages)) for s in GENERAL[: count - 1]]
    return replies.tokenize(" ".join([*sentences, GENERAL[-1]]))


def _plan(messages: Sequence[dict]) -> str:
    if tools.last_turn_is_tool_results(messages):
        return "The tool results are in; I should put them into a short answer."
    prompt = replies.last_user_text(messages)
    for pattern, plan in PLANS:
        if re.search(pattern, prompt, re.IGNORECASE):
            return plan
    return "I am a practice model, so I will say what I can and leave the rest to a real model."
