"""The practice server's replies: a small catalogue, a deterministic fallback, and tokenizing.

Everything here is a pure function of the request, so the same request always gets
the same text, with no network, no model and no randomness.
"""

from __future__ import annotations

import hashlib
import re
from typing import Callable, Sequence

from . import variants
from .markdown_tour import MARKDOWN_TOUR

Message = dict  # {"role": ..., "content": str | list[parts] | None}

TREE_POEM = """\
**The Tree**

Rooted deep where the quiet waters run,
it lifts its arms to greet the morning sun;
a hundred summers written in its rings,
a home for nests and all the songs of spring.

It bends but does not break beneath the storm,
it keeps the sparrows and the squirrels warm,
and when the autumn asks it to let go,
it drops its gold and dreams beneath the snow.

So stand, my friend, the way the old tree stands:
with patient roots and open, giving hands."""

HAIKU = """\
Green leaves catch the light,
roots hold the hill in silence;
one tree, many years."""

LONG_STORY = """\
# The Lighthouse Keeper's Clock

On the northern edge of a country that nobody remembers to put on maps, there was a lighthouse that stood on a rock no bigger than a kitchen table. Its keeper was a woman named Ilse, who had come to the rock at nineteen with a suitcase, a violin and a clock that her grandfather had built from the brass of a shipwreck. The clock did not tell the time very well. It ran fast in winter and slow in summer, and on foggy nights it stopped altogether, as if it were listening for something.

Ilse did not mind. The lighthouse had its own clock, a great iron mechanism that turned the lamp once every twelve seconds, and the ships trusted that one. Her grandfather's clock was for her. She wound it every evening before she climbed the one hundred and twelve steps to the lamp room, and she talked to it while she polished the lens, telling it about the weather, the gulls, and the letters she meant to write but never did.

## The first winter

The first winter was the hardest. The supply boat came only when the sea allowed, and the sea, that year, allowed very little. Ilse learned to bake bread with half the flour and twice the patience. She learned which of the gulls would steal from the windowsill and which would merely watch. She learned that a storm has a voice before it has a wind, a low hum in the rocks that you feel in your teeth long before the first wave breaks over the landing.

On the longest night of that winter, the great iron mechanism jammed. A gear tooth had cracked in the cold, and the lamp stopped turning. A lighthouse that does not turn is worse than no lighthouse at all, because a steady light looks like a house on the shore, and a captain steering for a house will find the rocks instead. Ilse climbed the steps with a lantern and a box of tools and found the broken tooth within minutes. What she could not find was a spare.

She stood in the lamp room with the wind shouting at the glass and thought about the ships out there, counting to twelve and waiting for the flash that would not come. Then she went down the one hundred and twelve steps, opened her grandfather's clock, and took out its largest wheel. It was brass from a shipwreck, after all. It seemed only fair that it should help a ship.

The wheel was the wrong size by the width of a fingernail. Ilse filed it by lantern light for three hours, her fingers bleeding and her breath freezing on the metal, while outside the storm grew louder. When she finally slid it into place and released the brake, the mechanism shuddered, groaned, and began to turn. The beam swept out across the water once, and then again twelve seconds later, and then again, steady as a heartbeat.

Near dawn, a fishing boat that had been lost since midnight saw the flash, counted to twelve, saw it again, and turned away from the rocks with room to spare. Ilse never learned the names of the men aboard. They never learned hers. That is how it usually goes with lighthouses.

## The clock that kept silent

Without its largest wheel, her grandfather's clock could not run at all. Ilse left it on the shelf by the stove, its door open and its hands pointing at a quarter past four, the exact moment she had taken it apart. She kept talking to it anyway. It seemed rude to stop just because it could no longer answer by ticking.

The seasons turned. The supply boat brought a new gear for the lighthouse in spring, forged in a city factory, machined to a thousandth of an inch, and Ilse installed it with a mixture of relief and regret. She wrapped the brass wheel in oilcloth and put it in her pocket, meaning to return it to the clock. Somehow she never did. It felt like a medal, and she was not the sort of person who took her medals out and looked at them.

Years went by in the way years do on a rock in the sea: slowly in the middle and quickly at the ends. Ilse's hair went grey and then white. The violin lost two strings and she learned to play songs on the two that remained. The gulls that stole from her windowsill had grandchildren who stole from it too. Ships changed from wood to steel, and then they began to carry machines that could find their way without looking at the shore at all.

## The letter

One autumn the supply boat brought a letter with an official seal. The lighthouse was to be automated. A machine would turn the lamp, a battery would keep it lit, and a radio would tell a distant office if anything went wrong. Ilse was thanked for her many years of service and offered a small cottage on the mainland, with a garden and a view of the sea.

She read the letter twice, folded it neatly, and told the clock about it. The clock, as usual, said nothing, but Ilse had learned over the years to hear what it did not say. It was not sad. It was a clock that had been built from a shipwreck and had stopped a shipwreck from happening. It understood better than most things that every story has a last page.

On her final evening, Ilse took the brass wheel out of her pocket, unwrapped the oilcloth, and fitted it back into her grandfather's clock. It was a little worn now, filed and polished by years of being carried, and it did not fit as well as it once had. She wound the clock anyway. For a long moment nothing happened. Then, with a small and dignified click, the pendulum began to swing.

It ran fast, of course. It always had in autumn.

## The cottage

The cottage on the mainland had a garden full of stubborn roses and a window that looked out at the rock where the lighthouse still turned, once every twelve seconds, tended now by a machine that never talked to anything. Ilse put the clock on the mantelpiece, where it gained eleven minutes a day and stopped whenever the fog came in.

Children from the village began to visit, first because they had heard that the old woman had a violin with only two strings, and later because she told the best stories they had ever heard. She told them about the storm that had a voice, the gulls with criminal families, and the night the lamp stopped turning. When they asked what happened to the wheel, she pointed at the mantelpiece.

"It's in there," she said. "Doing its job. Being a little bit wrong about the time."

"Isn't that bad, for a clock?" asked a girl with a gap in her teeth.

Ilse thought about it. Outside, far across the water, the light swept across the evening sky, and she found herself counting to twelve without meaning to, the way she had every night for fifty years.

"A clock has two jobs," she said at last. "One is to tell you the time. The other is to remind you that time is passing, so that you do something useful with it. This one is not very good at the first job. But it has always been excellent at the second."

The girl considered this with great seriousness, and then asked whether she could try the violin. Ilse handed it to her, and showed her where to put her fingers on the two strings that were left, and together they played a song that was mostly wrong notes and entirely joyful, while the old clock ticked a little too fast on the mantelpiece and the lighthouse kept counting in the dark.

## Afterword

Nobody knows exactly what happened to the clock after Ilse was gone. Some say it went to the village school, where it hangs in the hallway and is always eleven minutes ahead, so that nobody is ever late. Others say the girl with the gap in her teeth kept it, and that she still winds it every evening and talks to it while she works. Both stories may be true. Good clocks, like good stories, have a way of being in more than one place at once.

What everyone agrees on is this: on foggy nights, when the clock stops, the people who own it step outside and look toward the sea. And there, far out on the rock, the light is always turning, once every twelve seconds, exactly as it should. The end."""

GREETING = "Hello! I'm the practice server, a stand-in for a real model. Ask me for a poem about a tree, a long story, or anything else, and I'll answer right away."

TEST_REPLY = "This is a test."

PARIS = "The capital of France is Paris."

OK_REPLY = "OK"


def tokenize(text: str) -> list[str]:
    """Split text into pieces of about one token: a word (or a piece of a long word) with
    its leading whitespace, or one punctuation mark. Joining the pieces gives back the text."""
    return re.findall(r"\s*(?:\w{1,7}|[^\w\s])|\s+", text)


def tokenize_json(text: str) -> list[str]:
    """JSON in pieces as a model's tokenizer cuts it: words, and runs of punctuation (``{"``, ``":"``)."""
    return re.findall(r"\s*(?:\w{1,7}|[^\w\s]+)|\s+", text)


def message_text(message: Message) -> str:
    """The text of a message whose content is a string, a list of text parts, or None."""
    content = message.get("content")
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def count_prompt_tokens(messages: Sequence[Message]) -> int:
    """An estimate in the spirit of OpenAI's: the message texts plus a few tokens per message."""
    return sum(3 + len(tokenize(message_text(m))) for m in messages) + 3


def last_user_text(messages: Sequence[Message]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message).strip()
    return message_text(messages[-1]).strip() if messages else ""


COUNT_LIMIT = 10_000


def _number(digits: str) -> int:
    """A count from the prompt, capped: a number thousands of digits long is just a big number."""
    return int(digits) if len(digits) <= len(str(COUNT_LIMIT)) else COUNT_LIMIT + 1


def _count_to(match: re.Match, _messages: Sequence[Message]) -> str:
    last = min(_number(match.group(2)), COUNT_LIMIT)
    start = min(_number(match.group(1) or "1"), last)
    return " ".join(str(n) for n in range(start, last + 1))


# How a name shows up in a conversation: the user says it, or the assistant has already used it.
NAME_MENTIONS = [
    ("user", re.compile(r"\b(?:my name is|call me|i am called) (\w+)", re.IGNORECASE)),
    ("assistant", re.compile(r"\b(?:nice to meet you|hello|hi),? (\w+)|\byour name is (\w+)", re.IGNORECASE)),
]


def _remember_name(_match: re.Match, messages: Sequence[Message]) -> str:
    """Like a model, it reads the whole conversation: the name may be in a user turn or an assistant turn."""
    for message in reversed(messages[:-1]):
        for role, pattern in NAME_MENTIONS:
            found = pattern.search(message_text(message)) if message.get("role") == role else None
            name = next((g for g in found.groups() if g), None) if found else None
            if name and name.lower() not in {"there", "again", "everyone"}:
                return f"Your name is {name}. You told me earlier in this conversation."
    return "I don't know your name yet: you haven't told me in this conversation."


def _greet_name(match: re.Match, _messages: Sequence[Message]) -> str:
    return f"Nice to meet you, {match.group(1)}! What would you like to talk about?"


def _fixed(text: str) -> Callable[[re.Match, Sequence[Message]], str]:
    return lambda _match, _messages: text


# The prompts the notebooks use, matched against the last user message (case-insensitive).
CATALOGUE: list[tuple[re.Pattern, Callable[[re.Match, Sequence[Message]], str]]] = [
    (re.compile(p, re.IGNORECASE), reply)
    for p, reply in [
        (r"\bhaiku\b", _fixed(HAIKU)),
        # "poem" and "tree" on one line, in either order: lookaheads from each line's start, so that a prompt
        # of thousands of "tree"s takes linear time (".*" between the words took quadratic time: minutes).
        (r"(?m)^(?=.*\bpoem\b)(?=.*\btrees?\b)", _fixed(TREE_POEM)),
        (r"\blong story\b", _fixed(LONG_STORY)),
        (r"\bmarkdown\b", _fixed(MARKDOWN_TOUR)),
        (r"\bcount (?:from (\d+) )?to (\d+)", _count_to),
        (r"\bwhat(?:'s| is) my name\b", _remember_name),
        (r"\bmy name is (\w+)", _greet_name),
        (r"\bsay this is a test\b", _fixed(TEST_REPLY)),
        (r"\bcapital of france\b", _fixed(PARIS)),
        (r"\b(?:reply|answer|say) (?:with )?(?:just )?ok\b", _fixed(OK_REPLY)),
        (r"^\s*(?:hello|hi|hey)\b", _fixed(GREETING)),
    ]
]

FALLBACKS = [
    "You asked: \"{topic}\". I'm the practice server, so I can't look anything up, but here is how "
    "I would approach it: start with what you already know, write down the one question that "
    "matters most, and try the smallest experiment that could answer it. When you point this "
    "notebook at a real model, this is where its answer will appear.",
    "Good question: \"{topic}\". A real model would answer it properly; I'm the offline practice "
    "server, so my answers are canned. Still, everything about this reply is real: it was streamed "
    "token by token, it has a finish reason and usage numbers, and your code handled it just as it "
    "would handle a real one.",
    "Here's a short answer about \"{topic}\". Break the problem into small steps, check each step "
    "before you move on, and keep notes of what you tried. (I'm the practice server: I always give "
    "the same reply to the same request, which makes me easy to test against.)",
]


def fallback(messages: Sequence[Message]) -> str:
    """A deterministic, assistant-like reply that refers to what was asked."""
    topic = " ".join(last_user_text(messages).split())
    if len(topic) > 80:
        topic = topic[:77].rstrip() + "..."
    digest = hashlib.sha256(repr([(m.get("role"), message_text(m)) for m in messages]).encode()).digest()
    return FALLBACKS[digest[0] % len(FALLBACKS)].format(topic=topic or "nothing at all")


def in_catalogue(prompt: str) -> bool:
    """Whether the prompt is one the catalogue answers (rather than the fallback)."""
    return any(pattern.search(prompt) for pattern, _ in CATALOGUE)


def reply_text(messages: Sequence[Message], temperature: float | None = None, seed: int | None = None) -> str:
    """The full reply to a conversation, before max_tokens and stop are applied: the catalogue's (or the
    fallback's) text, in the style the system message asks for, warmed by the temperature."""
    prompt = last_user_text(messages)
    text = next((reply(match, messages) for pattern, reply in CATALOGUE if (match := pattern.search(prompt))), None)
    text = fallback(messages) if text is None else text
    system = " ".join(message_text(m) for m in messages if m.get("role") in ("system", "developer"))
    return variants.warmed(variants.styled(text, system), temperature, seed, prompt)


def apply_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Cut text at the first stop sequence. Returns the text and whether it was cut."""
    cuts = [text.find(s) for s in stop if s and s in text]
    return (text[: min(cuts)], True) if cuts else (text, False)
