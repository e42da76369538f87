"""The one HTTP client of the suite: bounded, budgeted, redacted, recorded.

`Transport` wraps a sync ``httpx.Client`` and turns every request into an `Exchange` record.
It owns:

- Time bounds. Every request has a total deadline (``timeouts.request``; ``timeouts.stream``
  for `Transport.stream`). httpx's read timeout applies per socket read, so the per-read timeout
  is ``min(timeouts.read, deadline)`` and the body loop checks ``time.monotonic()`` after every
  chunk. A server that drips bytes is cut at the deadline (outcome ``deadline``); one that goes
  silent mid-body is cut after the read timeout (outcome ``stalled``). Worst case for one
  attempt: deadline + per-read timeout (a read that starts just before the deadline may block
  that long). Response headers that do not arrive within the per-read timeout raise
  `TransportTimeout`; a server dribbling header bytes slower than that forever is bounded only
  per read (httpx offers no total bound for the header phase of a sync client).
- Byte caps: ``budgets.max_response_bytes`` (``max_stream_bytes`` for streams). Reading stops at
  the cap, the bytes kept are exactly the cap, outcome ``oversize``.
- The request budget (``budgets.max_requests``) for the whole run, retries included; when spent,
  `BudgetExceeded` (a 429 retry that would exceed it is skipped and the 429 is returned). The
  count lives in a `Ledger` shared by every xdist worker of the run (in memory by default).
- Circuit breakers per (operation, streamed or not), kept in the same ledger: each unscripted
  request's final outcome (after any retry) is reported to it, and a request whose breaker is
  open raises `CircuitOpen` without being sent. ``scripted=True`` (per request, or
  `Transport.scripted` for every request) marks traffic sent on purpose into a failing
  upstream: it never trips a breaker, but an open one stops it too.
- Bounded 429 retries honouring ``Retry-After`` (seconds or HTTP date), each wait capped by
  ``budgets.max_retry_after``, at most ``budgets.retries_429`` retries.
- Redaction: every recorded request/response has credential headers masked and every
  configured secret replaced by ``********`` in the URL, headers and bodies (see `Redactor`).
  Checks therefore see redacted bodies; a server echoing a key is judged on the masked text.
- Error mapping: refused/DNS/TLS -> `ConnectError`; no response headers in time ->
  `TransportTimeout`; the connection closed, reset or garbled before the response headers ->
  `NoAnswer`. Nothing from httpx escapes. Content that did arrive, however malformed,
  is recorded, never raised.
- ERROR vs FAIL (decision D30, applied here and nowhere else): a replay-safe request (a safe
  method, or a body no server can execute: raw bytes that are not JSON) that gets no answer
  is sent once more; no answer again is the target's behaviour, recorded as an exchange
  without status (outcome ``no-answer``) for the test's checks to judge (FAIL of the
  requirement under test). Any other request is never replayed: `NoAnswer` (ERROR).
  Timeouts and refused connections stay errors.

Outcomes recorded in ``Exchange.outcome``: ``complete``, ``deadline``, ``stalled``,
``dropped`` (the connection closed before the body was complete), ``oversize``,
``no-answer`` (no status line, twice, on a replay-safe request), ``hung-up`` (the client
closed a watched stream on purpose: `StreamWatch`, for timing tests; never a breaker's
trouble).

The package, by concern: `conformance.transport.client` (`Transport`: build, send, read, record),
`conformance.transport.protocol` (`SuiteTransport`, what suites may call; `DEFAULT`),
`conformance.transport.redaction` (`Redactor`), `conformance.transport.policy` (429 backoff,
the no-answer replay rule), `conformance.transport.breaker` (the breaker guard),
`conformance.transport.body` (reading a bounded body), `conformance.transport.watch` (event
arrival times and hanging up on purpose).
"""

from __future__ import annotations

from conformance.transport.client import Transport
from conformance.transport.policy import replay_safe, retry_delay
from conformance.transport.protocol import DEFAULT, KeyChoice, SuiteTransport, UseSettingsKey
from conformance.transport.redaction import Redactor
from conformance.transport.watch import StreamWatch

__all__ = ["DEFAULT", "KeyChoice", "Redactor", "StreamWatch", "SuiteTransport", "Transport", "UseSettingsKey",
           "replay_safe", "retry_delay"]
