"""The breaker guard: a request through the breaker of its operation, refused when open, its outcome reported.

The breakers live in the run's `Ledger` (shared by every xdist worker); scripted traffic (sent on
purpose into a failing upstream) never trips them, but an open breaker stops it too: a target
that does not answer the operation at all would make each scripted request wait out its bound
(measured: eight relay error cases of 30 s each against a chat that never answers).
"""

from __future__ import annotations

from collections.abc import Callable

from conformance.errors import BudgetExceeded, CircuitOpen, TransportError
from conformance.ledger import Ledger, OperationKey
from conformance.model import Exchange

#: replay-safe request that got no answer twice. A body dropped after the answer began is not
#: among them: the server answered, and the checks judge the cut (FAIL).
_TROUBLE_OUTCOMES = frozenset({"deadline", "stalled", "no-answer"})


def _first_line(text: str, limit: int = 160) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return line if len(line) <= limit else line[: limit - 3] + "..."


def guarded(ledger: Ledger, key: OperationKey, scripted: bool, send: Callable[[], Exchange]) -> Exchange:
    """Send through the breaker of ``key``: refuse when open, report the final outcome (not for
    ``scripted`` traffic: its failures are on purpose)."""
    reason = ledger.breaker_open(key)
    if reason is not None:
        raise CircuitOpen(reason)
    if scripted:
        return send()
    try:
        exchange = send()
    except (BudgetExceeded, CircuitOpen):
        raise
    except TransportError as exc:
        ledger.outcome(key, _first_line(f"{type(exc).__name__}: {exc}"))
        raise
    trouble = None
    if exchange.outcome in _TROUBLE_OUTCOMES:
        trouble = (f"no answer, twice, after {exchange.elapsed:.1f} s" if exchange.status is None
                   else f"HTTP {exchange.status} body {exchange.outcome} after {exchange.elapsed:.1f} s")
    ledger.outcome(key, trouble)
    return exchange
