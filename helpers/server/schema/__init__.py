"""JSON values for JSON Schemas: what the practice model fills tool arguments and structured output with.

``example_value(schema, hint=prompt)`` returns a deterministic value valid against the schema (and plausible for
the prompt); ``check_schema`` raises ``SchemaError`` (a ValueError, answered as a 400) for a schema that is
malformed or asks for the impossible. values.py builds the value from candidates, hints.py proposes plausible
ones, conforms.py checks them (the server does not depend on jsonschema), check.py checks the schema, merge.py
combines allOf/anyOf parts, regex.py makes strings for patterns.
"""

from .check import SchemaError, check_schema
from .values import example_value

__all__ = ["SchemaError", "check_schema", "example_value"]
