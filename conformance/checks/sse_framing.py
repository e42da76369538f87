"""Pure checks of server-sent-event framing for chat and Responses streams (SPEC-DECISIONS §7, §8, §15).

This module owns the wire-level rules every streamed answer shares: a 200 with Content-Type
``text/event-stream``; each event is ``data:`` lines carrying one JSON object, ended by a blank
line; the stream ends by itself within its deadline; for chat, exactly one ``data: [DONE]``,
last, with nothing after it (judged from the SSE reader's diagnostics, which already counted
the sentinels). It also exposes the small event helpers the chunk and event checks
build on (``json_events``, ``is_done``), so every stream check reads events the same way.

Data in (an ``Exchange`` or an ``SSETranscript``), violations out; no I/O. It imports only
``conformance.model`` and ``checks._common`` (the reader's ``is_done`` and ``loads_strict``).
"""

from __future__ import annotations

from typing import Any

from conformance.checks._common import is_done as is_done_data
from conformance.checks._common import loads_strict
from conformance.checks._judged import judges
from conformance.model import Exchange, SSEEvent, SSETranscript, Violation, truncate

EVENT_STREAM = "text/event-stream"

# How each recorded outcome reads in a failure message: a stream that did not end by itself is a
# framing failure of the server (it never finished its answer), not a crash of the suite.
_OUTCOME_TEXT = {
    "deadline": "the stream was still open when the total deadline cut it",
    "stalled": "the server stopped sending mid-stream (read timeout)",
    "dropped": "the connection closed before the stream ended",
    "oversize": "the stream exceeded the byte cap of the run",
}

QUOTE_LIMIT = 200


def quote(event: SSEEvent) -> str:
    """The data of an event as a failure message quotes it (truncated with a marker)."""
    return truncate(event.data, QUOTE_LIMIT)


def at(event: SSEEvent, pointer: str = "") -> str:
    """The ``where`` of a violation inside an event: ``event[7]`` or ``event[7]/choices/0``."""
    return f"event[{event.index}]{pointer}"


def end_of(sse: SSETranscript) -> str:
    """The ``where`` for something missing at the end of a stream: the index after the last event."""
    last = sse.events[-1].index + 1 if sse.events else 0
    return f"event[{last}]"


def done_or_end(sse: SSETranscript) -> str:
    """The ``where`` for something missing before [DONE]: the first [DONE], else the end of the stream."""
    done = next((event for event in sse.events if is_done(event)), None)
    return at(done) if done is not None else end_of(sse)


def is_done(event: SSEEvent) -> bool:
    """True for the ``data: [DONE]`` sentinel: the SSE reader's own test, so both agree."""
    return is_done_data(event.data)


def parse_object(event: SSEEvent) -> dict[str, Any] | None:
    """The event's data as a JSON object, or None when it is not one (or is [DONE])."""
    if is_done(event):
        return None
    try:
        value = loads_strict(event.data)  # NaN/Infinity are not JSON: the reader agrees
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def json_events(sse: SSETranscript, *, stop_at_done: bool = True) -> list[tuple[SSEEvent, dict[str, Any]]]:
    """Every event whose data is a JSON object, with its parsed data, in stream order.

    Args:
        sse: the transcript.
        stop_at_done: ignore everything from the first ``[DONE]`` on (what follows it is judged by
            ``check_nothing_after_done`` alone, so it is not reported twice).
    """
    out: list[tuple[SSEEvent, dict[str, Any]]] = []
    for event in sse.events:
        if stop_at_done and is_done(event):
            break
        data = parse_object(event)
        if data is not None:
            out.append((event, data))
    return out


@judges(param="requirement")
def check_stream_answer(exchange: Exchange, *, requirement: str) -> list[Violation]:
    """A streamed request got a 200 with Content-Type ``text/event-stream`` (parameters allowed).

    Args:
        exchange: the recorded streamed request.
        requirement: ``chat.stream.content-type`` or ``responses.stream.content-type``.
    """
    if exchange.status != 200:
        body = exchange.sse.raw if exchange.sse is not None else exchange.body
        return [
            Violation(
                requirement,
                expected=f"status 200 with Content-Type {EVENT_STREAM}",
                actual=f"status {exchange.status}: {truncate(body.decode('utf-8', 'replace'))}",
                where="status",
            )
        ]
    if exchange.content_type != EVENT_STREAM:
        return [
            Violation(
                requirement,
                expected=f"Content-Type {EVENT_STREAM}",
                actual=truncate(exchange.header("content-type") or "no Content-Type header"),
                where="header Content-Type",
            )
        ]
    return []


@judges("chat.stream.framing")
def check_chat_framing(exchange: Exchange) -> list[Violation]:
    """Chat stream framing (``chat.stream.framing``): see ``check_framing``; [DONE] may appear anywhere.

    Where [DONE] appears, and how often, is judged by ``check_done_sentinel`` and
    ``check_nothing_after_done``.
    """
    return check_framing(exchange, requirement="chat.stream.framing", done_anywhere=True)


@judges("responses.stream.framing")
def check_responses_framing(exchange: Exchange) -> list[Violation]:
    """Responses stream framing (``responses.stream.framing``); a [DONE] is tolerated only last."""
    return check_framing(exchange, requirement="responses.stream.framing", done_anywhere=False)


@judges(param="requirement")
def check_framing(exchange: Exchange, *, requirement: str, done_anywhere: bool) -> list[Violation]:
    """Every event is data lines carrying one JSON object ended by a blank line, within the deadline.

    Comments, keep-alives, unknown fields, CRLF and multi-line data are tolerated (SPEC-DECISIONS
    §7). A stream that did not end by itself (outcome deadline, stalled, dropped or oversize) is a
    violation pointing at the position after the last event received.

    Args:
        exchange: the recorded stream (``exchange.sse`` set when the body was read as SSE).
        requirement: the framing requirement id of the API being checked.
        done_anywhere: True for chat (the [DONE] checks judge its position); False for Responses,
            where a [DONE] is tolerated only as the very last event.
    """
    sse = exchange.sse
    if sse is None:
        return [
            Violation(
                requirement,
                expected="an event stream",
                actual=f"a body that was not read as SSE: {truncate(exchange.body.decode('utf-8', 'replace'))}",
                where="body",
            )
        ]
    violations = _outcome_violations(exchange, sse, requirement)
    violations += _diagnostic_violations(sse, requirement, cut=exchange.outcome != "complete")
    last = len(sse.events) - 1
    for position, event in enumerate(sse.events):
        if is_done(event):
            if not done_anywhere and position != last:
                violations.append(
                    Violation(requirement, "a JSON object ([DONE] only as the last event)", quote(event), at(event))
                )
            continue
        if parse_object(event) is None:
            violations.append(Violation(requirement, "data carrying one JSON object", quote(event), at(event)))
    return violations


def _outcome_violations(exchange: Exchange, sse: SSETranscript, requirement: str) -> list[Violation]:
    if exchange.outcome == "complete":
        return []
    reason = _OUTCOME_TEXT.get(exchange.outcome, f"the stream ended with outcome {exchange.outcome!r}")
    last = f"; last event: {quote(sse.events[-1])}" if sse.events else "; no event arrived"
    return [
        Violation(
            requirement,
            expected="a stream that ends by itself within its deadline",
            actual=f"{reason} after {len(sse.events)} events, {exchange.elapsed:.1f}s{last}",
            where=end_of(sse),
        )
    ]


def _diagnostic_violations(sse: SSETranscript, requirement: str, *, cut: bool) -> list[Violation]:
    """Framing faults only the reader can see: an unterminated last event, bytes that are not UTF-8.

    A stream the transport cut ends inside an event by nature: that is reported once, as the cut.
    """
    by_index = {event.index: event for event in sse.events}
    out: list[Violation] = []
    for diagnostic in sse.diagnostics:
        if diagnostic.kind == "unterminated-event" and not cut:
            event = by_index.get(diagnostic.event_index) if diagnostic.event_index is not None else None
            out.append(
                Violation(
                    requirement,
                    expected="every event ended by a blank line",
                    actual="the stream ended inside an event"
                    + (f": {quote(event)}" if event is not None else f" ({truncate(diagnostic.detail)})"),
                    where=at(event) if event is not None else end_of(sse),
                )
            )
        elif diagnostic.kind == "invalid-utf8":
            where = f"event[{diagnostic.event_index}]" if diagnostic.event_index is not None else "body"
            out.append(Violation(requirement, "UTF-8 text", truncate(diagnostic.detail), where))
    return out


def _flagged(sse: SSETranscript, kind: str) -> list[SSEEvent]:
    """The events the SSE reader flagged with diagnostic ``kind``, in stream order."""
    by_index = {event.index: event for event in sse.events}
    return [
        by_index[d.event_index] for d in sse.diagnostics if d.kind == kind and d.event_index in by_index
    ]


@judges("chat.stream.done-sentinel")
def check_done_sentinel(sse: SSETranscript) -> list[Violation]:
    """A chat stream carries exactly one ``data: [DONE]`` (``chat.stream.done-sentinel``).

    Reads the SSE reader's ``missing-done`` and ``multiple-done`` diagnostics (the reader already
    counted the sentinels; this check does not count them again).
    """
    if any(d.kind == "missing-done" for d in sse.diagnostics):
        last = f"; last event: {quote(sse.events[-1])}" if sse.events else ""
        return [
            Violation(
                "chat.stream.done-sentinel",
                expected="exactly one data: [DONE]",
                actual=f"the stream ended without [DONE] after {len(sse.events)} events{last}",
                where=end_of(sse),
            )
        ]
    return [
        Violation("chat.stream.done-sentinel", "exactly one data: [DONE]", f"another [DONE]: {quote(extra)}", at(extra))
        for extra in _flagged(sse, "multiple-done")
    ]


@judges("chat.stream.nothing-after-done")
def check_nothing_after_done(sse: SSETranscript) -> list[Violation]:
    """No event follows the first ``data: [DONE]`` of a chat stream (``chat.stream.nothing-after-done``).

    Reads the SSE reader's ``data-after-done`` diagnostics and reports the first. A repeated
    [DONE] is reported by ``check_done_sentinel`` only; comments after [DONE] are not events and
    are tolerated.
    """
    return [
        Violation("chat.stream.nothing-after-done", "nothing after data: [DONE]", quote(event), at(event))
        for event in _flagged(sse, "data-after-done")[:1]
    ]
