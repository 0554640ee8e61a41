"""One schema that asks for what two schemas ask for: how allOf, $ref with siblings and an
anyOf branch with its parent's keywords become something the generator can build from.

The merge only has to be a good guide: every value is checked against the original schema
afterwards, so a keyword it cannot combine (two different patterns, say) is kept from the first
schema and the check decides.
"""

from __future__ import annotations

from typing import Any

from .conforms import json_equal

ANNOTATIONS = frozenset({"title", "description", "default", "examples", "$comment", "$defs", "definitions",
                         "$schema", "$id", "$anchor", "deprecated", "readOnly", "writeOnly"})
TAKE_LARGEST = frozenset({"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"})
TAKE_SMALLEST = frozenset({"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"})
MAX_BRANCHES = 64  # anyOf x anyOf makes every pair of branches; keep the first few


def only_annotations(schema: dict) -> bool:
    """True when the schema constrains nothing (a $ref's title and description, say)."""
    return all(key in ANNOTATIONS for key in schema)


def merge(first: Any, second: Any) -> Any:
    """A schema that both ``first`` and ``second`` (schemas, possibly booleans) accept values of."""
    if first is False or second is False:
        return False
    if not isinstance(first, dict):
        return second
    if not isinstance(second, dict):
        return first
    merged = dict(first)
    for key, value in second.items():
        if key not in merged or key in ANNOTATIONS:
            merged.setdefault(key, value)
        elif key in TAKE_LARGEST:
            merged[key] = max(merged[key], value)
        elif key in TAKE_SMALLEST:
            merged[key] = min(merged[key], value)
        elif key == "required":
            merged[key] = list(dict.fromkeys(merged[key] + value))
        elif key == "type":
            common = _common_types(merged[key], value)
            if not common:
                return False
            merged[key] = common
        elif key == "enum":
            merged[key] = [option for option in merged[key] if any(json_equal(option, o) for o in value)]
            if not merged[key]:
                return False
        elif key in ("properties", "patternProperties"):
            both = merged[key]
            merged[key] = {**both, **{name: {"allOf": [both[name], sub]} if name in both else sub
                                      for name, sub in value.items()}}
        elif key in ("items", "additionalProperties", "propertyNames"):
            merged[key] = {"allOf": [merged[key], value]}
        elif key == "allOf":
            merged[key] = merged[key] + value
        elif key in ("anyOf", "oneOf"):
            pairs = [{"allOf": [a, b]} for a in merged[key] for b in value]
            merged[key] = pairs[:MAX_BRANCHES]
        elif key == "not":
            merged[key] = {"anyOf": [merged[key], value]}
        elif key == "$ref" and merged[key] != value:
            merged["allOf"] = merged.get("allOf", []) + [{"$ref": value}]
    return merged


def _common_types(first: Any, second: Any) -> list[str]:
    """Types both allow; an integer is also a number."""
    ones = first if isinstance(first, list) else [first]
    twos = second if isinstance(second, list) else [second]
    common = [t for t in ones if t in twos or (t == "integer" and "number" in twos)]
    return common + ["integer" for t in ones if t == "number" and "integer" in twos and "integer" not in common]
