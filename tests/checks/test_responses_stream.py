"""Unit tests of conformance.checks.responses_stream on canned Responses event streams."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from conformance.checks import responses_lifecycle as rl
from conformance.checks import responses_stream as rs
from conformance.model import SSEEvent, SSETranscript, Violation

Events = list[dict[str, Any]]

MESSAGE_PART = {"type": "output_text", "text": "Hello", "annotations": []}
MESSAGE = {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant", "content": [MESSAGE_PART]}
CALL = {"id": "fc_1", "type": "function_call", "status": "completed", "call_id": "call_1", "name": "get_weather",
        "arguments": '{"city":"Paris"}'}


def response(status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": "resp_1", "object": "response", "created_at": 1700000000, "status": status, "model": "ref-chat",
            "output": output}


def text_events() -> Events:
    item_open = {**MESSAGE, "status": "in_progress", "content": []}
    where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    return [
        {"type": "response.created", "response": response("in_progress", [])},
        {"type": "response.in_progress", "response": response("in_progress", [])},
        {"type": "response.output_item.added", "output_index": 0, "item": item_open},
        {"type": "response.content_part.added", **where, "part": {**MESSAGE_PART, "text": ""}},
        {"type": "response.output_text.delta", **where, "delta": "Hel"},
        {"type": "response.output_text.delta", **where, "delta": "lo"},
        {"type": "response.output_text.done", **where, "text": "Hello"},
        {"type": "response.content_part.done", **where, "part": MESSAGE_PART},
        {"type": "response.output_item.done", "output_index": 0, "item": MESSAGE},
        {"type": "response.completed", "response": response("completed", [MESSAGE])},
    ]


def call_events() -> Events:
    where = {"item_id": "fc_1", "output_index": 0}
    return [
        {"type": "response.created", "response": response("in_progress", [])},
        {"type": "response.output_item.added", "output_index": 0, "item": {**CALL, "status": "in_progress",
                                                                            "arguments": ""}},
        {"type": "response.function_call_arguments.delta", **where, "delta": '{"ci'},
        {"type": "response.function_call_arguments.delta", **where, "delta": 'ty":"Paris"}'},
        {"type": "response.function_call_arguments.done", **where, "arguments": '{"city":"Paris"}'},
        {"type": "response.output_item.done", "output_index": 0, "item": CALL},
        {"type": "response.completed", "response": response("completed", [CALL])},
    ]


def transcript(events: Events, *, named: bool = True, numbered: bool = True, done: bool = False) -> SSETranscript:
    out = []
    for i, data in enumerate(events):
        payload = {**data, "sequence_number": i} if numbered and "sequence_number" not in data else data
        out.append(SSEEvent(index=i, data=json.dumps(payload), event=data.get("type") if named else None))
    if done:
        out.append(SSEEvent(index=len(out), data="[DONE]"))
    return SSETranscript(events=tuple(out))


def edit(base: Callable[[], Events], change: Callable[[Events], Any]) -> Events:
    events = copy.deepcopy(base())
    change(events)
    return events


def found(violations: list[Violation]) -> list[tuple[str, str | None]]:
    return [(v.requirement, v.where) for v in violations]


def _swap(events: Events, a: int, b: int) -> None:
    events[a], events[b] = events[b], events[a]


Case = tuple[str, Callable[[SSETranscript], list[Violation]], SSETranscript, list[tuple[str, str | None]]]
CASES: list[Case] = [
    ("type match ok", rs.check_event_type_match, transcript(text_events()), []),
    ("type match without event lines ok", rs.check_event_type_match, transcript(text_events(), named=False), []),
    ("type mismatch", rs.check_event_type_match,
     SSETranscript(events=(SSEEvent(0, json.dumps({"type": "response.created"}), event="message"),)),
     [("responses.stream.event-type-match", "event[0]")]),
    ("sequence ok", rs.check_sequence_numbers, transcript(text_events()), []),
    ("sequence ok with trailing done", rs.check_sequence_numbers, transcript(text_events(), done=True), []),
    ("sequence missing", rs.check_sequence_numbers, transcript(text_events(), numbered=False),
     [("responses.stream.sequence-number", "event[0]/sequence_number")]),
    ("sequence restarts", rs.check_sequence_numbers,
     transcript(edit(text_events, lambda e: e[5].update(sequence_number=0))),
     [("responses.stream.sequence-number", "event[5]/sequence_number")]),
    ("sequence not integer", rs.check_sequence_numbers,
     transcript(edit(text_events, lambda e: e[3].update(sequence_number="3"))),
     [("responses.stream.sequence-number", "event[3]/sequence_number")]),
    ("sequence gap", rs.check_sequence_numbers,
     transcript(edit(text_events, lambda e: [ev.update(sequence_number=i * 2) for i, ev in enumerate(e)])),
     [("responses.stream.sequence-contiguous", "event[1]/sequence_number")]),
    ("created first ok", rs.check_created_first, transcript(text_events()), []),
    ("created not first", rs.check_created_first, transcript(edit(text_events, lambda e: _swap(e, 0, 1))),
     [("responses.stream.created-first", "event[0]")]),
    ("created without id", rs.check_created_first,
     transcript(edit(text_events, lambda e: e[0]["response"].pop("id"))),
     [("responses.stream.created-first", "event[0]")]),
    ("no events", rs.check_created_first, SSETranscript(events=()), [("responses.stream.created-first", "event[0]")]),
    ("lifecycle ok", rl.check_item_lifecycle, transcript(text_events()), []),
    ("lifecycle function call ok", rl.check_item_lifecycle, transcript(call_events()), []),
    ("lifecycle tolerates unknown events", rl.check_item_lifecycle,
     transcript(edit(text_events, lambda e: e.insert(6, {"type": "response.output_text.annotation.added",
                                                         "output_index": 0, "item_id": "msg_1"}))), []),
    ("delta before item added", rl.check_item_lifecycle,
     transcript(edit(text_events, lambda e: e.insert(2, dict(e[4])))),
     [("responses.stream.item-lifecycle", "event[2]")]),
    ("delta before part added", rl.check_item_lifecycle, transcript(edit(text_events, lambda e: _swap(e, 3, 4))),
     [("responses.stream.item-lifecycle", "event[3]")]),
    ("part done before text done", rl.check_item_lifecycle, transcript(edit(text_events, lambda e: _swap(e, 6, 7))),
     [("responses.stream.item-lifecycle", "event[6]")]),
    ("item done with open part", rl.check_item_lifecycle, transcript(edit(text_events, lambda e: _swap(e, 7, 8))),
     [("responses.stream.item-lifecycle", "event[7]")]),
    ("delta after item done", rl.check_item_lifecycle,
     transcript(edit(text_events, lambda e: e.insert(9, dict(e[4])))),
     [("responses.stream.item-lifecycle", "event[9]")]),
    ("item left open at completed", rl.check_item_lifecycle, transcript(edit(text_events, lambda e: e.pop(8))),
     [("responses.stream.item-lifecycle", "event[8]")]),
    ("item left open at incomplete tolerated", rl.check_item_lifecycle,
     transcript(edit(text_events, lambda e: [e.pop(8), e[-1].update(type="response.incomplete")])), []),
    ("item added twice", rl.check_item_lifecycle,
     transcript(edit(text_events, lambda e: e.insert(3, dict(e[2])))),
     [("responses.stream.item-lifecycle", "event[3]")]),
    ("indexes ok", rl.check_consistent_indexes, transcript(text_events()), []),
    ("item id differs", rl.check_consistent_indexes,
     transcript(edit(text_events, lambda e: e[5].update(item_id="msg_2"))),
     [("responses.stream.consistent-indexes", "event[5]/item_id")]),
    ("done item id differs", rl.check_consistent_indexes,
     transcript(edit(text_events, lambda e: e[8].update(item={**MESSAGE, "id": "msg_9"}))),
     [("responses.stream.consistent-indexes", "event[8]/item/id")]),
    ("content index differs", rl.check_consistent_indexes,
     transcript(edit(text_events, lambda e: e[4].update(content_index=1))),
     [("responses.stream.consistent-indexes", "event[4]/content_index")]),
    ("single terminal ok", rs.check_single_terminal, transcript(text_events(), done=True), []),
    ("no terminal", rs.check_single_terminal, transcript(text_events()[:-1]),
     [("responses.stream.single-terminal", "event[9]")]),
    ("two terminals", rs.check_single_terminal, transcript(edit(text_events, lambda e: e.append(dict(e[-1])))),
     [("responses.stream.single-terminal", "event[10]")]),
    ("event after terminal", rs.check_single_terminal,
     transcript(edit(text_events, lambda e: e.append({"type": "response.in_progress"}))),
     [("responses.stream.single-terminal", "event[10]")]),
    ("terminal text ok", rs.check_terminal_text, transcript(text_events()), []),
    ("terminal text differs", rs.check_terminal_text,
     transcript(edit(text_events, lambda e: e[-1]["response"]["output"][0]["content"][0].update(text="Help"))),
     [("responses.stream.terminal-text", "event[9]/response/output/0/content/0/text")]),
    ("terminal text missing", rs.check_terminal_text,
     transcript(edit(text_events, lambda e: e[-1]["response"].update(output=[]))),
     [("responses.stream.terminal-text", "event[9]/response/output")]),
    ("terminal text of failed not judged", rs.check_terminal_text,
     transcript(edit(text_events, lambda e: e[-1].update(type="response.failed",
                                                          response=response("failed", []))))
     , []),
    ("terminal id ok", rs.check_terminal_id, transcript(text_events()), []),
    ("terminal id differs", rs.check_terminal_id,
     transcript(edit(text_events, lambda e: e[-1]["response"].update(id="resp_2"))),
     [("responses.stream.terminal-id", "event[9]/response/id")]),
    ("arguments ok", rs.check_function_call_arguments, transcript(call_events()), []),
    ("arguments deltas differ from done", rs.check_function_call_arguments,
     transcript(edit(call_events, lambda e: e[3].update(delta='ty":"Rome"}'))),
     [("responses.stream.function-call-arguments", "event[4]/arguments")]),
    ("arguments item done differs", rs.check_function_call_arguments,
     transcript(edit(call_events, lambda e: e[5].update(item={**CALL, "arguments": "{}"}))),
     [("responses.stream.function-call-arguments", "event[5]/item/arguments")]),
    ("arguments terminal differs", rs.check_function_call_arguments,
     transcript(edit(call_events, lambda e: e[6]["response"].update(output=[{**CALL, "arguments": "{}"}]))),
     [("responses.stream.function-call-arguments", "event[6]/response/output/0/arguments")]),
    ("arguments done missing", rs.check_function_call_arguments, transcript(edit(call_events, lambda e: e.pop(4))),
     [("responses.stream.function-call-arguments", "event[6]")]),
]


@pytest.mark.parametrize(("check", "sse", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_event_checks(check: Callable[[SSETranscript], list[Violation]], sse: SSETranscript,
                      expected: list[tuple[str, str | None]]) -> None:
    assert found(check(sse)) == expected


def test_sequence_violation_counts_the_others() -> None:
    [violation] = rs.check_sequence_numbers(transcript(text_events(), numbered=False))
    assert "and 9 more" in violation.actual


def test_event_schema_passes_good_streams() -> None:
    assert rs.check_event_schema(transcript(text_events())) == []
    assert rs.check_event_schema(transcript(call_events(), done=True)) == []


def test_event_schema_reports_per_event() -> None:
    sse = transcript(edit(text_events, lambda e: e[4].pop("delta")))
    violations = rs.check_event_schema(sse)
    assert violations
    assert {v.requirement for v in violations} == {"responses.stream.event-schema"}
    assert all((v.where or "").startswith("event[4]") for v in violations)


def test_event_schema_skips_unknown_types_and_leaves_sequence_numbers() -> None:
    events = text_events() + [{"type": "response.reasoning_summary_text.delta", "whatever": 1}]
    assert rs.check_event_schema(transcript(events, numbered=False)) == []


def test_event_schema_names_cover_the_known_types() -> None:
    names = rs.event_schema_names()
    assert rs.KNOWN_TYPES <= set(names)


@pytest.mark.parametrize(("numbers", "expected"), [
    ([0, 1, 2, 3], []),
    ([1, 2, 3, 4], []),
    ([0, 1, 2, 0, 1, 2], [("responses.stream.sequence-number", "event[3]/sequence_number")]),
    ([0, 1, 2, 1, 4, 5], [("responses.stream.sequence-number", "event[3]/sequence_number")]),
    ([0, 1, None, 3, 4], [("responses.stream.sequence-number", "event[2]/sequence_number")]),
    ([0, 2, 3, 5], [("responses.stream.sequence-contiguous", "event[1]/sequence_number")]),
    ([0, 1, 1, 2], [("responses.stream.sequence-number", "event[2]/sequence_number")]),
    ([0, True, 2], [("responses.stream.sequence-number", "event[1]/sequence_number")]),
], ids=["from 0", "from 1", "restart", "one bad value", "one missing", "gaps", "repeated", "boolean"])
def test_sequence_number_patterns(numbers: list[object], expected: list[tuple[str, str | None]]) -> None:
    events = [{"type": "response.in_progress", "sequence_number": n} for n in numbers]
    assert found(rs.check_sequence_numbers(transcript(events))) == expected


def test_arguments_done_missing_tolerated_when_incomplete() -> None:
    events = edit(call_events, lambda e: [e.pop(5), e.pop(4), e[-1].update(type="response.incomplete")])
    assert rs.check_function_call_arguments(transcript(events)) == []


def reasoning_then_message() -> Events:
    """A reasoning model's stream: a reasoning item with summary events, then the message at output_index 1."""
    reasoning = {"id": "rs_1", "type": "reasoning", "summary": []}
    done_reasoning = {**reasoning, "summary": [{"type": "summary_text", "text": "Think."}]}
    message_events = [
        {**e, "output_index": 1} if "output_index" in e else e for e in copy.deepcopy(text_events()[2:9])
    ]
    final = {**response("completed", [done_reasoning, MESSAGE]), "output_text": "Hello"}
    return [
        {"type": "response.created", "response": response("in_progress", [])},
        {"type": "response.in_progress", "response": response("in_progress", [])},
        {"type": "response.output_item.added", "output_index": 0, "item": reasoning},
        {"type": "response.reasoning_summary_part.added", "item_id": "rs_1", "output_index": 0, "summary_index": 0,
         "part": {"type": "summary_text", "text": ""}},
        {"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 0,
         "delta": "Think."},
        {"type": "response.output_item.done", "output_index": 0, "item": done_reasoning},
        *message_events[:3],
        {"type": "response.output_text.annotation.added", "item_id": "msg_1", "output_index": 1,
         "content_index": 0, "annotation_index": 0, "annotation": {"type": "url_citation"}},
        *message_events[3:],
        {"type": "response.completed", "response": final},
    ]


def test_a_reasoning_stream_with_extra_event_types_passes_every_check() -> None:
    sse = transcript(reasoning_then_message(), done=True)
    checks = (rs.check_event_type_match, rs.check_event_schema, rs.check_sequence_numbers, rs.check_created_first,
              rl.check_item_lifecycle, rl.check_consistent_indexes, rs.check_single_terminal,
              rs.check_terminal_text, rs.check_terminal_id, rs.check_function_call_arguments)
    assert [v for check in checks for v in check(sse)] == []


def test_a_realistic_wire_stream_passes() -> None:
    from conformance.sse import parse_sse

    raw = b"".join(
        f"event: {e['type']}\r\ndata: {json.dumps({**e, 'sequence_number': i})}\r\n\r\n".encode()
        for i, e in enumerate(text_events())
    )
    sse = parse_sse(b": keep-alive\n\n" + raw)
    checks = (rs.check_event_type_match, rs.check_event_schema, rs.check_sequence_numbers, rs.check_created_first,
              rl.check_item_lifecycle, rl.check_consistent_indexes, rs.check_single_terminal,
              rs.check_terminal_text, rs.check_terminal_id)
    assert [v for check in checks for v in check(sse)] == []
