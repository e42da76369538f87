"""Pure checks for statuses, the error envelope, auth error codes and rate-limit headers.

Owns the requirement ids ``errors.*`` and the code-level ``auth.*`` ones. Other suites reuse
:func:`check_status` and :func:`check_error_envelope` (and the composites
:func:`check_client_error` / :func:`check_served`). Data in, violations out: no I/O, no
httpx, no pytest; the level (FAIL or WARN) comes from the catalogue, never from here.

``where`` is ``status`` for the HTTP status, ``header <Name>`` for a response header, and a
JSON pointer (``/error/code``) into the body otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from conformance.checks._judged import judges
from conformance.model import Exchange, Findings, Violation, truncate
from conformance.spec import validate

#: Ids :func:`check_error_envelope` may report.
ENVELOPE_IDS: tuple[str, ...] = (
    "errors.envelope-shape",
    "errors.envelope-content-type",
    "errors.envelope-fields-present",
)

#: Ids :func:`check_client_error` may report besides the caller's own requirement.
CLIENT_ERROR_IDS: tuple[str, ...] = (
    *ENVELOPE_IDS,
    "errors.no-5xx-for-client-error",
    "errors.no-error-in-2xx",
)

#: Ids :func:`check_served` may report besides the caller's own requirement.
SERVED_IDS: tuple[str, ...] = ("errors.no-error-in-2xx", "errors.no-server-error")

#: Ids :func:`check_unknown_model` may report.
UNKNOWN_MODEL_IDS: tuple[str, ...] = (
    "errors.unknown-model-rejected",
    "errors.unknown-model-404",
    "errors.unknown-model-code",
)

#: Every 2xx status, for ``expected=`` arguments.
SUCCESS = range(200, 300)

#: Keys that mark a 2xx JSON body as a resource (which may legitimately carry an ``error``
#: member: a failed Responses object, a failed video task) rather than an error envelope.
_RESOURCE_KEYS = frozenset({"object", "id", "status"})

_VALIDATION_422 = "422 is a deviation: validation errors must be 400"


def _body_text(exchange: Exchange, limit: int = 160) -> str:
    if not exchange.body:
        return "<empty body>"
    return truncate(exchange.body.decode("utf-8", errors="replace"), limit)


def _json_body(exchange: Exchange) -> Any:
    """The decoded body, or None when it is not JSON (checks judge that separately)."""
    if not exchange.body:
        return None
    try:
        return exchange.json()
    except ValueError:
        return None


def _error_object(exchange: Exchange) -> dict[str, Any] | None:
    body = _json_body(exchange)
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def describe_statuses(expected: Collection[int]) -> str:
    """Human form of a status set: ``HTTP 400``, ``HTTP 400 or 415``, ``HTTP 2xx``."""
    wanted = set(expected)
    parts: list[str] = []
    for block in range(100, 600, 100):
        whole = set(range(block, block + 100))
        if whole <= wanted:
            parts.append(f"{block // 100}xx")
            wanted -= whole
    parts = sorted(str(s) for s in wanted) + parts
    return "HTTP " + " or ".join(parts) if parts else "no status"


def _status_actual(exchange: Exchange) -> str:
    if exchange.status is None:
        return f"no HTTP status (outcome {exchange.outcome})"
    return f"HTTP {exchange.status}: {_body_text(exchange)}"


@judges(param="requirement")
def check_status(exchange: Exchange, expected: Collection[int], *, requirement: str) -> list[Violation]:
    """The status is one of ``expected``; else one violation of ``requirement``.

    A 422 where a 400 was expected gets a message saying so: FastAPI-style validation
    answers are the commonest deviation of this kind.
    """
    if exchange.status is not None and exchange.status in expected:
        return []
    actual = _status_actual(exchange)
    if exchange.status == 422 and 400 in expected:
        actual = f"{_VALIDATION_422} ({actual})"
    return [Violation(requirement, describe_statuses(expected), actual, "status")]


@judges(*ENVELOPE_IDS)
def check_error_envelope(exchange: Exchange) -> list[Violation]:
    """A 4xx/5xx answer carries the JSON error envelope (D4); other statuses pass.

    Reports ``errors.envelope-content-type`` (media type not application/json),
    ``errors.envelope-shape`` (not JSON, or not ``{"error": {message, type, param, code}}``
    by the spec's ErrorResponse schema) and ``errors.envelope-fields-present`` (``param`` or
    ``code`` key absent: a SHOULD). The body is judged even under a wrong Content-Type, so a
    valid envelope sent as text/plain breaks the content-type requirement only.
    """
    if exchange.status is None or exchange.status < 400:
        return Findings()  # not an error answer: the envelope rules do not apply, nothing judged
    found: list[Violation] = []
    if exchange.content_type != "application/json":
        shown = exchange.header("content-type") or "<absent>"
        found.append(
            Violation(
                "errors.envelope-content-type",
                "Content-Type application/json",
                truncate(shown),
                "header Content-Type",
            )
        )
    body = _json_body(exchange)
    if body is None:
        expected = 'a JSON body {"error": {"message", "type", "param", "code"}}'
        return [*found, Violation("errors.envelope-shape", expected, _body_text(exchange), "/")]
    found += validate(body, "ErrorResponse", requirement="errors.envelope-shape")
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        for key in ("param", "code"):
            if key not in error:
                found.append(
                    Violation(
                        "errors.envelope-fields-present",
                        f'key "{key}" present (null when empty)',
                        f"error keys: {', '.join(sorted(map(str, error))) or '<none>'}",
                        f"/error/{key}",
                    )
                )
    return found


@judges(param="requirement")
def check_envelope_part_of(exchange: Exchange, *, requirement: str) -> list[Violation]:
    """One violation of ``requirement`` when an error answer lacks the envelope's MUST parts.

    For requirements whose whole point is "... with the error envelope" (an unknown path
    answered by a web server's HTML 404 page is the classic): the envelope ids still report
    the details; this names the requirement the answer was for.
    """
    broken = [v for v in check_error_envelope(exchange) if v.requirement != "errors.envelope-fields-present"]
    if not broken:
        return []
    shown = f"{exchange.content_type or '<no Content-Type>'}: {_body_text(exchange, 120)}"
    return [Violation(requirement, "the JSON error envelope", shown, "/")]


@judges("errors.no-error-in-2xx")
def check_no_error_in_2xx(exchange: Exchange) -> list[Violation]:
    """A 2xx JSON answer is not an error envelope (``errors.no-error-in-2xx``).

    An ``error`` member is tolerated in a resource (a body with ``object``, ``id`` or
    ``status``): a failed Responses object or video task carries one legitimately. Streams
    are judged by the streaming checks.
    """
    if exchange.status is None or not 200 <= exchange.status < 300 or exchange.sse is not None:
        return []
    body = _json_body(exchange)
    if not isinstance(body, dict) or body.get("error") is None or _RESOURCE_KEYS & body.keys():
        return []
    return [
        Violation(
            "errors.no-error-in-2xx",
            "no error envelope under a 2xx status",
            f"HTTP {exchange.status} with error {truncate(body['error'])}",
            "/error",
        )
    ]


@judges("errors.no-5xx-for-client-error")
def check_no_5xx_for_client_error(exchange: Exchange) -> list[Violation]:
    """A request invalid by the spec does not get a 5xx (``errors.no-5xx-for-client-error``)."""
    if exchange.status is None or exchange.status < 500:
        return []
    actual = _status_actual(exchange)
    return [Violation("errors.no-5xx-for-client-error", "a 4xx for a client mistake", actual, "status")]


@judges("errors.no-server-error")
def check_no_server_error(exchange: Exchange) -> list[Violation]:
    """A request valid by the spec does not get a 5xx (``errors.no-server-error``)."""
    if exchange.status is None or exchange.status < 500:
        return []
    return [
        Violation("errors.no-server-error", "no 5xx for a valid request", _status_actual(exchange), "status")
    ]


@judges(param="requirement")
def check_client_error(exchange: Exchange, expected: Collection[int], *, requirement: str) -> list[Violation]:
    """Everything a refused client mistake must satisfy, in one call.

    The status is in ``expected`` (``requirement``), a 4xx/5xx carries the envelope, no 5xx
    (a client mistake is never a server error) and no error envelope under a 2xx. May report
    ``requirement`` and :data:`CLIENT_ERROR_IDS`.
    """
    return (
        check_status(exchange, expected, requirement=requirement)
        + check_no_5xx_for_client_error(exchange)
        + check_error_envelope(exchange)
        + check_no_error_in_2xx(exchange)
    )


@judges(param="requirement")
def check_served(exchange: Exchange, *, requirement: str) -> list[Violation]:
    """A valid request is served: a 2xx (``requirement``) that is not an error in disguise.

    May report ``requirement`` and :data:`SERVED_IDS`.
    """
    return (
        check_status(exchange, SUCCESS, requirement=requirement)
        + check_no_server_error(exchange)
        + check_no_error_in_2xx(exchange)
    )


@judges(*UNKNOWN_MODEL_IDS)
def check_unknown_model(exchange: Exchange) -> list[Violation]:
    """Grade the answer to a request naming an unknown model (D5).

    MUST be refused with a 4xx or 503 (``errors.unknown-model-rejected``: a 2xx, a 500 or
    any other 5xx fails); SHOULD be exactly 404 (``errors.unknown-model-404``); SHOULD carry
    ``error.code`` ``model_not_found`` (``errors.unknown-model-code``).
    """
    found: list[Violation] = []
    status = exchange.status
    if status is None or not (400 <= status < 500 or status == 503):
        found.append(
            Violation(
                "errors.unknown-model-rejected",
                "HTTP 4xx (404 best) or 503",
                _status_actual(exchange),
                "status",
            )
        )
    if status != 404:
        found.append(Violation("errors.unknown-model-404", "HTTP 404", _status_actual(exchange), "status"))
    judged = ("errors.unknown-model-rejected", "errors.unknown-model-404")
    return Findings(found, judged=judged) + check_error_code(
        exchange, "model_not_found", requirement="errors.unknown-model-code"
    )


@judges(param="requirement")
def check_error_code(
    exchange: Exchange, code: str, *, requirement: str, statuses: Collection[int] | None = None
) -> list[Violation]:
    """``error.code`` equals ``code``; judged only when the status is in ``statuses`` (if given)."""
    if statuses is not None and exchange.status not in statuses:
        return Findings()  # another status: not this rule's answer, nothing judged
    error = _error_object(exchange)
    actual = "<no error object>" if error is None else ("<absent>" if "code" not in error else error["code"])
    if actual == code:
        return []
    return [Violation(requirement, f'error.code "{code}"', truncate(actual), "/error/code")]


@judges("auth.unknown-key-code")
def check_unknown_key_code(exchange: Exchange) -> list[Violation]:
    """An unknown key's error SHOULD carry code ``invalid_api_key`` (``auth.unknown-key-code``).

    Judged on 4xx answers only: a wrong status is the status check's business.
    """
    return check_error_code(
        exchange, "invalid_api_key", requirement="auth.unknown-key-code", statuses=range(400, 500)
    )


@judges("auth.exhausted-key-code")
def check_exhausted_key_code(exchange: Exchange) -> list[Violation]:
    """A 403/429 for an exhausted quota SHOULD carry ``insufficient_quota`` (``auth.exhausted-key-code``)."""
    return check_error_code(
        exchange, "insufficient_quota", requirement="auth.exhausted-key-code", statuses=(403, 429)
    )


def parse_retry_after(value: str, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date); None if unparseable.

    A decimal such as ``1.5`` is accepted (clients parse it; being strict here would only
    produce noise). An HTTP-date is measured from ``now`` (default: the current UTC time)
    and never gives a negative wait.
    """
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        return seconds if seconds >= 0 and seconds == seconds and seconds != float("inf") else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    reference = now or datetime.now(timezone.utc)
    return max(0.0, (when - reference).total_seconds())


def burst_exceeds_limit(count: int, elapsed: float, *, limit: int, window: float) -> bool:
    """True when ``count`` requests in ``elapsed`` seconds must have met a limit of ``limit``/``window``.

    Conclusive for every usual limiter: ``2 * limit + 1`` requests within less than one window
    cover at most two fixed windows (so one holds more than ``limit``), overflow a sliding
    window, and drain a token bucket of ``limit`` even with a full window's refill.
    """
    return count >= 2 * limit + 1 and elapsed < window


@judges("errors.rate-limited")
def check_rate_limited_burst(
    exchanges: Sequence[Exchange], elapsed: float, *, limit: int, window: float
) -> list[Violation]:
    """A burst beyond the declared limit met a 429 (``errors.rate-limited``).

    Judges the burst as a whole: a 429 anywhere passes; an answer other than 2xx or 429 is a
    violation (a limiter must answer 429); all 2xx is a violation only when
    :func:`burst_exceeds_limit` says the limit was certainly exceeded (otherwise the burst
    was too slow to tell, which the caller reports as inconclusive, never as a failure).
    """
    if any(ex.status == 429 for ex in exchanges):
        return []
    for ex in exchanges:
        if ex.status is None or not 200 <= ex.status < 300:
            expected = "HTTP 2xx, then 429 beyond the limit"
            return [Violation("errors.rate-limited", expected, _status_actual(ex), "status")]
    if not burst_exceeds_limit(len(exchanges), elapsed, limit=limit, window=window):
        return []
    return [
        Violation(
            "errors.rate-limited",
            f"HTTP 429 once more than {limit} requests arrive within {window:g} s",
            f"all {len(exchanges)} requests answered 2xx within {elapsed:.2f} s",
            "status",
        )
    ]


@judges("errors.rate-limit-retry-after")
def check_retry_after(exchange: Exchange) -> list[Violation]:
    """A 429 SHOULD carry a usable Retry-After header (``errors.rate-limit-retry-after``)."""
    if exchange.status != 429:
        return Findings()  # no 429: nothing to judge
    value = exchange.header("retry-after")
    if value is not None and parse_retry_after(value) is not None:
        return []
    actual = "<absent>" if value is None else f"unparseable value {json.dumps(value)}"
    return [
        Violation(
            "errors.rate-limit-retry-after",
            "Retry-After: <seconds> or <HTTP-date>",
            truncate(actual),
            "header Retry-After",
        )
    ]
