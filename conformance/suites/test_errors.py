"""Status mapping and the error envelope for client mistakes (D4, D5, D6).

Each request is an operation's minimal valid request with exactly one defect, sent with
the target's valid key, so the defect is the only thing the server can object to. Every
error answer is also held to the envelope (content type, shape, param/code present), and
no client mistake may get a 5xx. ``audio.*.missing-file`` belongs to the audio suite.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pytest

from conformance.checks.errors import (
    CLIENT_ERROR_IDS,
    ENVELOPE_IDS,
    SERVED_IDS,
    UNKNOWN_MODEL_IDS,
    check_client_error,
    check_envelope_part_of,
    check_error_envelope,
    check_no_error_in_2xx,
    check_served,
    check_status,
    check_unknown_model,
)
from conformance.errors import ConfigError
from conformance.suites.operations import (
    DEFECTS,
    OPERATIONS,
    UNKNOWN_FIELD,
    UNKNOWN_MODEL,
    Defect,
    Operation,
    RequestSpec,
    minimal_request,
    operation,
    operations_with,
    unrouted,
)

if TYPE_CHECKING:
    from conformance.config import Settings
    from conformance.recorder import VerdictRecorder
    from conformance.transport import Transport

#: Paths under the base URL that no Nexhina server routes.
UNKNOWN_PATH = "/nexhina-conformance/no-such-path"

#: A method no spec path accepts (GET on a POST path could hit OpenAI's stored-completions
#: listing, DELETE on /models/{model} a deletion stub; PUT is routed nowhere).
WRONG_METHOD = "PUT"


#: The status-mapping requirements whose cases are one-defect mutations of a valid request.
_INVALID_BODY_IDS = (
    "errors.missing-required-field",
    "errors.wrong-type",
    "errors.out-of-range",
    "errors.unknown-enum-value",
)


def _defect_params() -> list[object]:
    """One case per operation with defects: its (requirement, defect) pairs, marks, feature."""
    per_operation: dict[str, list[tuple[str, Defect]]] = {}
    for requirement in _INVALID_BODY_IDS:
        for defect in DEFECTS[requirement]:
            per_operation.setdefault(defect.operation_id, []).append((requirement, defect))
    params: list[object] = []
    for operation_id, defects in per_operation.items():
        op = operation(operation_id)
        requirements = dict.fromkeys(requirement for requirement, _ in defects)
        params.append(
            pytest.param(
                op,
                tuple(defects),
                id=op.operation_id,
                marks=[
                    pytest.mark.feature("errors", op.feature),
                    pytest.mark.requirements(*requirements, *CLIENT_ERROR_IDS),
                ],
            )
        )
    return params


def _ops(ops: tuple[Operation, ...]) -> list[object]:
    return [
        pytest.param(op, id=op.operation_id, marks=pytest.mark.feature("errors", op.feature)) for op in ops
    ]


@pytest.mark.parametrize(("op", "defects"), _defect_params())
def test_invalid_body_is_400(
    op: Operation,
    defects: tuple[tuple[str, Defect], ...],
    transport: Transport,
    models: Mapping[str, str],
    settings: Settings,
    verdict: VerdictRecorder,
) -> None:
    """Each body with one defect (a missing required field, a wrong type, a number out of range,
    an unknown enum value) -> 400 with the envelope; 422 is a deviation.

    The operation's defective requests are independent: they go out together
    (``budgets.concurrency`` at once) and each answer is judged under its own requirement.
    """
    valid = minimal_request(op, models, settings)
    mutated = [defect.mutate(valid) for _, defect in defects]
    answers = transport.concurrently(*(
        (lambda spec=spec: spec.send(transport, retry_429=False)) for spec in mutated
    ))
    for (requirement, _), ex in zip(defects, answers, strict=True):
        verdict.check(check_client_error(ex, (400,), requirement=requirement), exchange=ex)


def _malformed_json(spec: RequestSpec) -> bytes:
    """The request's own JSON with its closing brace cut off."""
    return json.dumps(spec.json).encode()[:-1]


@pytest.mark.requirements("errors.malformed-json", *CLIENT_ERROR_IDS)
@pytest.mark.parametrize("op", _ops(operations_with(body="json")))
def test_malformed_json(
    op: Operation,
    transport: Transport,
    models: Mapping[str, str],
    settings: Settings,
    verdict: VerdictRecorder,
) -> None:
    """A body that is not valid JSON -> 400 with the envelope."""
    spec = minimal_request(op, models, settings)
    ex = transport.request(
        op.method,
        op.path,
        content=_malformed_json(spec),
        headers={"Content-Type": "application/json"},
        retry_429=False,
    )
    verdict.check(check_client_error(ex, (400,), requirement="errors.malformed-json"), exchange=ex)


@pytest.mark.requirements("errors.wrong-content-type", *CLIENT_ERROR_IDS)
@pytest.mark.parametrize("op", _ops(operations_with(body="json")))
def test_wrong_content_type(
    op: Operation,
    transport: Transport,
    models: Mapping[str, str],
    settings: Settings,
    verdict: VerdictRecorder,
) -> None:
    """Valid JSON sent as text/plain to a JSON endpoint -> 400 or 415 with the envelope."""
    spec = minimal_request(op, models, settings)
    ex = transport.request(
        op.method,
        op.path,
        content=json.dumps(spec.json).encode(),
        headers={"Content-Type": "text/plain"},
        retry_429=False,
    )
    verdict.check(check_client_error(ex, (400, 415), requirement="errors.wrong-content-type"), exchange=ex)


@pytest.mark.requirements(*UNKNOWN_MODEL_IDS, *ENVELOPE_IDS, "errors.no-error-in-2xx")
@pytest.mark.parametrize("op", _ops(operations_with(takes_model=True)))
def test_unknown_model(
    op: Operation,
    transport: Transport,
    models: Mapping[str, str],
    settings: Settings,
    verdict: VerdictRecorder,
) -> None:
    """An unknown model -> refused with a 4xx or 503 (SHOULD 404, code model_not_found).

    No ``errors.no-5xx-for-client-error`` here: D5 grades a 503 for an unknown model as a
    WARN (the SHOULD of 404), not a FAIL.
    """
    spec = minimal_request(op, models, settings).with_body({"model": UNKNOWN_MODEL})
    ex = spec.send(transport, retry_429=False)
    verdict.check(check_unknown_model(ex), exchange=ex)
    verdict.check(check_error_envelope(ex), exchange=ex)
    verdict.check(check_no_error_in_2xx(ex), exchange=ex)


@pytest.mark.requirements("errors.unknown-path", *CLIENT_ERROR_IDS)
@pytest.mark.feature("errors")
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_path(method: str, transport: Transport, verdict: VerdictRecorder) -> None:
    """A path no operation has -> 404 with the envelope."""
    body = {"model": UNKNOWN_MODEL} if method == "POST" else None
    ex = transport.request(method, UNKNOWN_PATH, json=body, retry_429=False)
    verdict.check(check_client_error(ex, (404,), requirement="errors.unknown-path"), exchange=ex)
    verdict.check(check_envelope_part_of(ex, requirement="errors.unknown-path"), exchange=ex)


@pytest.mark.requirements("errors.wrong-method", "errors.wrong-method-405", *CLIENT_ERROR_IDS)
@pytest.mark.parametrize("op", _ops(OPERATIONS))
def test_wrong_method(
    op: Operation,
    transport: Transport,
    models: Mapping[str, str],
    settings: Settings,
    verdict: VerdictRecorder,
) -> None:
    """A method the path does not accept -> 405 (SHOULD) or 404, with the envelope."""
    spec = minimal_request(op, models, settings)
    ex = transport.request(WRONG_METHOD, spec.path, retry_429=False)
    verdict.check(check_client_error(ex, (404, 405), requirement="errors.wrong-method"), exchange=ex)
    if ex.status == 404 and unrouted(op, ex, transport, models, settings):
        return  # the path is not routed at all (D27): 404 is right, a 405 cannot be asked for
    verdict.check(check_status(ex, (405,), requirement="errors.wrong-method-405"), exchange=ex)


@pytest.mark.requirements("errors.unknown-field-ignored", *SERVED_IDS)
@pytest.mark.parametrize("op", _ops(operations_with(body="json") + operations_with(body="multipart")))
def test_unknown_field_ignored(
    op: Operation,
    transport: Transport,
    models: Mapping[str, str],
    settings: Settings,
    verdict: VerdictRecorder,
) -> None:
    """An extra unknown top-level field is ignored and the request served."""
    spec = minimal_request(op, models, settings).with_body({UNKNOWN_FIELD: "ignored"})
    ex = spec.send(transport)
    verdict.check(check_served(ex, requirement="errors.unknown-field-ignored"), exchange=ex)


#: How far past the declared limit the oversized body goes.
_OVER_LIMIT = 1024


@pytest.mark.requirements("errors.body-too-large", *CLIENT_ERROR_IDS)
@pytest.mark.feature("body-limit", "chat")
def test_body_too_large(
    transport: Transport, models: Mapping[str, str], settings: Settings, verdict: VerdictRecorder
) -> None:
    """A body just over the declared limit -> 413 with the envelope.

    The padding sits in an unknown top-level field (ignored by D6), so a server that does not
    enforce its limit still bills one output token, not a megabyte of prompt.
    """
    limit = settings.limits.body_limit_bytes
    if not limit:
        raise ConfigError("the target declares feature 'body-limit' but [limits] body_limit_bytes is not set")
    spec = minimal_request(operation("createChatCompletion"), models, settings)
    size = len(json.dumps(spec.json).encode())
    padding = "a" * max(0, limit + _OVER_LIMIT - size - len(UNKNOWN_FIELD) - 6)
    oversized = spec.with_body({UNKNOWN_FIELD: padding})
    ex = oversized.send(transport, retry_429=False)
    verdict.check(check_client_error(ex, (413,), requirement="errors.body-too-large"), exchange=ex)
