"""Is a JSON schema well formed? Errors that say what is wrong and where, and the $ref lookup.

A client can send any JSON as a schema, so everything here checks types before it trusts a
keyword: afterwards the generator (values.py) and the validator (conforms.py) may read
keywords without guarding against a string where a number belongs. Paths are JSON paths into
the schema the client sent, like ``$.properties.city``, so that a 400 can point at the spot.
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import unquote

TYPES = ("string", "number", "integer", "boolean", "object", "array", "null")
SCHEMA_KEYWORDS = ("additionalProperties", "items", "not", "propertyNames")
SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
COUNTS = ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties")
BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
# Keywords that constrain a value but that neither the generator nor the validator understands:
# refusing them keeps the promise that every value produced is valid. OpenAI's strict mode refuses them too.
UNSUPPORTED = ("if", "contains", "dependentRequired", "dependentSchemas", "unevaluatedProperties",
               "unevaluatedItems", "$dynamicRef", "$recursiveRef")
MAX_NESTING = 64  # levels of schema inside schema
MAX_COUNT = 1000  # the largest minLength, minItems or minProperties the practice server fills
MAX_STEPS = 30_000  # work for one schema: generating and checking values, following $refs


class SchemaError(ValueError):
    """The schema is malformed, unsupported or asks for something impossible. ``path`` is
    where, as a JSON path into the schema; the server answers it as a 400."""

    def __init__(self, message: str, path: str = "$") -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.reason = message


class Unsatisfiable(SchemaError):
    """No value was found for this part of the schema. A caller that has alternatives (another
    anyOf branch, leaving out an optional property) tries them before giving up."""


class Budget:
    """Counts the work done for one schema, so that a hostile schema (a $ref cycle under
    allOf, say) ends with a 400 rather than a hung request."""

    def __init__(self, steps: int = MAX_STEPS) -> None:
        self.left = steps

    def spend(self, path: str = "$") -> None:
        self.left -= 1
        if self.left < 0:
            raise SchemaError(f"the schema is too complex for the practice server (over {MAX_STEPS} steps)", path)


def child(path: str, key: str | int) -> str:
    """``$.properties`` + ``city`` -> ``$.properties.city``; odd keys and indexes in brackets."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if re.fullmatch(r"[A-Za-z_$][\w$-]*", key):
        return f"{path}.{key}"
    return f"{path}[{key!r}]"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_finite(value: Any) -> bool:
    """A JSON number that is not NaN or infinite (Python's json module reads those too)."""
    return isinstance(value, int) and not isinstance(value, bool) or isinstance(value, float) and math.isfinite(value)


def resolve_ref(root: Any, ref: Any, path: str) -> tuple[Any, str]:
    """The subschema a local ``$ref`` (``#``, ``#/$defs/Name``, any JSON pointer) points at, and its path."""
    if not isinstance(ref, str) or not ref.startswith("#") or (len(ref) > 1 and not ref.startswith("#/")):
        raise SchemaError(f"$ref {ref!r} is not supported: only local references like '#/$defs/Name' are", path)
    node, where = root, "$"
    for token in ref[2:].split("/") if len(ref) > 1 else []:
        token = unquote(token).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node, where = node[token], child(where, token)
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node, where = node[int(token)], child(where, int(token))
        else:
            raise SchemaError(f"$ref {ref!r} points at nothing in this schema", path)
    if not isinstance(node, (dict, bool)):
        raise SchemaError(f"$ref {ref!r} points at {type(node).__name__}, not a schema", path)
    return node, where


def check_schema(root: Any) -> None:
    """Raise SchemaError for the first thing wrong with the schema, its $defs and what its $refs reach."""
    _Checker(root).walk(root, "$", 0)


class _Checker:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.seen_refs: set[str] = set()

    def walk(self, schema: Any, path: str, depth: int) -> None:
        if isinstance(schema, bool):
            return
        if not isinstance(schema, dict):
            raise SchemaError(f"a schema must be an object or a boolean, not {_kind(schema)}", path)
        if depth > MAX_NESTING:
            raise SchemaError(f"the schema nests more than {MAX_NESTING} levels deep", path)
        for keyword in UNSUPPORTED:
            if keyword in schema:
                raise SchemaError(f"'{keyword}' is not supported by the practice server", child(path, keyword))
        if "$id" in schema and schema is not self.root:
            raise SchemaError("'$id' inside a schema is not supported: use $defs and '#/$defs/Name'", path)
        self.check_keywords(schema, path)
        self.check_satisfiable(schema, path)
        for keyword in SCHEMA_KEYWORDS:
            if keyword in schema:
                self.walk(schema[keyword], child(path, keyword), depth + 1)
        for keyword in SCHEMA_MAPS:
            for name, sub in schema.get(keyword, {}).items():
                self.walk(sub, child(child(path, keyword), name), depth + 1)
        for keyword in SCHEMA_LISTS:
            for index, sub in enumerate(schema.get(keyword, [])):
                self.walk(sub, child(child(path, keyword), index), depth + 1)
        if "$ref" in schema and schema["$ref"] not in self.seen_refs:
            self.seen_refs.add(schema["$ref"])
            target, target_path = resolve_ref(self.root, schema["$ref"], child(path, "$ref"))
            self.walk(target, target_path, depth + 1)

    def check_keywords(self, schema: dict, path: str) -> None:
        """Each keyword's value has the JSON type the 2020-12 vocabulary gives it."""
        types = schema.get("type", "string")
        if not (types in TYPES or (isinstance(types, list) and types and all(t in TYPES for t in types))):
            message = f"type must be one of {', '.join(TYPES)} or a non-empty list of them"
            raise SchemaError(message, child(path, "type"))
        if "enum" in schema and not isinstance(schema["enum"], list):
            raise SchemaError("enum must be a list of values", child(path, "enum"))
        for keyword in SCHEMA_MAPS:
            if not isinstance(schema.get(keyword, {}), dict):
                raise SchemaError(f"{keyword} must be an object whose values are schemas", child(path, keyword))
        for keyword in SCHEMA_LISTS:
            if keyword in schema and not (isinstance(schema[keyword], list) and schema[keyword]):
                raise SchemaError(f"{keyword} must be a non-empty list of schemas", child(path, keyword))
        if isinstance(schema.get("items"), list):
            message = "items must be a schema; for a tuple use prefixItems (JSON Schema 2020-12)"
            raise SchemaError(message, child(path, "items"))
        required = schema.get("required", [])
        if not (isinstance(required, list) and all(isinstance(name, str) for name in required)):
            raise SchemaError("required must be a list of property names", child(path, "required"))
        for keyword in COUNTS:
            value = schema.get(keyword, 0)
            if not (is_finite(value) and value >= 0 and value == int(value)):
                raise SchemaError(f"{keyword} must be a non-negative integer", child(path, keyword))
        for keyword in (*BOUNDS, "multipleOf"):
            value = schema.get(keyword, 1)
            if not is_finite(value):
                raise SchemaError(f"{keyword} must be a finite number", child(path, keyword))
        if schema.get("multipleOf", 1) <= 0:
            raise SchemaError("multipleOf must be greater than 0", child(path, "multipleOf"))
        if not isinstance(schema.get("uniqueItems", False), bool):
            raise SchemaError("uniqueItems must be true or false", child(path, "uniqueItems"))
        for keyword in ("format", "$ref", "$id"):
            if not isinstance(schema.get(keyword, ""), str):
                raise SchemaError(f"{keyword} must be a string", child(path, keyword))
        for pattern, where in [(schema.get("pattern"), child(path, "pattern"))] + [
            (key, child(child(path, "patternProperties"), key)) for key in schema.get("patternProperties", {})
        ]:
            _check_pattern(pattern, where)

    def check_satisfiable(self, schema: dict, path: str) -> None:
        """Contradictions visible in one schema object, reported before any value is tried."""
        for low, high in [("minLength", "maxLength"), ("minItems", "maxItems"), ("minProperties", "maxProperties")]:
            if low in schema and high in schema and schema[low] > schema[high]:
                raise SchemaError(f"{low} ({schema[low]}) is greater than {high} ({schema[high]})", child(path, low))
            if schema.get(low, 0) > MAX_COUNT:
                message = f"{low} above {MAX_COUNT} is more than the practice server generates"
                raise SchemaError(message, child(path, low))
        lows = [k for k in ("minimum", "exclusiveMinimum") if k in schema]
        highs = [k for k in ("maximum", "exclusiveMaximum") if k in schema]
        for low in lows:
            for high in highs:
                both_inclusive = low == "minimum" and high == "maximum"
                if schema[low] > schema[high] or (schema[low] == schema[high] and not both_inclusive):
                    message = f"no number fits {low} {schema[low]} and {high} {schema[high]}"
                    raise SchemaError(message, child(path, low))
        if schema.get("enum") == []:
            raise SchemaError("enum is empty, so no value can match", child(path, "enum"))
        if schema.get("additionalProperties") is False:
            allowed = schema.get("properties", {})
            patterns = schema.get("patternProperties", {})
            for name in schema.get("required", []):
                if name not in allowed and not any(re.search(p, name) for p in patterns):
                    raise SchemaError(
                        f"required property {name!r} is not in properties, and additionalProperties is false",
                        child(path, "required"),
                    )


def _check_pattern(pattern: Any, path: str) -> None:
    if pattern is None:
        return
    if not isinstance(pattern, str):
        raise SchemaError("a pattern must be a string", path)
    try:
        re.compile(pattern)
    except (re.error, OverflowError, RecursionError, ValueError) as error:
        raise SchemaError(f"pattern {pattern!r} is not a regular expression Python can use ({error})", path) from None


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", type(None): "null"}.get(type(value), "a number")
