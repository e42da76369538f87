"""The reference's chat completions engine (``POST /chat/completions``), plain and streamed.

Owns the entry point ``complete`` and the catalogue of chat faults. The content of an answer is
decided by ``chat_plan`` (the same for both deliveries); this module renders the plain JSON
``chat.completion`` and applies the request-level and non-streamed faults, and ``chat_stream``
renders the SSE stream. Deterministic: the same body always gets the same answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from conformance.reference.api_error import ApiError
from conformance.reference.engines import BinaryResult, StreamResult, chat_stream, hostile
from conformance.reference.engines.chat_plan import SYSTEM_FINGERPRINT, ChatPlan, ChoicePlan, build_plan
from conformance.reference.faultset import FaultSet

_PLAIN_FAULTS: dict[str, str] = {
    "chat.minimal-request": "400 for a request carrying temperature, or carrying nothing but model and messages",
    "chat.response.schema": "the plain answer has no id (only the schema breaks)",
    "chat.response.optional-null": "a plain answer without tool calls sends message.tool_calls as null",
    "chat.response.object": 'the plain answer has object "chat.completion.chunk"',
    "chat.response.choice-indexes": "index 0 twice: n=1 sends choice 0 twice, n>1 indexes the last choice 0",
    "chat.response.assistant-role": 'choice messages have role "system"',
    "chat.response.finish-reason": 'a natural stop is reported as finish_reason "end_turn" (not in the enum)',
    "chat.response.usage-total": "usage total_tokens is prompt + completion + 1",
    "chat.max-tokens-length": 'an answer cut by max_tokens reports finish_reason "stop" (streamed too)',
    "chat.n-choices": "n is ignored: one choice in a plain answer",
    "chat.stop": "stop sequences are ignored: the answer keeps them (streamed too)",
    "chat.tools.call-shape": "plain tool-call ids are integers, not strings",
    "chat.tools.arguments-valid": "plain tool-call arguments omit the required properties (or are cut JSON)",
    "chat.tools.choice-required": 'tool_choice "required" is answered in text (streamed too)',
    "chat.tools.choice-none": 'tool_choice "none" still calls the tools (streamed too)',
    "chat.tools.choice-named": "a named tool_choice calls another declared function, or none (streamed too)",
    "chat.tools.finish-reason": 'a plain answer with tool calls has finish_reason "function_call"',
    "chat.tools.distinct-ids": "parallel plain tool calls share one id",
    "chat.tools.result-accepted": "400 for a conversation carrying a tool message",
    "chat.response-format.json-object": "json_object content is wrapped in a ```json fence (streamed too)",
    "chat.response-format.json-schema": "json_schema content misses required properties or is cut JSON (streamed too)",
    "chat.stream.options-without-stream": "500 for stream_options without stream true",
}

FAULTS: dict[str, str] = dict(sorted({**_PLAIN_FAULTS, **chat_stream.FAULTS, **hostile.FAULTS}.items()))
"""Every chat fault: name (requirement id, optionally ``@variant``) -> what it does."""


def complete(body: dict[str, Any], faults: FaultSet) -> dict[str, Any] | BinaryResult | StreamResult:
    """Answer a schema-valid chat completions request.

    Args:
        body: the parsed request (already validated against the spec and the model checked).
        faults: the faults switched on for this request.

    Returns:
        The ``chat.completion`` object, or a ``StreamResult`` when ``stream`` is true (a
        ``BinaryResult`` or ``StreamResult`` under the hostile transport faults).

    Raises:
        ApiError: only when a request-level fault is on (the clean engine accepts every valid body).
    """
    _request_faults(body, faults)
    plan = build_plan(body, faults)
    hostile_on = hostile.applies(body, faults)
    if body.get("stream") is True:
        stream = chat_stream.render(plan, body, faults)
        if hostile_on and isinstance(stream.chunks, Iterator):
            frames = list(stream.chunks)
            return hostile.hostile_stream(frames, faults) or StreamResult(iter(frames), stream.content_type)
        return stream
    answer = render(plan, faults)
    if hostile_on:
        return hostile.hostile_answer(json.dumps(answer).encode(), faults) or answer
    return answer


def _request_faults(body: dict[str, Any], faults: FaultSet) -> None:
    if faults.on("chat.minimal-request") and ("temperature" in body or set(body) <= {"model", "messages"}):
        raise ApiError(400, "temperature is not supported with this model", param="temperature",
                       code="unsupported_parameter")
    if faults.on("chat.tools.result-accepted") and any(
        isinstance(m, dict) and m.get("role") == "tool" for m in body.get("messages") or []
    ):
        raise ApiError(400, "messages with role 'tool' are not supported", param="messages", code="invalid_value")
    if faults.on("chat.stream.options-without-stream") and "stream_options" in body and body.get("stream") is not True:
        raise ApiError(500, "internal error while reading stream_options", type="server_error")


def render(plan: ChatPlan, faults: FaultSet) -> dict[str, Any]:
    """The plain ``chat.completion`` object of a plan, with the non-streamed faults applied."""
    kept = plan.choices[:1] if faults.on("chat.n-choices") else plan.choices
    usage = plan.usage(kept)
    if faults.on("chat.response.usage-total"):
        usage["total_tokens"] += 1
    choices = [_choice(c, faults) for c in kept]
    if faults.on("chat.response.choice-indexes"):
        choices = [*choices, {**choices[0]}] if len(choices) == 1 else [*choices[:-1], {**choices[-1], "index": 0}]
    answer: dict[str, Any] = {
        "id": plan.id,
        "object": "chat.completion.chunk" if faults.on("chat.response.object") else "chat.completion",
        "created": plan.created,
        "model": plan.model,
        "choices": choices,
        "usage": usage,
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
    if faults.on("chat.response.schema"):
        del answer["id"]
    return answer


def _choice(choice: ChoicePlan, faults: FaultSet) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "system" if faults.on("chat.response.assistant-role") else "assistant",
        "content": choice.content,
        "refusal": None,
    }
    finish = choice.finish_reason
    if choice.tool_calls:
        message["tool_calls"] = _tool_calls(choice, faults)
        if faults.on("chat.tools.finish-reason"):
            finish = "function_call"
    elif faults.on("chat.response.optional-null"):
        message["tool_calls"] = None
    if finish == "stop" and faults.on("chat.response.finish-reason"):
        finish = "end_turn"
    return {
        "index": choice.index,
        "message": message,
        "logprobs": None,
        "finish_reason": finish,
    }


def _tool_calls(choice: ChoicePlan, faults: FaultSet) -> list[dict[str, Any]]:
    calls = []
    for k, call in enumerate(choice.tool_calls):
        arguments = _broken_arguments(call.parameters, call.arguments) if faults.on(
            "chat.tools.arguments-valid") else call.arguments
        entry: dict[str, Any] = {
            "id": choice.tool_calls[0].id if faults.on("chat.tools.distinct-ids") else call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": arguments},
        }
        if faults.on("chat.tools.call-shape"):
            entry["id"] = k
        calls.append(entry)
    return calls


def _broken_arguments(parameters: Any, arguments: str) -> str:
    """Arguments that break the tool's schema: required properties dropped, else cut JSON."""
    if isinstance(parameters, dict) and parameters.get("required"):
        return "{}"
    return arguments[:-1]
