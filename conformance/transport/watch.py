"""Watching a stream as it arrives: when each SSE event came, and hanging up on purpose.

`StreamWatch` is what a timing test hands to `Transport.stream`: the transport notes the
arrival time (``time.monotonic()``) of every event it parses, and closes the stream when the
watch says so (after a given event, or after ``idle`` seconds without a byte). The exchange
then ends with the outcome ``hung-up``: the client's own choice, never the target's failure,
so it trips no breaker. The request still counts in the run's budget and history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from conformance.model import SSEEvent


@dataclass
class StreamWatch:
    """Arrival times of a stream's events, and when the client hangs up.

    Attributes:
        hang_up: called with each event as it arrives; True closes the stream after it.
        idle: seconds of silence after which the client hangs up (None: the run's read timeout).
        arrivals: ``(monotonic time, event)`` of every event, in arrival order (filled in).
        hung_up: whether the client closed the stream (filled in).
    """

    hang_up: Callable[[SSEEvent], bool] | None = None
    idle: float | None = None
    arrivals: list[tuple[float, SSEEvent]] = field(default_factory=list)
    hung_up: bool = False

    def saw(self, at: float, events: Sequence[SSEEvent]) -> bool:
        """Note ``events`` arriving at ``at``; True when the client hangs up now."""
        for event in events:
            self.arrivals.append((at, event))
            if self.hang_up is not None and self.hang_up(event):
                self.hung_up = True
        return self.hung_up

    def first(self, wanted: Callable[[SSEEvent], bool]) -> float | None:
        """When the first event ``wanted`` accepts arrived (None: none did)."""
        return next((at for at, event in self.arrivals if wanted(event)), None)
