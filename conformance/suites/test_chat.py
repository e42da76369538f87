"""Scenarios for non-streamed chat completions (SPEC-DECISIONS §2, §12; catalogue chat.*).

Shapes and internal consistency only: the content of an answer is never graded, except that
it never contains a requested stop sequence and parses as JSON when JSON was asked for.
Streaming belongs to test_chat_streaming.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest

from conformance.checks.chat import (
    check_chat_invariants,
    check_chat_optional_nulls,
    check_chat_response_schema,
    check_choice_count,
    check_finish_reason_length,
    check_json_content,
    check_stop_absent,
    check_tool_arguments,
    check_tool_call_ids_distinct,
    check_tool_call_shape,
    check_tool_choice,
    check_tool_finish_reason,
)
from conformance.checks.errors import SERVED_IDS
from conformance.config import Settings
from conformance.model import Exchange
from conformance.suites.answers import served_json
from conformance.suites.samples import TIME_TOOL, WEATHER_TOOL

if TYPE_CHECKING:
    from conformance.recorder import VerdictRecorder
    from conformance.transport import Transport

INVARIANT_IDS = (
    "chat.response.object",
    "chat.response.choice-indexes",
    "chat.response.assistant-role",
    "chat.response.finish-reason",
    "chat.response.usage-total",
)
TOOL_SHAPE_IDS = ("chat.tools.call-shape", "chat.tools.arguments-valid")

OK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
    "additionalProperties": False,
}


def _request(models: Mapping[str, str], settings: Settings, content: str, **extra: Any) -> dict[str, Any]:
    """A chat request with one user message and the run's max_tokens budget."""
    body: dict[str, Any] = {
        "model": models["chat"],
        "messages": [{"role": "user", "content": content}],
        "max_tokens": settings.budgets.max_tokens,
    }
    body.update(extra)
    return body


def _served_json(verdict: VerdictRecorder, ex: Exchange, requirement: str) -> Any:
    """The decoded body of a served answer that passed the schema step, or None."""
    served = served_json(verdict, ex, requirement, schema="chat.response.schema")
    if served is None:
        return None
    body = served.body
    verdict.check(check_chat_response_schema(body), exchange=ex)
    return body


@pytest.mark.feature("chat")
@pytest.mark.requirements(
    "chat.minimal-request", "chat.response.schema", "chat.response.optional-null", *INVARIANT_IDS, *SERVED_IDS
)
def test_chat_minimal_request(transport: Transport, models: Mapping[str, str], settings: Settings,
                              verdict: VerdictRecorder) -> None:
    """A ChatRequest (model, messages, stream, temperature, max_tokens) gets a sound answer."""
    body = _request(models, settings, "Say OK.", stream=False, temperature=1)
    ex = transport.request("POST", "/chat/completions", json=body)
    answer = _served_json(verdict, ex, "chat.minimal-request")
    if answer is not None:
        verdict.check(check_chat_invariants(answer), exchange=ex)
        verdict.check(check_chat_optional_nulls(answer), exchange=ex)


@pytest.mark.feature("chat", "chat.limits")
@pytest.mark.requirements("chat.max-tokens-length", "chat.response.schema", *SERVED_IDS)
@pytest.mark.about_parameter("max_tokens", capability="chat")
def test_chat_max_tokens_length(transport: Transport, models: Mapping[str, str], verdict: VerdictRecorder) -> None:
    """max_tokens 1 on a long answer reports finish_reason "length"."""
    body = {"model": models["chat"], "max_tokens": 1,
            "messages": [{"role": "user", "content": "Count from 1 to 50, separated by commas."}]}
    ex = transport.request("POST", "/chat/completions", json=body)
    answer = _served_json(verdict, ex, "chat.max-tokens-length")
    if answer is not None:
        verdict.check(check_finish_reason_length(answer), exchange=ex)


@pytest.mark.feature("chat", "chat.n")
@pytest.mark.requirements("chat.n-choices", "chat.response.schema", *INVARIANT_IDS, *SERVED_IDS)
def test_chat_n_choices(transport: Transport, models: Mapping[str, str], settings: Settings,
                        verdict: VerdictRecorder) -> None:
    """n = 2 gets two choices, indexed 0 and 1."""
    ex = transport.request("POST", "/chat/completions", json=_request(models, settings, "Say OK.", n=2))
    answer = _served_json(verdict, ex, "chat.n-choices")
    if answer is not None:
        verdict.check(check_choice_count(answer, 2), exchange=ex)
        verdict.check(check_chat_invariants(answer), exchange=ex)


@pytest.mark.feature("chat", "chat.stop")
@pytest.mark.requirements("chat.stop", "chat.response.schema", *SERVED_IDS)
def test_chat_stop(transport: Transport, models: Mapping[str, str], settings: Settings,
                   verdict: VerdictRecorder) -> None:
    """The content never contains the requested stop sequence."""
    stops = ["gamma"]
    prompt = "Repeat exactly, in lower case: alpha beta gamma delta"
    ex = transport.request("POST", "/chat/completions", json=_request(models, settings, prompt, stop=stops))
    answer = _served_json(verdict, ex, "chat.stop")
    if answer is not None:
        verdict.check(check_stop_absent(answer, stops), exchange=ex)


TOOL_CHOICES = [
    pytest.param("required", "chat.tools.choice-required", id="required",
                 marks=pytest.mark.requirements("chat.tools.choice-required", "chat.tools.finish-reason",
                                                *TOOL_SHAPE_IDS)),
    pytest.param("none", "chat.tools.choice-none", id="none",
                 marks=pytest.mark.requirements("chat.tools.choice-none")),
    pytest.param({"type": "function", "function": {"name": "get_weather"}}, "chat.tools.choice-named", id="named",
                 marks=pytest.mark.requirements("chat.tools.choice-named", "chat.tools.finish-reason",
                                                *TOOL_SHAPE_IDS)),
]


@pytest.mark.feature("chat", "chat.tools")
# The call shape ids are declared per case: tool_choice "none" has no call to judge.
@pytest.mark.requirements("chat.response.schema", *SERVED_IDS)
@pytest.mark.parametrize(("tool_choice", "requirement"), TOOL_CHOICES)
def test_chat_tool_choice(transport: Transport, models: Mapping[str, str], settings: Settings,
                          verdict: VerdictRecorder, tool_choice: str | dict[str, Any], requirement: str) -> None:
    """tool_choice required / none / named: calls (or none) of the right shape and function."""
    tools = [WEATHER_TOOL, TIME_TOOL]
    body = _request(models, settings, "What is the weather in Paris?", tools=tools, tool_choice=tool_choice)
    ex = transport.request("POST", "/chat/completions", json=body)
    answer = _served_json(verdict, ex, requirement)
    if answer is None:
        return
    verdict.check(check_tool_choice(answer, tool_choice), exchange=ex)
    if tool_choice != "none":
        verdict.check(check_tool_call_shape(answer), exchange=ex)
        verdict.check(check_tool_arguments(answer, tools), exchange=ex)
        # A forced call may end with "stop": OpenAI itself answers so (see the check).
        verdict.check(check_tool_finish_reason(answer, allowed=("tool_calls", "stop")), exchange=ex)


@pytest.mark.feature("chat", "chat.tools")
@pytest.mark.requirements("chat.response.schema", "chat.tools.finish-reason", "chat.tools.distinct-ids",
                          *TOOL_SHAPE_IDS, *SERVED_IDS)
def test_chat_tools_parallel(transport: Transport, models: Mapping[str, str], settings: Settings,
                             verdict: VerdictRecorder) -> None:
    """tool_choice auto with two tools: valid calls, distinct ids, finish_reason "tool_calls"."""
    prompt = "Use the tools: what is the weather in Paris and the local time in Tokyo?"
    body = _request(models, settings, prompt, tools=[WEATHER_TOOL, TIME_TOOL], tool_choice="auto")
    ex = transport.request("POST", "/chat/completions", json=body)
    answer = _served_json(verdict, ex, "chat.tools.call-shape")
    if answer is None:
        return
    verdict.check(check_tool_call_shape(answer), exchange=ex)
    verdict.check(check_tool_arguments(answer, [WEATHER_TOOL, TIME_TOOL]), exchange=ex)
    verdict.check(check_tool_call_ids_distinct(answer), exchange=ex)
    verdict.check(check_tool_finish_reason(answer), exchange=ex)


@pytest.mark.feature("chat", "chat.tools")
@pytest.mark.requirements("chat.tools.result-accepted", "chat.response.schema", *INVARIANT_IDS, *SERVED_IDS)
def test_chat_tool_result_accepted(transport: Transport, models: Mapping[str, str], settings: Settings,
                                   verdict: VerdictRecorder) -> None:
    """A conversation carrying an assistant tool call and its tool result is answered."""
    call = {"id": "call_conformance_1", "type": "function",
            "function": {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})}}
    messages = [
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": json.dumps({"temperature_c": 18, "sky": "clear"})},
    ]
    body = {"model": models["chat"], "messages": messages, "tools": [WEATHER_TOOL],
            "max_tokens": settings.budgets.max_tokens}
    ex = transport.request("POST", "/chat/completions", json=body)
    answer = _served_json(verdict, ex, "chat.tools.result-accepted")
    if answer is not None:
        verdict.check(check_chat_invariants(answer), exchange=ex)


RESPONSE_FORMATS = [
    pytest.param({"type": "json_object"}, None, id="json_object",
                 marks=pytest.mark.requirements("chat.response-format.json-object")),
    pytest.param({"type": "json_schema", "json_schema": {"name": "ok_flag", "schema": OK_SCHEMA, "strict": True}},
                 OK_SCHEMA, id="json_schema", marks=pytest.mark.requirements("chat.response-format.json-schema")),
]


@pytest.mark.feature("chat", "chat.response-format")
@pytest.mark.requirements("chat.response.schema", *SERVED_IDS)
@pytest.mark.about_parameter("response_format", capability="chat")
@pytest.mark.parametrize(("response_format", "schema"), RESPONSE_FORMATS)
def test_chat_response_format(transport: Transport, models: Mapping[str, str], settings: Settings,
                              verdict: VerdictRecorder, response_format: dict[str, Any],
                              schema: dict[str, Any] | None) -> None:
    """json_object / json_schema content parses as JSON (and validates against the schema)."""
    prompt = 'Answer in JSON: reply with the object {"ok": true} and nothing else.'
    requirement = "chat.response-format.json-object" if schema is None else "chat.response-format.json-schema"
    ex = transport.request("POST", "/chat/completions",
                           json=_request(models, settings, prompt, response_format=response_format))
    answer = _served_json(verdict, ex, requirement)
    if answer is not None:
        verdict.check(check_json_content(answer, schema=schema), exchange=ex)
