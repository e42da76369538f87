"""Pure checks of streamed Responses API events (SPEC-DECISIONS §15).

This module owns the event-level rules of a Responses stream: ``event:`` equals ``data.type``;
every event validates against the schema of its type; integer ``sequence_number`` strictly
increasing (contiguous SHOULD); ``response.created`` first; the item/part lifecycle with
consistent ``output_index``, ``content_index`` and ``item_id`` (walked by the sibling
``responses_lifecycle``, which imports this module's event vocabulary); exactly one terminal event, last;
the terminal response's text equals the joined deltas and its id equals created's; function-call
argument deltas join to ``.done`` and to the final item.

Event types this module does not know (reasoning, annotations, refusals, hosted tools...) are
tolerated: they are neither schema-checked nor ordered, so a server streaming more than the
Nexhina minimum never fails for it. A trailing ``[DONE]`` is tolerated (framing judges its
position). Data in, violations out; no I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from conformance import spec
from conformance.checks._common import is_int
from conformance.checks._judged import judges
from conformance.checks.sse_framing import at, end_of, json_events, quote
from conformance.model import Findings, SSEEvent, SSETranscript, Violation, truncate

CREATED = "response.created"
TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
KNOWN_TYPES = frozenset(
    {
        CREATED,
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "error",
        *TERMINAL,
    }
)
#: The events that belong to one output item after its ``output_item.added`` (the lifecycle walker's input).
ITEM_EVENTS = KNOWN_TYPES - TERMINAL - {CREATED, "response.in_progress", "error", "response.output_item.added"}

Event = tuple[SSEEvent, dict[str, Any]]


def stream_events(sse: SSETranscript) -> list[Event]:
    """Every event carrying a JSON object, in order (a [DONE] anywhere is skipped, not a stop)."""
    return json_events(sse, stop_at_done=False)


@judges("responses.stream.event-type-match")
def check_event_type_match(sse: SSETranscript) -> list[Violation]:
    """An ``event:`` line, when present, equals ``data.type`` (``responses.stream.event-type-match``)."""
    return [
        Violation(
            "responses.stream.event-type-match",
            expected=f"event: {truncate(data.get('type'))} (the data's type)",
            actual=f"event: {truncate(event.event)}: {quote(event)}",
            where=at(event),
        )
        for event, data in stream_events(sse)
        if event.event not in (None, "") and event.event != data.get("type")
    ]


@functools.cache
def event_schema_names() -> Mapping[str, str]:
    """Event type -> component schema name, read from the ``ResponseStreamEvent`` union of the spec."""
    schemas = spec.load_spec().get("components", {}).get("schemas", {})
    union = schemas.get("ResponseStreamEvent", {})
    names: dict[str, str] = {}
    for event_type, ref in union.get("discriminator", {}).get("mapping", {}).items():
        names[event_type] = str(ref).rsplit("/", 1)[-1]
    for key in ("oneOf", "anyOf"):
        for alternative in union.get(key, []):
            name = str(alternative.get("$ref", "")).rsplit("/", 1)[-1]
            prop = schemas.get(name, {}).get("properties", {}).get("type", {})
            const = prop.get("const", (prop.get("enum") or [None])[0])
            if isinstance(const, str):
                names.setdefault(const, name)
    return MappingProxyType(names)


@judges("responses.stream.event-schema")
def check_event_schema(sse: SSETranscript) -> list[Violation]:
    """Every event of a known type validates against its type's schema (``responses.stream.event-schema``).

    Unknown types are not validated: the OpenAI API streams many more than the Nexhina minimum.
    sequence_number is left to ``check_sequence_numbers``.
    """
    names = event_schema_names()
    out: list[Violation] = []
    for event, data in stream_events(sse):
        event_type = data.get("type")
        if not isinstance(event_type, str) or event_type not in KNOWN_TYPES:
            continue
        if not is_int(data.get("sequence_number")):
            # check_sequence_numbers owns this field: a placeholder keeps it from being reported twice.
            data = {**data, "sequence_number": 0}
        schema = names.get(event_type, "ResponseStreamEvent")
        out += spec.validate(data, schema, requirement="responses.stream.event-schema", where=at(event))
    return out


@judges("responses.stream.sequence-number", "responses.stream.sequence-contiguous")
def check_sequence_numbers(sse: SSETranscript) -> list[Violation]:
    """Integer sequence_number on every event, strictly increasing; contiguous as a SHOULD.

    Emits ``responses.stream.sequence-number`` and ``responses.stream.sequence-contiguous``, each
    at its first offending event (with a count of the others). Any start value is accepted.
    """
    found: dict[str, list[Violation]] = {}
    previous: int | None = None
    judge_gap = True  # right after a broken number a gap says nothing new: do not report it again
    for event, data in stream_events(sse):
        number = data.get("sequence_number")
        where = at(event, "/sequence_number")
        if not is_int(number):
            found.setdefault("responses.stream.sequence-number", []).append(
                Violation("responses.stream.sequence-number", "an integer sequence_number",
                          f"{truncate(number)}: {quote(event)}", where))
            judge_gap = False
            continue
        if previous is not None and number <= previous:
            found.setdefault("responses.stream.sequence-number", []).append(
                Violation("responses.stream.sequence-number", f"sequence_number > {previous}",
                          f"{number}: {quote(event)}", where))
            judge_gap = False
        elif previous is not None and number != previous + 1 and judge_gap:
            found.setdefault("responses.stream.sequence-contiguous", []).append(
                Violation("responses.stream.sequence-contiguous", f"sequence_number {previous + 1}",
                          f"{number} (a gap after {previous})", where))
        else:
            judge_gap = True
        previous = number
    out: list[Violation] = []
    for violations in found.values():
        first = violations[0]
        more = f" (and {len(violations) - 1} more events)" if len(violations) > 1 else ""
        out.append(Violation(first.requirement, first.expected, first.actual + more, first.where))
    return out


@judges("responses.stream.created-first")
def check_created_first(sse: SSETranscript) -> list[Violation]:
    """The first event is response.created carrying the response id (``responses.stream.created-first``)."""
    events = stream_events(sse)
    if not events:
        return [Violation("responses.stream.created-first", "response.created first", "no event", end_of(sse))]
    event, data = events[0]
    response = data.get("response")
    if data.get("type") == CREATED and isinstance(response, dict) and isinstance(response.get("id"), str):
        return []
    return [Violation("responses.stream.created-first", "response.created with response.id first", quote(event),
                      at(event))]


def _terminals(events: list[Event]) -> list[int]:
    return [k for k, (_, data) in enumerate(events) if data.get("type") in TERMINAL]


def terminal_event(sse: SSETranscript) -> Event | None:
    """The first terminal event (completed, incomplete or failed), if any."""
    events = stream_events(sse)
    found = _terminals(events)
    return events[found[0]] if found else None


@judges("responses.stream.single-terminal")
def check_single_terminal(sse: SSETranscript) -> list[Violation]:
    """Exactly one terminal event, and nothing but a [DONE] after it (``responses.stream.single-terminal``)."""
    requirement = "responses.stream.single-terminal"
    events = stream_events(sse)
    found = _terminals(events)
    if not found:
        last = f"; last event: {quote(events[-1][0])}" if events else ""
        return [Violation(requirement, "one of response.completed, response.incomplete, response.failed, last",
                          f"no terminal event in {len(events)} events{last}", end_of(sse))]
    out = [Violation(requirement, "exactly one terminal event", quote(events[k][0]), at(events[k][0]))
           for k in found[1:]]
    after = [k for k in range(found[0] + 1, len(events)) if k not in found]
    if after:
        event = events[after[0]][0]
        out.append(Violation(requirement, f"the terminal event (event[{events[found[0]][0].index}]) last",
                             quote(event), at(event)))
    return out


def _text_deltas(events: list[Event]) -> tuple[dict[tuple[object, object], str], dict[tuple[object, object], str]]:
    """Joined output_text deltas keyed by (item_id, content_index) and by (output_index, content_index)."""
    by_id: dict[tuple[object, object], str] = {}
    by_position: dict[tuple[object, object], str] = {}
    for _, data in events:
        if data.get("type") == "response.output_text.delta" and isinstance(data.get("delta"), str):
            part = data.get("content_index")
            by_id[(data.get("item_id"), part)] = by_id.get((data.get("item_id"), part), "") + data["delta"]
            key = (data.get("output_index"), part)
            by_position[key] = by_position.get(key, "") + data["delta"]
    return by_id, by_position


@judges("responses.stream.terminal-text")
def check_terminal_text(sse: SSETranscript) -> list[Violation]:
    """The terminal response's output_text parts equal the joined text deltas (``responses.stream.terminal-text``).

    Not judged for response.failed, whose output may be partial.
    """
    events = stream_events(sse)
    found = _terminals(events)
    if not found:
        return Findings()  # no terminal event: single-terminal reports it, nothing judged here
    event, data = events[found[0]]
    response = data.get("response")
    if data.get("type") == "response.failed" or not isinstance(response, dict):
        return Findings()
    by_id, by_position = _text_deltas(events)
    output = response.get("output")
    out: list[Violation] = []
    seen: set[tuple[object, object]] = set()
    for pos, item in enumerate(output if isinstance(output, list) else []):
        if not isinstance(item, dict) or not isinstance(item.get("content"), list):
            continue
        for j, part in enumerate(item["content"]):
            if not isinstance(part, dict) or part.get("type") != "output_text":
                continue
            seen.add((pos, j))
            streamed = by_id.get((item.get("id"), j), by_position.get((pos, j), ""))
            if part.get("text") != streamed:
                out.append(Violation("responses.stream.terminal-text", f"the joined deltas {truncate(streamed)}",
                                     truncate(part.get("text")), at(event, f"/response/output/{pos}/content/{j}/text")))
    for (at_output, at_part), text in sorted(by_position.items(), key=str):
        if (at_output, at_part) not in seen and text:
            out.append(Violation("responses.stream.terminal-text",
                                 f"the streamed text of output_index {at_output}, content_index {at_part} "
                                 "in the terminal response",
                                 f"no output_text part there; streamed {truncate(text)}",
                                 at(event, "/response/output")))
    return out


@judges("responses.stream.terminal-id")
def check_terminal_id(sse: SSETranscript) -> list[Violation]:
    """The terminal response's id equals response.created's (``responses.stream.terminal-id``)."""
    events = stream_events(sse)
    created = next((d.get("response") for _, d in events if d.get("type") == CREATED), None)
    created_id = created.get("id") if isinstance(created, dict) else None
    found = _terminals(events)
    if not isinstance(created_id, str) or not found:
        return Findings()  # created-first and single-terminal report what is missing; nothing judged
    event, data = events[found[0]]
    response = data.get("response")
    terminal_id = response.get("id") if isinstance(response, dict) else None
    if terminal_id == created_id:
        return []
    return [Violation("responses.stream.terminal-id", f"id {truncate(created_id)} of response.created",
                      truncate(terminal_id), at(event, "/response/id"))]


@judges("responses.stream.function-call-arguments")
def check_function_call_arguments(sse: SSETranscript) -> list[Violation]:
    """Argument deltas join to ``.done``, to output_item.done's item and to the terminal item.

    Requirement ``responses.stream.function-call-arguments``; compared per output_index, as exact
    strings (the deltas are fragments of that very string). The terminal item is not compared for
    response.failed, and a missing ``.done`` is reported only when the response completed.
    """
    events = stream_events(sse)
    deltas: dict[int, list[str]] = {}
    done: dict[int, Event] = {}
    item_done: dict[int, Event] = {}
    for event, data in events:
        index, kind = data.get("output_index"), data.get("type")
        if not is_int(index):
            continue
        if kind == "response.function_call_arguments.delta" and isinstance(data.get("delta"), str):
            deltas.setdefault(index, []).append(data["delta"])
        elif kind == "response.function_call_arguments.done":
            done.setdefault(index, (event, data))
        elif kind == "response.output_item.done" and isinstance(data.get("item"), dict):
            if data["item"].get("type") == "function_call":
                item_done.setdefault(index, (event, data))
    terminal = terminal_event(sse)
    out: list[Violation] = []
    for index in sorted(set(deltas) | set(done) | set(item_done)):
        out += _arguments_agree(index, deltas.get(index), done.get(index), item_done.get(index), terminal, sse)
    return out


def _arguments_agree(index: int, deltas: list[str] | None, done: Event | None, item_done: Event | None,
                     terminal: Event | None, sse: SSETranscript) -> list[Violation]:
    requirement = "responses.stream.function-call-arguments"
    out: list[Violation] = []
    expected: object = "".join(deltas) if deltas is not None else None
    if done is not None:
        done_args = done[1].get("arguments")
        if expected is not None and done_args != expected:
            out.append(Violation(requirement, f"the joined deltas {truncate(expected)}", truncate(done_args),
                                 at(done[0], "/arguments")))
        expected = done_args
    elif deltas is not None and terminal is not None and terminal[1].get("type") == "response.completed":
        # An incomplete or failed response may stop mid-call; a completed one has finished every call.
        out.append(Violation(requirement, f"function_call_arguments.done for output_index {index}",
                             f"none after {len(deltas)} deltas", end_of(sse)))
    candidates: list[tuple[Event, object, str]] = []
    if item_done is not None:
        candidates.append((item_done, item_done[1]["item"].get("arguments"), "/item/arguments"))
    if terminal is not None and terminal[1].get("type") != "response.failed":
        response = terminal[1].get("response")
        output = response.get("output") if isinstance(response, dict) else None
        if isinstance(output, list) and index < len(output) and isinstance(output[index], dict):
            if output[index].get("type") == "function_call":
                candidates.append((terminal, output[index].get("arguments"), f"/response/output/{index}/arguments"))
    for (event, _), value, pointer in candidates:
        if expected is None:
            expected = value
        elif value != expected:
            out.append(Violation(requirement, f"arguments {truncate(expected)} as streamed", truncate(value),
                                 at(event, pointer)))
    return out
