"""Scenarios for non-streamed Responses API answers (SPEC-DECISIONS §14; catalogue responses.*).

The answer's shape and arithmetic, instructions accepted, a function call and the follow-up
carrying its function_call_output. Streaming belongs to test_responses_streaming.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest

from conformance.checks.errors import SERVED_IDS
from conformance.checks.responses import (
    check_function_calls,
    check_response_invariants,
    check_response_schema,
    function_calls,
)
from conformance.config import Settings
from conformance.model import Exchange
from conformance.suites.answers import served_json
from conformance.suites.samples import WEATHER_TOOL, responses_tool

if TYPE_CHECKING:
    from conformance.recorder import VerdictRecorder
    from conformance.transport import Transport

INVARIANT_IDS = (
    "responses.schema",
    "responses.object",
    "responses.status-enum",
    "responses.output-text-parts",
    "responses.output-text-joined",
    "responses.usage-total",
)

#: OpenAI refuses max_output_tokens below 16, so the budget is raised to that floor.
MIN_OUTPUT_TOKENS = 16



def _request(models: Mapping[str, str], settings: Settings, user_input: Any, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": models["responses"],
        "input": user_input,
        "max_output_tokens": max(settings.budgets.max_tokens, MIN_OUTPUT_TOKENS),
    }
    body.update(extra)
    return body


def _answer(verdict: VerdictRecorder, ex: Exchange, requirement: str) -> Any:
    """The decoded, schema-checked and invariant-checked answer of a served request, or None."""
    served = served_json(verdict, ex, requirement, schema="responses.schema")
    if served is None:
        return None
    body = served.body
    verdict.check(check_response_schema(body), exchange=ex)
    verdict.check(check_response_invariants(body), exchange=ex)
    return body


@pytest.mark.feature("responses")
@pytest.mark.requirements(*INVARIANT_IDS, *SERVED_IDS)
def test_responses_basic(transport: Transport, models: Mapping[str, str], settings: Settings,
                         verdict: VerdictRecorder) -> None:
    """A string input gets a Response: object, status, output_text parts, usage arithmetic."""
    ex = transport.request("POST", "/responses", json=_request(models, settings, "Say OK."))
    _answer(verdict, ex, "responses.schema")


@pytest.mark.feature("responses")
@pytest.mark.requirements("responses.instructions-accepted", *INVARIANT_IDS, *SERVED_IDS)
def test_responses_instructions(transport: Transport, models: Mapping[str, str], settings: Settings,
                                verdict: VerdictRecorder) -> None:
    """A request with instructions and a message-list input is accepted."""
    user_input = [{"role": "user", "content": [{"type": "input_text", "text": "Say OK."}]}]
    body = _request(models, settings, user_input, instructions="Answer in one word.")
    ex = transport.request("POST", "/responses", json=body)
    _answer(verdict, ex, "responses.instructions-accepted")


@pytest.mark.feature("responses")
@pytest.mark.requirements("responses.function-call", "responses.function-call-output", *INVARIANT_IDS,
                          *SERVED_IDS)
def test_responses_function_call_round_trip(transport: Transport, models: Mapping[str, str], settings: Settings,
                                            verdict: VerdictRecorder) -> None:
    """tool_choice required gives a function_call item; its function_call_output is accepted."""
    question = {"role": "user", "content": "What is the weather in Paris?"}
    first = transport.request("POST", "/responses", json=_request(
        models, settings, [question], tools=[responses_tool(WEATHER_TOOL)], tool_choice="required"))
    answer = _answer(verdict, first, "responses.schema")
    if answer is None or not verdict.check(check_function_calls(answer, expect_call=True), exchange=first):
        return
    calls = function_calls(answer)
    if not calls:
        return  # an incomplete answer without a call: nothing to send back
    call = calls[0]
    echoed = {"type": "function_call", "call_id": call.get("call_id"), "name": call.get("name"),
              "arguments": call.get("arguments")}
    output = {"type": "function_call_output", "call_id": call.get("call_id"), "output": '{"temperature_c": 18}'}
    second = transport.request("POST", "/responses", json=_request(
        models, settings, [question, echoed, output], tools=[responses_tool(WEATHER_TOOL)]))
    _answer(verdict, second, "responses.function-call-output")
