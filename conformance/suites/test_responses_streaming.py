"""Scenarios for streamed Responses API answers (SPEC-DECISIONS §15; catalogue responses.stream.*).

Every stream is judged the same way: status and Content-Type, framing (a stream that did not end
by itself stops the judging there), then the event rules: event line = type, per-type schema,
sequence numbers, created first, item lifecycle and indexes, one terminal event last, terminal
text and id, function-call arguments. The text of an answer is never graded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest

from conformance.checks import responses_lifecycle as rl
from conformance.checks import responses_stream as rs
from conformance.checks.sse_framing import check_responses_framing, check_stream_answer
from conformance.config import Settings
from conformance.model import Exchange
from conformance.suites.samples import WEATHER_TOOL, responses_tool

if TYPE_CHECKING:
    from conformance.recorder import VerdictRecorder
    from conformance.transport import Transport

STREAM_IDS = (
    "responses.stream.content-type",
    "responses.stream.framing",
    "responses.stream.event-type-match",
    "responses.stream.event-schema",
    "responses.stream.sequence-number",
    "responses.stream.sequence-contiguous",
    "responses.stream.created-first",
    "responses.stream.item-lifecycle",
    "responses.stream.consistent-indexes",
    "responses.stream.single-terminal",
    "responses.stream.terminal-text",
    "responses.stream.terminal-id",
    "responses.stream.function-call-arguments",
)

#: OpenAI refuses max_output_tokens below 16, so the budget is raised to that floor.
MIN_OUTPUT_TOKENS = 16
#: A function call needs room for its arguments; cut short, the call is still judged for order.
TOOL_OUTPUT_TOKENS = 64



def _body(models: Mapping[str, str], settings: Settings, user_input: str, *, tokens: int,
          **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": models["responses"],
        "input": user_input,
        "max_output_tokens": max(settings.budgets.max_tokens, tokens),
        "stream": True,
    }
    body.update(extra)
    return body


def judge_stream(verdict: VerdictRecorder, ex: Exchange) -> None:
    """Apply every Responses stream rule to one streamed answer (may report any of :data:`STREAM_IDS`)."""
    if not verdict.check(check_stream_answer(ex, requirement="responses.stream.content-type"), exchange=ex):
        return
    verdict.check(check_responses_framing(ex), exchange=ex)
    if ex.sse is None or ex.outcome != "complete":
        return  # a cut stream: its missing end is the framing failure, not an ordering fault
    sse = ex.sse
    for check in (
        rs.check_event_type_match,
        rs.check_event_schema,
        rs.check_sequence_numbers,
        rs.check_created_first,
        rl.check_item_lifecycle,
        rl.check_consistent_indexes,
        rs.check_single_terminal,
        rs.check_terminal_text,
        rs.check_terminal_id,
        rs.check_function_call_arguments,
    ):
        verdict.check(check(sse), exchange=ex)


@pytest.mark.feature("responses.streaming")
@pytest.mark.requirements(*STREAM_IDS)
def test_responses_stream_text(transport: Transport, models: Mapping[str, str], settings: Settings,
                               verdict: VerdictRecorder) -> None:
    """A streamed text answer: framing, sequence, lifecycle, one terminal event whose text is the deltas."""
    body = _body(models, settings, "Say hello.", tokens=MIN_OUTPUT_TOKENS)
    judge_stream(verdict, transport.stream("POST", "/responses", json=body))


@pytest.mark.feature("responses.streaming")
@pytest.mark.requirements(*STREAM_IDS)
def test_responses_stream_function_call(transport: Transport, models: Mapping[str, str], settings: Settings,
                                        verdict: VerdictRecorder) -> None:
    """A streamed function call: argument deltas join to .done, to the item and to the terminal output."""
    body = _body(models, settings, "What is the weather in Paris?", tokens=TOOL_OUTPUT_TOKENS,
                 tools=[responses_tool(WEATHER_TOOL)], tool_choice="required")
    judge_stream(verdict, transport.stream("POST", "/responses", json=body))
