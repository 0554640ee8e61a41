"""Does a JSON value conform to a (checked) JSON schema? A small JSON Schema 2020-12 validator.

The generator proposes candidate values and keeps the first one this accepts, so composition
(allOf, oneOf, $ref with siblings) needs no cleverness in the generator. It follows the
``jsonschema`` package on every keyword that check.py lets through, and is stricter on
``format`` (which ``jsonschema`` only annotates). The server may not depend on ``jsonschema``,
so this stays small; the tests compare the two.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from fractions import Fraction
from typing import Any, Callable

from .check import Budget, is_number, resolve_ref

MAX_DEPTH = 150  # nested checks, including $ref hops that do not descend into the value


Proven = dict  # (id(value), id(schema)) -> (value, schema): pairs already found valid


def conforms(value: Any, schema: Any, root: Any, budget: Budget, proven: Proven | None = None, depth: int = 0) -> bool:
    """True when ``value`` is valid against ``schema`` (a part of ``root``, for $refs).

    ``proven`` holds pairs checked before (kept alive there, so ids stay unique): the generator
    checks each part of a value as it builds it, and the check of the whole then skips them."""
    budget.spend()
    if proven is not None and (id(value), id(schema)) in proven:
        return True
    if isinstance(schema, bool) or depth > MAX_DEPTH:
        return schema is True
    valid = lambda v, s: conforms(v, s, root, budget, proven, depth + 1)  # noqa: E731 - one-line recursion
    if "$ref" in schema and not valid(value, resolve_ref(root, schema["$ref"], "$")[0]):
        return False
    if "type" in schema and not any(is_type(value, t) for t in _as_list(schema["type"])):
        return False
    if "enum" in schema and not any(json_equal(value, option) for option in schema["enum"]):
        return False
    if "const" in schema and not json_equal(value, schema["const"]):
        return False
    if not all(valid(value, sub) for sub in schema.get("allOf", [])):
        return False
    if "anyOf" in schema and not any(valid(value, sub) for sub in schema["anyOf"]):
        return False
    if "oneOf" in schema and sum(valid(value, sub) for sub in schema["oneOf"]) != 1:
        return False
    if "not" in schema and valid(value, schema["not"]):
        return False
    if isinstance(value, str):
        return _string_ok(value, schema)
    if is_number(value):
        return _number_ok(value, schema)
    if isinstance(value, list):
        return _array_ok(value, schema, valid)
    if isinstance(value, dict):
        return _object_ok(value, schema, valid)
    return True


def is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return is_number(value) and (isinstance(value, int) or value.is_integer())
    kinds = {"string": str, "boolean": bool, "object": dict, "array": list, "null": type(None)}
    return is_number(value) if name == "number" else isinstance(value, kinds[name])


def json_equal(one: Any, two: Any) -> bool:
    """Equality as JSON sees it: 1 == 1.0, but true is not 1; lists and objects compared deeply."""
    if isinstance(one, bool) or isinstance(two, bool):
        return one is two
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(json_equal(a, b) for a, b in zip(one, two))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(json_equal(one[k], two[k]) for k in one)
    if isinstance(one, (list, dict)) or isinstance(two, (list, dict)):
        return False
    return one == two


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _string_ok(value: str, schema: dict) -> bool:
    if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
        return False
    if "pattern" in schema and not re.search(schema["pattern"], value):
        return False
    check = FORMATS.get(schema.get("format", ""))
    return check is None or check(value)


def _number_ok(value: int | float, schema: dict) -> bool:
    if value < schema.get("minimum", value) or value > schema.get("maximum", value):
        return False
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        return False
    if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
        return False
    return "multipleOf" not in schema or is_multiple(value, schema["multipleOf"])


def is_multiple(value: int | float, step: int | float) -> bool:
    """As ``jsonschema`` decides it: a float quotient that is whole, else exact fractions."""
    if isinstance(step, float):
        try:
            quotient = value / step
            return int(quotient) == quotient
        except OverflowError:
            return (Fraction(value) / Fraction(step)).denominator == 1
    return value % step == 0


def _array_ok(value: list, schema: dict, valid: Callable[[Any, Any], bool]) -> bool:
    if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", len(value)):
        return False
    prefix = schema.get("prefixItems", [])
    if not all(valid(item, sub) for item, sub in zip(value, prefix)):
        return False
    if "items" in schema and not all(valid(item, schema["items"]) for item in value[len(prefix):]):
        return False
    if schema.get("uniqueItems"):
        return not any(json_equal(a, b) for i, a in enumerate(value) for b in value[i + 1:])
    return True


def _object_ok(value: dict, schema: dict, valid: Callable[[Any, Any], bool]) -> bool:
    if not schema.get("minProperties", 0) <= len(value) <= schema.get("maxProperties", len(value)):
        return False
    if any(name not in value for name in schema.get("required", [])):
        return False
    properties = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    for name, item in value.items():
        if "propertyNames" in schema and not valid(name, schema["propertyNames"]):
            return False
        if name in properties and not valid(item, properties[name]):
            return False
        matching = [sub for pattern, sub in patterns.items() if re.search(pattern, name)]
        if not all(valid(item, sub) for sub in matching):
            return False
        if name not in properties and not matching and not valid(item, schema.get("additionalProperties", True)):
            return False
    return True


def _matches(pattern: str, parse: Callable[[str], Any] | None = None) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        if not re.fullmatch(pattern, value, re.IGNORECASE | re.ASCII):
            return False
        try:
            return parse is None or parse(value.upper().replace("Z", "+00:00")) is not None
        except ValueError:
            return False

    return check


# The formats OpenAI's strict mode lists, plus uri; others are not checked (as in jsonschema).
_DATE = r"\d{4}-\d{2}-\d{2}"
_TIME = r"\d{2}:\d{2}:\d{2}(\.\d+)?(z|[+-]\d{2}:\d{2})"
FORMATS: dict[str, Callable[[str], bool]] = {
    "date": _matches(_DATE, datetime.date.fromisoformat),
    "date-time": _matches(f"{_DATE}[tT ]{_TIME}", lambda v: datetime.datetime.fromisoformat(v.replace(" ", "T"))),
    "time": _matches(_TIME, datetime.time.fromisoformat),
    "duration": _matches(r"P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?"),
    "email": _matches(r"[^@\s]+@[^@\s]+\.[^@\s]+"),
    "hostname": _matches(r"(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"),
    "ipv4": _matches(r"[\d.]+", ipaddress.IPv4Address),
    "ipv6": _matches(r"[0-9a-f:.]+", ipaddress.IPv6Address),
    "uuid": _matches(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
    "uri": _matches(r"[a-z][a-z0-9+.-]*:[^\s]*"),
}
