"""API keys of the reference gateway: their states and the sliding-window rate limiter.

Owns ``KeyState``, ``KeyRing`` (key -> state) and ``RateLimiter``. Pure bookkeeping: the
HTTP answers for each state are decided in ``conformance.reference.app``.
"""

from __future__ import annotations

import enum
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable

from conformance.reference.config import ReferenceConfig


class KeyState(str, enum.Enum):
    """What the reference does with a request carrying a known key."""

    VALID = "valid"
    DISABLED = "disabled"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"
    MODEL_RESTRICTED = "model_restricted"
    RATE_LIMITED = "rate_limited"


class KeyRing:
    """The known keys of one reference and their states."""

    def __init__(self, states: dict[str, KeyState], *, restricted_model: str) -> None:
        self._states = dict(states)
        self.restricted_model = restricted_model

    @classmethod
    def from_config(cls, config: ReferenceConfig) -> KeyRing:
        """The key ring described by ``config``."""
        return cls(
            {
                config.api_key: KeyState.VALID,
                config.disabled_key: KeyState.DISABLED,
                config.expired_key: KeyState.EXPIRED,
                config.exhausted_key: KeyState.EXHAUSTED,
                config.model_restricted_key: KeyState.MODEL_RESTRICTED,
                config.rate_limited_key: KeyState.RATE_LIMITED,
            },
            restricted_model=config.model_restricted_model,
        )

    def state(self, key: str) -> KeyState | None:
        """The state of ``key``, or None when the key is unknown."""
        return self._states.get(key)


class RateLimiter:
    """A sliding-window limiter: at most ``limit`` admitted requests per ``window`` seconds.

    Each bucket (the app uses key + active faults, so faulted variants served by the same
    server do not eat each other's budget) keeps the times of its admitted requests.
    Refused requests are not counted, so waiting the advertised time always recovers.
    """

    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._admitted: dict[Hashable, deque[float]] = {}
        self._blocked: set[Hashable] = set()

    def admit(self, bucket: Hashable, *, sticky: bool = False) -> int | None:
        """Count one request; None when admitted, else the whole seconds to wait (>= 1).

        ``sticky`` keeps a bucket refused forever once it has been refused (a fault).
        """
        now = self._clock()
        with self._lock:
            times = self._admitted.setdefault(bucket, deque())
            while times and times[0] <= now - self._window:
                times.popleft()
            if bucket in self._blocked or len(times) >= self._limit:
                if sticky:
                    self._blocked.add(bucket)
                wait = (times[0] + self._window - now) if times else self._window
                return max(1, math.ceil(wait))
            times.append(now)
            return None
