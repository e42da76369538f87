"""Pure logic of the property (Schemathesis) suite: which requirement a finding breaks.

Owns the mapping from a generated case's findings to catalogue ids:

- :func:`invalid_body_requirement` decides whether a request body is really invalid by the
  spec (as it went on the wire) and, if so, which kind of defect it carries
  (``errors.missing-required-field``, ``wrong-type``, ``out-of-range``, ``unknown-enum-value``);
- :func:`failure_to_violations` turns one Schemathesis finding (as plain :class:`FailureFacts`,
  built by the suite layer) into violations of the catalogue, given what kind of case was sent
  (:class:`CaseFacts`);
- the id tables (case kinds, per-operation ids, :func:`operation_ids`) live in
  ``checks.properties_ids`` and coverage sampling (:func:`select_cases`) in
  ``checks.properties_sampling``; both are re-exported here, so callers keep one import path.

No I/O, no Schemathesis, no pytest: the suite layer adapts Schemathesis objects to the plain
dataclasses here. The level (FAIL or WARN) comes from the catalogue, never from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import ValidationError

from conformance.checks._common import OBJECT_MISSING, pointer
from conformance.checks._judged import judges
from conformance.checks.properties_ids import (
    COMMON_IDS,
    CONTENT_TYPE,
    INVALID_KEY,
    JSON_BODY_IDS,
    KINDS,
    MALFORMED,
    MISSING,
    MISSING_AUTH,
    MODEL_SHAPE,
    NEGATIVE,
    OBJECT_IDS,
    OUT_OF_RANGE,
    POSITIVE,
    SHAPE_IDS,
    STREAM_CONTENT_TYPE_IDS,
    STREAM_IDS,
    UNKNOWN_ENUM,
    UNSERVED,
    WRONG_METHOD,
    WRONG_TYPE,
    operation_ids,
)
from conformance.checks.properties_sampling import CaseKey, select_cases
from conformance.model import Exchange, Findings, Violation, truncate
from conformance.spec import validator_for_request

__all__ = [
    "COMMON_IDS",
    "CONTENT_TYPE",
    "CaseFacts",
    "CaseKey",
    "FailureFacts",
    "INVALID_KEY",
    "JSON_BODY_IDS",
    "KINDS",
    "MALFORMED",
    "MISSING",
    "MISSING_AUTH",
    "MODEL_SHAPE",
    "OBJECT_IDS",
    "NEGATIVE",
    "OUT_OF_RANGE",
    "POSITIVE",
    "SHAPE_IDS",
    "STREAM_CONTENT_TYPE_IDS",
    "STREAM_IDS",
    "UNKNOWN_ENUM",
    "UNSERVED",
    "WRONG_METHOD",
    "WRONG_TYPE",
    "check_stream_answered_as_stream",
    "failure_to_violations",
    "invalid_body_requirement",
    "judged_by_case",
    "operation_ids",
    "select_cases",
]

# --------------------------------------------------------------------------- invalid bodies

_RANGE_KEYWORDS = frozenset({
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties",
})
#: Keywords that reject unknown members: D6 says unknown fields are ignored, so a body that
#: breaks only these is not invalid for our purposes.
_UNKNOWN_MEMBER_KEYWORDS = frozenset({"additionalProperties", "unevaluatedProperties"})
_BY_KEYWORD: Mapping[str, str] = {
    "required": MISSING,
    "type": WRONG_TYPE,
    "enum": UNKNOWN_ENUM,
    "const": UNKNOWN_ENUM,
    **{keyword: OUT_OF_RANGE for keyword in _RANGE_KEYWORDS},
}


def _branches(error: ValidationError) -> list[list[ValidationError]]:
    grouped: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        grouped.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    return [grouped[index] for index in sorted(grouped)]


def _discriminated(branch: Sequence[ValidationError]) -> bool:
    """Whether a oneOf/anyOf branch is ruled out by a discriminator (``role``, ``type``) mismatch."""
    return any(e.validator in ("const", "enum") and len(e.relative_path) <= 1 for e in branch)


def _rules_out(branch: Sequence[ValidationError]) -> bool:
    """Whether a oneOf/anyOf branch is plainly another kind of value (type or discriminator)."""
    return _discriminated(branch) or any(e.validator == "type" and not e.relative_path for e in branch)


def _kind_of(error: ValidationError) -> str | None:
    """The requirement one schema error breaks; None when it is an unknown member only."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        branches = _branches(error)
        plausible = [b for b in branches if not _rules_out(b)]
        if plausible:
            # The branches the value was meant for; the first one names the defect.
            return _first_kind(plausible[0])
        # Every branch ruled out: all by a discriminator -> an unknown enum value, else a type.
        return UNKNOWN_ENUM if branches and all(_discriminated(b) for b in branches) else WRONG_TYPE
    if error.validator in _UNKNOWN_MEMBER_KEYWORDS:
        return None
    # Anything else (pattern, format, not, uniqueItems, ...) is closest to "wrong type".
    return _BY_KEYWORD.get(str(error.validator), WRONG_TYPE)


def _first_kind(errors: Iterable[ValidationError]) -> str | None:
    kinds = [_kind_of(e) for e in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])]
    return next((k for k in kinds if k is not None), None)


def invalid_body_requirement(
    path: str, method: str, body: Any, *, media_type: str = "application/json", absent: bool = False
) -> str | None:
    """The requirement a request body breaks, or None when the spec accepts it as sent.

    Args:
        path: the spec path of the operation (``/chat/completions``).
        method: its HTTP method.
        body: the decoded JSON body as sent (ignored when ``absent``).
        media_type: the request media type whose schema applies.
        absent: True when no body was sent at all: an empty body is not JSON, so that is
            ``errors.malformed-json``.

    Returns:
        ``errors.missing-required-field``, ``errors.wrong-type``, ``errors.out-of-range`` or
        ``errors.unknown-enum-value`` (pattern, format and other keywords count as a wrong
        type), ``errors.malformed-json`` for no body; None for a valid body or one whose only
        fault is an unknown member (D6).
    """
    if absent:
        return MALFORMED
    errors = list(validator_for_request(path, method, media_type).iter_errors(body))
    return _first_kind(errors) if errors else None


# --------------------------------------------------------------------------- findings


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What kind of case produced a finding.

    Attributes:
        operation_id: the spec's operationId.
        kind: one of :data:`KINDS`.
        invalid_requirement: for a negative case, the requirement its body breaks as sent
            (from :func:`invalid_body_requirement`); None when that could not be confirmed.
        multipart: the operation takes multipart/form-data (negative acceptance not judged).
    """

    operation_id: str
    kind: str
    invalid_requirement: str | None = None
    multipart: bool = False


@dataclass(frozen=True, slots=True)
class FailureFacts:
    """One Schemathesis finding reduced to plain data.

    Attributes:
        code: the Schemathesis failure code (``ST101`` ... ``ST901``).
        title: its title.
        message: its message (first lines are enough).
        status: the HTTP status of the response it judged.
        media_type: the response media type (lower-cased, no parameters).
        instance_path: for schema findings, the path of the offending value.
        instance: for schema findings, the offending value.
        event_index: for SSE findings, the 0-based event number.
        reason: ``failure_reason`` of an unsupported-method finding.
        header: for a response-header finding, the header (or its title when unknown).
        violations: ready-made violations (our own registered check carries them).
    """

    code: str
    title: str
    message: str
    status: int
    media_type: str = ""
    instance_path: tuple[str | int, ...] = ()
    instance: Any = None
    event_index: int | None = None
    reason: str | None = None
    header: str | None = None
    violations: tuple[Violation, ...] = ()


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _schema_violation(failure: FailureFacts, case: CaseFacts) -> list[Violation]:
    # Error answers are judged by the envelope check (conformance.checks.errors), not twice.
    if not 200 <= failure.status < 300:
        return []
    if failure.media_type == "text/event-stream":
        requirement = STREAM_IDS.get(case.operation_id)
    elif case.operation_id == "listModels" and failure.instance_path[:1] == ("data",) \
            and len(failure.instance_path) >= 2:
        requirement = MODEL_SHAPE   # a listed model, not the list, breaks its schema
    elif case.operation_id in OBJECT_IDS and (failure.instance_path == ("object",) or (
            failure.instance_path == () and OBJECT_MISSING in failure.message)):
        requirement = OBJECT_IDS[case.operation_id]
    else:
        requirement = SHAPE_IDS.get(case.operation_id)
    if requirement is None or case.operation_id in UNSERVED:
        return []
    where = pointer(failure.instance_path) or "/"
    if failure.event_index is not None:
        where = f"event[{failure.event_index}]" + pointer(failure.instance_path)
    expected = truncate(f"{failure.title}: {_first_line(failure.message)}", 300)
    actual = truncate(failure.instance) if failure.instance is not None else _first_line(failure.message)
    return [Violation(requirement, expected, actual, where)]


def _status_actual(failure: FailureFacts) -> str:
    return f"HTTP {failure.status}: {truncate(_first_line(failure.message), 160)}"


@judges()
def failure_to_violations(failure: FailureFacts, case: CaseFacts) -> list[Violation]:
    """The catalogue violations one Schemathesis finding stands for (maybe none).

    Mapping: a 5xx -> ``errors.no-server-error`` for a valid request, else
    ``errors.no-5xx-for-client-error``; an undocumented status -> ``errors.documented-status``;
    an undocumented, missing or malformed Content-Type -> ``errors.documented-content-type``;
    a 2xx body or event that breaks its schema -> the operation's shape id (its stream id
    for SSE; error answers are left to the envelope check); an invalid body accepted -> the kind
    of defect it carries (judged only for a confirmed invalid JSON body; 422 counts as not
    rejected, D5); a missing Authorization not refused with 401 -> ``auth.missing-key``; an
    undocumented method answered other than 405 -> ``errors.wrong-method`` (404 is allowed:
    ``errors.wrong-method-405``, a SHOULD). Not mapped (no catalogue id; the suite logs them):
    a valid request refused with a 4xx (``RejectedPositiveData``), a 405 without an Allow
    header, a response header (Retry-After of a 429 is the rate-limit suite's), the 2xx body
    of an operation in :data:`UNSERVED`, and unknown failure kinds.
    """
    if failure.violations:
        return list(failure.violations)
    code = failure.code
    if code in ("ST101", "ST102"):
        requirement = "errors.no-server-error" if case.kind == POSITIVE else "errors.no-5xx-for-client-error"
        expected = "no 5xx for a valid request" if case.kind == POSITIVE else "a 4xx for a client mistake"
        return [Violation(requirement, expected, _status_actual(failure), "status")]
    if code == "ST103":
        return [Violation("errors.documented-status", "a status the spec documents for the operation",
                          _status_actual(failure), "status")]
    if code in ("ST104", "ST105", "ST106"):
        expected = "a Content-Type the spec documents for this status"
        return [Violation("errors.documented-content-type", expected, truncate(_first_line(failure.message)),
                          "header Content-Type")]
    if code == "ST107" or (code == "ST108" and failure.header is not None):
        return []  # Retry-After of a 429 is the rate-limit suite's (D25): it provokes the 429
    if code in ("ST108", "ST109", "ST110", "ST111"):
        return _schema_violation(failure, case)
    if code == "ST201":
        return _accepted_negative(failure, case)
    if code == "ST203":
        return [Violation("auth.missing-key", "HTTP 401 without an Authorization header",
                          _status_actual(failure), "status")]
    if code == "ST204" and failure.reason == "wrong_status":
        if failure.status == 404:
            return [Violation("errors.wrong-method-405", "HTTP 405", _status_actual(failure), "status")]
        return [Violation("errors.wrong-method", "HTTP 405 or 404", _status_actual(failure), "status")]
    return []


def judged_by_case(case: CaseFacts, exchange: Exchange, *, multipart: bool = False) -> frozenset[str]:
    """The ids the property checks evaluate on one answered case (an earned PASS).

    Mirrors :func:`failure_to_violations`: every answer is judged for server errors (a valid
    request: ``errors.no-server-error``; any other: ``errors.no-5xx-for-client-error``), a
    documented status and Content-Type; a 2xx for the operation's shape ids, an error answer
    for the envelope; then what the kind of case is for. A case that
    got no answer judged nothing.
    """
    status = exchange.status
    if status is None:
        return frozenset()
    ids = {
        "errors.no-server-error" if case.kind == POSITIVE else "errors.no-5xx-for-client-error",
        "errors.documented-status",
        "errors.documented-content-type",
        "errors.no-error-in-2xx",
    }
    if 200 <= status < 300 and case.operation_id not in UNSERVED:
        ids |= {rid for rid in (SHAPE_IDS.get(case.operation_id), STREAM_IDS.get(case.operation_id)) if rid}
        if case.operation_id == "listModels":
            ids.add(MODEL_SHAPE)
        if case.operation_id in OBJECT_IDS:
            ids.add(OBJECT_IDS[case.operation_id])
    if status >= 400:
        ids |= {"errors.envelope-shape", "errors.envelope-content-type", "errors.envelope-fields-present"}
    ids |= _KIND_IDS.get(case.kind, set())
    if case.kind == NEGATIVE and not multipart and case.invalid_requirement is not None:
        ids.add(case.invalid_requirement)
    return frozenset(ids)


#: What each kind of case is sent for, besides the checks every answer gets.
_KIND_IDS: Mapping[str, set[str]] = {
    MISSING_AUTH: {"auth.missing-key"},
    WRONG_METHOD: {"errors.wrong-method", "errors.wrong-method-405"},
    INVALID_KEY: {"auth.unknown-key"},
}


def _accepted_negative(failure: FailureFacts, case: CaseFacts) -> list[Violation]:
    if case.kind != NEGATIVE or case.multipart or case.invalid_requirement is None:
        return []
    expected = "HTTP 400 (422 is a deviation)" if failure.status == 422 else "HTTP 400"
    return [Violation(case.invalid_requirement, expected, _status_actual(failure), "status")]


@judges()
def check_stream_answered_as_stream(exchange: Exchange, operation_id: str) -> list[Violation]:
    """A ``stream: true`` request answered 2xx comes as ``text/event-stream`` (D7, D15).

    Only for operations that stream (chat completions, responses); other answers pass.
    """
    requirement = STREAM_CONTENT_TYPE_IDS.get(operation_id)
    if requirement is None or exchange.status is None or not 200 <= exchange.status < 300:
        return Findings()  # not a streaming operation, or not served: nothing judged
    if exchange.content_type == "text/event-stream":
        return Findings(judged={requirement})
    shown = exchange.header("content-type") or "<absent>"
    return [Violation(requirement, "Content-Type text/event-stream", truncate(shown), "header Content-Type")]
