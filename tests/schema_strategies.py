"""Hypothesis strategies for tests/test_schema_values.py: any JSON, schema-shaped junk, and
well-formed schemas that always have a value (so the generator must find one)."""

from __future__ import annotations

import math

from hypothesis import strategies as st

KEYWORDS = [
    "type", "properties", "required", "additionalProperties", "patternProperties", "propertyNames",
    "minProperties", "maxProperties", "items", "prefixItems", "minItems", "maxItems", "uniqueItems",
    "enum", "const", "anyOf", "oneOf", "allOf", "not", "$ref", "$defs", "definitions", "minimum",
    "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength",
    "pattern", "format", "default", "examples", "title", "description", "$id", "if", "then", "contains",
]
NAMES = ["city", "country", "name", "email", "date", "age", "unit", "query", "explanation",
         "final_answer", "steps", "value", "id", "count", "tags", "location", "x", "first_name"]
PATTERNS = ["^[a-z]+$", "^[A-Z]{2}-\\d{3}$", "^\\d{4}-\\d{2}-\\d{2}$", "^(red|green|blue)$", "@",
            "^\\+?[0-9 ]{7,15}$", "^[a-z0-9_]{3,16}$", "x|y", "^$", "^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$"]
FORMATS = ["date", "date-time", "time", "email", "uri", "uuid", "ipv4", "ipv6", "hostname", "duration"]

scalars = (st.none() | st.booleans() | st.integers(-10**20, 10**20)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8))
json_values = st.recursive(
    scalars, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3),
    max_leaves=12,
)

# Schema-shaped junk: the right keywords with values of any kind, nested.
_odd_values = (st.sampled_from(["string", "integer", "number", "object", "array", "null", "boolean", "#",
                                "#/$defs/A", "#/$defs/B", "#/definitions/A", "^a+$", "(", "date", "email", "a"])
               | st.lists(st.sampled_from(["string", "integer", "null", "object", "a"]), max_size=3)
               | st.integers(-3, 6) | st.floats(-5, 5) | json_values)
_junk = st.recursive(
    st.booleans() | st.dictionaries(st.sampled_from(KEYWORDS), _odd_values, max_size=4),
    lambda kids: st.dictionaries(
        st.sampled_from(KEYWORDS),
        kids | st.lists(kids, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "A"]), kids, max_size=3) | _odd_values,
        max_size=5,
    ),
    max_leaves=25,
)
schema_like = _junk | st.builds(
    lambda schema, a, b: {**schema, "$defs": {"A": a, "B": b}} if isinstance(schema, dict) else schema, _junk, _junk, _junk
)


def _string(with_formats: bool) -> st.SearchStrategy[dict]:
    options = [
        st.just({"type": "string"}),
        st.builds(lambda low, extra: {"type": "string", "minLength": low, "maxLength": low + extra},
                  st.integers(0, 30), st.integers(0, 10)),
        st.sampled_from(PATTERNS).map(lambda p: {"type": "string", "pattern": p}),
        st.lists(st.text(max_size=8), min_size=1, max_size=4).map(lambda e: {"type": "string", "enum": e}),
    ]
    if with_formats:
        options.append(st.sampled_from(FORMATS).map(lambda f: {"type": "string", "format": f}))
    return st.one_of(options)


@st.composite
def _number(draw, integer: bool) -> dict:
    """Bounds wide enough that a multiple of multipleOf always fits between them."""
    kind = "integer" if integer else "number"
    step = draw(st.sampled_from([None, 1, 2, 5, 0.5, 2.5] if integer else [None, 1, 0.5, 0.25, 3]))
    real_step = (step.as_integer_ratio()[0] if isinstance(step, float) else step) if integer and step else step or 1
    low = draw(st.integers(-1000, 1000) if integer else st.floats(-1e6, 1e6))
    high = low + draw(st.integers(0, 50)) + 3 * math.ceil(real_step)
    schema = {"type": kind}
    schema["exclusiveMinimum" if draw(st.booleans()) else "minimum"] = low
    if draw(st.booleans()):
        schema["exclusiveMaximum" if draw(st.booleans()) else "maximum"] = high
    if step:
        schema["multipleOf"] = step
    return schema


def _leaf(with_formats: bool) -> st.SearchStrategy:
    return st.one_of(
        _string(with_formats), _number(True), _number(False),
        st.just({"type": "boolean"}), st.just({"type": "null"}), st.just({}), st.just(True),
        json_values.map(lambda v: {"const": v}),
        st.lists(json_values, min_size=1, max_size=4).map(lambda e: {"enum": e}),
        st.sampled_from(["#/$defs/Leaf", "#/$defs/Node", "#/definitions/Legacy"]).map(lambda r: {"$ref": r}),
    )


def _by_kind(kind: str, with_formats: bool) -> st.SearchStrategy[dict]:
    return {"string": _string(with_formats), "integer": _number(True), "boolean": st.just({"type": "boolean"}),
            "null": st.just({"type": "null"}), "array": st.just({"type": "array", "items": {"type": "string"}}),
            "object": st.just({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]})}[kind]


def _composites(kids: st.SearchStrategy, with_formats: bool) -> st.SearchStrategy:
    objects = st.builds(
        lambda props, data, extra: {
            "type": "object", "properties": props,
            "required": [name for name, keep in zip(props, data) if keep], **extra},
        st.dictionaries(st.sampled_from(NAMES), kids, max_size=4), st.lists(st.booleans(), min_size=4, max_size=4),
        st.sampled_from([{}, {"additionalProperties": False}, {"additionalProperties": True},
                         {"additionalProperties": {"type": "integer"}, "minProperties": 1}]),
    )
    arrays = st.builds(lambda items, low, extra: {"type": "array", "items": items, "minItems": low,
                                                  **({"maxItems": low + extra} if extra is not None else {})},
                       kids, st.integers(0, 3), st.none() | st.integers(0, 3))
    one_of = st.lists(st.sampled_from(["string", "integer", "boolean", "null", "array", "object"]),
                      unique=True, min_size=1, max_size=3).flatmap(
        lambda kinds: st.tuples(*[_by_kind(k, with_formats) for k in kinds])).map(lambda t: {"oneOf": list(t)})
    prefixed = lambda prefix: st.dictionaries(st.sampled_from(NAMES), kids, min_size=1, max_size=3).map(  # noqa: E731
        lambda props: {"type": "object", "properties": {prefix + k: v for k, v in props.items()},
                       "required": [prefix + k for k in props]})
    return st.one_of(
        objects, arrays, one_of,
        st.lists(kids, min_size=1, max_size=3).map(lambda branches: {"anyOf": branches}),
        st.tuples(prefixed("a_"), prefixed("b_")).map(lambda pair: {"allOf": list(pair)}),
        st.sampled_from(["string", "integer", "boolean", "object"]).flatmap(
            lambda kind: _by_kind(kind, with_formats)).map(lambda s: {**s, "type": [s["type"], "null"]}),
        kids.map(lambda s: {"anyOf": [s, {"type": "null"}]}),
    )


def well_formed_schemas(with_formats: bool = True) -> st.SearchStrategy[dict]:
    """Schemas that always have a value: objects, arrays, enums, anyOf/oneOf/allOf, type lists and
    $refs to $defs (one of them recursive, with an empty list as its way out) and to definitions."""
    leaf = _leaf(with_formats)
    body = st.recursive(leaf, lambda kids: _composites(kids, with_formats), max_leaves=12)
    node = {"type": "object", "properties": {"label": {"type": "string"},
                                             "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
            "required": ["label", "children"], "additionalProperties": False}
    return st.builds(
        lambda main, defined, legacy: {
            **(main if isinstance(main, dict) else {"allOf": [main]}),
            "$defs": {"Leaf": defined, "Node": node}, "definitions": {"Legacy": legacy}},
        body, _string(with_formats) | _number(True), _number(False) | st.just({"type": "boolean"}),
    )
