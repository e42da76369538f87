"""Scenarios for POST /moderations (SPEC-DECISIONS §22; catalogue moderation.*).

A string and a list input: one result each, the 13 category keys in both maps, scores in
[0, 1], ``flagged`` consistent. Which categories a text triggers is never graded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest

from conformance.checks.errors import SERVED_IDS, check_served
from conformance.checks.models import check_json_body
from conformance.checks.moderation import (
    check_category_keys,
    check_flagged,
    check_moderation_schema,
    check_one_per_input,
    check_scores,
)

if TYPE_CHECKING:
    from conformance.recorder import VerdictRecorder
    from conformance.transport import Transport

INPUTS = [
    pytest.param("I love sunny mornings.", 1, id="string"),
    pytest.param(["I love sunny mornings.", "The train was late again."], 2, id="list"),
]


@pytest.mark.feature("moderation")
@pytest.mark.requirements(
    "moderation.schema", "moderation.one-per-input", "moderation.category-keys", "moderation.score-range",
    "moderation.flagged-consistent", *SERVED_IDS,
)
@pytest.mark.parametrize(("value", "inputs"), INPUTS)
def test_moderation(transport: Transport, models: Mapping[str, str], verdict: VerdictRecorder,
                    value: Any, inputs: int) -> None:
    """One result per input with both category maps complete and consistent."""
    ex = transport.request("POST", "/moderations", json={"model": models["moderation"], "input": value})
    if not verdict.check(check_served(ex, requirement="moderation.one-per-input"), exchange=ex):
        return
    if not verdict.check(check_json_body(ex, requirement="moderation.schema"), exchange=ex):
        return
    body = ex.json()
    verdict.check(check_moderation_schema(body), exchange=ex)
    verdict.check(check_one_per_input(body, inputs), exchange=ex)
    verdict.check(check_category_keys(body), exchange=ex)
    verdict.check(check_scores(body), exchange=ex)
    verdict.check(check_flagged(body), exchange=ex)
