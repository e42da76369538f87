"""The property suite's pytest items: one per operation of the spec, with its marks (no Schemathesis).

Owns what collecting the property suite needs, and nothing more: the item ids
(``test_properties[POST /chat/completions]``, the spec's ``METHOD /path`` in spec order), the
operation's feature mark and the requirement ids its checks may report. Neither Schemathesis nor
Hypothesis is imported here: an item builds its Schemathesis test (examples, coverage and fuzzing
cases) only when it runs (`conformance.suites.properties_schema.operation_test`), so a test the
profile deselects or the target does not support (NOT_SUPPORTED) costs nothing, and an xdist
worker builds only the operations it runs.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.checks.properties import operation_ids
from conformance.spec import load_spec, request_schema
from conformance.suites.operations import Operation, operation

#: HTTP methods of the spec's operations (the keys of a path item that are operations).
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def spec_operations() -> tuple[tuple[str, Operation], ...]:
    """(label, operation) for every operation of the spec, in spec order (``GET /models`` first)."""
    found: list[tuple[str, Operation]] = []
    for path, item in load_spec()["paths"].items():
        for method, definition in item.items():
            if method in _METHODS and isinstance(definition, dict):
                label = f"{method.upper()} {path}"
                found.append((label, operation(str(definition.get("operationId", "")))))
    return tuple(found)


def property_params() -> list[Any]:
    """One ``pytest.param`` per spec operation: its label as value and id, its feature and ids as marks."""
    return [pytest.param(label, id=label, marks=[pytest.mark.feature(op.feature),
                                                 pytest.mark.requirements(*declared_ids(op))])
            for label, op in spec_operations()]


def declared_ids(op: Operation) -> tuple[str, ...]:
    """Every requirement id the property checks may report for ``op`` (its shape ids first)."""
    has_enum = op.body == "json" and holds_enum(request_schema(op.path, op.method) or {})
    return tuple(operation_ids(op.operation_id, body=op.body, has_enum=has_enum))


def holds_enum(schema: object, seen: frozenset[str] = frozenset()) -> bool:
    """Whether a request schema (local $refs followed) holds an ``enum``/``const`` outside alternatives."""
    if isinstance(schema, list):
        return any(holds_enum(item, seen) for item in schema)
    if not isinstance(schema, dict):
        return False
    if "enum" in schema or "const" in schema:
        return True
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/") and ref not in seen:
        target: Any = load_spec()
        for token in ref[2:].split("/"):
            target = target.get(token.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
        if holds_enum(target, seen | {ref}):
            return True
    # Inside oneOf/anyOf a broken value matches no branch, which reads as a wrong type, not an
    # unknown enum value: only enums outside alternatives can be generated as such.
    skipped = ("$ref", "example", "examples", "oneOf", "anyOf")
    return any(holds_enum(value, seen) for key, value in schema.items() if key not in skipped)
