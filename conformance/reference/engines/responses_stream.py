"""The streamed delivery of a Responses answer: typed events over SSE (SPEC-DECISIONS §15).

Owns the event layout and the streaming faults. Every event is ``event: <type>`` plus ``data:``
with the JSON whose ``type`` equals that line and whose ``sequence_number`` counts from 0 without
gaps. Order: ``response.created`` and ``response.in_progress`` (the response with status
in_progress and no output), then per output item ``output_item.added`` -> for a message
``content_part.added`` -> ``output_text.delta``* -> ``output_text.done`` -> ``content_part.done``, for a
function call ``function_call_arguments.delta``* -> ``function_call_arguments.done`` -> and
``output_item.done``; finally exactly one terminal event (``response.completed`` or
``response.incomplete``) carrying the full response, with the created event's id. No ``[DONE]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.reference.engines import StreamResult, sse_out, textgen
from conformance.reference.engines.responses_plan import ItemPlan, ResponsePlan, output_item, response_object, text_part
from conformance.reference.faultset import FaultSet

FAULTS: dict[str, str] = {
    "responses.stream.content-type": "Responses streams are sent with Content-Type application/json",
    "responses.stream.framing": "two extra in_progress events are joined by a single newline (one event, not JSON)",
    "responses.stream.event-type-match": 'delta events are framed as "event: output_text.delta" (no response. prefix)',
    "responses.stream.event-schema": "the response.in_progress event has no response (only its schema breaks)",
    "responses.stream.sequence-number": "sequence_number restarts at 0 after response.in_progress",
    "responses.stream.sequence-contiguous": "sequence_number skips one value after response.in_progress",
    "responses.stream.created-first": "response.in_progress is sent before response.created",
    "responses.stream.item-lifecycle": "the first item's first delta comes before its output_item.added",
    "responses.stream.consistent-indexes": "the first item's text/arguments .done event names another item_id",
    "responses.stream.single-terminal": "the terminal event is sent twice",
    "responses.stream.terminal-text": "the terminal response's text differs from the deltas (first letter's case)",
    "responses.stream.terminal-id": "the terminal response's id differs from response.created's",
    "responses.stream.function-call-arguments": "the last arguments delta of every function call is dropped",
}


@dataclass
class _Event:
    """One event before numbering: its data and, when it differs from data.type, its event line."""

    data: dict[str, Any]
    name: str | None = None


def render(plan: ResponsePlan, faults: FaultSet) -> StreamResult:
    """The typed SSE stream of a plan, with the streaming faults applied."""
    snapshot = {k: v for k, v in response_object(plan, output=[]).items() if k not in ("output_text", "usage")}
    snapshot |= {"status": "in_progress", "incomplete_details": None}
    head = [_event("response.created", response=snapshot), _event("response.in_progress", response=dict(snapshot))]
    if faults.on("responses.stream.event-schema"):
        del head[1].data["response"]
    if faults.on("responses.stream.created-first"):
        head.reverse()
    body: list[_Event] = []
    for index, item in enumerate(plan.items):
        body += _item_events(item, index, plan.incomplete, faults, first=index == 0)
    events = [*head, *body, *_terminal(plan, faults)]
    _number(events, faults)
    frames = [sse_out.typed_event(e.data, event=e.name) for e in events]
    if faults.on("responses.stream.framing"):
        extra = sse_out.typed_event(events[1].data)
        frames.insert(2, sse_out.glued(extra, extra))
    content_type = "application/json" if faults.on("responses.stream.content-type") else sse_out.EVENT_STREAM
    return StreamResult(iter(frames), content_type)


def _event(kind: str, **fields: Any) -> _Event:
    return _Event({"type": kind, "sequence_number": 0, **fields})


def _item_events(item: ItemPlan, index: int, incomplete: bool, faults: FaultSet, *, first: bool) -> list[_Event]:
    """The events of one output item, added to done."""
    final = output_item(item, incomplete=incomplete)
    where = {"item_id": item.id, "output_index": index}
    if item.kind == "function_call":
        pieces = textgen.split_fragments(item.arguments)
        if faults.on("responses.stream.function-call-arguments"):
            pieces = pieces[:-1]
        deltas = [_event("response.function_call_arguments.delta", **where, delta=p) for p in pieces]
        done = _event("response.function_call_arguments.done", **where, name=item.name, arguments=item.arguments)
        inner = [*deltas, done]
        started = {**final, "status": "in_progress", "arguments": ""}
    else:
        part = {**where, "content_index": 0}
        deltas = [
            _event("response.output_text.delta", **part, delta=p, logprobs=[]) for p in textgen.split_deltas(item.text)
        ]
        done = _event("response.output_text.done", **part, text=item.text, logprobs=[])
        inner = [
            _event("response.content_part.added", **part, part=text_part("")),
            *deltas,
            done,
            _event("response.content_part.done", **part, part=text_part(item.text)),
        ]
        started = {**final, "status": "in_progress", "content": []}
    if faults.on("responses.stream.event-type-match"):
        for delta in deltas:
            delta.name = delta.data["type"].removeprefix("response.")
    if first and faults.on("responses.stream.consistent-indexes"):
        done.data["item_id"] = f"{item.id}x"
    events = [
        _event("response.output_item.added", output_index=index, item=started),
        *inner,
        _event("response.output_item.done", output_index=index, item=final),
    ]
    if first and deltas and faults.on("responses.stream.item-lifecycle"):
        events.remove(deltas[0])
        events.insert(0, deltas[0])
    return events


def _terminal(plan: ResponsePlan, faults: FaultSet) -> list[_Event]:
    """The terminal event(s): completed or incomplete, with the full response."""
    if faults.on("responses.stream.terminal-text"):
        output = [
            output_item(i, incomplete=plan.incomplete, text=textgen.flip_first_letter(i.text)) for i in plan.items
        ]
        final = response_object(plan, output=output)
    else:
        final = response_object(plan)
    if faults.on("responses.stream.terminal-id"):
        final["id"] = f"resp_{textgen.sub_digest(plan.id, 'other')[:24]}"
    kind = "response.incomplete" if plan.incomplete else "response.completed"
    events = [_event(kind, response=final)]
    if faults.on("responses.stream.single-terminal"):
        events.append(_event(kind, response=dict(final)))
    return events


def _number(events: list[_Event], faults: FaultSet) -> None:
    """Assign sequence numbers 0, 1, 2, ... in stream order (or the numbering faults)."""
    for position, event in enumerate(events):
        number = position
        if position >= 2 and faults.on("responses.stream.sequence-number"):
            number = position - 2
        if position >= 2 and faults.on("responses.stream.sequence-contiguous"):
            number = position + 1
        event.data["sequence_number"] = number
