"""A deterministic JSON value for a JSON schema: the practice server's structured output.

For ``response_format: {"type": "json_schema"}`` and forced tool calls, the server must answer
with JSON that is valid against whatever schema the client sent, and that looks like an answer
to the prompt. ``example_value`` proposes candidates (plausible ones from schema_hints first) and
keeps the first that conforms.py accepts; a schema that is malformed or asks for the
impossible raises SchemaError, a ValueError that the server answers as a 400.

    >>> example_value({"type": "object", "properties": {"city": {"type": "string"}},
    ...                "required": ["city"], "additionalProperties": False},
    ...               hint="What's the weather in Paris and Tokyo?")
    {'city': 'Paris'}
"""

from __future__ import annotations

import copy
import datetime
import math
import re
import uuid
from fractions import Fraction
from typing import Any, Callable, Iterator

from .regex import regex_examples
from .check import MAX_COUNT, SchemaError, Unsatisfiable, Budget, check_schema, child, resolve_ref
from .conforms import conforms, json_equal
from .hints import mentioned, rotate, suggestions
from .merge import merge, only_annotations

__all__ = ["SchemaError", "example_value"]

DEFAULT_ITEMS = 2  # items in a list when the schema does not say how many
MINIMAL_DEPTH = 24  # past this many levels, or inside a recursive $ref, make the smallest value
MAX_DEPTH = 48  # past this, give up on this branch (recursion needs an optional or empty way out)
OBJECT_WORDS = ("properties", "required", "additionalProperties", "patternProperties", "minProperties",
                "maxProperties", "propertyNames")
ARRAY_WORDS = ("items", "prefixItems", "minItems", "maxItems", "uniqueItems")
STRING_WORDS = ("minLength", "maxLength", "pattern", "format")
NUMBER_WORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
ALL_TYPES = ("string", "integer", "number", "boolean", "object", "array", "null")

Candidate = Callable[[], Any]


def example_value(schema: Any, *, hint: str = "", seed: int = 0) -> Any:
    """A JSON value valid against ``schema``, the same for the same arguments. ``hint`` is the
    user's prompt: it guides plausible values (the city it names, the answer to a known prompt).
    ``seed`` picks among equally good values, e.g. the n-th city for the n-th parallel tool call.
    Raises SchemaError (a ValueError) saying what is wrong and where, and nothing else."""
    check_schema(schema)
    try:
        value = _Generator(schema, hint if isinstance(hint, str) else "").value(schema, "$", None, int(seed))
    except RecursionError:  # a last guard: the depth limits below should make this unreachable
        raise SchemaError("the schema nests too deeply for the practice server") from None
    return copy.deepcopy(value)  # never hand out the schema's own const, enum or default objects


class _Generator:
    def __init__(self, root: Any, hint: str) -> None:
        self.root = root
        self.hint = hint
        self.budget = Budget()
        self.depth = 0
        self.refs: list[str] = []  # the $refs being expanded, outermost first
        self.arrays = 0  # arrays being filled, outermost first
        self.proven: dict = {}  # the parts already checked, so that checking the whole is linear

    @property
    def minimal(self) -> bool:
        """Inside a recursive $ref, or very deep: make the smallest value, so recursion ends."""
        return self.depth >= MINIMAL_DEPTH or len(set(self.refs)) < len(self.refs)

    def value(self, schema: Any, path: str, name: str | None, seed: int) -> Any:
        """The first candidate that conforms to ``schema``; Unsatisfiable when none does."""
        self.budget.spend(path)
        if schema is False:
            raise Unsatisfiable("no value can match here: a false schema, or parts (allOf, $ref and its siblings, "
                                "anyOf with its siblings) with no type or enum value in common", path)
        if self.depth >= MAX_DEPTH:
            raise Unsatisfiable("the value would nest too deeply: does the recursion have an optional way out?", path)
        self.depth += 1
        try:
            problem = None
            for candidate in self.candidates(schema, path, name, seed):
                try:
                    value = candidate()
                except Unsatisfiable as error:
                    problem = problem or error
                    continue
                if conforms(value, schema, self.root, self.budget, self.proven):
                    self.proven[id(value), id(schema)] = (value, schema)
                    return value
        finally:
            self.depth -= 1
        raise problem or Unsatisfiable(f"found no value that satisfies {_describe(schema)}", path)

    def candidates(self, schema: Any, path: str, name: str | None, seed: int) -> Iterator[Candidate]:
        """Best first: what the schema fixes (const, enum), what the prompt implies, the schema's
        own default and examples, generic plausible values, then values built from the schema."""
        if not isinstance(schema, dict):
            yield from ([] if schema is False else self.candidates({}, path, name, seed))
            return
        if "const" in schema or "enum" in schema:
            options = [schema["const"]] if "const" in schema else schema["enum"]
            strings = [option for option in options if isinstance(option, str) and option.strip()]
            yield from map(_fixed, rotate(mentioned(self.hint, strings), seed) + rotate(options, seed))
            return
        prompted, generic = suggestions(name, self.hint, seed)
        examples = schema["examples"][:5] if isinstance(schema.get("examples"), list) else []
        given = prompted + ([schema["default"]] if "default" in schema else []) + examples
        yield from map(_fixed, _fitted(given + generic, schema))
        if "$ref" in schema:
            yield lambda: self.via_ref(schema, path, name, seed)
        elif "allOf" in schema:
            yield lambda: self.value(self.all_of(schema), child(path, "allOf"), name, seed)
        elif "anyOf" in schema or "oneOf" in schema:
            yield from self.branches(schema, path, name, seed)
        else:
            for kind in self.types(schema):
                yield from self.typed(kind, schema, path, name, seed)

    def via_ref(self, schema: dict, path: str, name: str | None, seed: int) -> Any:
        target, target_path = resolve_ref(self.root, schema["$ref"], child(path, "$ref"))
        rest = {key: value for key, value in schema.items() if key != "$ref"}
        self.refs.append(schema["$ref"])
        try:
            return self.value(target if only_annotations(rest) else merge(rest, target), target_path, name, seed)
        finally:
            self.refs.pop()

    def all_of(self, schema: dict) -> Any:
        """One schema that asks for what all the branches ask for (validation checks the rest)."""
        merged: Any = {key: value for key, value in schema.items() if key != "allOf"}
        for branch in schema["allOf"]:
            for _ in range(16):  # inline a branch's own $ref chain, so its keywords can merge
                if not (isinstance(branch, dict) and "$ref" in branch):
                    break
                self.budget.spend()
                target = resolve_ref(self.root, branch["$ref"], "$")[0]
                branch = merge({key: value for key, value in branch.items() if key != "$ref"}, target)
            merged = merge(merged, branch)
        return merged

    def branches(self, schema: dict, path: str, name: str | None, seed: int) -> Iterator[Candidate]:
        """anyOf/oneOf: each branch with the rest of the schema; for oneOf, and not the others.
        Null-only branches come last, or first when the value should be small."""
        key = "anyOf" if "anyOf" in schema else "oneOf"
        rest = {k: v for k, v in schema.items() if k != key}
        order = sorted(range(len(schema[key])), key=lambda i: _branch_cost(schema[key][i], self.minimal))
        for index in order:
            branch = schema[key][index]
            if key == "oneOf":
                others = [b for i, b in enumerate(schema[key]) if i != index]
                branch = merge(branch, {"not": {"anyOf": others}}) if others else branch
            merged = branch if only_annotations(rest) else merge(rest, branch)
            where = child(child(path, key), index)
            yield lambda merged=merged, where=where: self.value(merged, where, name, seed)

    def types(self, schema: dict) -> list[str]:
        """The declared types, nullable last (first when minimal); else those its keywords imply, then any."""
        declared = schema.get("type")
        if declared is not None:
            kinds = declared if isinstance(declared, list) else [declared]
            return sorted(kinds, key=lambda kind: (kind == "null") != self.minimal)
        implied = [kind for kind, words in [("object", OBJECT_WORDS), ("array", ARRAY_WORDS),
                                            ("string", STRING_WORDS), ("number", NUMBER_WORDS)]
                   if any(word in schema for word in words)]
        return implied + [kind for kind in ALL_TYPES if kind not in implied]

    def typed(self, kind: str, schema: dict, path: str, name: str | None, seed: int) -> Iterator[Candidate]:
        if kind == "object":
            yield lambda: self.object(schema, path, name, seed)
        elif kind == "array":
            yield lambda: self.array(schema, path, name, seed)
        elif kind == "string":
            yield from map(_fixed, _strings(schema, name, seed))
        elif kind in ("integer", "number"):
            yield from map(_fixed, _numbers(schema, kind == "integer", seed))
        elif kind == "boolean":
            yield from map(_fixed, rotate([True, False], seed))
        else:
            yield _fixed(None)

    def object(self, schema: dict, path: str, name: str | None, seed: int) -> dict:
        """Every declared property (only the required ones when minimal), in declared order;
        an optional property with no possible value is left out."""
        properties, required = schema.get("properties", {}), schema.get("required", [])
        keys = [key for key in properties if key in required or not self.minimal]
        keys += [key for key in dict.fromkeys(required) if key not in properties]
        extra = (f"{name or 'property'}_{n}" for n in range(1, MAX_COUNT + 2))
        while len(keys) < schema.get("minProperties", 0):
            keys.append(next(key for key in extra if key not in keys))
        value: dict[str, Any] = {}
        for index, key in enumerate(keys):
            declared = child(child(path, "properties"), key)
            sub_path = declared if key in properties else child(path, "additionalProperties")
            try:
                value[key] = self.value(_property_schema(schema, key), sub_path, key, seed)
            except Unsatisfiable:
                still_possible = len(value) + len(keys) - index - 1 >= schema.get("minProperties", 0)
                if key in required or not still_possible:
                    raise
        optional = [key for key in value if key not in required]
        while len(value) > schema.get("maxProperties", len(value)) and optional:
            del value[optional.pop()]
        return value

    def array(self, schema: dict, path: str, name: str | None, seed: int) -> list:
        """DEFAULT_ITEMS items (one in an array inside an array, so that nesting does not multiply),
        or as many as minItems/maxItems/prefixItems ask; named after the array in the singular
        ("cities" -> "city") and seeded by position, so that they differ."""
        prefix, least = schema.get("prefixItems", []), int(schema.get("minItems", 0))
        wanted = max(least, len(prefix), DEFAULT_ITEMS if self.arrays == 0 else 1)
        count = least if self.minimal else min(int(schema.get("maxItems", wanted)), wanted)
        self.arrays += 1
        try:
            return self.fill(schema, path, _singular(name), seed, count)
        finally:
            self.arrays -= 1

    def fill(self, schema: dict, path: str, item_name: str | None, seed: int, count: int) -> list:
        prefix, least = schema.get("prefixItems", []), int(schema.get("minItems", 0))
        unique = schema.get("uniqueItems", False)
        items: list[Any] = []
        for index in range(count):
            if index < len(prefix):
                sub, sub_path = prefix[index], child(child(path, "prefixItems"), index)
            else:
                sub, sub_path = schema.get("items", True), child(path, "items")
            try:
                items.append(self.item(sub, sub_path, item_name, seed + index, items, unique))
            except Unsatisfiable:
                if index < least:
                    raise
                break
        return items

    def item(self, schema: Any, path: str, name: str | None, seed: int, before: list, unique: bool) -> Any:
        """One item; for uniqueItems, other seeds (then no name, so not the same plausible value) until it is new."""
        for attempt in range(8 if unique else 1):
            value = self.value(schema, path, name if attempt < 2 else None, seed + 101 * attempt)
            if not unique or not any(json_equal(value, other) for other in before):
                return value
        raise Unsatisfiable("found no new value for an array with uniqueItems", path)


def _fixed(value: Any) -> Candidate:
    return lambda: value


def _fitted(values: list[Any], schema: dict) -> Iterator[Any]:
    """Each value, and a string also cut or padded to the schema's length limits."""
    for value in values:
        yield value
        if isinstance(value, str):
            yield _fit(value, schema)


def _fit(text: str, schema: dict) -> str:
    padded = text + "x" * (int(schema.get("minLength", 0)) - len(text))
    return padded[: int(schema["maxLength"])] if "maxLength" in schema else padded


def _branch_cost(branch: Any, minimal: bool) -> int:
    """For sorting anyOf/oneOf branches: null last normally; smallest first when minimal."""
    is_null = isinstance(branch, dict) and branch.get("type") == "null"
    if not minimal:
        return int(is_null)
    return 0 if is_null else 2 if isinstance(branch, dict) and ("$ref" in branch or "properties" in branch) else 1


def _property_schema(schema: dict, key: str) -> Any:
    """What a property's value must satisfy: its entry in properties, any matching patternProperties,
    else additionalProperties."""
    subs = [schema["properties"][key]] if key in schema.get("properties", {}) else []
    subs += [sub for pattern, sub in schema.get("patternProperties", {}).items() if re.search(pattern, key)]
    if not subs:
        return schema.get("additionalProperties", True)
    return subs[0] if len(subs) == 1 else {"allOf": subs}


def _singular(name: str | None) -> str | None:
    if not name:
        return name
    if name.endswith("ies"):
        return name[:-3] + "y"
    return name[:-1] if name.endswith("s") and not name.endswith("ss") else name


def _describe(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "the schema"
    words = [key for key in schema if key not in ("title", "description", "default", "examples", "$defs")]
    return "all of " + ", ".join(words) if words else "the schema"


def _strings(schema: dict, name: str | None, seed: int) -> Iterator[str]:
    """The format's example, the pattern's examples, then words from the name; each also cut
    or padded to minLength/maxLength."""
    bases = [_format_example(schema.get("format", ""), seed)]
    bases += regex_examples(schema["pattern"]) if "pattern" in schema else []
    words = re.findall(r"[a-z0-9]+", (name or "").lower())
    bases.append(" ".join(["example", *words]) + (f" {seed + 1}" if seed else ""))
    yield from _fitted([base for base in bases if base is not None], schema)


def _format_example(fmt: str, seed: int) -> str | None:
    day = datetime.date(2024, 8, 6) + datetime.timedelta(days=seed % 3650)
    return {
        "date": day.isoformat(), "date-time": f"{day.isoformat()}T14:30:00Z", "time": "14:30:00Z",
        "duration": f"P{seed + 1}D", "email": f"ada{seed or ''}@example.com", "hostname": "example.com",
        "ipv4": f"192.0.2.{seed % 254 + 1}", "ipv6": f"2001:db8::{seed % 65535 + 1:x}",
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"practice-server/{seed}")),
        "uri": f"https://example.com/{seed or ''}", "uri-reference": "/example",
    }.get(fmt)


def _numbers(schema: dict, integer: bool, seed: int) -> Iterator[int | float]:
    """1 (+ seed) when the bounds allow it, else numbers at and just inside the bounds, moved
    to multiples of multipleOf. Exact fractions until the end, so huge bounds do not overflow."""
    lows = [Fraction(schema[k]) + (k == "exclusiveMinimum") for k in ("minimum", "exclusiveMinimum") if k in schema]
    highs = [Fraction(schema[k]) - (k == "exclusiveMaximum") for k in ("maximum", "exclusiveMaximum") if k in schema]
    low, high = max(lows, default=None), min(highs, default=None)
    start = Fraction(1 + seed) if low is None or low <= 1 + seed else low
    start = start if high is None or start <= high else high
    nearby = [start, start + Fraction(1, 2), start - Fraction(1, 2), Fraction(0)]
    nearby += [(low + high) / 2] if low is not None and high is not None else []
    nearby += [Fraction(schema[k]) + d for k in ("exclusiveMinimum", "exclusiveMaximum") if k in schema
               for d in (Fraction(1, 10**6), -Fraction(1, 10**6))]
    step = Fraction(schema["multipleOf"]) if "multipleOf" in schema else None
    if step is not None:
        if integer:  # integer multiples of p/q (lowest terms) that are integers are the multiples of p
            step = Fraction(step.numerator)
        nearby = [step * round_(n / step) for n in nearby for round_ in (math.ceil, math.floor)]
        nearby += [step * k for k in (1, 2, 3)]
    elif integer:
        nearby = [Fraction(round_(n)) for n in nearby for round_ in (math.ceil, math.floor)]
    for number in dict.fromkeys(nearby):
        if number.denominator == 1:
            yield int(number)
        elif not integer and abs(number) < 1e300:
            yield float(number)
