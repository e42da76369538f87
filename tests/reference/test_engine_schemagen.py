"""Unit tests of the reference's schema-driven value generator (tool arguments, json_schema content).

Every generated value is checked with jsonschema here, in the test: the reference itself has no
validator, so these tests are what proves the generator right.
"""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from conformance.reference.engines.schemagen import Unsatisfiable, arguments_for, instance_for

SATISFIABLE: dict[str, dict[str, Any]] = {
    "strings": {
        "type": "object",
        "properties": {
            "short": {"type": "string", "maxLength": 3},
            "long": {"type": "string", "minLength": 12},
            "when": {"type": "string", "format": "date-time"},
            "mail": {"type": "string", "format": "email"},
            "code": {"type": "string", "pattern": "^[0-9]$"},
        },
        "required": ["short", "long", "when", "mail", "code"],
    },
    "numbers": {
        "type": "object",
        "properties": {
            "i": {"type": "integer", "minimum": 5, "maximum": 9},
            "x": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "m": {"type": "number", "multipleOf": 0.1, "minimum": 1.05},
            "k": {"type": "integer", "multipleOf": 7},
            "neg": {"type": "integer", "maximum": -3},
        },
        "required": ["i", "x", "m", "k", "neg"],
    },
    "enums-consts-bools": {
        "type": "object",
        "properties": {
            "unit": {"enum": ["c", "f"]},
            "typed": {"type": "integer", "enum": ["a", 3]},
            "fixed": {"const": {"a": 1}},
            "flag": {"type": "boolean"},
            "nothing": {"type": "null"},
        },
        "required": ["unit", "typed", "fixed", "flag", "nothing"],
    },
    "arrays": {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 3, "uniqueItems": True},
            "pair": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "boolean"}]},
            "none": {"type": "array", "maxItems": 0},
        },
        "required": ["tags", "pair", "none"],
    },
    "nested-and-refs": {
        "type": "object",
        "$defs": {
            "point": {
                "type": "object",
                "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                "required": ["x", "y"],
            }
        },
        "properties": {
            "origin": {"$ref": "#/$defs/point"},
            "meta": {
                "type": "object",
                "properties": {
                    "deep": {
                        "type": "object",
                        "properties": {"leaf": {"type": ["string", "null"]}},
                        "required": ["leaf"],
                    }
                },
                "required": ["deep"],
                "additionalProperties": False,
            },
        },
        "required": ["origin", "meta"],
    },
    "combinators": {
        "type": "object",
        "properties": {
            "either": {"anyOf": [{"type": "string", "pattern": "^never$", "maxLength": 2}, {"type": "integer"}]},
            "one": {"oneOf": [{"type": "boolean"}, {"type": "string", "minLength": 3}]},
            "both": {
                "allOf": [
                    {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                    {"properties": {"b": {"type": "integer"}}, "required": ["b"]},
                ]
            },
        },
        "required": ["either", "one", "both"],
    },
    "min-properties": {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "minProperties": 2,
    },
    "untyped-required": {"required": ["anything"], "additionalProperties": {"type": "integer", "minimum": 2}},
}


@pytest.mark.parametrize("name", sorted(SATISFIABLE))
@pytest.mark.parametrize("variant", [0, 1, 2])
def test_generated_arguments_validate(name: str, variant: int) -> None:
    schema = SATISFIABLE[name]
    value = arguments_for(schema, variant=variant)
    Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(value)
    assert value or not schema.get("required")


def test_variants_differ_where_the_schema_allows() -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
        "required": ["city", "unit"],
    }
    assert arguments_for(schema) != arguments_for(schema, variant=1)
    assert arguments_for(schema) == {"city": "city", "unit": "c"}  # pinned: deterministic


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"not": {"type": "string"}}}, "required": ["a"]},
        {"type": "object", "properties": {"a": {"type": "string", "pattern": "^[A-Z]{5}$"}}, "required": ["a"]},
        {"type": "object", "properties": {"a": {"type": "integer", "minimum": 5, "maximum": 4}}, "required": ["a"]},
        {
            "type": "object",
            "properties": {"a": {"$ref": "#/$defs/a"}},
            "required": ["a"],
            "$defs": {"a": {"type": "object", "properties": {"a": {"$ref": "#/$defs/a"}}, "required": ["a"]}},
        },
        {"type": "object", "properties": {"a": {"$ref": "https://example.com/schema"}}, "required": ["a"]},
        {"type": "object", "properties": {"a": False}, "required": ["a"]},
    ],
    ids=["not", "pattern", "empty-range", "recursive", "remote-ref", "false-schema"],
)
def test_unsatisfiable_schemas_fall_back_to_an_empty_object(schema: dict[str, Any]) -> None:
    assert arguments_for(schema) == {}
    with pytest.raises(Unsatisfiable):
        instance_for(schema)


@pytest.mark.parametrize("parameters", [None, {}, {"type": "string"}, "not a schema"])
def test_missing_or_non_object_parameters_give_an_empty_object(parameters: Any) -> None:
    assert arguments_for(parameters) == {}
