"""Spec hygiene: every schema object of every OpenAPI document under openapi/ uses only
JSON Schema 2020-12 / OpenAPI 3.1 keywords (or ``x-`` extensions), and every description is a
string.

A YAML flow mapping written by mistake (``{type: integer, description: a (1 A, 3 B)}``) parses
into extra keys (``"3 B": null``) that no validator rejects: a schema that says something else
than it means. The walker finds such keys wherever a schema can sit; a canned document with
that very mistake proves it does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.spec import read_yaml

OPENAPI_DIR = Path(__file__).resolve().parents[2] / "openapi"

#: JSON Schema 2020-12 (core, applicator, unevaluated, validation, meta-data, format, content).
JSON_SCHEMA_KEYWORDS = frozenset("""
$schema $id $ref $anchor $dynamicRef $dynamicAnchor $vocabulary $comment $defs
allOf anyOf oneOf not if then else dependentSchemas prefixItems items contains properties
patternProperties additionalProperties propertyNames unevaluatedItems unevaluatedProperties
type enum const multipleOf maximum exclusiveMaximum minimum exclusiveMinimum maxLength minLength
pattern maxItems minItems uniqueItems maxContains minContains maxProperties minProperties required
dependentRequired title description default deprecated readOnly writeOnly examples format
contentEncoding contentMediaType contentSchema
""".split())
#: The OpenAPI 3.1 Schema Object's own fixed fields.
OPENAPI_SCHEMA_KEYWORDS = frozenset({"discriminator", "xml", "externalDocs", "example"})
ALLOWED = JSON_SCHEMA_KEYWORDS | OPENAPI_SCHEMA_KEYWORDS

_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
_SCHEMA_ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
               "unevaluatedItems", "unevaluatedProperties", "contentSchema")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
#: Keys whose values are instance data (never walked for schemas or descriptions).
_DATA_KEYS = frozenset({"example", "examples", "default", "enum", "const", "value"})


def schema_problems(schema: Any, where: str) -> Iterator[str]:
    """Unknown keywords and non-string descriptions in one schema and all its subschemas."""
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        yield f"{where}: a schema must be an object or a boolean, got {type(schema).__name__}"
        return
    for key in schema:
        if not isinstance(key, str) or (key not in ALLOWED and not key.startswith("x-")):
            yield f"{where}: unknown schema keyword {key!r}"
    if "description" in schema and not isinstance(schema["description"], str):
        yield f"{where}/description: not a string"
    for key in _SCHEMA_MAPS:
        if isinstance(schema.get(key), dict):
            for name, sub in schema[key].items():
                yield from schema_problems(sub, f"{where}/{key}/{name}")
    for key in _SCHEMA_ONE:
        if key in schema:
            yield from schema_problems(schema[key], f"{where}/{key}")
    for key in _SCHEMA_LISTS:
        for index, sub in enumerate(schema.get(key) or ()):
            yield from schema_problems(sub, f"{where}/{key}/{index}")


def document_problems(document: Any, where: str = "#") -> Iterator[str]:
    """Walk an OpenAPI document: check each schema object, and every other description."""
    if isinstance(document, list):
        for index, item in enumerate(document):
            yield from document_problems(item, f"{where}/{index}")
        return
    if not isinstance(document, dict):
        return
    for key, value in document.items():
        here = f"{where}/{key}"
        if key in _DATA_KEYS or (isinstance(key, str) and key.startswith("x-")):
            continue
        if key == "schema" or (key == "schemas" and where == "#/components"):
            if key == "schema":
                yield from schema_problems(value, here)
            else:
                for name, sub in (value or {}).items():
                    yield from schema_problems(sub, f"{here}/{name}")
        elif key == "description" and not isinstance(value, str):
            yield f"{here}: not a string"
        else:
            yield from document_problems(value, here)


def openapi_documents() -> list[Path]:
    """Every YAML document under openapi/ that is an OpenAPI document (top-level ``openapi:``)."""
    found = []
    for path in sorted(OPENAPI_DIR.glob("*.yaml")):
        document = read_yaml(path)
        if isinstance(document, dict) and "openapi" in document:
            found.append(path)
    return found


def test_the_spec_is_among_the_documents_walked() -> None:
    assert OPENAPI_DIR / "nexhina.yaml" in openapi_documents()


@pytest.mark.parametrize("path", openapi_documents(), ids=lambda p: p.name)
def test_every_schema_uses_known_keywords_and_string_descriptions(path: Path) -> None:
    assert list(document_problems(read_yaml(path))) == []


BROKEN = """
openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /x:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  kind: {type: integer, description: Provider kind (1 OpenAI, 3 Azure, 14 Anthropic, ...).}
components:
  schemas:
    Channel:
      type: object
      properties:
        type: {type: integer, description: Provider kind (1 OpenAI, 3 Azure, 14 Anthropic, ...).}
        tags: {type: array, items: {type: string, nullable: true}}
      description: {text: an object}
"""


def test_the_walker_catches_a_flow_mapping_description_and_foreign_keywords() -> None:
    problems = list(document_problems(yaml.safe_load(BROKEN)))
    assert "#/components/schemas/Channel/properties/type: unknown schema keyword '3 Azure'" in problems
    assert "#/components/schemas/Channel/properties/type: unknown schema keyword '14 Anthropic'" in problems
    assert ("#/paths//x/get/responses/200/content/application/json/schema/properties/kind: "
            "unknown schema keyword '3 Azure'") in problems
    assert "#/components/schemas/Channel/properties/tags/items: unknown schema keyword 'nullable'" in problems
    assert "#/components/schemas/Channel/description: not a string" in problems


def test_a_sound_document_has_no_problem() -> None:
    sound = BROKEN.replace("description: Provider kind (1 OpenAI, 3 Azure, 14 Anthropic, ...).",
                           'description: "Provider kind (1 OpenAI, 3 Azure, 14 Anthropic, ...)."')
    sound = sound.replace(", nullable: true", "").replace("description: {text: an object}", "description: d")
    assert list(document_problems(yaml.safe_load(sound))) == []
