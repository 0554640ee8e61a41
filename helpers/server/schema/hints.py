"""Plausible values for a property, from its name and the user's prompt (the hint).

``city`` in a tool call for "What's the weather in Paris and Tokyo?" should be "Paris", not
"string". These are only suggestions, best first: the generator keeps the first one that is
valid against the schema and otherwise makes a value of its own. Keep the tables small.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, Callable

COUNTRY_OF = {
    "Paris": "France", "Tokyo": "Japan", "London": "United Kingdom", "New York": "United States",
    "San Francisco": "United States", "Boston": "United States", "Berlin": "Germany", "Madrid": "Spain",
    "Rome": "Italy", "Amsterdam": "Netherlands", "Lisbon": "Portugal", "Sydney": "Australia",
    "Toronto": "Canada", "Mumbai": "India", "Cairo": "Egypt", "Nairobi": "Kenya", "Seoul": "South Korea",
}
CITY_ALIASES = {"SF": "San Francisco", "NYC": "New York", "Big Apple": "New York"}


Suggestions = Callable[[str, int], "tuple[list[Any], list[Any]]"]


def suggestions(name: str | None, hint: str, seed: int) -> tuple[list[Any], list[Any]]:
    """Values worth trying for a property called ``name`` (None for a value with no name), best
    first: those the prompt implies (which beat a schema's default), then generic ones. ``seed``
    picks among equals, e.g. the second city the prompt names for seed 1."""
    if not name:
        return [], []
    key = "_".join(words(name))
    prompted = [value[key] for value in _catalogue_values(hint) if key in value]
    generic: list[Any] = []
    matches = [WHOLE_NAMES[key]] if key in WHOLE_NAMES else []
    matches += [WORDS[word] for word in words(name) if word in WORDS][:1]
    for suggest in matches:
        more_prompted, more_generic = suggest(hint, seed)
        prompted += more_prompted
        generic += more_generic
    return prompted, generic


def words(name: str) -> list[str]:
    """``finalAnswer``, ``final-answer`` and ``final_answer`` -> ["final", "answer"]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return re.findall(r"[a-z0-9]+", spaced.lower())


def mentioned(hint: str, options: list[str]) -> list[str]:
    """The options the hint names, in the order it names them (whole words, any case)."""
    found = [(m.start(), option) for option in options
             for m in [re.search(rf"(?<!\w){re.escape(option)}(?!\w)", hint, re.IGNORECASE)] if m]
    return [option for _, option in sorted(found)]


def rotate(values: list, seed: int) -> list:
    """The values starting at the seed-th, so that seed 0 keeps the natural first choice."""
    return values[seed % len(values):] + values[: seed % len(values)] if values else []


def _cities(hint: str, seed: int) -> tuple[list[str], list[str]]:
    named = list(dict.fromkeys(CITY_ALIASES.get(c, c) for c in mentioned(hint, [*COUNTRY_OF, *CITY_ALIASES])))
    return rotate(named, seed), [city for city in rotate(list(COUNTRY_OF), seed) if city not in named]


def _countries(hint: str, seed: int) -> tuple[list[str], list[str]]:
    """The country the prompt names, else the country of the city it names (so that a call's
    city and country agree), else a country of the generic cities."""
    named = mentioned(hint, sorted(set(COUNTRY_OF.values())))
    cities, other_cities = _cities(hint, seed)
    prompted = rotate(named, seed) or [COUNTRY_OF[city] for city in cities]
    return prompted, [COUNTRY_OF[city] for city in other_cities]


def _location(hint: str, seed: int) -> tuple[list[str], list[str]]:
    cities, other_cities = _cities(hint, seed)
    return [f"{c}, {COUNTRY_OF[c]}" for c in cities[:1]], [f"{c}, {COUNTRY_OF[c]}" for c in other_cities[:1]]


def _person(hint: str, seed: int) -> tuple[list[str], list[str]]:
    told = re.findall(r"\bmy name is (\w+)", hint, re.IGNORECASE)
    return told[:1], rotate(["Ada Lovelace", "Alan Turing", "Grace Hopper"], seed)


def _prompt_text(hint: str, _seed: int) -> tuple[list[str], list[str]]:
    return ([_topic(hint)] if hint.strip() else []), ["example question"]


def _topic(hint: str) -> str:
    topic = " ".join(hint.split())
    return (topic[:77].rstrip() + "...") if len(topic) > 80 else topic or "your question"


def _fixed(*values: Any) -> Suggestions:
    return lambda _hint, seed: ([], rotate(list(values), seed))


def _text(*templates: str) -> Suggestions:
    """Sentences about the prompt; the seed takes turns, so that a list's items differ."""
    return lambda hint, seed: ([], [t.format(topic=_topic(hint)) for t in rotate(list(templates), seed)])


# Matched against the whole property name.
WHOLE_NAMES: dict[str, Suggestions] = {
    "name": _person, "full_name": _person,
    "first_name": _fixed("Ada", "Alan", "Grace"),
    "last_name": _fixed("Lovelace", "Turing", "Hopper"),
    "username": _fixed("ada", "alan", "grace"),
}
# Matched against each word of the name, first word first: ``city_name`` is a city.
WORDS: dict[str, Suggestions] = {
    "city": _cities, "town": _cities,
    "country": _countries,
    "location": _location,
    "email": _fixed("ada@example.com", "alan@example.com"),
    "phone": _fixed("+44 20 7946 0958"),
    "url": _fixed("https://example.com/"), "website": _fixed("https://example.com/"),
    "date": _fixed("2024-08-06"), "day": _fixed("2024-08-06"), "time": _fixed("14:30"),
    "age": _fixed(36), "year": _fixed(2024), "temperature": _fixed(21), "temp": _fixed(21),
    "unit": lambda hint, seed: (mentioned(hint, ["fahrenheit", "celsius"]), ["celsius", "fahrenheit"]),
    "language": _fixed("English"), "currency": _fixed("EUR", "USD"),
    "price": _fixed(9.99), "amount": _fixed(10), "quantity": _fixed(2), "count": _fixed(3),
    "latitude": _fixed(48.8566), "longitude": _fixed(2.3522),
    "rating": _fixed(4), "score": _fixed(0.9), "confidence": _fixed(0.9), "sentiment": _fixed("positive"),
    "query": _prompt_text, "question": _prompt_text, "search": _prompt_text, "prompt": _prompt_text,
    "explanation": _text('First I read the question ("{topic}") and note what it asks.',
                         "Then I work through it one small step at a time.", "Finally I check the result."),
    "reasoning": _text('The question is "{topic}"; I break it into small steps and check each one.'),
    "step": _text('Read the question: "{topic}".', "Work through it one small step at a time.",
                  "Check the result."),
    "answer": _text('Here is a short answer to "{topic}" (from the practice server).'),
    "result": _text('The result for "{topic}" (from the practice server).'),
    "summary": _text('A summary of "{topic}".'), "description": _text('A description of "{topic}".'),
    "title": _text("About: {topic}"), "text": _text('Some text about "{topic}".'),
    "message": _text('A message about "{topic}".'), "content": _text('Some content about "{topic}".'),
    "tags": lambda hint, _seed: ([], [words(hint)[:3] or ["example"]]),
}


def _linear_equation(match: re.Match) -> dict[str, Any]:
    """'solve 8x + 31 = 2' -> the steps and 'x = -29/8' (parsing.py's MathResponse example)."""
    a = {"": 1, "-": -1}.get(match.group(1)) or int(match.group(1))
    b = int(match.group(3)) * (1 if match.group(2) == "+" else -1)
    c = int(match.group(4))
    if a == 0:
        return {}
    x = Fraction(c - b, a)
    ax = {1: "x", -1: "-x"}.get(a, f"{a}x")
    move = f"Subtract {b} from" if b > 0 else f"Add {-b} to"
    steps = [{"explanation": f"{move} both sides.", "output": f"{ax} = {c - b}"}]
    if a != 1:
        steps.append({"explanation": f"Divide both sides by {a}.", "output": f"x = {x}"})
    answer = f"x = {x}"
    return {"steps": steps, "final_answer": answer, "answer": answer, "solution": answer, "result": answer,
            "explanation": " ".join(step["explanation"] for step in steps)}


ORDERS_QUERY = {  # parsing_tools.py's Query example: fulfilled orders from last November, delivered late
    "table_name": "orders",
    "columns": ["id", "status", "expected_delivery_date", "delivered_at", "shipped_at", "ordered_at"],
    "conditions": [
        {"column": "ordered_at", "operator": ">=", "value": "2023-11-01"},
        {"column": "ordered_at", "operator": "<", "value": "2023-12-01"},
        {"column": "status", "operator": "=", "value": "fulfilled"},
        {"column": "delivered_at", "operator": ">", "value": {"column_name": "expected_delivery_date"}},
    ],
    "order_by": "asc",
}
# Prompts the notebooks and openai-python's examples use, and the property values they imply.
CATALOGUE: list[tuple[re.Pattern, Callable[[re.Match], dict[str, Any]]]] = [
    (re.compile(r"(?<![\w.])(-?\d{0,9})\s*x\s*([+-])\s*(\d{1,9})\s*=\s*(-?\d{1,9})(?![\d.])"), _linear_equation),
    (re.compile(r"\borders\b.*\bnovember\b", re.IGNORECASE), lambda _match: ORDERS_QUERY),
    (re.compile(r"\bcapital of france\b", re.IGNORECASE),
     lambda _match: {"answer": "Paris", "capital": "Paris", "city": "Paris", "country": "France"}),
]


def _catalogue_values(hint: str) -> list[dict[str, Any]]:
    return [values(match) for pattern, values in CATALOGUE for match in [pattern.search(hint)] if match]
