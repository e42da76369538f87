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
  upstream: it neither trips nor is stopped by a breaker.
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
``no-answer`` (no status line, twice, on a replay-safe request).
"""

from __future__ import annotations

import enum
import json as jsonlib
import logging
import math
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from conformance.config import TLS, Settings
from conformance.errors import (
    BudgetExceeded,
    CircuitOpen,
    ConfigError,
    ConnectError,
    NoAnswer,
    TransportError,
    TransportTimeout,
)
from conformance.ledger import Ledger, OperationKey, operation_of
from conformance.model import REDACTED, Exchange
from conformance.model_rules import adapt  # issue 19 (s6)
from conformance.model_rules_run import active_rules  # issue 19 (s6)
from conformance.sse import SSEParser, parse_sse

__all__ = ["DEFAULT", "Redactor", "Transport", "replay_safe", "retry_delay"]

logger = logging.getLogger("conformance.transport")
T = TypeVar("T")


class _UseSettingsKey(enum.Enum):
    """Sentinel type: "use the configured API key" (``None`` means "send no Authorization")."""

    DEFAULT = "DEFAULT"


DEFAULT = _UseSettingsKey.DEFAULT
_MASKED_HEADERS = frozenset({"x-api-key", "api-key", "cookie", "set-cookie", "proxy-authorization"})
_AUTH_SCHEMES = frozenset({"bearer", "basic", "digest", "token", "apikey"})
_USER_AGENT = "nexhina-conformance"
_BACKOFF_WITHOUT_HEADER = 0.5   # first wait when a 429 carries no usable Retry-After; doubles
#: Methods that never create or cost anything (RFC 9110 safe methods): replayable (D30).
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Redactor:
    """Masks credentials: credential headers, and every configured secret wherever it appears."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms = set()
        for secret in secrets:
            if secret:
                forms.add(secret)
                forms.add(quote(secret, safe=""))   # the same key inside a URL
        # Longest first, so a secret that contains another is masked whole.
        self._texts = sorted(forms, key=len, reverse=True)
        self._bytes = [form.encode("utf-8") for form in self._texts]

    def add(self, secret: str) -> None:
        """Mask one more secret from now on (a key the run created)."""
        if secret and secret not in self._texts:
            forms = {secret, quote(secret, safe="")} | set(self._texts)
            self._texts = sorted(forms, key=len, reverse=True)
            self._bytes = [form.encode("utf-8") for form in self._texts]

    def text(self, value: str) -> str:
        """The string with every secret replaced by ``********``."""
        for secret in self._texts:
            value = value.replace(secret, REDACTED)
        return value

    def data(self, value: bytes) -> bytes:
        """The bytes with every secret replaced by ``********``."""
        for secret in self._bytes:
            value = value.replace(secret, REDACTED.encode())
        return value

    def header(self, name: str, value: str) -> str:
        """One header value, masked when the header carries a credential."""
        lowered = name.lower()
        if lowered in _MASKED_HEADERS:
            return REDACTED
        if lowered == "authorization":
            scheme, _, rest = value.strip().partition(" ")
            if rest.strip():
                return f"{scheme} {REDACTED}"      # keep the scheme word: it is evidence
            if scheme.lower() not in _AUTH_SCHEMES and scheme:
                return REDACTED                    # a bare token may be a key
        return self.text(value)

    def headers(self, items: Iterable[tuple[str, str]]) -> dict[str, str]:
        """Headers as a dict (repeats joined with ``, ``), every value redacted."""
        result: dict[str, str] = {}
        for name, value in items:
            masked = self.header(name, value)
            result[name] = f"{result[name]}, {masked}" if name in result else masked
        return result


def retry_delay(retry_after: str | None, attempt: int, *, cap: float, now: datetime | None = None) -> float:
    """Seconds to wait before retrying a 429, from its ``Retry-After`` (seconds or HTTP date).

    Without a usable header the wait backs off from 0.5 s, doubling per attempt. The result is
    always within ``[0, cap]``.
    """
    seconds: float | None = None
    if retry_after and retry_after.strip():
        text = retry_after.strip()
        try:
            seconds = float(text)
        except ValueError:
            try:
                when = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=timezone.utc)
                seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if seconds is None or math.isnan(seconds):
        seconds = _BACKOFF_WITHOUT_HEADER * (2 ** attempt)
    return max(0.0, min(seconds, cap))


def _verify(tls: TLS) -> ssl.SSLContext | bool:
    if not tls.verify:
        return False
    if not tls.ca_bundle:
        return True
    try:
        return ssl.create_default_context(cafile=tls.ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"tls.ca_bundle: cannot load CA bundle {tls.ca_bundle!r}: {exc}") from exc


class Transport:
    """The suite's HTTP client against one target; see the module docstring for its bounds.

    Args:
        settings: the resolved run settings (``base_url`` must be set).
        client: an ``httpx.Client`` to use instead of building one (it is not closed here).
        history_size: how many recent exchanges `history` keeps.
        ledger: the run's shared budget and breakers (default: one of this transport alone).
        scripted: mark every request of this transport as scripted (see the module docstring).
    """

    def __init__(self, settings: Settings, *, client: httpx.Client | None = None,
                 history_size: int = 100, ledger: Ledger | None = None, scripted: bool = False) -> None:
        if settings.base_url is None:
            raise ConfigError("target.base_url: the transport needs a base URL (start the reference first)")
        self._settings = settings
        self._base = settings.base_url.rstrip("/")
        self._redactor = Redactor(settings.secrets())
        self._own_client = client is None
        self._client = client if client is not None else httpx.Client(
            verify=_verify(settings.tls), follow_redirects=False, headers={"User-Agent": _USER_AGENT})
        self._sent = 0
        self._lock = threading.Lock()
        self._history: deque[Exchange] = deque(maxlen=history_size)
        self._ledger = ledger if ledger is not None else Ledger.memory(max_requests=settings.budgets.max_requests)
        self.scripted = scripted
        self._rules = active_rules(settings, self._ledger)  # issue 19 (s6): per-model parameter rules

    @property
    def base_url(self) -> str:
        """The target's base URL, without a trailing slash."""
        return self._base

    @property
    def sent(self) -> int:
        """How many requests were sent so far (retries included)."""
        return self._sent

    @property
    def ledger(self) -> Ledger:
        """The run's shared budget, per-operation counts and breakers."""
        return self._ledger

    @property
    def history(self) -> tuple[Exchange, ...]:
        """The most recent exchanges, oldest first (bounded, already redacted)."""
        return tuple(self._history)

    @property
    def redactor(self) -> Redactor:
        """The redactor built from the configured secrets (for other artefacts of the run)."""
        return self._redactor

    def request(
        self, method: str, path: str, *, json: Any = None, content: bytes | str | None = None,
        data: Mapping[str, Any] | None = None, files: Any = None, headers: Mapping[str, str] | None = None,
        key: str | None | _UseSettingsKey = DEFAULT, retry_429: bool = True, scripted: bool | None = None,
    ) -> Exchange:
        """Send one request to ``base_url + path`` and record the whole response.

        ``key``: `DEFAULT` sends the configured API key, ``None`` no Authorization, a string
        ``Bearer <string>``; an ``Authorization`` in ``headers`` wins over all of these.
        ``scripted``: True keeps this request out of the breakers (default `scripted`).
        """
        json = adapt(json, self._rules) if self._rules and isinstance(json, dict) else json  # issue 19 (s6)
        body = {"json": json, "content": content, "data": data, "files": files}
        return self._guarded(
            OperationKey(operation_of(method, path), False), scripted,
            lambda: self._exchange(method, self._base + path, body, headers, key, retry_429,
                                   cap=self._settings.budgets.max_response_bytes,
                                   total=self._settings.timeouts.request))

    def stream(
        self, method: str, path: str, *, json: Any = None, headers: Mapping[str, str] | None = None,
        key: str | None | _UseSettingsKey = DEFAULT, retry_429: bool = True, scripted: bool | None = None,
    ) -> Exchange:
        """Like `request`, with the stream bounds; an SSE body is read through `SSEParser`.

        ``Exchange.sse`` is the transcript when the response is ``text/event-stream``, else
        ``None``; ``Exchange.body`` always holds the bytes that arrived.
        """
        json = adapt(json, self._rules) if self._rules and isinstance(json, dict) else json  # issue 19 (s6)
        return self._guarded(
            OperationKey(operation_of(method, path), True), scripted,
            lambda: self._exchange(method, self._base + path, {"json": json}, headers, key, retry_429,
                                   cap=self._settings.budgets.max_stream_bytes,
                                   total=self._settings.timeouts.stream))

    def fetch(self, url: str) -> Exchange:
        """GET an absolute URL (an image or video result); credentials only under ``base_url``."""
        own = url == self._base or url.startswith((self._base + "/", self._base + "?"))
        return self._exchange("GET", url, {}, None, DEFAULT if own else None, True,
                              cap=self._settings.budgets.max_response_bytes,
                              total=self._settings.timeouts.request)

    def concurrently(self, *sends: Callable[[], T]) -> list[T]:
        """Run independent sends (e.g. ``lambda: transport.request(...)``) at once; results in order.

        At most ``budgets.concurrency`` are in flight; the first exception (in the given order)
        is raised after all have ended, so a slow target costs about its latency times the
        longest chain, not times the request count.
        """
        limit = max(1, min(self._settings.budgets.concurrency, len(sends)))
        if limit == 1:
            return [send() for send in sends]
        with ThreadPoolExecutor(max_workers=limit, thread_name_prefix="nexhina-send") as pool:
            futures = [pool.submit(send) for send in sends]
            return [future.result() for future in futures]

    def close(self) -> None:
        """Close the HTTP client (only when this transport built it)."""
        if self._own_client:
            self._client.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _guarded(self, key: OperationKey, scripted: bool | None, send: Callable[[], Exchange]) -> Exchange:
        """Send through the breaker of ``key``: refuse when open, report the final outcome."""
        if self.scripted if scripted is None else scripted:
            return send()
        reason = self._ledger.breaker_open(key)
        if reason is not None:
            raise CircuitOpen(reason)
        try:
            exchange = send()
        except (BudgetExceeded, CircuitOpen):
            raise
        except TransportError as exc:
            self._ledger.outcome(key, _first_line(f"{type(exc).__name__}: {exc}"))
            raise
        trouble = None
        if exchange.outcome in _TROUBLE_OUTCOMES:
            trouble = (f"no answer, twice, after {exchange.elapsed:.1f} s" if exchange.status is None
                       else f"HTTP {exchange.status} body {exchange.outcome} after {exchange.elapsed:.1f} s")
        self._ledger.outcome(key, trouble)
        return exchange

    def _exchange(
        self, method: str, url: str, body: Mapping[str, Any], headers: Mapping[str, str] | None,
        key: str | None | _UseSettingsKey, retry_429: bool, *, cap: int, total: float,
    ) -> Exchange:
        budgets = self._settings.budgets
        retries = 0
        while True:
            self._take_budget(url, method)
            try:
                exchange = self._once(self._build(method, url, body, headers, key, total), cap, total, retries)
            except NoAnswer:
                if not replay_safe(method, body):
                    raise                      # it may have created or cost something: ERROR
                exchange = self._replay(method, url, body, headers, key, cap=cap, total=total, retries=retries)
            if exchange.status != 429 or not retry_429 or retries >= budgets.retries_429:
                return exchange
            if self._ledger.spent():
                return exchange      # a retry would break the budget: report the 429 as it is
            wait = retry_delay(exchange.header("retry-after"), retries, cap=budgets.max_retry_after)
            logger.debug("429 from %s; retry %d in %.2fs", exchange.url, retries + 1, wait)
            time.sleep(wait)
            retries += 1

    def _replay(
        self, method: str, url: str, body: Mapping[str, Any], headers: Mapping[str, str] | None,
        key: str | None | _UseSettingsKey, *, cap: int, total: float, retries: int,
    ) -> Exchange:
        """The one replay of a replay-safe request that got no answer (D30)."""
        logger.debug("no answer to %s %s; sending it once more", method, self._redactor.text(url))
        self._take_budget(url, method)
        request = self._build(method, url, body, headers, key, total)
        started = time.monotonic()
        try:
            return self._once(request, cap, total, retries)
        except NoAnswer as again:
            logger.debug("no answer again: the target's behaviour (%s)", again)
            return self._record_no_answer(request, time.monotonic() - started, retries)

    def _record_no_answer(self, request: httpx.Request, elapsed: float, retries: int) -> Exchange:
        redact = self._redactor
        exchange = Exchange(
            method=request.method,
            url=redact.text(str(request.url)),
            request_headers=redact.headers(request.headers.multi_items()),
            request_body=redact.data(request.content) if request.content else None,
            status=None,
            elapsed=elapsed,
            outcome="no-answer",
            retries_429=retries,
        )
        self._history.append(exchange)
        return exchange

    def _take_budget(self, url: str, method: str = "GET") -> None:
        path = url[len(self._base):] if url.startswith(self._base) else "<outside base_url>"
        with self._lock:
            refused = self._ledger.take(operation_of(method, path))
            if refused == "deadline":
                raise BudgetExceeded(f"the run's deadline has passed (budgets.max_duration); "
                                     f"not sending {self._redactor.text(url)}")
            if refused is not None:
                limit = self._ledger.max_requests()
                raise BudgetExceeded(
                    f"the run's request budget of {limit} requests is spent (budgets.max_requests); "
                    f"not sending {self._redactor.text(url)}")
            self._sent += 1

    def _build(
        self, method: str, url: str, body: Mapping[str, Any], headers: Mapping[str, str] | None,
        key: str | None | _UseSettingsKey, total: float,
    ) -> httpx.Request:
        merged = httpx.Headers()
        secret = self._settings.api_key if key is DEFAULT else key
        if isinstance(secret, str):
            merged["Authorization"] = f"Bearer {secret}"
        for name, value in (headers or {}).items():
            merged[name] = value           # case-insensitive: a caller's Authorization wins
        timeouts = self._settings.timeouts
        per_read = min(timeouts.read, total)
        timeout = httpx.Timeout(connect=min(timeouts.connect, total), read=per_read, write=per_read,
                                pool=min(timeouts.connect, total))
        try:
            request = self._client.build_request(method, url, headers=merged, timeout=timeout, **body)
            request.read()                 # materialise multipart so the record holds the body
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise TransportError(f"cannot build {method} {self._redactor.text(url)}: "
                                 f"{self._redactor.text(str(exc))}") from exc
        return request

    def _once(self, request: httpx.Request, cap: int, total: float, retries: int) -> Exchange:
        started = time.monotonic()
        deadline = started + total
        shown = f"{request.method} {self._redactor.text(str(request.url))}"
        try:
            response = self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise TransportTimeout(f"{shown}: no response within the bound ({type(exc).__name__}; "
                                   f"read {min(self._settings.timeouts.read, total):g} s)") from exc
        except httpx.ConnectError as exc:
            raise ConnectError(f"{shown}: cannot connect: {self._redactor.text(str(exc))}") from exc
        except httpx.LocalProtocolError as exc:   # our request cannot be sent as HTTP: never the target's
            raise TransportError(f"{shown}: cannot send ({self._redactor.text(str(exc))})") from exc
        except httpx.HTTPError as exc:
            raise NoAnswer(f"{shown}: no valid response ({type(exc).__name__}: "
                                 f"{self._redactor.text(str(exc))})") from exc
        try:
            parser = SSEParser() if _is_event_stream(response) else None
            body, outcome = _read_body(response, parser, cap, deadline)
        finally:
            response.close()
        exchange = self._record(request, response, body, parser, outcome, time.monotonic() - started, retries)
        return exchange

    def _record(
        self, request: httpx.Request, response: httpx.Response, body: bytes, parser: SSEParser | None,
        outcome: str, elapsed: float, retries: int,
    ) -> Exchange:
        redact = self._redactor
        transcript = parser.close() if parser is not None else None
        if transcript is not None and redact.data(transcript.raw) != transcript.raw:
            transcript = parse_sse(redact.data(transcript.raw))   # same framing, secrets masked
        exchange = Exchange(
            method=request.method,
            url=redact.text(str(request.url)),
            request_headers=redact.headers(request.headers.multi_items()),
            request_body=redact.data(request.content) if request.content else None,
            status=response.status_code,
            response_headers=redact.headers(response.headers.multi_items()),
            body=redact.data(body),
            sse=transcript,
            elapsed=elapsed,
            outcome=outcome,
            retries_429=retries,
        )
        self._history.append(exchange)
        logger.debug("%s %s -> %s %s in %.3fs (%d bytes)", exchange.method, exchange.url, exchange.status,
                     outcome, elapsed, len(exchange.body))
        return exchange


def replay_safe(method: str, body: Mapping[str, Any]) -> bool:
    """Whether a request that got no answer may be sent once more (D30).

    True for a safe method (GET, HEAD, OPTIONS) and for a raw body that is not JSON (no server
    can execute it: it must be refused). A JSON, form or multipart body may create something
    or cost money: never replayed.
    """
    if method.upper() in _SAFE_METHODS:
        return True
    if any(body.get(name) is not None for name in ("json", "data", "files")):
        return False
    content = body.get("content")
    if content is None:
        return False
    try:
        jsonlib.loads(content)
    except ValueError:
        return True                            # JSONDecodeError and UnicodeDecodeError
    return False


#: Exchange outcomes that count as "no usable answer" for a breaker: deadline, stall, and a
#: replay-safe request that got no answer twice. A body dropped after the answer began is not
#: among them: the server answered, and the checks judge the cut (FAIL).
_TROUBLE_OUTCOMES = frozenset({"deadline", "stalled", "no-answer"})


def _first_line(text: str, limit: int = 160) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _is_event_stream(response: httpx.Response) -> bool:
    media_type = str(response.headers.get("content-type", "")).split(";")[0].strip().lower()
    return media_type == "text/event-stream"


def _read_body(response: httpx.Response, parser: SSEParser | None, cap: int, deadline: float) -> tuple[bytes, str]:
    """Read the body until its end, the byte cap, the deadline, a stall or a drop."""
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
                    parser.feed(kept)
            if len(kept) < len(chunk):
                outcome = "oversize"
                break
            if time.monotonic() >= deadline:
                outcome = "deadline"
                break
    except httpx.ReadTimeout:
        outcome = "deadline" if time.monotonic() >= deadline else "stalled"
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.DecodingError):
        outcome = "dropped"
    return b"".join(chunks), outcome
