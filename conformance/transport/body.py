"""Reading a response body within its bounds: byte cap, deadline, stall and drop, SSE fed as it arrives
(and, for a watched stream, each event's arrival time and the client's own hang-up)."""

from __future__ import annotations

import time

import httpx

from conformance.sse import SSEParser
from conformance.transport.watch import StreamWatch


def is_event_stream(response: httpx.Response) -> bool:
    media_type = str(response.headers.get("content-type", "")).split(";")[0].strip().lower()
    return media_type == "text/event-stream"


def read_body(response: httpx.Response, parser: SSEParser | None, cap: int, deadline: float,
              watch: StreamWatch | None = None) -> tuple[bytes, str]:
    """Read the body until its end, the byte cap, the deadline, a stall or a drop; with a
    ``watch``, also until the client hangs up (outcome ``hung-up``)."""
    chunks: list[bytes] = []
    size = 0
    outcome = "complete"
    try:
        for chunk in response.iter_bytes():
            kept = chunk[: cap - size]
            if kept:
                chunks.append(kept)
                size += len(kept)
                if parser is not None:
                    events = parser.feed(kept)
                    if watch is not None and watch.saw(time.monotonic(), events):
                        outcome = "hung-up"
                        break
            if len(kept) < len(chunk):
                outcome = "oversize"
                break
            if time.monotonic() >= deadline:
                outcome = "deadline"
                break
    except httpx.ReadTimeout:
        if watch is not None and watch.idle is not None and time.monotonic() < deadline:
            watch.hung_up = True       # the client's own idle bound, not the target's stall
            outcome = "hung-up"
        else:
            outcome = "deadline" if time.monotonic() >= deadline else "stalled"
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.DecodingError):
        outcome = "dropped"
    return b"".join(chunks), outcome
