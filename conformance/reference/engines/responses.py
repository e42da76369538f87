"""The reference's Responses API engine (``POST /responses``), plain and streamed.

Owns the entry point ``create``, the request-level and plain-response faults and the catalogue of
Responses faults. What a response says is decided by ``responses_plan`` (shared by both
deliveries); this module renders the plain ``response`` object and ``responses_stream`` renders
the typed SSE events. Deterministic: the same body always gets the same answer.
"""

from __future__ import annotations

from typing import Any

from conformance.reference.api_error import ApiError
from conformance.reference.engines import StreamResult, responses_stream
from conformance.reference.engines.responses_plan import ResponsePlan, build_plan, input_items, response_object
from conformance.reference.faultset import FaultSet

_PLAIN_FAULTS: dict[str, str] = {
    "responses.schema": "the plain response has no id (only the schema breaks)",
    "responses.object": 'the plain response has object "chat.completion"',
    "responses.status-enum": 'the plain response has status "succeeded"',
    "responses.output-text-parts": 'message content parts have type "text", not output_text (output_text omitted)',
    "responses.output-text-joined": "output_text holds only the first half of the message text",
    "responses.usage-total": "usage total_tokens is input + output + 1",
    "responses.instructions-accepted": "400 for a request carrying instructions",
    "responses.function-call": "plain function_call items have no call_id",
    "responses.function-call-output": "400 for input carrying a function_call_output item",
}

FAULTS: dict[str, str] = dict(sorted({**_PLAIN_FAULTS, **responses_stream.FAULTS}.items()))
"""Every Responses fault: name (requirement id, optionally ``@variant``) -> what it does."""


def create(body: dict[str, Any], faults: FaultSet) -> dict[str, Any] | StreamResult:
    """Answer a schema-valid Responses request.

    Args:
        body: the parsed request (already validated against the spec and the model checked).
        faults: the faults switched on for this request.

    Returns:
        The ``response`` object, or a ``StreamResult`` of typed events when ``stream`` is true.

    Raises:
        ApiError: only when a request-level fault is on.
    """
    items = input_items(body.get("input"))
    if faults.on("responses.instructions-accepted") and body.get("instructions") is not None:
        raise ApiError(400, "instructions are not supported", param="instructions", code="unsupported_parameter")
    if faults.on("responses.function-call-output") and any(i.get("type") == "function_call_output" for i in items):
        raise ApiError(400, "input items of type function_call_output are not supported", param="input",
                       code="invalid_value")
    plan = build_plan(body, items)
    if body.get("stream") is True:
        return responses_stream.render(plan, faults)
    return render(plan, faults)


def render(plan: ResponsePlan, faults: FaultSet) -> dict[str, Any]:
    """The plain ``response`` object with the non-streamed faults applied."""
    answer = response_object(plan)
    if faults.on("responses.output-text-parts"):
        # The convenience field goes too: with no output_text part left it would no longer match.
        del answer["output_text"]
    for item in answer["output"]:
        if item["type"] == "message" and faults.on("responses.output-text-parts"):
            item["content"] = [{**part, "type": "text"} for part in item["content"]]
        if item["type"] == "function_call" and faults.on("responses.function-call"):
            del item["call_id"]
    if faults.on("responses.output-text-joined"):
        text = answer["output_text"]
        answer["output_text"] = text[: len(text) // 2] if len(text) > 1 else text + "?"
    if faults.on("responses.usage-total"):
        answer["usage"]["total_tokens"] += 1
    if faults.on("responses.object"):
        answer["object"] = "chat.completion"
    if faults.on("responses.status-enum"):
        answer["status"] = "succeeded"
    if faults.on("responses.schema"):
        del answer["id"]
    return answer
