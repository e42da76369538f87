"""Schema errors as a reader sees them: which errors, in which order, in what words.

This module owns the wording of a failed JSON Schema rule (``rule_text``, ``rule_at``: what the
schema asks for, never the value seen), the choice of errors worth reporting when a
oneOf/anyOf failed (``expand``: the errors of the one plausible branch) and their order
(``sort_key``), and the JSON pointer of a path (``path_pointer``, the one spelling the checks
share too). Pure functions of ``jsonschema`` errors; it imports only ``model`` of ours.
``conformance.spec`` builds the validators and uses these.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from jsonpointer import escape
from jsonschema.exceptions import ValidationError

from conformance.model import truncate

__all__ = ["error_pointer", "expand", "path_pointer", "rule_at", "rule_text", "sort_key"]


def _shallow(error: ValidationError) -> int:
    return len(error.relative_path)


def _rules_out_branch(error: ValidationError, strict: bool) -> bool:
    """Whether this error shows the instance is not of the branch's kind at all."""
    if error.validator == "type" and _shallow(error) == 0:
        return True
    # A failed const/enum/not on the instance or one of its keys is a discriminator mismatch
    # (type, role, object): that branch is some other kind of object.
    return strict and error.validator in ("const", "enum", "not") and _shallow(error) <= 1


def _matching_branch(error: ValidationError) -> list[ValidationError] | None:
    """The errors of the one branch of a failed oneOf/anyOf the instance was meant to match."""
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        return None
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    for strict in (True, False):
        plausible = [
            errs for errs in branches.values() if not any(_rules_out_branch(e, strict) for e in errs)
        ]
        if len(plausible) == 1:
            return plausible[0]
        if plausible:
            return None
    return None


def expand(errors: Iterable[ValidationError]) -> Iterator[ValidationError]:
    """The errors worth reporting: a failed oneOf/anyOf replaced by its plausible branch's errors."""
    # A bare "not valid under any of the given schemas" says nothing; report the errors of the
    # branch whose discriminator matched instead, when exactly one did.
    for error in errors:
        branch = _matching_branch(error)
        if branch is None:
            yield error
        else:
            yield from expand(branch)


def sort_key(error: ValidationError) -> tuple[tuple[tuple[int, int, str], ...], str]:
    """Order errors by instance path (array indexes numerically), then message."""
    path = tuple((0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in error.absolute_path)
    return path, error.message


def path_pointer(parts: Iterable[str | int]) -> str:
    """The JSON pointer (RFC 6901) of a path: ``("a/b", 0)`` -> ``/a~1b/0``; ``()`` -> ``""``."""
    return "".join("/" + escape(str(part)) for part in parts)


def error_pointer(error: ValidationError) -> str:
    """The JSON pointer of the instance where ``error`` happened (``""`` at the root)."""
    return path_pointer(error.absolute_path)


_KIND = {
    "integer": ("an integer", "integers"),
    "number": ("a number", "numbers"),
    "string": ("a string", "strings"),
    "boolean": ("a boolean", "booleans"),
    "object": ("an object", "objects"),
    "array": ("an array", "arrays"),
    "null": ("null", "nulls"),
}
_BOUNDS = {
    "minimum": "a value >= {}",
    "maximum": "a value <= {}",
    "exclusiveMinimum": "a value > {}",
    "exclusiveMaximum": "a value < {}",
    "multipleOf": "a multiple of {}",
    "minItems": "at least {} items",
    "maxItems": "at most {} items",
    "minLength": "at least {} characters",
    "maxLength": "at most {} characters",
    "minProperties": "at least {} properties",
    "maxProperties": "at most {} properties",
    "pattern": "a string matching {}",
    "format": "a valid {}",
}


def _kind(name: object, schema: object) -> str:
    single, _ = _KIND.get(str(name), (str(name), str(name)))
    items = schema.get("items") if isinstance(schema, dict) else None
    if name == "array" and isinstance(items, dict) and isinstance(items.get("type"), str):
        return f"an array of {_KIND.get(items['type'], ('', items['type']))[1]}"
    return single


def rule_text(error: ValidationError) -> str:
    """What the schema asks for where ``error`` happened, in words: never the value seen.

    ``a number``, ``an array of numbers``, ``one of ['stop', 'length']``, ``at least 1 items``;
    messages that name no observed value (a missing required property) are kept as they are.
    """
    keyword, value = error.validator, error.validator_value
    if keyword == "type":
        kinds = value if isinstance(value, list) else [value]
        return " or ".join(_kind(k, error.schema) for k in kinds)
    if keyword == "enum":
        return truncate(f"one of {value!r}" if isinstance(value, list) else f"one of {value}", 200)
    if keyword == "const":
        return truncate(f"the value {json.dumps(value)}", 200)
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        return "no properties beyond those the schema lists"
    if keyword in ("oneOf", "anyOf"):
        return "a value matching one of the schema's alternatives"
    if keyword == "not":
        return "a value the schema excludes (not)"
    if keyword == "uniqueItems":
        return "items that are all different"
    if keyword in _BOUNDS:
        return _BOUNDS[str(keyword)].format(value)
    return str(error.message)


def rule_at(error: ValidationError) -> str:
    """:func:`rule_text` prefixed with where it applies (``/city: a string``; root: just the rule)."""
    pointer = error_pointer(error)
    return f"{pointer}: {rule_text(error)}" if pointer else rule_text(error)
