"""How temperature, seed and the system message change a reply: visibly, and always the same way.

- ``temperature`` 0 or unset gives the catalogue's text. Above 0, some words are swapped for others a
  warmer model might pick: the higher the temperature, the more of them. Which ones depends on the seed
  (and the temperature), so the same (temperature, seed) always gives the same reply, as ``seed`` promises.
- A system message asking for a style gets it: a pirate, one sentence, or French.
"""

from __future__ import annotations

import random
import re

SYNONYMS = {
    "quiet": ["still", "silent", "gentle"], "deep": ["far", "low", "down"], "lifts": ["raises", "spreads"],
    "greet": ["meet", "catch", "hail"], "morning": ["rising", "early", "golden"], "hundred": ["thousand", "dozen"],
    "home": ["house", "shelter", "haven"], "bends": ["sways", "leans", "bows"], "storm": ["gale", "wind", "squall"],
    "warm": ["safe", "snug"], "gold": ["leaves", "amber", "copper"], "dreams": ["sleeps", "rests", "waits"],
    "patient": ["steady", "quiet", "faithful"], "open": ["gentle", "generous"], "kitchen": ["dining", "garden"],
    "violin": ["fiddle", "cello"], "clock": ["timepiece", "clock"], "storms": ["gales", "winds"], "small": ["little", "tiny"],
    "question": ["problem", "puzzle"], "smallest": ["simplest", "quickest"], "experiment": ["test", "trial"],
    "answer": ["reply", "response"], "real": ["proper", "genuine"], "short": ["brief", "quick"],
    "Green": ["Young", "Bright", "New"], "silence": ["stillness", "quiet"], "light": ["sun", "glow"],
    "capital": ["capital city", "seat of government"], "friend": ["dear", "reader"], "right": ["straight", "at once"],
}
_WORDS = re.compile(r"\b(" + "|".join(map(re.escape, SYNONYMS)) + r")\b")


def warmed(text: str, temperature: float | None, seed: int | None, key: str) -> str:
    """The text as a model at this temperature (and seed) might put it. ``key`` stands for the request."""
    if not temperature:
        return text
    chance = min(1.0, temperature / 2)
    rng = random.Random(f"{seed}|{temperature:.3f}|{key}")

    def swap(match: re.Match) -> str:
        word = match.group(1)
        return rng.choice(SYNONYMS[word]) if rng.random() < chance else word

    return _WORDS.sub(swap, text)


# --- styles a system message can ask for ------------------------------------------------------------

FRENCH = {
    "The capital of France is Paris.": "La capitale de la France est Paris.",
    "This is a test.": "Ceci est un test.",
    "OK": "OK",
}
FRENCH_PREFIX = "Je suis le serveur d'entraînement et mon français est limité ; voici ma réponse en anglais :\n\n"
PIRATE_WORDS = {"you": "ye", "your": "yer", "my": "me", "is": "be", "are": "be", "the": "th'", "hello": "ahoy",
                "friend": "matey", "yes": "aye", "stop": "avast"}
_PIRATE = re.compile(r"\b(" + "|".join(PIRATE_WORDS) + r")\b", re.IGNORECASE)


def _french(text: str) -> str:
    return FRENCH.get(text, FRENCH_PREFIX + text)


def _one_sentence(text: str) -> str:
    match = re.search(r"[.!?](?=\s|$)", text)
    return text[: match.end()] if match else text


def _pirate(text: str) -> str:
    def swap(match: re.Match) -> str:
        word = PIRATE_WORDS[match.group(1).lower()]
        return word.capitalize() if match.group(1)[0].isupper() else word

    return f"Arr! {_PIRATE.sub(swap, text)} Yo-ho-ho!"


STYLES = [  # applied in this order when the system message asks for several
    (re.compile(r"\bfrench\b|\bfran[cç]ais\b", re.IGNORECASE), _french),
    (re.compile(r"\b(?:one|single|a) sentence\b", re.IGNORECASE), _one_sentence),
    (re.compile(r"\bpirate\b", re.IGNORECASE), _pirate),
]


def styled(text: str, system: str) -> str:
    """The text in the styles the system message asks for."""
    for pattern, style in STYLES:
        if pattern.search(system):
            text = style(text)
    return text
