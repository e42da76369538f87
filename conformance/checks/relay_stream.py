"""Checks of the streamed relay: what the upstream streamed against what the client got.

Pure: each check takes the upstream's events (as the scripted upstream sent them), the
client's events and measured times (``time.monotonic()`` seconds of one process) as plain
data and returns violations; no I/O. The end of a failed stream D47 allows is an error
event (a ``data:`` JSON object carrying ``error``) followed by the end of the stream, or
an abnormal close; never a finish, usage or ``[DONE]`` the upstream did not send.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from conformance.checks._judged import judges
from conformance.model import SSEEvent, Violation, truncate

#: Ends of a client's exchange that are abnormal closes (D47).
ABNORMAL_OUTCOMES = frozenset({"dropped", "stalled"})


def _json(event: SSEEvent) -> Any:
    try:
        return event.json()
    except ValueError:
        return None


def _chunks(events: Sequence[SSEEvent]) -> list[dict[str, Any]]:
    return [j for j in (_json(e) for e in events) if isinstance(j, dict)]


def _choice_deltas(chunks: Sequence[dict[str, Any]]) -> list[tuple[dict[str, Any], Any]]:
    found = []
    for chunk in chunks:
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else ():
            if isinstance(choice, dict):
                delta = choice.get("delta")
                found.append((delta if isinstance(delta, dict) else {}, choice.get("finish_reason")))
    return found


def summary(events: Sequence[SSEEvent]) -> dict[str, Any]:
    """The joined content, tool-call arguments (by index), finish reasons, usage and [DONE] of a chat stream."""
    chunks = _chunks(events)
    content, finishes = "", []
    arguments: dict[str, str] = {}
    for delta, finish in _choice_deltas(chunks):
        if isinstance(delta.get("content"), str):
            content += delta["content"]
        for call in delta.get("tool_calls") or ():
            if isinstance(call, dict) and isinstance(call.get("function"), dict):
                key = str(call.get("index", 0))
                arguments[key] = arguments.get(key, "") + str(call["function"].get("arguments") or "")
        if finish is not None:
            finishes.append(finish)
    usages = [c["usage"] for c in chunks if isinstance(c.get("usage"), dict)]
    return {"content": content, "arguments": arguments, "finish_reasons": finishes,
            "usage": usages[-1] if usages else None, "done": any(e.data.strip() == "[DONE]" for e in events),
            "error": any("error" in c for c in chunks)}


def _shown(value: Any) -> str:
    return truncate(json.dumps(value, ensure_ascii=False, sort_keys=True), 160)


@judges("relay.stream.content")
def check_stream_content(upstream: Sequence[SSEEvent], client: Sequence[SSEEvent]) -> list[Violation]:
    """The client's joined content, tool-call arguments and finish_reason equal the upstream's."""
    sent, got = summary(upstream), summary(client)
    return [Violation("relay.stream.content", f"{name} = {_shown(sent[name])} (as the upstream streamed it)",
                      _shown(got[name]), "client stream")
            for name in ("content", "arguments", "finish_reasons") if sent[name] != got[name]]


@judges("relay.stream.usage")
def check_stream_usage(upstream: Sequence[SSEEvent], client: Sequence[SSEEvent]) -> list[Violation]:
    """The usage the client sees equals the upstream's usage chunk (when the upstream sent one)."""
    sent, got = summary(upstream)["usage"], summary(client)["usage"]
    if sent is None or sent == got:
        return []
    return [Violation("relay.stream.usage", f"usage = {_shown(sent)}", _shown(got), "client stream usage chunk")]


@judges("relay.stream.no-invented-completion")
def check_no_invented_completion(upstream: Sequence[SSEEvent], client: Sequence[SSEEvent]) -> list[Violation]:
    """An early-ended upstream stream: no finish_reason, usage or [DONE] the upstream never sent."""
    sent, got = summary(upstream), summary(client)
    found = []
    invented = [f for f in got["finish_reasons"] if f not in sent["finish_reasons"]]
    if invented:
        found.append(Violation("relay.stream.no-invented-completion", "no finish_reason the upstream never sent",
                               _shown(invented), "client stream finish_reason"))
    if sent["usage"] is None and got["usage"] is not None:
        found.append(Violation("relay.stream.no-invented-completion", "no usage (the upstream sent none)",
                               _shown(got["usage"]), "client stream usage chunk"))
    if not sent["done"] and got["done"]:
        found.append(Violation("relay.stream.no-invented-completion", "no [DONE] (the upstream sent none)",
                               "data: [DONE]", "client stream"))
    return found


@judges("relay.stream.mid-stream-failure")
def check_failure_surfaced(client: Sequence[SSEEvent], outcome: str) -> list[Violation]:
    """A mid-stream upstream failure ends the client's stream with an error event or an abnormal close (D47)."""
    got = summary(client)
    last = _json(client[-1]) if client else None
    error_last = isinstance(last, dict) and "error" in last
    if not got["done"] and (error_last or outcome in ABNORMAL_OUTCOMES):
        return []
    shown = "a [DONE]" if got["done"] else f"a normal end ({outcome}) without an error event"
    return [Violation("relay.stream.mid-stream-failure", "an error event then the end of the stream, or an "
                      "abnormal close (D47)", shown, "client stream end")]


@judges("relay.stream.incremental")
def check_incremental(first_content_at: float | None, upstream_last_sent_at: float | None) -> list[Violation]:
    """The client's first content chunk arrived before the upstream sent its last chunk."""
    if first_content_at is not None and upstream_last_sent_at is not None and first_content_at < upstream_last_sent_at:
        return []
    actual = "no content chunk" if first_content_at is None else (
        "the upstream sent nothing" if upstream_last_sent_at is None
        else f"first content {first_content_at - upstream_last_sent_at:+.3f} s after the upstream's last chunk")
    return [Violation("relay.stream.incremental", "the first content chunk before the upstream's last chunk",
                      actual, "client stream timing")]


@judges("relay.stream.cancellation")
def check_cancellation(client_closed_at: float, upstream_ended_at: float | None, how: str | None,
                       bound: float) -> list[Violation]:
    """After the client closed its stream, the upstream connection was closed within ``bound`` s."""
    if upstream_ended_at is not None and how == "closed" and upstream_ended_at - client_closed_at <= bound:
        return []
    actual = (f"still open {bound:g} s after the client closed" if upstream_ended_at is None
              else f"upstream stream ended ({how}) {upstream_ended_at - client_closed_at:.2f} s after the client")
    return [Violation("relay.stream.cancellation", f"the upstream connection closed within {bound:g} s",
                      actual, "scripted upstream")]


@judges("relay.stream.stall")
def check_stall_ended(ended_after: float, bound: float, client: Sequence[SSEEvent]) -> list[Violation]:
    """A stalled upstream: the client's stream ended within ``bound`` s of the upstream's last event,
    and not as a normal end (no [DONE])."""
    found = []
    if ended_after > bound:
        found.append(Violation("relay.stream.stall", f"the stream ends within {bound:g} s of the stall (D48)",
                               f"ended {ended_after:.2f} s after the upstream's last event", "client stream timing"))
    if summary(client)["done"]:
        found.append(Violation("relay.stream.stall", "no [DONE] after a stall", "data: [DONE]", "client stream"))
    return found


def _responses_events(events: Sequence[SSEEvent]) -> list[tuple[str | None, Any, Any]]:
    out = []
    for event in events:
        data = _json(event)
        if isinstance(data, dict):
            out.append((event.event, data.get("type"), data.get("sequence_number")))
    return out


@judges("relay.stream.responses")
def check_responses_relayed(upstream: Sequence[SSEEvent], client: Sequence[SSEEvent]) -> list[Violation]:
    """The upstream's Responses events reach the client with names, types and sequence numbers intact,
    in order; a stream the upstream did not end is not ended with ``response.completed``."""
    sent, got = _responses_events(upstream), _responses_events(client)
    found = []
    if got[:len(sent)] != sent:
        found.append(Violation("relay.stream.responses", f"events {_shown(sent)}", _shown(got[:len(sent)]),
                               "client stream (event, type, sequence_number)"))
    if not any(t == "response.completed" for _, t, _ in sent) and any(t == "response.completed" for _, t, _ in got):
        found.append(Violation("relay.stream.responses", "no response.completed (the upstream ended early)",
                               "response.completed", "client stream"))
    return found
