"""The relay lane, part 2: streamed answers relayed under upstream faults (D47, D48).

Each test streams from a ``stream-*`` script of the scripted upstream (clean, cut short,
malformed, dropped, stalled, slow, long) and compares what the upstream sent with what the
client got. Requests into a failing upstream are scripted (they never trip a breaker) and
the black-box framing checks do not judge their streams. The timing tests watch the stream
through the run's transport (``StreamWatch``: each event's arrival time, an early hang-up).
Measured times go into the junit report as ``timing`` properties.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

from conformance.checks.relay_stream import (
    check_cancellation,
    check_failure_surfaced,
    check_incremental,
    check_no_invented_completion,
    check_responses_relayed,
    check_stall_ended,
    check_stream_content,
    check_stream_usage,
)
from conformance.model import SSEEvent
from conformance.sse import parse_sse
from conformance.transport import StreamWatch

if TYPE_CHECKING:
    from conformance.config import Settings
    from conformance.recorder import VerdictRecorder
    from conformance.transport import Transport
    from conformance.upstream.server import Upstream

#: Seconds within which a gateway closes its upstream after the client hangs up (issue 17).
CANCEL_BOUND = 5.0
#: Seconds a gateway may take beyond its stall bound (D45's slack).
STALL_SLACK = 0.5


@pytest.fixture(scope="session")
def upstream(_nexhina_target: Any) -> Upstream:
    """The run's scripted upstream (``_nexhina_target``: the plugin's TargetSession, not imported here)."""
    found: Upstream | None = _nexhina_target.upstream
    if found is None:
        raise RuntimeError("the relay lane needs [upstream] in the target file")
    return found


def _has_content(event: SSEEvent) -> bool:
    """A chunk carrying non-empty content (what ``relay.stream.incremental`` times)."""
    data = event.data.replace(" ", "")
    return '"content":"' in data and '"content":""' not in data


def timed_stream(transport: Transport, settings: Settings, body: dict[str, Any], *,
                 hang_up: float | None = None) -> tuple[StreamWatch, float]:
    """Stream ``body`` through the run's transport, noting when each event arrived: the watch
    and when the read ended.

    ``hang_up``: close the stream after the first content chunk, or when nothing arrived for
    that many seconds (the client's own choice: outcome ``hung-up``). A stalled or broken
    stream ends the read (the target's behaviour, judged by the checks), never the test.
    """
    watch = StreamWatch(hang_up=_has_content if hang_up is not None else None, idle=hang_up)
    transport.stream("POST", "/chat/completions", json=body, retry_429=False, watch=watch)
    return watch, time.monotonic()


def _timing(request: pytest.FixtureRequest, text: str) -> None:
    """Keep a measured time as the test's ``timing`` property (junit report)."""
    request.node.user_properties.append(("timing", text))


def _chat(settings: Settings, marker: object, **extra: Any) -> dict[str, Any]:
    return {"model": settings.models["relay_chat"], "stream": True,
            "messages": [{"role": "user", "content": f"Say hi. {marker}"}],
            "max_tokens": settings.budgets.max_tokens, **extra}


def _upstream_events(upstream: Upstream, marker: object) -> tuple[SSEEvent, ...]:
    records = upstream.records.for_marker(str(marker))
    return parse_sse(records[-1].answer).events if records else ()


@pytest.mark.feature("relay")
@pytest.mark.requirements("relay.stream.content", "relay.stream.usage")
@pytest.mark.parametrize("script", ["stream-clean", "stream-tools"])
def test_relay_stream_relayed(transport: Transport, settings: Settings, upstream: Upstream,
                              verdict: VerdictRecorder, script: str) -> None:
    """A clean stream (content, or streamed tool calls) with include_usage: content, arguments,
    finish_reason and usage reach the client as the upstream streamed them."""
    marker = upstream.markers(script)
    ex = transport.stream("POST", "/chat/completions", retry_429=False,
                          json=_chat(settings, marker, stream_options={"include_usage": True}))
    client = ex.sse.events if ex.sse else ()
    verdict.check(check_stream_content(_upstream_events(upstream, marker), client), exchange=ex)
    verdict.check(check_stream_usage(_upstream_events(upstream, marker), client), exchange=ex)


@pytest.mark.feature("relay")
@pytest.mark.requirements("relay.stream.no-invented-completion")
def test_relay_stream_cut(transport: Transport, settings: Settings, upstream: Upstream,
                          verdict: VerdictRecorder) -> None:
    """An upstream stream ended early: no invented finish, usage or [DONE] (framing not judged)."""
    marker = upstream.markers("stream-cut")
    ex = transport.stream("POST", "/chat/completions", retry_429=False, scripted=True,
                          json=_chat(settings, marker, stream_options={"include_usage": True}))
    verdict.check(check_no_invented_completion(_upstream_events(upstream, marker), ex.sse.events if ex.sse else ()),
                  exchange=ex)


@pytest.mark.feature("relay")
@pytest.mark.requirements("relay.stream.mid-stream-failure")
@pytest.mark.parametrize("script", ["stream-malformed", "stream-drop"])
def test_relay_stream_failure(transport: Transport, settings: Settings, upstream: Upstream,
                              verdict: VerdictRecorder, script: str) -> None:
    """A malformed chunk or a dropped connection mid-stream: an error event then the end, or an abnormal close."""
    marker = upstream.markers(script)
    ex = transport.stream("POST", "/chat/completions", json=_chat(settings, marker), retry_429=False, scripted=True)
    verdict.check(check_failure_surfaced(ex.sse.events if ex.sse else (), ex.outcome), exchange=ex)


@pytest.mark.feature("relay")
@pytest.mark.requirements("relay.stream.stall")
def test_relay_stream_stall(transport: Transport, settings: Settings, upstream: Upstream,
                            verdict: VerdictRecorder, request: pytest.FixtureRequest) -> None:
    """An upstream that stalls mid-stream: the client's stream ends within 2 x the declared timeout (D48)."""
    assert settings.upstream is not None
    marker = upstream.markers("stream-stall")
    ex = transport.stream("POST", "/chat/completions", json=_chat(settings, marker), retry_429=False, scripted=True)
    ended = time.monotonic()
    trace = upstream.records.traces.get(str(marker))
    last = trace.sent[-1] if trace is not None and trace.sent else ended - ex.elapsed
    _timing(request, f"client stream ended {ended - last:.3f} s after the upstream's last event")
    verdict.check(check_stall_ended(ended - last, 2 * settings.upstream.gateway_timeout + STALL_SLACK,
                                    ex.sse.events if ex.sse else ()), exchange=ex)


@pytest.mark.feature("relay")
@pytest.mark.requirements("relay.stream.incremental")
def test_relay_stream_incremental(transport: Transport, settings: Settings, upstream: Upstream,
                                  verdict: VerdictRecorder, request: pytest.FixtureRequest) -> None:
    """A slow upstream (one chunk per 300 ms): the first content reaches the client before the last chunk is sent."""
    marker = upstream.markers("stream-slow")
    watch, _ = timed_stream(transport, settings, _chat(settings, marker))
    trace = upstream.records.traces.get(str(marker))
    last = trace.sent[-1] if trace is not None and trace.sent else None
    first = watch.first(_has_content)
    if first is not None and last is not None and trace is not None:
        _timing(request, f"first content {first - trace.started:.3f} s, upstream last chunk "
                                  f"{last - trace.started:.3f} s after the upstream stream started")
    verdict.check(check_incremental(first, last))


@pytest.mark.feature("relay")
@pytest.mark.requirements("relay.stream.cancellation")
def test_relay_stream_cancellation(transport: Transport, settings: Settings, upstream: Upstream,
                                   verdict: VerdictRecorder, request: pytest.FixtureRequest) -> None:
    """The client hangs up after the first content: the gateway closes its upstream within 5 s."""
    marker = upstream.markers("stream-long")
    _, ended = timed_stream(transport, settings, _chat(settings, marker), hang_up=1.0)
    deadline = ended + CANCEL_BOUND + 0.5
    trace = upstream.records.traces.get(str(marker))
    while (trace is None or trace.ended is None) and time.monotonic() < deadline:
        time.sleep(0.05)
        trace = upstream.records.traces.get(str(marker))
    if trace is not None and trace.ended is not None:
        _timing(request, f"upstream closed ({trace.how}) {trace.ended - ended:.3f} s after the client")
    verdict.check(check_cancellation(ended, trace.ended if trace else None, trace.how if trace else None,
                                     CANCEL_BOUND))


@pytest.mark.feature("relay.responses")
@pytest.mark.requirements("relay.stream.responses")
@pytest.mark.parametrize("script", ["stream-clean", "stream-cut"])
def test_relay_stream_responses(transport: Transport, settings: Settings, upstream: Upstream,
                                verdict: VerdictRecorder, script: str) -> None:
    """A Responses event stream, whole or ended early: names, sequence numbers and terminal event intact;
    an early end never becomes response.completed."""
    marker = upstream.markers(script)
    body = {"model": settings.models["relay_responses"], "input": f"Say hi. {marker}", "stream": True}
    ex = transport.stream("POST", "/responses", json=body, retry_429=False, scripted=script != "stream-clean")
    verdict.check(check_responses_relayed(_upstream_events(upstream, marker), ex.sse.events if ex.sse else ()),
                  exchange=ex)
