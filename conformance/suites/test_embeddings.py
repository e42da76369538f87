"""Scenarios for POST /embeddings (SPEC-DECISIONS §17; catalogue embeddings.*).

Every input form, one item per input in order, equal lengths, ``dimensions`` honoured or
refused with 400, base64 equal to the float answer, usage, and empty input refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest

from conformance.checks.embeddings import (
    check_base64_embeddings,
    check_dimensions,
    check_embeddings_schema,
    check_embeddings_usage,
    check_equal_dimensions,
    check_one_per_input,
)
from conformance.checks.errors import (
    CLIENT_ERROR_IDS,
    SERVED_IDS,
    check_client_error,
    check_envelope_part_of,
    check_status,
)
from conformance.config import Settings
from conformance.model import Exchange
from conformance.suites.answers import served_json

if TYPE_CHECKING:
    from conformance.recorder import VerdictRecorder
    from conformance.transport import Transport

SHAPE_IDS = ("embeddings.schema", "embeddings.one-per-input", "embeddings.equal-dimensions", "embeddings.usage")

#: Small token ids valid in every common tokenizer family ("Hello world" in cl100k).
TOKENS = [9906, 1917]

#: A length below every real model's native size, so honouring it is observable.
DIMENSIONS = 8


def _answer(verdict: VerdictRecorder, ex: Exchange, requirement: str, inputs: int) -> Any:
    """The decoded answer of a served request after the shape checks, or None."""
    served = served_json(verdict, ex, requirement, schema="embeddings.schema")
    if served is None:
        return None
    body = served.body
    verdict.check(check_embeddings_schema(body), exchange=ex)
    verdict.check(check_one_per_input(body, inputs), exchange=ex)
    verdict.check(check_equal_dimensions(body), exchange=ex)
    verdict.check(check_embeddings_usage(body), exchange=ex)
    return body


INPUT_FORMS = [
    pytest.param("The quick brown fox.", 1, id="string"),
    pytest.param(["The quick brown fox.", "A lazy dog."], 2, id="strings"),
    pytest.param(TOKENS, 1, id="tokens"),
    pytest.param([TOKENS, TOKENS[:1]], 2, id="token-lists"),
]


@pytest.mark.feature("embeddings")
@pytest.mark.requirements("embeddings.input-forms", *SHAPE_IDS, *SERVED_IDS)
@pytest.mark.parametrize(("value", "inputs"), INPUT_FORMS)
def test_embeddings_input_form(transport: Transport, models: Mapping[str, str], verdict: VerdictRecorder,
                               value: Any, inputs: int) -> None:
    """Each input form is accepted: one item per input, in order, of equal length, with usage."""
    ex = transport.request("POST", "/embeddings", json={"model": models["embeddings"], "input": value})
    _answer(verdict, ex, "embeddings.input-forms", inputs)


@pytest.mark.feature("embeddings")
@pytest.mark.requirements("embeddings.dimensions", *SHAPE_IDS, *SERVED_IDS)
def test_embeddings_dimensions(transport: Transport, models: Mapping[str, str], verdict: VerdictRecorder) -> None:
    """dimensions is honoured (every vector that long) or refused with 400 and the envelope."""
    body = {"model": models["embeddings"], "input": ["one", "two"], "dimensions": DIMENSIONS}
    ex = transport.request("POST", "/embeddings", json=body)
    if ex.status is not None and 400 <= ex.status < 500:
        # A refusal is judged as this requirement's alternative ("400 with the envelope"), so
        # the test declares only ids it judges whichever way the target answers.
        refused = check_status(ex, (400,), requirement="embeddings.dimensions")
        verdict.check(refused or check_envelope_part_of(ex, requirement="embeddings.dimensions"), exchange=ex)
        return
    answer = _answer(verdict, ex, "embeddings.dimensions", 2)
    if answer is not None:
        verdict.check(check_dimensions(answer, DIMENSIONS), exchange=ex)


@pytest.mark.feature("embeddings")
@pytest.mark.requirements("embeddings.base64", *SHAPE_IDS, *SERVED_IDS)
def test_embeddings_base64(transport: Transport, models: Mapping[str, str], settings: Settings,
                           verdict: VerdictRecorder) -> None:
    """base64 is little-endian float32 equal to the float answer (1e-6 on a deterministic target)."""
    request = {"model": models["embeddings"], "input": ["The quick brown fox.", "A lazy dog."]}
    floats = transport.request("POST", "/embeddings", json={**request, "encoding_format": "float"})
    float_answer = _answer(verdict, floats, "embeddings.base64", 2)
    encoded = transport.request("POST", "/embeddings", json={**request, "encoding_format": "base64"})
    base64_answer = _answer(verdict, encoded, "embeddings.base64", 2)
    if float_answer is None or base64_answer is None:
        return
    exact = "determinism" in settings.features
    verdict.check(check_base64_embeddings(float_answer, base64_answer, exact=exact), exchange=encoded)


@pytest.mark.feature("embeddings")
@pytest.mark.requirements("embeddings.empty-input", *CLIENT_ERROR_IDS)
@pytest.mark.parametrize("value", [pytest.param("", id="empty-string"), pytest.param([], id="empty-list")])
def test_embeddings_empty_input(transport: Transport, models: Mapping[str, str], verdict: VerdictRecorder,
                                value: Any) -> None:
    """An empty input gets 400 with the error envelope."""
    ex = transport.request("POST", "/embeddings", json={"model": models["embeddings"], "input": value})
    verdict.check(check_client_error(ex, (400,), requirement="embeddings.empty-input"), exchange=ex)
