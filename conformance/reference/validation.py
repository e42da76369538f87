"""Request validation of the reference gateway against the spec's request schemas.

Owns ``RequestSchemas`` (the request-body schema and validator of each operation, from
``conformance.spec``), ``SchemaProblem`` (the one error reported for an invalid body) and the
coercion of multipart form strings to the types the schema declares. Imports
``conformance.spec`` only: never checks/ or suites/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from jsonschema.exceptions import ValidationError, best_match

#: jsonschema keywords whose failure is an "out of range" number.
_RANGE = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})
#: Keywords that reject unknown properties; D6 says unknown top-level fields are ignored.
_UNKNOWN_FIELD = frozenset({"additionalProperties", "unevaluatedProperties"})
_MAX_MESSAGE = 300
_KINDS = {"required": "missing", "type": "type", "enum": "enum", "const": "enum", **{k: "range" for k in _RANGE}}


class Validator(Protocol):
    """The part of a jsonschema validator the reference uses."""

    def iter_errors(self, instance: Any) -> Iterable[ValidationError]: ...


ValidatorFactory = Callable[[str, str, str], "Validator | None"]


@dataclass(frozen=True)
class SchemaProblem:
    """Why a request body is invalid: its kind, the field it names and a message.

    ``kind`` is ``missing`` (a required field), ``type``, ``range``, ``enum`` or ``other``.
    """

    kind: str
    param: str | None
    message: str

    @property
    def code(self) -> str:
        """The error code the envelope carries for this kind."""
        return {"missing": "missing_required_parameter", "type": "invalid_type"}.get(self.kind, "invalid_value")


class RequestSchemas:
    """Request-body schemas of the spec's operations (validator plus the resolved schema)."""

    def __init__(self, spec: Mapping[str, Any], validator_for: ValidatorFactory) -> None:
        self._spec = spec
        self._validator_for = validator_for
        self._validators: dict[tuple[str, str, str], Validator | None] = {}

    @classmethod
    def from_spec(cls) -> RequestSchemas:
        """The schemas of the project's spec (``conformance.spec``)."""
        from conformance import spec

        return cls(spec.load_spec(), spec.validator_for_request)

    def validator(self, path: str, method: str, media_type: str) -> Validator | None:
        """The validator of the operation's request body (cached), None if it has none."""
        key = (path, method.lower(), media_type)
        if key not in self._validators:
            self._validators[key] = self._validator_for(path, method.lower(), media_type)
        return self._validators[key]

    def body_schema(self, path: str, method: str, media_type: str) -> Mapping[str, Any]:
        """The request body schema with its top-level ``$ref`` resolved ({} when none)."""
        operation = self._spec.get("paths", {}).get(path, {}).get(method.lower(), {})
        content = operation.get("requestBody", {}).get("content", {})
        schema = content.get(media_type, {}).get("schema", {})
        return self.resolve(schema)

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        """Follow local ``$ref`` pointers until a schema without one."""
        seen: set[str] = set()
        while isinstance(schema, Mapping) and "$ref" in schema:
            ref = schema["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
                break
            seen.add(ref)
            node: Any = self._spec
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            schema = node
        return schema

    def properties(self, path: str, method: str, media_type: str) -> dict[str, Mapping[str, Any]]:
        """Top-level properties of the body schema, merged over allOf/anyOf/oneOf branches."""
        found: dict[str, Mapping[str, Any]] = {}
        self._collect(self.body_schema(path, method, media_type), found, depth=0)
        return found

    def _collect(self, schema: Mapping[str, Any], found: dict[str, Mapping[str, Any]], *, depth: int) -> None:
        if depth > 5 or not isinstance(schema, Mapping):
            return
        for name, sub in schema.get("properties", {}).items():
            found.setdefault(name, self.resolve(sub))
        for keyword in ("allOf", "anyOf", "oneOf"):
            for branch in schema.get(keyword, []):
                self._collect(self.resolve(branch), found, depth=depth + 1)

    def problem(
        self,
        path: str,
        method: str,
        media_type: str,
        instance: object,
        *,
        delegate: Mapping[str, frozenset[str]] | None = None,
    ) -> SchemaProblem | None:
        """The most relevant schema error of ``instance``, or None when it is valid.

        Unknown top-level fields are never an error (D6). ``delegate`` maps a top-level field
        to schema keywords whose errors under it are left for the engine to judge (see
        ``app.DELEGATED``); a oneOf/anyOf error counts when one of its branches fails so.
        """
        validator = self.validator(path, method, media_type)
        if validator is None:
            return None
        errors = [
            e
            for e in validator.iter_errors(instance)
            if not _is_unknown_top_level_field(e) and not _is_delegated(e, delegate or {})
        ]
        if not errors:
            return None
        return _describe(best_match(errors))

    def types_of(self, schema: Mapping[str, Any]) -> set[str]:
        """The JSON types a (property) schema allows, looking into anyOf/oneOf branches."""
        schema = self.resolve(schema)
        declared = schema.get("type")
        types = {declared} if isinstance(declared, str) else set(declared or [])
        for keyword in ("anyOf", "oneOf", "allOf"):
            for branch in schema.get(keyword, []):
                types |= self.types_of(branch)
        return types


def _is_unknown_top_level_field(error: ValidationError) -> bool:
    return error.validator in _UNKNOWN_FIELD and not error.path


def _is_delegated(error: ValidationError, delegate: Mapping[str, frozenset[str]]) -> bool:
    keywords = delegate.get(str(_top_field(error)))
    if not keywords:
        return False
    if error.validator in keywords:
        return True
    return error.validator in ("oneOf", "anyOf") and any(b.validator in keywords for b in error.context or [])


def _top_field(error: ValidationError) -> object:
    """The top-level field an error is about (the missing name for a root ``required``)."""
    if error.path:
        return error.path[0]
    if error.validator == "required" and isinstance(error.instance, Mapping):
        missing = [name for name in error.validator_value if name not in error.instance]
        return missing[0] if missing else None
    return None


def _describe(error: ValidationError) -> SchemaProblem:
    keyword = str(error.validator)
    parts = list(error.path)
    if keyword == "required" and isinstance(error.instance, Mapping):
        missing = [name for name in error.validator_value if name not in error.instance]
        if missing:
            parts.append(missing[0])
    kind = _KINDS.get(keyword, "other")
    if keyword in ("oneOf", "anyOf"):
        kind, parts = _combinator_kind(error, parts)
    param = format_param(parts)
    message = error.message if len(error.message) <= _MAX_MESSAGE else error.message[:_MAX_MESSAGE] + "..."
    where = f" (param {param})" if param else ""
    return SchemaProblem(kind, param, f"Invalid request{where}: {message}")


def _combinator_kind(error: ValidationError, parts: list[Any]) -> tuple[str, list[Any]]:
    """Classify a oneOf/anyOf failure from its branches (best_match does not descend when
    every branch fails alike): all branches a root type error -> ``type``; a branch failing
    on a property's enum/const (a chat message with an unknown role) -> ``enum`` there."""
    branches = list(error.context or [])
    if branches and all(b.validator == "type" and not b.relative_path for b in branches):
        return "type", parts
    for branch in branches:
        if branch.validator in ("enum", "const") and branch.relative_path:
            return "enum", list(branch.absolute_path)
    return "other", parts


def format_param(parts: Iterable[object]) -> str | None:
    """An error path as OpenAI writes ``param``: ``messages[0].content``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


def coerce_form(fields: Iterable[tuple[str, str]], schemas: RequestSchemas, path: str) -> dict[str, object]:
    """Multipart text fields as the JSON values the schema declares (for validation only).

    Numbers, integers and booleans are converted when they parse; array fields collect
    repeated values (``name`` or ``name[]``). A value that does not parse stays a string, so
    the validator reports the type error instead of this function guessing.
    """
    props = schemas.properties(path, "post", "multipart/form-data")
    result: dict[str, object] = {}
    for raw_name, value in fields:
        name = raw_name[:-2] if raw_name.endswith("[]") else raw_name
        types = schemas.types_of(props.get(name, {}))
        if "array" in types:
            items = schemas.types_of(schemas.resolve(props[name]).get("items", {}))
            existing = result.setdefault(name, [])
            if isinstance(existing, list):
                existing.append(_scalar(value, items))
        else:
            result[name] = _scalar(value, types)
    return result


def _scalar(value: str, types: set[str]) -> object:
    if "string" in types or not types:
        return value
    if "integer" in types:
        try:
            return int(value)
        except ValueError:
            pass
    if "number" in types:
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    if "boolean" in types and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value
