"""The spec is generatable, and Schemathesis agrees with our request validators.

The reference gateway enforces ``spec.validator_for_request``; the property suite sends what
Schemathesis generates. Positive bodies must pass our validator and body mutations of negative
cases must fail it, or the property suite would report a conforming server.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from conformance import spec

_SCHEMA = schemathesis.openapi.from_path(str(spec.SPEC_PATH))
_SETTINGS = settings(
    max_examples=5, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)
_BODY_OPERATIONS = [(m, p) for m, p, _ in spec.operations() if m == "POST"]


def _as_validated(body: Any) -> Any:
    # Multipart file parts arrive as bytes; our validator takes any string for a binary field.
    if isinstance(body, dict):
        return {k: ("<file>" if isinstance(v, bytes | bytearray) else v) for k, v in body.items()}
    return body


def _media_type(path: str) -> str:
    return "multipart/form-data" if path.startswith("/audio/trans") else "application/json"


def _body_mutated(case: Any) -> bool:
    data = case.meta.phase.data if case.meta else None
    location = getattr(data, "parameter_location", None)
    return location is not None and location.value == "body" and not isinstance(case.body, bytes)


@pytest.mark.parametrize(("method", "path"), _BODY_OPERATIONS, ids=[p for _, p in _BODY_OPERATIONS])
def test_positive_cases_pass_our_validator(method: str, path: str) -> None:
    operation = _SCHEMA[path][method]
    check = spec.validator_for_request(path, method, _media_type(path))
    seen: list[Any] = []

    @_SETTINGS
    @given(operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def run(case: Any) -> None:
        seen.append(case.body)
        errors = [e.message for e in check.iter_errors(_as_validated(case.body))]
        assert errors == [], case.body

    run()
    assert seen


@pytest.mark.parametrize(("method", "path"), _BODY_OPERATIONS, ids=[p for _, p in _BODY_OPERATIONS])
def test_negative_body_cases_fail_our_validator(method: str, path: str) -> None:
    if _media_type(path) != "application/json":
        pytest.skip("multipart negative cases are serialised lossily (tech-notes 1.11); not comparable")
    operation = _SCHEMA[path][method]
    check = spec.validator_for_request(path, method)

    @_SETTINGS
    @given(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE), st.just(None))
    def run(case: Any, _: None) -> None:
        if _body_mutated(case):
            assert not check.is_valid(case.body), (case.meta.phase.data.description, case.body)

    run()
