"""`Transport`: the suite's HTTP client against one target (see the package docstring for its bounds).

It builds each request (credentials, timeouts), takes the run's budget, sends it, reads the body
within its caps and records the redacted `Exchange`; retries (429, no answer) follow
`conformance.transport.policy`, breakers `conformance.transport.breaker`.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

import httpx

from conformance.config import TLS, Settings
from conformance.errors import (
    BudgetExceeded,
    ConfigError,
    ConnectError,
    NoAnswer,
    TransportError,
    TransportTimeout,
)
from conformance.ledger import Ledger, OperationKey, operation_of
from conformance.model import Exchange
from conformance.model_rules import adapt
from conformance.model_rules_run import active_rules
from conformance.sse import SSEParser, parse_sse
from conformance.transport.body import is_event_stream, read_body
from conformance.transport.breaker import guarded
from conformance.transport.policy import replay_safe, retry_delay
from conformance.transport.protocol import DEFAULT, UseSettingsKey
from conformance.transport.redaction import Redactor
from conformance.transport.watch import StreamWatch

logger = logging.getLogger("conformance.transport")
T = TypeVar("T")
_USER_AGENT = "nexhina-conformance"


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
        key: str | None | UseSettingsKey = DEFAULT, retry_429: bool = True, scripted: bool | None = None,
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
        key: str | None | UseSettingsKey = DEFAULT, retry_429: bool = True, scripted: bool | None = None,
        watch: StreamWatch | None = None,
    ) -> Exchange:
        """Like `request`, with the stream bounds; an SSE body is read through `SSEParser`.

        ``Exchange.sse`` is the transcript when the response is ``text/event-stream``, else
        ``None``; ``Exchange.body`` always holds the bytes that arrived. ``watch`` notes each
        event's arrival time and may hang up early (outcome ``hung-up``, see `StreamWatch`).
        """
        json = adapt(json, self._rules) if self._rules and isinstance(json, dict) else json  # issue 19 (s6)
        return self._guarded(
            OperationKey(operation_of(method, path), True), scripted,
            lambda: self._exchange(method, self._base + path, {"json": json}, headers, key, retry_429,
                                   cap=self._settings.budgets.max_stream_bytes,
                                   total=self._settings.timeouts.stream, watch=watch))

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
        """Send through the breaker of ``key`` (see `conformance.transport.breaker`)."""
        return guarded(self._ledger, key, self.scripted if scripted is None else scripted, send)

    def _exchange(
        self, method: str, url: str, body: Mapping[str, Any], headers: Mapping[str, str] | None,
        key: str | None | UseSettingsKey, retry_429: bool, *, cap: int, total: float,
        watch: StreamWatch | None = None,
    ) -> Exchange:
        budgets = self._settings.budgets
        retries = 0
        while True:
            self._take_budget(url, method)
            try:
                exchange = self._once(self._build(method, url, body, headers, key, total, watch), cap, total,
                                      retries, watch)
            except NoAnswer:
                if not replay_safe(method, body):
                    raise                      # it may have created or cost something: ERROR
                exchange = self._replay(method, url, body, headers, key, cap=cap, total=total, retries=retries,
                                        watch=watch)
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
        key: str | None | UseSettingsKey, *, cap: int, total: float, retries: int, watch: StreamWatch | None,
    ) -> Exchange:
        """The one replay of a replay-safe request that got no answer (D30)."""
        logger.debug("no answer to %s %s; sending it once more", method, self._redactor.text(url))
        self._take_budget(url, method)
        request = self._build(method, url, body, headers, key, total, watch)
        started = time.monotonic()
        try:
            return self._once(request, cap, total, retries, watch)
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
        key: str | None | UseSettingsKey, total: float, watch: StreamWatch | None = None,
    ) -> httpx.Request:
        merged = httpx.Headers()
        secret = self._settings.api_key if key is DEFAULT else key
        if isinstance(secret, str):
            merged["Authorization"] = f"Bearer {secret}"
        for name, value in (headers or {}).items():
            merged[name] = value           # case-insensitive: a caller's Authorization wins
        timeouts = self._settings.timeouts
        per_read = min(timeouts.read, total)
        if watch is not None and watch.idle is not None:
            per_read = min(per_read, watch.idle)     # the client hangs up after that much silence
        timeout = httpx.Timeout(connect=min(timeouts.connect, total), read=per_read, write=per_read,
                                pool=min(timeouts.connect, total))
        try:
            request = self._client.build_request(method, url, headers=merged, timeout=timeout, **body)
            request.read()                 # materialise multipart so the record holds the body
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise TransportError(f"cannot build {method} {self._redactor.text(url)}: "
                                 f"{self._redactor.text(str(exc))}") from exc
        return request

    def _once(self, request: httpx.Request, cap: int, total: float, retries: int,
              watch: StreamWatch | None = None) -> Exchange:
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
            parser = SSEParser() if is_event_stream(response) else None
            body, outcome = read_body(response, parser, cap, deadline, watch)
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
