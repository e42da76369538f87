"""Unit tests of conformance.checks.relay_stream on canned streams (no network)."""

from __future__ import annotations

from typing import Any

from conformance.checks import relay_stream as rs
from conformance.model import SSEEvent
from conformance.sse import parse_sse
from conformance.upstream.scripts import SCRIPTS
from conformance.upstream.streams import STREAM_SCRIPTS, plan

BODY = {"model": "up-chat", "stream": True, "stream_options": {"include_usage": True}}


def events(script: str, operation: str = "chat") -> tuple[SSEEvent, ...]:
    """The events the scripted upstream streams for ``script``."""
    steps = plan((STREAM_SCRIPTS | SCRIPTS)[script], operation, BODY, "nxc-0000aaaa-x.1", 0.0)
    return parse_sse(b"".join(s.frame for s in steps)).events


def ids(found: Any) -> list[str]:
    return sorted(v.requirement for v in found)


def test_content_and_usage_pass_when_equal_and_rechunked() -> None:
    up = events("stream-clean")
    assert not list(rs.check_stream_content(up, up)) and not list(rs.check_stream_usage(up, up))
    joined = rs.summary(up)["content"]
    rechunked = parse_sse(
        b'data: {"choices":[{"index":0,"delta":{"content":"' + joined.encode() + b'"},"finish_reason":null}]}\n\n'
        + b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
        + b'data: {"choices":[],"usage":' + __import__("json").dumps(rs.summary(up)["usage"]).encode() + b'}\n\n'
        + b"data: [DONE]\n\n").events
    assert not list(rs.check_stream_content(up, rechunked)) and not list(rs.check_stream_usage(up, rechunked))


def test_content_fails_on_a_lost_argument_piece_and_usage_on_changed_counts() -> None:
    up = events("stream-tools")
    assert rs.summary(up)["arguments"] == {"0": '{"city":"Paris","unit":"celsius"}'}
    assert ids(rs.check_stream_content(up, up[:3] + up[4:])) == ["relay.stream.content"]
    changed = parse_sse(b'data: {"choices":[],"usage":{"prompt_tokens":1}}\n\n').events
    assert ids(rs.check_stream_usage(up, changed)) == ["relay.stream.usage"]


def test_no_invented_completion() -> None:
    cut = events("stream-cut")
    error = parse_sse(b'data: {"error":{"message":"m","type":"upstream_error"}}\n\n').events
    assert not list(rs.check_no_invented_completion(cut, cut + error))
    invented = parse_sse(b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
                         b'data: {"choices":[],"usage":{"total_tokens":2}}\n\ndata: [DONE]\n\n').events
    assert ids(rs.check_no_invented_completion(cut, cut + invented)) == ["relay.stream.no-invented-completion"] * 3


def test_failure_surfaced_by_error_event_or_abnormal_close() -> None:
    start = events("stream-drop")
    error = parse_sse(b'data: {"error":{"message":"m"}}\n\n').events
    assert not list(rs.check_failure_surfaced(start + error, "complete"))
    assert not list(rs.check_failure_surfaced(start, "dropped"))
    assert ids(rs.check_failure_surfaced(start, "complete")) == ["relay.stream.mid-stream-failure"]
    done = parse_sse(b"data: [DONE]\n\n").events
    assert ids(rs.check_failure_surfaced(start + done, "complete")) == ["relay.stream.mid-stream-failure"]


def test_timing_checks() -> None:
    assert not list(rs.check_incremental(1.0, 2.0))
    assert ids(rs.check_incremental(2.5, 2.0)) == ["relay.stream.incremental"]
    assert ids(rs.check_incremental(None, 2.0)) == ["relay.stream.incremental"]
    assert not list(rs.check_cancellation(10.0, 10.2, "closed", 5.0))
    assert ids(rs.check_cancellation(10.0, None, None, 5.0)) == ["relay.stream.cancellation"]
    assert ids(rs.check_cancellation(10.0, 22.0, "complete", 5.0)) == ["relay.stream.cancellation"]
    assert not list(rs.check_stall_ended(1.1, 1.5, ()))
    assert ids(rs.check_stall_ended(3.6, 1.5, ())) == ["relay.stream.stall"]
    assert rs.check_incremental(1.0, 2.0).judged == {"relay.stream.incremental"}


def test_responses_relayed_and_early_end() -> None:
    whole, cut = events("stream-clean", "responses"), events("stream-cut", "responses")
    assert not list(rs.check_responses_relayed(whole, whole))
    assert not list(rs.check_responses_relayed(cut, cut))
    assert ids(rs.check_responses_relayed(whole, whole[1:])) == ["relay.stream.responses"]
    assert ids(rs.check_responses_relayed(cut, cut + whole[-1:])) == ["relay.stream.responses"]
