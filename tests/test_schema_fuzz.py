"""example_value under hypothesis: any well-formed schema gets a valid value, any JSON at all given as a schema
gets a valid value or a SchemaError, and the server's own validator agrees with ``jsonschema``.

A fixed set of examples runs in ``make test``; for a longer, random search run
``SCHEMA_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/test_schema_fuzz.py -n 0 --timeout 0``.
"""

from __future__ import annotations

import os
from typing import Any

import jsonschema
from hypothesis import HealthCheck, given, settings, strategies as st

from helpers.server.schema import SchemaError, example_value
from helpers.server.schema.check import Budget
from helpers.server.schema.conforms import conforms
from tests.schema_strategies import json_values, schema_like, well_formed_schemas
from tests.test_schema_values import ORDERS, WEATHER, assert_valid

FUZZ = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "0"))
fuzz = settings(max_examples=FUZZ or 100, derandomize=not FUZZ, database=None, deadline=None,
                suppress_health_check=list(HealthCheck))


@fuzz
@given(well_formed_schemas(), st.integers(0, 5), st.sampled_from(["", WEATHER, "solve 8x + 31 = 2", ORDERS]))
def test_hypothesis_well_formed_schemas_always_get_a_valid_value(schema, seed, hint):
    value = example_value(schema, hint=hint, seed=seed)
    assert_valid(value, schema)
    assert example_value(schema, hint=hint, seed=seed) == value


@fuzz
@given(st.one_of(json_values, schema_like), st.integers(0, 3))
def test_hypothesis_any_json_as_a_schema_gives_a_valid_value_or_a_schema_error(schema, seed):
    try:
        value = example_value(schema, hint=WEATHER, seed=seed)
    except SchemaError as error:
        assert str(error).startswith("$")
        return
    jsonschema.Draft202012Validator(schema).validate(value)


def _mutations(value: Any) -> list[Any]:
    """Values near a valid one: a key dropped or added, an item more or less, another type."""
    if isinstance(value, dict):
        return [dict(list(value.items())[1:]), {**value, "zz": 1}, []]
    if isinstance(value, list):
        return [value[1:], value + [None], value + value[:1], {}]
    return [None, "x", 1.5, -1, True, [value]]


@fuzz
@given(well_formed_schemas(with_formats=False), json_values)
def test_hypothesis_the_built_in_validator_agrees_with_jsonschema(schema, other):
    validator = jsonschema.Draft202012Validator(schema)
    for value in [other, *_mutations(example_value(schema))]:
        assert conforms(value, schema, schema, Budget()) == validator.is_valid(value), value
