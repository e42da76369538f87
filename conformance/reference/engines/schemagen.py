"""Deterministic JSON values that satisfy a caller-supplied JSON Schema.

Owns the generator behind tool-call arguments and ``response_format: json_schema`` content:
from a tool's ``parameters`` (or a structured-output schema) it builds one small instance,
honouring types, required properties, enums and consts, numeric bounds and ``multipleOf``, string
lengths, simple formats, array sizes, local ``$ref``s and ``anyOf``/``oneOf``/``allOf``. A schema it
cannot satisfy with confidence (``not``, ``if``, ``contains``, an unmatched ``pattern``, recursion)
raises ``Unsatisfiable``; ``arguments_for`` then falls back to ``{}``. No validation library is used:
the reference must not share a validator with the checks it is the oracle for.
"""

from __future__ import annotations

import math
import re
from typing import Any

#: Keywords whose effect the generator cannot honour: their presence makes a schema unsatisfiable.
_UNSUPPORTED = ("not", "if", "contains", "dependentSchemas", "dependentRequired", "propertyNames")

_FORMATS = {
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "12:00:00Z",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uuid": "00000000-0000-4000-8000-000000000000",
}

_MAX_DEPTH = 8


class Unsatisfiable(ValueError):
    """The generator cannot build a value it is sure satisfies the schema."""


def arguments_for(parameters: Any, *, variant: int = 0) -> dict[str, Any]:
    """A JSON object valid against a tool's ``parameters`` schema, or ``{}`` when it cannot make one.

    Args:
        parameters: the tool's parameters schema (absent or not an object schema -> ``{}``).
        variant: 0 for the normal value; other values change free-form strings and numbers so a
            second, still valid, instance differs from the first.
    """
    if not isinstance(parameters, dict):
        return {}
    try:
        value = instance_for(parameters, variant=variant, root=parameters)
    except Unsatisfiable:
        return {}
    return value if isinstance(value, dict) else {}


def instance_for(schema: Any, *, variant: int = 0, root: Any = None, name: str = "value", depth: int = 0) -> Any:
    """One value satisfying ``schema`` (raises ``Unsatisfiable`` when unsure).

    Args:
        schema: a JSON Schema (boolean schemas allowed).
        variant: see ``arguments_for``.
        root: the document local ``$ref``s resolve against (defaults to ``schema``).
        name: the property name the value is for (free-form strings are built from it).
        depth: recursion guard.
    """
    if depth > _MAX_DEPTH:
        raise Unsatisfiable("schema nests too deeply (recursive $ref?)")
    if schema is True or schema == {}:
        return _free_string(name, variant)
    if not isinstance(schema, dict):
        raise Unsatisfiable("false or malformed schema")
    root = schema if root is None else root
    if any(k in schema for k in _UNSUPPORTED):
        raise Unsatisfiable("unsupported keyword")
    if "$ref" in schema:
        return instance_for(_resolve(schema["$ref"], root), variant=variant, root=root, name=name, depth=depth + 1)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return _from_enum(schema, variant)
    if "allOf" in schema:
        return instance_for(_merge_all_of(schema), variant=variant, root=root, name=name, depth=depth + 1)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return _first_option(schema, key, variant=variant, root=root, name=name, depth=depth)
    return _by_type(schema, _pick_type(schema), variant=variant, root=root, name=name, depth=depth)


def _resolve(ref: Any, root: Any) -> Any:
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise Unsatisfiable(f"non-local $ref {ref!r}")
    node = root
    for part in [p for p in ref[1:].split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise Unsatisfiable(f"unresolvable $ref {ref!r}")
        node = node[part]
    return node


def _from_enum(schema: dict[str, Any], variant: int) -> Any:
    """The enum value of the declared type at position ``variant`` (cyclically)."""
    values = schema["enum"]
    if not isinstance(values, list) or not values:
        raise Unsatisfiable("empty enum")
    wanted = schema.get("type")
    fitting = [v for v in values if wanted is None or _type_matches(v, wanted)]
    if not fitting:
        raise Unsatisfiable("no enum value of the declared type")
    return fitting[variant % len(fitting)]


def _type_matches(value: Any, wanted: Any) -> bool:
    names = wanted if isinstance(wanted, list) else [wanted]
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
    }
    return any(checks.get(n, lambda v: False)(value) for n in names)


def _merge_all_of(schema: dict[str, Any]) -> dict[str, Any]:
    """Fold ``allOf`` into one schema (properties and required united; other keys must agree)."""
    merged = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema["allOf"]:
        if not isinstance(part, dict):
            raise Unsatisfiable("allOf with a non-object member")
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = sorted({*merged.get("required", []), *value})
            elif key in merged and merged[key] != value:
                raise Unsatisfiable(f"allOf members disagree on {key!r}")
            else:
                merged[key] = value
    return merged


def _first_option(schema: dict[str, Any], key: str, **kwargs: Any) -> Any:
    base = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
    for option in schema[key]:
        if not isinstance(option, dict):
            continue
        try:
            combined = {**base, **option} if base else option
            return instance_for(combined, **{**kwargs, "depth": kwargs["depth"] + 1})
        except Unsatisfiable:
            continue
    raise Unsatisfiable(f"no satisfiable {key} option")


def _pick_type(schema: dict[str, Any]) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):
        non_null = [t for t in declared if t != "null"]
        return str(non_null[0]) if non_null else "null"
    if isinstance(declared, str):
        return declared
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
        return "number"
    return "string"


def _by_type(schema: dict[str, Any], kind: str, **kwargs: Any) -> Any:
    if kind == "object":
        return _object(schema, **kwargs)
    if kind == "array":
        return _array(schema, **kwargs)
    if kind in ("integer", "number"):
        return _number(schema, integer=kind == "integer", variant=kwargs["variant"])
    if kind == "boolean":
        return kwargs["variant"] % 2 == 0
    if kind == "null":
        return None
    if kind == "string":
        return _string(schema, name=kwargs["name"], variant=kwargs["variant"])
    raise Unsatisfiable(f"unknown type {kind!r}")


def _object(schema: dict[str, Any], *, variant: int, root: Any, name: str, depth: int) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    required = [r for r in schema.get("required", []) if isinstance(r, str)]
    wanted = list(required)
    minimum = int(schema.get("minProperties", 0))
    for extra in properties:
        if len(wanted) >= minimum:
            break
        if extra not in wanted:
            wanted.append(extra)
    result: dict[str, Any] = {}
    for key in wanted:
        sub = properties.get(key, schema.get("additionalProperties", True))
        if sub is False:
            raise Unsatisfiable(f"required property {key!r} is forbidden")
        result[key] = instance_for(sub, variant=variant, root=root, name=key, depth=depth + 1)
    if len(result) < minimum:
        raise Unsatisfiable("minProperties beyond the declared properties")
    if "maxProperties" in schema and len(result) > int(schema["maxProperties"]):
        raise Unsatisfiable("maxProperties below the required properties")
    return result


def _array(schema: dict[str, Any], *, variant: int, root: Any, name: str, depth: int) -> list[Any]:
    prefix = schema.get("prefixItems") or []
    items = schema.get("items", True)
    low = int(schema.get("minItems", 0))
    high = int(schema.get("maxItems", max(low, 1)))
    count = min(max(low, len(prefix), 1), high)
    if count < len(prefix) and count < low:
        raise Unsatisfiable("array size bounds conflict")
    values = []
    for i in range(count):
        sub = prefix[i] if i < len(prefix) else items
        values.append(instance_for(sub, variant=variant + i, root=root, name=name, depth=depth + 1))
    if schema.get("uniqueItems") and len({repr(v) for v in values}) != len(values):
        raise Unsatisfiable("cannot make distinct array items")
    return values


def _number(schema: dict[str, Any], *, integer: bool, variant: int) -> int | float:
    low, low_open = _bound(schema, "minimum", "exclusiveMinimum")
    high, high_open = _bound(schema, "maximum", "exclusiveMaximum")
    step = schema.get("multipleOf")
    if integer:
        lo = None if low is None else (math.floor(low) + 1 if low_open else math.ceil(low))
        hi = None if high is None else (math.ceil(high) - 1 if high_open else math.floor(high))
        value: int | float = _pick(lo, hi, variant, 1)
    else:
        value = _pick_real(low, low_open, high, high_open, variant)
    if isinstance(step, (int, float)) and step > 0:
        value = _multiple(value, step, integer=integer)
    if (low is not None and (value < low or (low_open and value == low))) or (
        high is not None and (value > high or (high_open and value == high))
    ):
        raise Unsatisfiable("numeric bounds cannot be met")
    return int(value) if integer else value


def _bound(schema: dict[str, Any], inclusive: str, exclusive: str) -> tuple[float | None, bool]:
    excl = schema.get(exclusive)
    if isinstance(excl, (int, float)) and not isinstance(excl, bool):
        return float(excl), True
    incl = schema.get(inclusive)
    if isinstance(incl, (int, float)) and not isinstance(incl, bool):
        return float(incl), False
    return None, False


def _pick(lo: int | None, hi: int | None, variant: int, default: int) -> int:
    if lo is not None and hi is not None:
        return min(lo + variant, hi) if lo <= hi else lo
    if lo is not None:
        return lo + variant
    if hi is not None:
        return min(default + variant, hi)
    return default + variant


def _pick_real(low: float | None, low_open: bool, high: float | None, high_open: bool, variant: int) -> float:
    if low is not None and high is not None:
        mid = (low + high) / 2
        return mid if variant == 0 else (mid + high) / 2
    if low is not None:
        return low + (1.0 if low_open else 0.0) + variant
    if high is not None:
        return high - (1.0 if high_open else 0.0) - variant
    return 1.5 + variant


def _multiple(value: float, step: float, *, integer: bool) -> float:
    """The first multiple of ``step`` from ``value`` up whose quotient is exact in float arithmetic.

    Validators test ``value / step`` for integrality, and ``1.5 / 0.1`` is not 15.0 in binary
    floating point, so a few candidates are tried (the bounds check afterwards still applies).
    """
    start = math.ceil(value / step)
    for k in range(start, start + 50):
        candidate = round(k * step, 12)
        if integer and candidate != int(candidate):
            continue
        quotient = candidate / step
        if quotient == int(quotient):
            return candidate
    raise Unsatisfiable("no exact multiple found")


def _string(schema: dict[str, Any], *, name: str, variant: int) -> str:
    fmt = schema.get("format")
    text = _FORMATS[fmt] if isinstance(fmt, str) and fmt in _FORMATS else _free_string(name, variant)
    low = int(schema.get("minLength", 0))
    high = schema.get("maxLength")
    if len(text) < low:
        text = text + "x" * (low - len(text))
    if isinstance(high, int) and len(text) > high:
        if fmt in _FORMATS:
            raise Unsatisfiable("format value longer than maxLength")
        text = text[:high]
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        text = _matching(pattern, [text, name, "a", "0", "abc", "A1"], low, high)
    return text


def _matching(pattern: str, candidates: list[str], low: int, high: Any) -> str:
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise Unsatisfiable(f"pattern not understood: {exc}") from exc
    for text in candidates:
        if regex.search(text) and len(text) >= low and (not isinstance(high, int) or len(text) <= high):
            return text
    raise Unsatisfiable("no candidate matches the pattern")


def _free_string(name: str, variant: int) -> str:
    """A readable free-form value built from the property name (``variant`` changes it)."""
    base = re.sub(r"[^A-Za-z0-9]+", " ", name).strip().lower() or "value"
    return base if variant == 0 else f"{base} {variant}"
