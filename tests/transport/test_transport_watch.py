"""A watched stream: each event's arrival time, and the client's own hang-up (outcome ``hung-up``)."""

from __future__ import annotations

import time

from conformance.model import SSEEvent
from conformance.transport import StreamWatch, Transport
from tests.support.hostile_server import HostileServer
from tests.transport.transport_helpers import TIGHT, make_settings

#: Slack for a busy CI box.
SLACK = 0.5


def _after(count: int) -> StreamWatch:
    seen: list[SSEEvent] = []

    def hang_up(event: SSEEvent) -> bool:
        seen.append(event)
        return len(seen) >= count

    return StreamWatch(hang_up=hang_up)


def test_arrival_times_and_hang_up_after_an_event(server: HostileServer) -> None:
    watch = _after(3)
    started = time.monotonic()
    with Transport(make_settings(server.url("drip"))) as transport:
        ex = transport.stream("POST", "/chat/completions", json={}, watch=watch)
        assert transport.sent == 1 and transport.history == (ex,)   # in the run's budget and history
    assert (ex.status, ex.outcome, watch.hung_up) == (200, "hung-up", True)
    times = [at for at, _ in watch.arrivals]
    assert len(times) >= 3 and times == sorted(times) and started < times[0]
    # Hung up long before the stream's deadline cut it (the drip never ends by itself).
    assert time.monotonic() - started < TIGHT.stream
    assert watch.first(lambda e: True) == times[0] and watch.first(lambda e: False) is None


def test_idle_hang_up_is_the_clients_not_a_stall(server: HostileServer) -> None:
    watch = StreamWatch(idle=0.1)
    with Transport(make_settings(server.url("stall"))) as transport:
        started = time.monotonic()
        ex = transport.stream("POST", "/chat/completions", json={}, watch=watch)
        elapsed = time.monotonic() - started
    assert (ex.outcome, watch.hung_up, len(watch.arrivals)) == ("hung-up", True, 1)
    assert elapsed < TIGHT.read + SLACK


def test_hang_ups_never_open_a_breaker(server: HostileServer) -> None:
    with Transport(make_settings(server.url("stall"))) as transport:
        for _ in range(3):      # two troubles in a row would open it; hang-ups are the client's
            ex = transport.stream("POST", "/chat/completions", json={}, watch=StreamWatch(idle=0.05))
            assert ex.outcome == "hung-up"
        assert transport.sent == 3


def test_an_unwatched_stall_is_still_stalled() -> None:
    with HostileServer() as hostile, Transport(make_settings(hostile.url("stall"))) as transport:
        assert transport.stream("POST", "/chat/completions", json={}).outcome == "stalled"
