"""Unit tests of conformance.checks.sse_framing on canned exchanges and transcripts."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence

import pytest

from conformance.checks.sse_framing import (
    check_chat_framing,
    check_done_sentinel,
    check_nothing_after_done,
    check_responses_framing,
    check_stream_answer,
    json_events,
)
from conformance.model import Exchange, SSEDiagnostic, SSETranscript, Violation
from conformance.sse import parse_sse

CHUNK = json.dumps({"id": "c1", "object": "chat.completion.chunk", "choices": []})


def transcript(*data: str, diagnostics: Sequence[SSEDiagnostic] = (), event: str | None = None) -> SSETranscript:
    """The SSE reader's transcript of events carrying ``data`` (plus any extra ``diagnostics``).

    Built by the reader, as in a run, so the checks see the reader's own diagnostics.
    """
    head = f"event: {event}\n" if event is not None else ""
    text = "".join(head + "".join(f"data: {line}\n" for line in d.split("\n")) + "\n" for d in data)
    sse = parse_sse(text.encode())
    return dataclasses.replace(sse, diagnostics=(*sse.diagnostics, *diagnostics))


def exchange(
    sse: SSETranscript | None = None,
    *,
    status: int = 200,
    content_type: str = "text/event-stream",
    outcome: str = "complete",
    body: bytes = b"",
) -> Exchange:
    return Exchange(
        method="POST",
        url="http://127.0.0.1:1/v1/chat/completions",
        request_headers={},
        request_body=b"{}",
        status=status,
        response_headers={"Content-Type": content_type} if content_type else {},
        body=body,
        sse=sse,
        outcome=outcome,
        elapsed=1.5,
    )


def found(violations: list[Violation]) -> list[tuple[str, str | None]]:
    return [(v.requirement, v.where) for v in violations]


CASES: list[tuple[str, Callable[[], list[Violation]], list[tuple[str, str | None]]]] = [
    ("answer ok", lambda: check_stream_answer(exchange(transcript(CHUNK)), requirement="chat.stream.content-type"), []),
    (
        "answer with charset ok",
        lambda: check_stream_answer(
            exchange(transcript(CHUNK), content_type="text/event-stream; charset=utf-8"),
            requirement="chat.stream.content-type",
        ),
        [],
    ),
    (
        "answer json content type",
        lambda: check_stream_answer(
            exchange(None, content_type="application/json", body=b"{}"), requirement="chat.stream.content-type"
        ),
        [("chat.stream.content-type", "header Content-Type")],
    ),
    (
        "answer no content type",
        lambda: check_stream_answer(
            exchange(transcript(CHUNK), content_type=""), requirement="responses.stream.content-type"
        ),
        [("responses.stream.content-type", "header Content-Type")],
    ),
    (
        "answer status 500",
        lambda: check_stream_answer(
            exchange(None, status=500, content_type="application/json", body=b'{"error":{}}'),
            requirement="chat.stream.content-type",
        ),
        [("chat.stream.content-type", "status")],
    ),
    ("framing ok", lambda: check_chat_framing(exchange(transcript(CHUNK, CHUNK, "[DONE]"))), []),
    ("framing done with spaces ok", lambda: check_chat_framing(exchange(transcript(CHUNK, " [DONE] "))), []),
    (
        "framing multi-line json ok",
        lambda: check_chat_framing(exchange(transcript('{"a":\n1}', "[DONE]"))),
        [],
    ),
    (
        "framing non-json",
        lambda: check_chat_framing(exchange(transcript(CHUNK, "hello", "[DONE]"))),
        [("chat.stream.framing", "event[1]")],
    ),
    (
        "framing json but not an object",
        lambda: check_chat_framing(exchange(transcript("[1, 2]", "[DONE]"))),
        [("chat.stream.framing", "event[0]")],
    ),
    (
        "framing empty data",
        lambda: check_chat_framing(exchange(transcript(CHUNK, "", "[DONE]"))),
        [("chat.stream.framing", "event[1]")],
    ),
    (
        "framing unterminated last event",
        lambda: check_chat_framing(
            exchange(transcript(CHUNK, "[DONE]", diagnostics=[SSEDiagnostic("unterminated-event", "eof", 1)]))
        ),
        [("chat.stream.framing", "event[1]")],
    ),
    (
        "framing invalid utf-8",
        lambda: check_chat_framing(
            exchange(transcript(CHUNK, "[DONE]", diagnostics=[SSEDiagnostic("invalid-utf8", "byte 0xff", None)]))
        ),
        [("chat.stream.framing", "body")],
    ),
    (
        "framing other diagnostics are the done checks' business",
        lambda: check_chat_framing(
            exchange(transcript(CHUNK, diagnostics=[SSEDiagnostic("missing-done", "no [DONE]", None)]))
        ),
        [],
    ),
    (
        "framing cut by deadline",
        lambda: check_chat_framing(exchange(transcript(CHUNK, CHUNK), outcome="deadline")),
        [("chat.stream.framing", "event[2]")],
    ),
    (
        "framing cut inside an event reported once",
        lambda: check_chat_framing(
            exchange(transcript(CHUNK, diagnostics=[SSEDiagnostic("unterminated-event", "eof", 0)]), outcome="dropped")
        ),
        [("chat.stream.framing", "event[1]")],
    ),
    (
        "framing stalled",
        lambda: check_chat_framing(exchange(transcript(CHUNK), outcome="stalled")),
        [("chat.stream.framing", "event[1]")],
    ),
    (
        "framing dropped before any event",
        lambda: check_chat_framing(exchange(transcript(), outcome="dropped")),
        [("chat.stream.framing", "event[0]")],
    ),
    (
        "framing oversize",
        lambda: check_responses_framing(exchange(transcript(CHUNK), outcome="oversize")),
        [("responses.stream.framing", "event[1]")],
    ),
    (
        "framing no transcript",
        lambda: check_chat_framing(exchange(None, body=b"not sse")),
        [("chat.stream.framing", "body")],
    ),
    ("responses trailing done ok", lambda: check_responses_framing(exchange(transcript(CHUNK, "[DONE]"))), []),
    ("responses no done ok", lambda: check_responses_framing(exchange(transcript(CHUNK, CHUNK))), []),
    (
        "responses done mid-stream",
        lambda: check_responses_framing(exchange(transcript(CHUNK, "[DONE]", CHUNK))),
        [("responses.stream.framing", "event[1]")],
    ),
    ("done once ok", lambda: check_done_sentinel(transcript(CHUNK, "[DONE]")), []),
    ("done missing", lambda: check_done_sentinel(transcript(CHUNK, CHUNK)),
     [("chat.stream.done-sentinel", "event[2]")]),
    ("done missing empty stream", lambda: check_done_sentinel(transcript()),
     [("chat.stream.done-sentinel", "event[0]")]),
    (
        "done twice",
        lambda: check_done_sentinel(transcript(CHUNK, "[DONE]", "[DONE]")),
        [("chat.stream.done-sentinel", "event[2]")],
    ),
    ("nothing after done ok", lambda: check_nothing_after_done(transcript(CHUNK, "[DONE]")), []),
    ("nothing after done: no done at all", lambda: check_nothing_after_done(transcript(CHUNK)), []),
    (
        "chunk after done",
        lambda: check_nothing_after_done(transcript(CHUNK, "[DONE]", CHUNK, CHUNK)),
        [("chat.stream.nothing-after-done", "event[2]")],
    ),
    ("second done is not 'after done'", lambda: check_nothing_after_done(transcript("[DONE]", "[DONE]")), []),
]


@pytest.mark.parametrize(("check", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_framing_checks(check: Callable[[], list[Violation]], expected: list[tuple[str, str | None]]) -> None:
    assert found(check()) == expected


def test_violation_quotes_the_offending_event_truncated() -> None:
    long = "x" * 1000
    [violation] = check_chat_framing(exchange(transcript(long, "[DONE]")))
    assert violation.actual.startswith("xxxx")
    assert "more chars" in violation.actual
    assert len(violation.actual) < 300


def test_outcome_message_names_the_cause_and_last_event() -> None:
    [violation] = check_chat_framing(exchange(transcript(CHUNK), outcome="deadline"))
    assert "deadline" in violation.actual
    assert "after 1 events" in violation.actual
    assert "chat.completion.chunk" in violation.actual


def test_json_events_stops_at_done_unless_asked() -> None:
    sse = transcript(CHUNK, "oops", "[DONE]", CHUNK)
    assert [e.index for e, _ in json_events(sse)] == [0]
    assert [e.index for e, _ in json_events(sse, stop_at_done=False)] == [0, 3]


@pytest.mark.parametrize("data", ['{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}', "[DONE]x", "{}"])
def test_framing_and_reader_agree_on_json(data: str) -> None:
    """The reader flags non-JSON data exactly when the framing check fails it (one idea of JSON)."""
    sse = parse_sse(f"data: {data}\n\ndata: [DONE]\n\n".encode())
    reader_says = any(d.kind == "non-json-data" for d in sse.diagnostics)
    framing_says = bool(check_chat_framing(exchange(sse)))
    assert framing_says == reader_says == (data != "{}")
