"""Rate limiting (feature ``rate-limit``): a bounded burst meets a 429, and the limit recovers.

Uses only the target's dedicated ``[keys] rate_limited`` key and its declared
``[limits] rate_limit_requests`` per ``rate_limit_window_seconds``, on the cheapest
operation (GET /models). The burst is sent concurrently, in at most two waves
(``limit + 1`` requests, then ``limit`` more only if none was refused), so it lands within
one window even on a distant target; it never exceeds :data:`MAX_BURST` requests. In a run of
one process the sequence (burst, wait, probe) starts in the background before the first test
(``early_start``, D127): its wait costs the run no time.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from conformance.checks.errors import (
    CLIENT_ERROR_IDS,
    SUCCESS,
    check_client_error,
    check_rate_limited_burst,
    check_retry_after,
    check_status,
    parse_retry_after,
)
from conformance.errors import ConfigError, ConformanceError
from conformance.model import Exchange

if TYPE_CHECKING:
    from conformance.config import Settings
    from conformance.recorder import VerdictRecorder
    from conformance.transport import Transport

log = logging.getLogger("conformance.suites.rate_limit")

#: Never send more than this many requests in one burst (a real target is not hammered).
MAX_BURST = 50

#: Concurrent connections used for a burst.
_WORKERS = 16

#: Extra time on top of the advertised wait, for servers that round Retry-After down.
_GRACE = 0.25


def _declared(settings: Settings) -> tuple[str, int, float]:
    """(key, limit, window) from the target; declaring the feature without them is a config error."""
    key = settings.keys.rate_limited
    limit = settings.limits.rate_limit_requests
    window = settings.limits.rate_limit_window_seconds
    missing = [
        name
        for name, value in (
            ("[keys] rate_limited", key),
            ("[limits] rate_limit_requests", limit),
            ("[limits] rate_limit_window_seconds", window),
        )
        if not value
    ]
    if missing or key is None or limit is None or window is None:
        raise ConfigError(f"the target declares feature 'rate-limit' but {', '.join(missing)} is not set")
    if 2 * limit + 1 > MAX_BURST:
        raise ConfigError(
            f"[limits] rate_limit_requests = {limit}: too high to provoke with a bounded burst of "
            f"{MAX_BURST} requests; configure a rate-limited key with a limit of at most "
            f"{(MAX_BURST - 1) // 2}"
        )
    return key, limit, window


def _wave(transport: Transport, key: str, count: int) -> list[Exchange]:
    """``count`` concurrent GET /models with ``key``, 429s returned rather than retried."""
    with ThreadPoolExecutor(max_workers=min(count, _WORKERS)) as pool:
        return list(
            pool.map(lambda _: transport.request("GET", "/models", key=key, retry_429=False), range(count))
        )


def _burst(transport: Transport, key: str, limit: int) -> tuple[list[Exchange], float]:
    """``limit + 1`` requests, then ``limit`` more if none was refused; (exchanges, seconds)."""
    started = time.monotonic()
    exchanges = _wave(transport, key, limit + 1)
    if all(ex.status is not None and 200 <= ex.status < 300 for ex in exchanges):
        exchanges += _wave(transport, key, limit)
    return exchanges, time.monotonic() - started


@dataclass(frozen=True)
class RateLimitExchanges:
    """What the rate-limit sequence saw: the burst, its duration, and the probe after the wait (if refused)."""

    burst: list[Exchange]
    elapsed: float
    after: Exchange | None


def rate_limit_exchanges(transport: Transport, settings: Settings) -> RateLimitExchanges:
    """The burst; when it met a 429, the advertised wait (bounded) and one more request.

    Sends only: the test judges. A run of one process starts it before the first test (D127),
    so the wait overlaps the tests before this one.
    """
    key, limit, window = _declared(settings)
    exchanges, elapsed = _burst(transport, key, limit)
    log.info("rate-limit burst: %d requests in %.2fs, statuses %s", len(exchanges), elapsed,
             [ex.status for ex in exchanges])
    refused = next((ex for ex in exchanges if ex.status == 429), None)
    if refused is None:
        return RateLimitExchanges(exchanges, elapsed, None)
    advertised = parse_retry_after(refused.header("retry-after") or "")
    time.sleep(min((window if advertised is None else advertised) + _GRACE, window + 1.0))
    return RateLimitExchanges(exchanges, elapsed, transport.request("GET", "/models", key=key, retry_429=False))


@pytest.mark.requirements(
    "errors.rate-limited", "errors.rate-limit-retry-after", "errors.rate-limit-recovers", *CLIENT_ERROR_IDS
)
@pytest.mark.feature("rate-limit")
@pytest.mark.early_start(send=rate_limit_exchanges)
def test_rate_limit(started_early: RateLimitExchanges, settings: Settings, verdict: VerdictRecorder) -> None:
    """A burst past the limit gets 429 + envelope (SHOULD Retry-After); after the wait it recovers."""
    _, limit, window = _declared(settings)
    seen = started_early
    exchanges = seen.burst
    refused = next((ex for ex in exchanges if ex.status == 429), None)
    if refused is None:
        odd = next((ex for ex in exchanges if ex.status is None or not 200 <= ex.status < 300), None)
        shown = odd or exchanges[-1]
        if not verdict.check(
            check_rate_limited_burst(exchanges, seen.elapsed, limit=limit, window=window), exchange=shown
        ):
            return
        raise ConformanceError(
            f"rate limit inconclusive: {len(exchanges)} requests took {seen.elapsed:.2f} s, longer than the "
            f"declared window of {window:g} s, and none was refused; the burst cannot show the limit"
        )
    verdict.check(check_client_error(refused, (429,), requirement="errors.rate-limited"), exchange=refused)
    verdict.check(check_retry_after(refused), exchange=refused)
    if seen.after is None:
        raise RuntimeError("a refused burst without the probe after the wait")
    verdict.check(check_status(seen.after, SUCCESS, requirement="errors.rate-limit-recovers"), exchange=seen.after)
