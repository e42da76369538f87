"""The Nexhina OpenAPI document and the ONLY JSON Schema validator factory of the package.

Owns: finding ``openapi/`` (installed package data or the repository checkout), loading
``nexhina.yaml`` once, building Draft 2020-12 validators (format checking on) for component
schemas and request bodies, looking operations and documented responses up, and turning
schema errors into ``Violation`` values. The wording and choice of reported errors live in
``spec_rules`` and the optional-null rule (D66) in ``spec_nulls``; ``rule_text`` and
``rule_at`` are re-exported here. Imports nothing of ours but ``model``, ``errors`` and those two.

Every returned object is cached and shared: callers must not mutate what ``load_spec`` or
``request_schema`` return.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any, Final

import yaml
from jsonpointer import escape, unescape
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from conformance.errors import SpecError
from conformance.model import Violation, truncate
from conformance.spec_nulls import optional_null_paths
from conformance.spec_rules import error_pointer, expand, path_pointer, rule_at, rule_text, sort_key

__all__ = [
    "SPEC_FILE",
    "SPEC_PATH",
    "SPEC_URI",
    "load_spec",
    "openapi_dir",
    "operations",
    "optional_nulls",
    "request_schema",
    "response_media_types",
    "response_statuses",
    "rule_at",
    "rule_text",
    "schema_names",
    "spec_version",
    "validate",
    "validator",
    "validator_for_request",
    "validator_for_response",
]

logger = logging.getLogger("conformance.spec")

SPEC_FILE: Final = "nexhina.yaml"
#: Base URI under which the whole document is registered; ``$ref``s resolve inside it.
SPEC_URI: Final = "urn:nexhina"
_HTTP_METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
#: Longest schema message kept in ``Violation.expected`` (messages can embed whole instances).
_MESSAGE_LIMIT: Final = 300


def _candidate_dirs() -> tuple[Path, ...]:
    here = Path(__file__).resolve().parent
    # Installed wheels ship the files as package data; an editable checkout has them next door.
    return (here / "_openapi", here.parent / "openapi")


def openapi_dir() -> Path:
    """The directory holding ``nexhina.yaml`` and the requirement catalogue.

    Raises:
        SpecError: neither the packaged copy nor the repository's ``openapi/`` exists.
    """
    for candidate in _candidate_dirs():
        if (candidate / SPEC_FILE).is_file():
            return candidate
    raise SpecError(f"{SPEC_FILE} not found in any of: " + ", ".join(str(d) for d in _candidate_dirs()))


def _default_spec_path() -> Path:
    for candidate in _candidate_dirs():
        if (candidate / SPEC_FILE).is_file():
            return candidate / SPEC_FILE
    return _candidate_dirs()[-1] / SPEC_FILE


#: Where the document is read from (resolved at import; ``load_spec`` reports a missing file).
SPEC_PATH: Final[Path] = _default_spec_path()


#: libyaml's safe loader when present: the spec parses ~10x faster than in pure Python.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file safely (with libyaml when available)."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)  # noqa: S506 - a safe loader


@functools.cache
def load_spec() -> dict[str, Any]:
    """The parsed OpenAPI document (loaded once; do not mutate it).

    Raises:
        SpecError: the file is missing, not YAML, or has no ``components.schemas``.
    """
    try:
        document = read_yaml(SPEC_PATH)
    except OSError as exc:
        raise SpecError(f"cannot read {SPEC_PATH}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"{SPEC_PATH} is not valid YAML: {exc}") from exc
    schemas = document.get("components", {}).get("schemas") if isinstance(document, dict) else None
    if not isinstance(schemas, dict):
        raise SpecError(f"{SPEC_PATH} has no components.schemas mapping")
    logger.debug("loaded %s (%d schemas)", SPEC_PATH, len(schemas))
    return dict(document)


def spec_version() -> str:
    """The document's ``info.version``."""
    return str(load_spec()["info"]["version"])


@functools.cache
def schema_names() -> frozenset[str]:
    """Every name under ``components.schemas``."""
    return frozenset(load_spec()["components"]["schemas"])


@functools.cache
def _registry() -> Registry[Any]:
    resource: Resource[Any] = Resource.from_contents(load_spec(), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return registry


def _build(pointer: str) -> Draft202012Validator:
    validator_ = Draft202012Validator(
        {"$ref": f"{SPEC_URI}#{pointer}"},
        registry=_registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    try:
        # Resolve now so an unresolvable $ref is a SpecError here, not a crash mid-check.
        validator_.is_valid(None)
    except Unresolvable as exc:
        raise SpecError(f"unresolved $ref while building a validator for {pointer}: {exc}") from exc
    return validator_


@functools.cache
def validator(name: str) -> Draft202012Validator:
    """A cached Draft 2020-12 validator for ``#/components/schemas/<name>`` (formats checked).

    Raises:
        SpecError: ``name`` is not a component schema, or one of its ``$ref`` does not resolve.
    """
    if name not in schema_names():
        raise SpecError(f"unknown schema {name!r}; known: {', '.join(sorted(schema_names()))}")
    return _build(f"/components/schemas/{escape(name)}")


def _operation(path: str, method: str) -> dict[str, Any]:
    item = load_spec().get("paths", {}).get(path)
    operation = item.get(method.lower()) if isinstance(item, dict) else None
    if not isinstance(operation, dict):
        raise SpecError(f"no operation {method.upper()} {path} in {SPEC_FILE}")
    return operation


def operations() -> list[tuple[str, str, str]]:
    """Every operation as ``(METHOD, path, operationId)``, in document order."""
    found = []
    for path, item in load_spec().get("paths", {}).items():
        for method in _HTTP_METHODS:
            if isinstance(item.get(method), dict):
                found.append((method.upper(), path, str(item[method].get("operationId", ""))))
    return found


def request_schema(path: str, method: str, media_type: str = "application/json") -> dict[str, Any] | None:
    """The request body schema of an operation for one media type (None when it takes none).

    Raises:
        SpecError: the operation does not exist.
    """
    content = _operation(path, method).get("requestBody", {}).get("content", {})
    entry = content.get(media_type)
    return entry.get("schema") if isinstance(entry, dict) else None


@functools.cache
def validator_for_request(
    path: str, method: str, media_type: str = "application/json"
) -> Draft202012Validator:
    """A cached validator for an operation's request body (what the reference gateway enforces).

    Multipart bodies are validated as a mapping of field name to value: pass form fields already
    converted to their schema types, and any non-empty string for a file part.

    Raises:
        SpecError: no such operation, or it takes no body of that media type.
    """
    if request_schema(path, method, media_type) is None:
        raise SpecError(f"{method.upper()} {path} takes no {media_type} body")
    pointer = f"/paths/{escape(path)}/{method.lower()}/requestBody/content/{escape(media_type)}/schema"
    return _build(pointer)


def _response_pointer(path: str, method: str, status: str) -> str | None:
    entry = _operation(path, method).get("responses", {}).get(status)
    if not isinstance(entry, dict):
        return None
    if "$ref" in entry:
        # Shared error answers live under components.responses; follow the (local) reference.
        return str(entry["$ref"]).removeprefix("#")
    return f"/paths/{escape(path)}/{method.lower()}/responses/{escape(status)}"


def _response(path: str, method: str, status: str) -> dict[str, Any] | None:
    pointer = _response_pointer(path, method, status)
    node: Any = load_spec()
    for token in (pointer or "").split("/")[1:]:
        node = node.get(unescape(token)) if isinstance(node, dict) else None
    return node if pointer is not None and isinstance(node, dict) else None


def response_statuses(path: str, method: str) -> frozenset[str]:
    """The status codes an operation documents, as strings (``"200"``, ``"404"``, ...)."""
    return frozenset(str(code) for code in _operation(path, method).get("responses", {}))


def response_media_types(path: str, method: str, status: int | str) -> frozenset[str]:
    """The media types documented for one status of an operation (empty when undocumented)."""
    entry = _response(path, method, str(status))
    return frozenset(entry.get("content", {})) if entry else frozenset()


@functools.cache
def validator_for_response(
    path: str, method: str, status: int | str, media_type: str = "application/json"
) -> Draft202012Validator:
    """A cached validator for the body schema one status and media type of an operation documents.

    For ``text/event-stream`` this is the per-event schema (an object with a ``data`` string).

    Raises:
        SpecError: no such operation, status or media type, or the media type has no schema.
    """
    entry = _response(path, method, str(status))
    content = entry.get("content", {}).get(media_type) if entry else None
    if not isinstance(content, dict) or "schema" not in content:
        raise SpecError(f"{method.upper()} {path} documents no {media_type} schema for status {status}")
    return _build(f"{_response_pointer(path, method, str(status))}/content/{escape(media_type)}/schema")


def _errors(instance: Any, name: str) -> list[ValidationError]:
    try:
        return sorted(expand(validator(name).iter_errors(instance)), key=sort_key)
    except Unresolvable as exc:
        raise SpecError(f"unresolved $ref while validating against {name}: {exc}") from exc


def optional_nulls(instance: Any, name: str) -> list[str]:
    """JSON pointers of optional members sent as ``null`` where schema ``name`` wants a value.

    :func:`validate` accepts them (D66); the SHOULD that prefers omitting them reports these.
    """
    paths = optional_null_paths(instance, _errors(instance, name), functools.partial(_errors, name=name))
    return sorted(path_pointer(path) for path in paths)


def validate(instance: Any, name: str, *, requirement: str, where: str = "") -> list[Violation]:
    """Validate ``instance`` against component schema ``name``: one Violation per error.

    An optional member sent as ``null`` where the schema wants a value is accepted here (the
    official SDKs type such fields as optional and accept ``null``: D66); a required one is
    not. :func:`optional_nulls` lists them for the SHOULD that reports them.

    Args:
        instance: the decoded JSON value.
        name: a component schema name, e.g. ``ChatCompletionChunk``.
        requirement: the catalogue id every Violation carries.
        where: a prefix for ``Violation.where`` (``event[3]``, ``/choices/0``); the error's
            JSON pointer is appended to it. A root error with no prefix gets ``/``.

    Returns:
        Violations sorted by instance path; empty when the instance is valid.

    Raises:
        SpecError: ``name`` is unknown.
    """
    errors = _errors(instance, name)
    accepted = optional_null_paths(instance, errors, functools.partial(_errors, name=name))
    errors = [e for e in errors if not (e.instance is None and tuple(e.absolute_path) in accepted)]
    return [
        Violation(
            requirement=requirement,
            expected=truncate(f"schema {name}: {rule_text(error)}", _MESSAGE_LIMIT),
            actual=truncate(error.instance),
            where=(where + error_pointer(error)) or "/",
        )
        for error in errors
    ]
