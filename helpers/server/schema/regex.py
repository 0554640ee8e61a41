"""Example strings for a regular expression, for JSON Schema's ``pattern``.

It walks the pattern as Python's own parser reads it and takes the first option everywhere, so
simple patterns such as ``^[A-Z]{2}-\\d{3}$`` get a match. It is a best effort: a lookahead's
text is written out (so a password rule like ``(?=.*\\d)`` gets its digit), other lookarounds
are skipped and a few rare constructs give up, so callers check each result with ``re.search``.
"""

from __future__ import annotations

import re

try:  # Python 3.11+
    from re import _constants as sre, _parser as sre_parse
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as sre  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

MAX_LENGTH = 10_000
# Characters tried, in order, for ".", classes like [^a-z] and categories like \w.
CHAR_POOL = "a0 A_-.x9Z@/:z"
CATEGORIES = {
    "DIGIT": r"\d", "NOT_DIGIT": r"\D", "SPACE": r"\s", "NOT_SPACE": r"\S",
    "WORD": r"\w", "NOT_WORD": r"\W", "LINEBREAK": r"\n", "NOT_LINEBREAK": r"[^\n]",
}
REPEATS = tuple(getattr(sre, name) for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") if hasattr(sre, name))
SKIPPED = (sre.AT, sre.ASSERT, sre.ASSERT_NOT)  # anchors, lookbehinds, negative lookarounds


class _GiveUp(Exception):
    """The pattern uses something this walker does not produce text for."""


def regex_examples(pattern: str) -> list[str]:
    """Strings that probably match ``pattern``, shortest first: repeats run their minimum
    count, then a few more times, so that a caller with a minLength has longer ones to try."""
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, OverflowError, RecursionError, ValueError, TypeError):
        return []
    examples: list[str] = []
    for extra in (0, 1, 3, 8):
        try:
            text = _emit(parsed, extra, {})
        except (_GiveUp, RecursionError):
            break
        if text not in examples:
            examples.append(text)
    return examples


def _emit(items, extra: int, groups: dict) -> str:
    out = []
    for op, arg in items:
        if op is sre.LITERAL:
            out.append(chr(arg))
        elif op is sre.NOT_LITERAL:
            out.append("a" if arg != ord("a") else "b")
        elif op is sre.ANY:
            out.append("a")
        elif op is sre.IN:
            out.append(_char_in(arg))
        elif op is sre.BRANCH:
            out.append(_emit(arg[1][0], extra, groups))
        elif op is sre.SUBPATTERN:
            text = _emit(arg[-1], extra, groups)
            if arg[0]:
                groups[arg[0]] = text
            out.append(text)
        elif op in REPEATS:
            low, high, sub = arg
            count = low + extra if high is sre.MAXREPEAT else min(low + extra, high)
            text = _emit(sub, extra, groups)
            if len(text) * count > MAX_LENGTH:
                raise _GiveUp
            out.append(text * count)
        elif op is getattr(sre, "ATOMIC_GROUP", None):
            out.append(_emit(arg, extra, groups))
        elif op is sre.ASSERT and arg[0] == 1:  # a lookahead
            out.append(_emit(arg[1], 0, groups))
        elif op is sre.GROUPREF:
            out.append(groups.get(arg, ""))
        elif op in SKIPPED:
            continue
        else:
            raise _GiveUp
        if sum(map(len, out)) > MAX_LENGTH:
            raise _GiveUp
    return "".join(out)


def _char_in(items) -> str:
    """One character of a class like [a-z0-9_] or [^"\\s]: the start of its first range, else
    the first character of CHAR_POOL that it accepts, else its first literal."""
    negated = bool(items) and items[0][0] is sre.NEGATE
    starts = [] if negated else [chr(arg[0]) for op, arg in items if op is sre.RANGE]
    literals = [] if negated else [chr(arg) for op, arg in items if op is sre.LITERAL]
    for char in starts + list(CHAR_POOL) + literals:
        if _member(char, items) != negated:
            return char
    raise _GiveUp


def _member(char: str, items) -> bool:
    for op, arg in items:
        if op is sre.LITERAL and char == chr(arg):
            return True
        if op is sre.RANGE and arg[0] <= ord(char) <= arg[1]:
            return True
        if op is sre.CATEGORY:
            name = str(arg).replace("CATEGORY_", "").replace("UNI_", "").replace("LOC_", "")
            if name in CATEGORIES and re.fullmatch(CATEGORIES[name], char):
                return True
    return False
