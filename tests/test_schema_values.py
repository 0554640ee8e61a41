"""example_value: a deterministic JSON value for any schema a client sends (structured output,
forced tool calls). Every value is checked with the ``jsonschema`` package (Draft 2020-12, with
its format checker), which the server itself does not use.

Property-based tests (hypothesis) are in tests/test_schema_fuzz.py.
"""

from __future__ import annotations

import datetime
import doctest
import ipaddress
import json
import re
import subprocess
import sys
import time
import uuid
from enum import Enum
from typing import Any, Callable, List, Optional, Union

import jsonschema
import openai
import pytest
from openai.lib._pydantic import to_strict_json_schema
from pydantic import BaseModel

from helpers.server.schema import values as schema_values
from helpers.server.schema.regex import regex_examples
from helpers.server.schema import SchemaError, example_value


def assert_valid(value: Any, schema: Any) -> None:
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    validator.validate(value)


def is_date(v: str) -> bool:
    return datetime.date.fromisoformat(v) is not None and len(v) == 10


OBJECT = {"type": "object", "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
          "required": ["city", "country"], "additionalProperties": False}
WEATHER = "What's the weather in Paris and Tokyo?"
NODE_DEFS = {"Node": {"type": "object", "properties": {"label": {"type": "string"},
                                                       "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
                      "required": ["label", "children"], "additionalProperties": False}}

# (schema, hint, what else must hold): one or more per feature.
FEATURES: dict[str, tuple[Any, str, Callable[[Any], bool]]] = {
    "object strict, city from the hint": (OBJECT, WEATHER, lambda v: v == {"city": "Paris", "country": "France"}),
    "object optional property kept": ({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
                                       "required": ["a"]}, "", lambda v: set(v) == {"a", "b"}),
    "required only via additionalProperties": ({"type": "object", "required": ["x"], "additionalProperties": {"type": "integer"}},
                                               "", lambda v: isinstance(v["x"], int)),
    "minProperties filled": ({"type": "object", "minProperties": 3, "additionalProperties": {"type": "boolean"}}, "",
                             lambda v: len(v) == 3),
    "maxProperties drops optional": ({"type": "object", "properties": {"a": {}, "b": {}, "c": {}}, "required": ["c"],
                                      "maxProperties": 1}, "", lambda v: list(v) == ["c"]),
    "patternProperties": ({"type": "object", "patternProperties": {"^n_": {"type": "integer"}}, "required": ["n_count"],
                           "additionalProperties": False}, "", lambda v: isinstance(v["n_count"], int)),
    "array of strings": ({"type": "array", "items": {"type": "string"}}, "", lambda v: len(v) == 2),
    "array minItems/maxItems": ({"type": "array", "items": {"type": "integer"}, "minItems": 3, "maxItems": 4}, "",
                                lambda v: len(v) == 3),
    "array maxItems 0": ({"type": "array", "items": {"type": "string"}, "maxItems": 0}, "", lambda v: v == []),
    "array uniqueItems of an enum": ({"type": "array", "items": {"enum": ["a", "b", "c"]}, "minItems": 3, "uniqueItems": True},
                                     "", lambda v: sorted(v) == ["a", "b", "c"]),
    "array uniqueItems of a named integer": ({"type": "object", "properties": {"ages": {"type": "array", "items": {"type": "integer"},
                                              "minItems": 3, "uniqueItems": True}}, "required": ["ages"]}, "",
                                             lambda v: len(set(v["ages"])) == 3),
    "prefixItems tuple": ({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False}, "",
                          lambda v: len(v) == 2 and isinstance(v[1], int)),
    "cities from the hint, in order": ({"type": "object", "properties": {"cities": {"type": "array", "items": {"type": "string"}}},
                                        "required": ["cities"]}, WEATHER, lambda v: v == {"cities": ["Paris", "Tokyo"]}),
    "string enum named in the hint": ({"type": "string", "enum": ["celsius", "fahrenheit"]}, "in Fahrenheit please",
                                      lambda v: v == "fahrenheit"),
    "const": ({"const": "fixed"}, "", lambda v: v == "fixed"),
    "const object": ({"const": {"a": [1, None]}}, "", lambda v: v == {"a": [1, None]}),
    "format date": ({"type": "string", "format": "date"}, "", is_date),
    "format date-time": ({"type": "string", "format": "date-time"}, "",
                         lambda v: datetime.datetime.fromisoformat(v.replace("Z", "+00:00")).tzinfo is not None),
    "format time": ({"type": "string", "format": "time"}, "", lambda v: re.fullmatch(r"\d\d:\d\d:\d\dZ", v)),
    "format email": ({"type": "string", "format": "email"}, "", lambda v: re.fullmatch(r"[^@\s]+@[^@\s]+\.\w+", v)),
    "format uri": ({"type": "string", "format": "uri"}, "", lambda v: v.startswith("https://")),
    "format uuid": ({"type": "string", "format": "uuid"}, "", lambda v: str(uuid.UUID(v)) == v),
    "format ipv4": ({"type": "string", "format": "ipv4"}, "", lambda v: ipaddress.IPv4Address(v) is not None),
    "format ipv6": ({"type": "string", "format": "ipv6"}, "", lambda v: ipaddress.IPv6Address(v) is not None),
    "format hostname": ({"type": "string", "format": "hostname"}, "", lambda v: "." in v),
    "format duration": ({"type": "string", "format": "duration"}, "", lambda v: v.startswith("P")),
    "minLength": ({"type": "string", "minLength": 20}, "", lambda v: len(v) >= 20),
    "maxLength": ({"type": "string", "maxLength": 3}, "", lambda v: len(v) <= 3),
    "exact length": ({"type": "string", "minLength": 5, "maxLength": 5}, "", lambda v: len(v) == 5),
    "pattern anchored": ({"type": "string", "pattern": r"^[A-Z]{2}-\d{3}$"}, "", lambda v: v == "AA-000"),
    "pattern alternation": ({"type": "string", "pattern": "^(red|green|blue)$"}, "", lambda v: v == "red"),
    "pattern unanchored": ({"type": "string", "pattern": "@"}, "", lambda v: "@" in v),
    "pattern with lengths": ({"type": "string", "pattern": "^[a-z]+$", "minLength": 6, "maxLength": 8}, "",
                             lambda v: 6 <= len(v) <= 8),
    "pattern backreference": ({"type": "string", "pattern": r"^(ab|cd)-\1$"}, "", lambda v: v == "ab-ab"),
    "pattern with lookaheads (a password rule)": ({"type": "string", "pattern": r"^(?=.*[A-Z])(?=.*\d).{8,}$"}, "",
                                                  lambda v: len(v) >= 8),
    "pattern and name": ({"type": "object", "properties": {"email": {"type": "string", "pattern": "^[^@]+@[^@]+$"}},
                          "required": ["email"]}, "", lambda v: v["email"] == "ada@example.com"),
    "integer bounds": ({"type": "integer", "minimum": 10, "maximum": 20}, "", lambda v: v == 10),
    "integer exclusive bounds": ({"type": "integer", "exclusiveMinimum": 10, "exclusiveMaximum": 12}, "", lambda v: v == 11),
    "integer multipleOf": ({"type": "integer", "minimum": 7, "multipleOf": 5}, "", lambda v: v == 10),
    "integer negative": ({"type": "integer", "maximum": -100}, "", lambda v: v == -100),
    "integer multipleOf a float": ({"type": "integer", "minimum": 3, "multipleOf": 2.5}, "", lambda v: v == 5),
    "integer huge": ({"type": "integer", "minimum": 10**30}, "", lambda v: v == 10**30),
    "number multipleOf 0.01": ({"type": "number", "minimum": 0.015, "maximum": 0.03, "multipleOf": 0.01}, "",
                               lambda v: 0.015 <= v <= 0.03),
    "number tight exclusive": ({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.001}, "",
                               lambda v: 0 < v < 0.001),
    "number huge": ({"type": "number", "minimum": 1e300}, "", lambda v: v >= 1e300),
    "boolean": ({"type": "boolean"}, "", lambda v: v is True),
    "null": ({"type": "null"}, "", lambda v: v is None),
    "type list prefers the non-null": ({"type": ["string", "null"]}, "", lambda v: isinstance(v, str)),
    "type list null first": ({"type": ["null", "integer"]}, "", lambda v: isinstance(v, int)),
    "enum of mixed types": ({"enum": [1, "two", None, {"three": 3}, [4]]}, "", lambda v: v == 1),
    "enum filtered by type": ({"type": "object", "enum": [1, "two", {"three": 3}]}, "", lambda v: v == {"three": 3}),
    "enum true is not 1": ({"enum": [1, True], "type": "boolean"}, "", lambda v: v is True),
    "anyOf first branch": ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, "", lambda v: isinstance(v, str)),
    "anyOf nullable": ({"anyOf": [{"type": "null"}, {"type": "integer"}]}, "", lambda v: isinstance(v, int)),
    "anyOf skips an impossible branch": ({"anyOf": [{"allOf": [{"type": "string"}, {"type": "integer"}]}, {"type": "boolean"}]},
                                         "", lambda v: isinstance(v, bool)),
    "anyOf with siblings": ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
                             "anyOf": [{"required": ["b"], "properties": {"b": {"type": "integer"}}}]}, "",
                            lambda v: isinstance(v["a"], str) and isinstance(v["b"], int)),
    "oneOf integer or number": ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, "", lambda v: v != int(v)),
    "oneOf needs a non-integer": ({"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 0}]}, "",
                                  lambda v: v < 0 or v != int(v)),
    "oneOf tagged objects": ({"oneOf": [{"type": "object", "properties": {"kind": {"const": "a"}}, "required": ["kind"]},
                                        {"type": "object", "properties": {"kind": {"const": "b"}}, "required": ["kind"]}]},
                             "", lambda v: v == {"kind": "a"}),
    "allOf objects": ({"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                                 {"type": "object", "properties": {"b": {"type": "integer"}}, "required": ["b"]}]}, "",
                      lambda v: set(v) == {"a", "b"}),
    "allOf numbers": ({"allOf": [{"minimum": 3}, {"maximum": 5}, {"type": "integer"}, {"multipleOf": 2}]}, "", lambda v: v == 4),
    "allOf of $refs": ({"$defs": {"A": {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}},
                        "allOf": [{"$ref": "#/$defs/A"}, {"properties": {"b": {"type": "integer"}}, "required": ["b"]}]}, "",
                       lambda v: set(v) == {"a", "b"}),
    "not": ({"type": "integer", "not": {"const": 1}}, "", lambda v: v != 1),
    "$ref to $defs": ({"$defs": {"City": {"type": "string"}}, "type": "object", "properties": {"city": {"$ref": "#/$defs/City"}},
                       "required": ["city"]}, WEATHER, lambda v: v == {"city": "Paris"}),
    "$ref to definitions": ({"definitions": {"N": {"type": "integer", "minimum": 3}}, "$ref": "#/definitions/N"}, "",
                            lambda v: v == 3),
    "$ref with siblings": ({"$defs": {"N": {"type": "integer"}}, "$ref": "#/$defs/N", "minimum": 10}, "", lambda v: v == 10),
    "$ref escaped names": ({"$defs": {"a/b": {"type": "integer"}, "c d": {"type": "boolean"}}, "type": "array",
                            "prefixItems": [{"$ref": "#/$defs/a~1b"}, {"$ref": "#/$defs/c%20d"}], "minItems": 2}, "",
                           lambda v: isinstance(v[0], int) and isinstance(v[1], bool)),
    "$ref recursive list ends in null": ({"type": "object", "properties": {"value": {"type": "integer"},
                                          "next": {"anyOf": [{"$ref": "#"}, {"type": "null"}]}}, "required": ["value", "next"]},
                                         "", lambda v: v["next"] is not None),
    "$ref recursive tree ends in []": ({"$defs": NODE_DEFS, "$ref": "#/$defs/Node"}, "",
                                       lambda v: len(v["children"]) == 2 and all(c["children"] == [] for c in v["children"])),
    "$ref to the root, which has an $id": ({"$id": "https://example.com/list", "type": "object", "properties": {
        "next": {"anyOf": [{"$ref": "#"}, {"type": "null"}]}}, "required": ["next"]}, "", lambda v: "next" in v),
    "nested objects and arrays": ({"type": "object", "properties": {"steps": {"type": "array", "items": {
        "type": "object", "properties": {"explanation": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}},
        "required": ["explanation", "tags"]}}}, "required": ["steps"]}, "", lambda v: len(v["steps"]) == 2),
    "default": ({"type": "string", "default": "hello"}, "", lambda v: v == "hello"),
    "default that is invalid is skipped": ({"type": "integer", "default": "x"}, "", lambda v: v == 1),
    "examples": ({"type": "string", "examples": ["sample"]}, "", lambda v: v == "sample"),
    "descriptions ignored": ({"type": "string", "description": "The city and state, e.g. San Francisco, CA"}, "",
                             lambda v: isinstance(v, str)),
    "empty schema": ({}, "", lambda v: v is not None),
    "true schema": (True, "", lambda v: v is not None),
    "no type, string keywords": ({"minLength": 3}, "", lambda v: isinstance(v, str) and len(v) >= 3),
    "no type, object keywords": ({"properties": {"a": {"type": "integer"}}, "required": ["a"]}, "", lambda v: v == {"a": 1}),
}


@pytest.mark.parametrize("name", FEATURES)
def test_each_feature_gives_a_valid_deterministic_value(name):
    schema, hint, holds = FEATURES[name]
    value = example_value(schema, hint=hint)
    assert_valid(value, schema)
    assert holds(value), value
    assert example_value(schema, hint=hint) == value
    json.dumps(value, allow_nan=False)  # plain JSON, as the server will send it


ERRORS = [  # (schema, where, what the message says)
    ({"type": "integer", "minimum": 5, "maximum": 3}, "$.minimum", "no number fits minimum 5 and maximum 3"),
    ({"properties": {"n": {"type": "number", "exclusiveMinimum": 1, "exclusiveMaximum": 1}}},
     "$.properties.n.exclusiveMinimum", "no number fits"),
    ({"properties": {"city": {"type": "string", "minLength": 5, "maxLength": 2}}}, "$.properties.city.minLength",
     "greater than maxLength"),
    ({"enum": []}, "$.enum", "enum is empty"),
    ({**OBJECT, "required": ["city", "country", "unit"]}, "$.required", "'unit' is not in properties"),
    ({"type": "strng"}, "$.type", "type must be one of"),
    ({"type": []}, "$.type", "non-empty list"),
    ({"$ref": "#/$defs/Missing"}, "$.$ref", "points at nothing"),
    ({"$ref": "https://example.com/schema.json"}, "$.$ref", "only local references"),
    ({"$defs": {"A": 3}, "$ref": "#/$defs/A"}, "$.$defs.A", "must be an object or a boolean"),
    ({"type": "string", "pattern": "(unclosed"}, "$.pattern", "not a regular expression"),
    ({"type": "array", "items": [{"type": "string"}]}, "$.items", "prefixItems"),
    ({"if": {"type": "string"}, "then": {}}, "$.if", "not supported"),
    ({"type": "integer", "multipleOf": 0}, "$.multipleOf", "greater than 0"),
    ({"type": "integer", "minimum": "3"}, "$.minimum", "finite number"),
    ({"type": "integer", "minimum": float("nan")}, "$.minimum", "finite number"),
    ({"type": "number", "exclusiveMinimum": True}, "$.exclusiveMinimum", "finite number"),
    ({"type": "array", "minItems": 10**6}, "$.minItems", "more than the practice server generates"),
    ({"type": "string", "minLength": -1}, "$.minLength", "non-negative integer"),
    ({"properties": {"a": {"$id": "https://x"}}}, "$.properties.a", "'$id' inside a schema"),
    (False, "$", "no value can match"),
    (5, "$", "must be an object or a boolean"),
    ({"type": "integer", "minimum": 1, "maximum": 4, "multipleOf": 5}, "$", "found no value that satisfies all of type, minimum"),
    ({"type": "object", "properties": {"steps": {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 3, "maximum": 4,
                                                                       "multipleOf": 10}}}, "required": ["steps"]},
     "$.properties.steps.items", "found no value"),
    ({"allOf": [{"type": "string"}, {"type": "integer"}]}, "$.allOf", "no type or enum value in common"),
    ({"type": "array", "items": {"enum": ["a", "b"]}, "minItems": 3, "uniqueItems": True}, "$.items", "uniqueItems"),
    ({"oneOf": [{"type": "string"}, {"type": "string"}]}, "$.oneOf[0]", "found no value"),
    ({"$defs": {"A": {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}, "required": ["a"]}}, "$ref": "#/$defs/A"},
     "$.$defs.A.properties.a", "optional way out"),
    ({"$ref": "#"}, "$", "optional way out"),
    ({"anyOf": [{"$ref": "#"}, {"$ref": "#"}]}, "$", "too complex"),
]


@pytest.mark.parametrize("schema, where, says", ERRORS, ids=[json.dumps(e[0])[:60] for e in ERRORS])
def test_a_bad_or_impossible_schema_raises_a_value_error_saying_where(schema, where, says):
    with pytest.raises(SchemaError) as raised:
        example_value(schema)
    assert isinstance(raised.value, ValueError)
    assert raised.value.path == where and says in str(raised.value), str(raised.value)
    assert str(raised.value).startswith(where + ": ")


def test_hostile_schemas_end_quickly_with_a_schema_error():
    deep: Any = {"type": "string"}
    for _ in range(5000):
        deep = {"items": deep}
    cycle = {"$defs": {"A": {"allOf": [{"$ref": "#/$defs/B"}, {"$ref": "#/$defs/B"}]},
                       "B": {"anyOf": [{"$ref": "#/$defs/A"}, {"$ref": "#/$defs/A"}]}}, "$ref": "#/$defs/A"}
    for schema in (deep, cycle):
        started = time.monotonic()
        with pytest.raises(SchemaError):
            example_value(schema)
        assert time.monotonic() - started < 10


# openai-python's examples: parsing.py, parsing_tools.py, parsing_tools_stream.py.
class Step(BaseModel):
    explanation: str
    output: str


class MathResponse(BaseModel):
    steps: List[Step]
    final_answer: str


class Table(str, Enum):
    orders = "orders"
    customers = "customers"
    products = "products"


class Column(str, Enum):
    id = "id"
    status = "status"
    expected_delivery_date = "expected_delivery_date"
    delivered_at = "delivered_at"
    shipped_at = "shipped_at"
    ordered_at = "ordered_at"
    canceled_at = "canceled_at"


class Operator(str, Enum):
    eq = "="
    gt = ">"
    lt = "<"
    le = "<="
    ge = ">="
    ne = "!="


class OrderBy(str, Enum):
    asc = "asc"
    desc = "desc"


class DynamicValue(BaseModel):
    column_name: str


class Condition(BaseModel):
    column: str
    operator: Operator
    value: Union[str, int, DynamicValue]


class Query(BaseModel):
    table_name: Table
    columns: List[Column]
    conditions: List[Condition]
    order_by: OrderBy


class GetWeather(BaseModel):
    city: str
    country: str


class Tree(BaseModel):  # recursive, with an optional parent: recursion must end
    name: str
    children: List["Tree"]
    parent: Optional["Tree"] = None


ORDERS = "look up all my orders in november of last year that were fulfilled but not delivered on time"
PYDANTIC_CASES = [
    (MathResponse, "solve 8x + 31 = 2", lambda m: m.final_answer == "x = -29/8" and [s.output for s in m.steps] == ["8x = -29", "x = -29/8"]),
    (MathResponse, "how do I solve quadratic equations?", lambda m: len(m.steps) == 2 and "quadratic" in m.final_answer),
    (Query, ORDERS, lambda q: q.table_name is Table.orders and q.conditions[-1].value == DynamicValue(column_name="expected_delivery_date")),
    (Query, "list the products", lambda q: q.table_name is Table.products and len(q.conditions) == 2),
    (GetWeather, "What's the weather like in SF and New York?", lambda w: (w.city, w.country) == ("San Francisco", "United States")),
    (GetWeather, WEATHER, lambda w: (w.city, w.country) == ("Paris", "France")),
    (Tree, "", lambda t: t.children and t.parent is not None),
]


@pytest.mark.parametrize("model, prompt, plausible", PYDANTIC_CASES, ids=[f"{c[0].__name__}: {c[1][:30]}" for c in PYDANTIC_CASES])
def test_pydantic_models_parse_the_value_of_their_strict_schema(model, prompt, plausible):
    for schema in (to_strict_json_schema(model), openai.pydantic_function_tool(model)["function"]["parameters"]):
        value = example_value(schema, hint=prompt)
        assert_valid(value, schema)
        parsed = model.model_validate_json(json.dumps(value))  # what client.chat.completions.parse does
        assert plausible(parsed), value


def test_seed_picks_the_next_city_and_its_country_for_parallel_tool_calls():
    schema = openai.pydantic_function_tool(GetWeather, name="get_weather")["function"]["parameters"]
    calls = [example_value(schema, hint=WEATHER, seed=seed) for seed in range(3)]
    assert calls == [{"city": "Paris", "country": "France"}, {"city": "Tokyo", "country": "Japan"},
                     {"city": "Paris", "country": "France"}]


@pytest.mark.parametrize("name, schema, hint, expected", [
    ("name", {"type": "string"}, "Hi! my name is Bob", "Bob"),
    ("unit", {"type": "string"}, "", "celsius"),
    ("age", {"type": "integer", "minimum": 0}, "", 36),
    ("date", {"type": "string", "format": "date"}, "", "2024-08-06"),
    ("query", {"type": "string"}, "  best pizza   in Rome ", "best pizza in Rome"),
    ("location", {"type": "string"}, "weather in Boston?", "Boston, United States"),
    ("country", {"type": "string"}, "Tell me about France", "France"),
    ("city", {"type": "string", "default": "London"}, "", "London"),  # a default beats a generic city
    ("city", {"type": "string", "default": "London"}, WEATHER, "Paris"),  # the prompt beats a default
    ("final_answer", {"type": "string", "maxLength": 9}, "solve 8x + 31 = 2", "x = -29/8"),
    ("summary", {"type": "string", "maxLength": 9}, "juggling", "A summary"),  # cut to fit, not replaced
])
def test_property_names_and_the_prompt_make_values_plausible(name, schema, hint, expected):
    wrapper = {"type": "object", "properties": {name: schema}, "required": [name], "additionalProperties": False}
    assert example_value(wrapper, hint=hint) == {name: expected}


@pytest.mark.parametrize("pattern", [r"^[A-Z]{2}-\d{3,}(?:x|y)?$", r"^\d{4}-\d{2}-\d{2}$", r"[^a-z0 ]+", r"^(ab|cd)\1$",
                                     r"^[\w.+-]+@[\w-]+\.[a-z]{2,}$", r"^\+?[1-9]\d{1,14}$", r"^#[0-9a-fA-F]{6}$",
                                     r"(?i)^hello$", r"^[^\s]{3}\s\S+$", r"^\W\w$",
                                     r"^(?=.*[A-Z])(?=.*\d)(?!.*\s).{8,}$", r"(?<=a)b|^b"])
def test_regex_examples_match_their_pattern(pattern):
    examples = regex_examples(pattern)
    assert examples and all(re.search(pattern, text) for text in examples), examples


def test_the_module_docstring_example_is_true():
    assert doctest.testmod(schema_values).failed == 0


def test_the_server_module_needs_neither_jsonschema_nor_hypothesis():
    code = ("import sys; sys.modules.update(jsonschema=None, hypothesis=None); "
            "from helpers.server.schema import example_value; print(example_value({'type': 'integer'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "1", done.stderr
