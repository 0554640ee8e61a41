"""Structured output: ``response_format`` (Chat Completions) or ``text.format`` (Responses).

``json_object`` gets a JSON object holding the catalogue's answer; ``json_schema`` gets a JSON document valid
against the schema the client sent (objects, arrays, enums, anyOf, $defs...), with values taken from the
prompt where they can be. Either is streamed in fragments like any text, so a learner can watch it grow.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Sequence

from . import replies
from .schema import SchemaError, check_schema, example_value
from .errors import bad_request

NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Format:
    kind: str  # "json_object" | "json_schema"
    schema: dict | None = None
    name: str = ""


def parse_format(value: Any, *, param: str = "response_format", nested: bool = True) -> Format | None:
    """Chat Completions nests the schema (``{"type": "json_schema", "json_schema": {...}}``); Responses does not."""
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return Format("json_object")
    if kind != "json_schema":
        raise bad_request(f"Invalid value for '{param}.type': expected 'text', 'json_object' or 'json_schema'.",
                          param=f"{param}.type", code="invalid_value")
    spec, where = (value.get("json_schema"), f"{param}.json_schema") if nested else (value, param)
    if not isinstance(spec, dict):
        raise bad_request(f"Missing required parameter: '{where}'.", param=where, code="missing_required_parameter")
    name, schema = spec.get("name"), spec.get("schema", {})
    if not isinstance(name, str) or not NAME.match(name):
        raise bad_request(f"Invalid '{where}.name': expected a string of 1 to 64 letters, digits, underscores or "
                          f"dashes, but got {name!r}.", param=f"{where}.name", code="invalid_value")
    if not isinstance(schema, dict):
        raise bad_request(f"Invalid type for '{where}.schema': expected an object (a JSON Schema).",
                          param=f"{where}.schema", code="invalid_type")
    try:
        check_schema(schema)
    except SchemaError as error:
        raise bad_request(f"Invalid schema for response_format '{name}': {error}", param=f"{where}.schema",
                          code="invalid_json_schema") from None
    return Format("json_schema", schema, name)


def require_json_mentioned(fmt: Format | None, messages: Sequence[dict], param: str = "messages") -> None:
    """OpenAI's rule for json_object: the conversation must ask for JSON, or a model may emit whitespace forever."""
    if fmt is not None and fmt.kind == "json_object":
        if not any("json" in replies.message_text(m).lower() for m in messages):
            raise bad_request("'messages' must contain the word 'json' in some form, to use 'response_format' of "
                              "type 'json_object'.", param=param)


def document(fmt: Format, messages: Sequence[dict]) -> str:
    """The reply's JSON text."""
    prompt = replies.last_user_text(messages)
    if fmt.kind == "json_object":
        answer = replies.reply_text([m for m in messages if m.get("role") != "system"] or messages)
        value: Any = {"answer": answer}
    else:
        value = example_value(fmt.schema or {}, hint=prompt)
    return json.dumps(value, ensure_ascii=False)
