"""The error suite's requests against the spec: minimal bodies valid, each defect invalid.

This is what keeps the error suite from failing a conformant server: every body it expects a
400 for must break the spec's request schema, and every body it expects served must satisfy it.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.spec import validator_for_request
from conformance.suites.operations import (
    DEFECTS,
    OPERATIONS,
    UNKNOWN_FIELD,
    Defect,
    Operation,
    RequestSpec,
    minimal_request,
    operation,
)
from tests.suites.sample_target import MODELS, SETTINGS

MEDIA = {"json": "application/json", "multipart": "multipart/form-data"}


def _number(text: str) -> Any:
    """Multipart values arrive as text; the spec's numbers are judged after coercion."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _instance(spec: RequestSpec) -> dict[str, Any]:
    if spec.json is not None:
        return spec.json
    form: dict[str, Any] = {k: _number(v) for k, v in (spec.fields or {}).items()}
    form.update({name: "<binary>" for name in spec.files or {}})
    return form


def _errors(op: Operation, spec: RequestSpec) -> list[str]:
    validator = validator_for_request(op.path, op.method.lower(), MEDIA[op.body])
    assert validator is not None, f"no request schema for {op.operation_id}"
    return [error.message for error in validator.iter_errors(_instance(spec))]


BODY_OPS = [pytest.param(op, id=op.operation_id) for op in OPERATIONS if op.body != "none"]


@pytest.mark.parametrize("op", BODY_OPS)
def test_minimal_request_is_valid(op: Operation) -> None:
    assert _errors(op, minimal_request(op, MODELS, SETTINGS)) == []


@pytest.mark.parametrize("op", BODY_OPS)
def test_unknown_field_keeps_the_request_valid(op: Operation) -> None:
    spec = minimal_request(op, MODELS, SETTINGS).with_body({UNKNOWN_FIELD: "ignored"})
    assert _errors(op, spec) == []


DEFECT_CASES = [
    pytest.param(requirement, defect, id=f"{requirement}-{defect.operation_id}-{defect.label}")
    for requirement, defects in DEFECTS.items()
    for defect in defects
]


@pytest.mark.parametrize(("requirement", "defect"), DEFECT_CASES)
def test_every_defect_breaks_the_schema(requirement: str, defect: Defect) -> None:
    op = operation(defect.operation_id)
    assert _errors(op, defect.mutate(minimal_request(op, MODELS, SETTINGS))) != []


def test_defect_table_is_well_formed() -> None:
    assert set(DEFECTS) == {
        "errors.missing-required-field",
        "errors.wrong-type",
        "errors.out-of-range",
        "errors.unknown-enum-value",
    }
    labels = [(d.operation_id, d.label) for defects in DEFECTS.values() for d in defects]
    assert len(labels) == len(set(labels))
    assert all(operation(op_id).body != "none" for op_id, _ in labels)
