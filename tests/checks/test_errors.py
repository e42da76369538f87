"""Unit tests of conformance.checks.errors on canned exchanges (no network)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest

from conformance.checks import errors as checks
from conformance.model import Exchange, SSETranscript, Violation

GOOD_ERROR = {"error": {"message": "bad key", "type": "invalid_request_error", "param": None, "code": "x"}}


def exchange(
    status: int | None,
    body: Any = b"",
    *,
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
    sse: SSETranscript | None = None,
) -> Exchange:
    """A recorded exchange with a JSON-encoded body unless bytes are given."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response_headers = dict(headers or {})
    if content_type is not None:
        response_headers["Content-Type"] = content_type
    return Exchange(
        method="POST",
        url="http://127.0.0.1:1/v1/chat/completions",
        request_headers={},
        request_body=None,
        status=status,
        response_headers=response_headers,
        body=raw,
        sse=sse,
    )


def ids_where(found: list[Violation]) -> list[tuple[str, str | None]]:
    return [(v.requirement, v.where) for v in found]


def error_body(**fields: Any) -> dict[str, Any]:
    err: dict[str, Any] = {"message": "m", "type": "t", "param": None, "code": None}
    err.update(fields)
    return {"error": {k: v for k, v in err.items() if v is not _ABSENT}}


_ABSENT = object()


# --------------------------------------------------------------------------- check_status


@pytest.mark.parametrize(
    ("status", "expected", "found"),
    [
        pytest.param(200, checks.SUCCESS, [], id="2xx-ok"),
        pytest.param(401, (401,), [], id="401-ok"),
        pytest.param(500, (401,), [("auth.missing-key", "status")], id="500-for-401"),
        pytest.param(None, (401,), [("auth.missing-key", "status")], id="no-status"),
    ],
)
def test_check_status(status: int | None, expected: tuple[int, ...], found: list[tuple[str, str]]) -> None:
    result = checks.check_status(exchange(status, GOOD_ERROR), expected, requirement="auth.missing-key")
    assert ids_where(result) == found


def test_check_status_names_422_as_a_deviation() -> None:
    fastapi = {"detail": [{"loc": ["body", "messages"], "msg": "field required"}]}
    (violation,) = checks.check_status(exchange(422, fastapi), (400,), requirement="errors.wrong-type")
    assert violation.expected == "HTTP 400"
    assert violation.actual.startswith("422 is a deviation: validation errors must be 400")
    assert "field required" in violation.actual


def test_check_status_422_message_only_where_400_was_expected() -> None:
    (violation,) = checks.check_status(exchange(422, {}), (401,), requirement="auth.missing-key")
    assert "deviation" not in violation.actual
    assert violation.actual.startswith("HTTP 422")


def test_check_status_reports_empty_body() -> None:
    (violation,) = checks.check_status(exchange(500, b""), (400,), requirement="errors.malformed-json")
    assert violation.actual == "HTTP 500: <empty body>"


@pytest.mark.parametrize(
    ("statuses", "text"),
    [
        ((400,), "HTTP 400"),
        ((415, 400), "HTTP 400 or 415"),
        (checks.SUCCESS, "HTTP 2xx"),
        ((*checks.SUCCESS, 429), "HTTP 429 or 2xx"),
        ((), "no status"),
    ],
)
def test_describe_statuses(statuses: tuple[int, ...], text: str) -> None:
    assert checks.describe_statuses(statuses) == text


# --------------------------------------------------------------------------- the envelope


@pytest.mark.parametrize(
    ("ex", "found"),
    [
        pytest.param(exchange(400, GOOD_ERROR), [], id="valid"),
        pytest.param(exchange(400, error_body(param="", code="")), [], id="empty-strings-are-strings"),
        pytest.param(
            exchange(401, GOOD_ERROR, content_type="application/json; charset=utf-8"), [], id="charset"
        ),
        pytest.param(exchange(200, {"error": "x"}), [], id="2xx-not-judged"),
        pytest.param(exchange(None, b"<html>"), [], id="no-status-not-judged"),
        pytest.param(
            exchange(400, GOOD_ERROR, content_type="text/plain"),
            [("errors.envelope-content-type", "header Content-Type")],
            id="json-as-text-plain",
        ),
        pytest.param(
            exchange(400, GOOD_ERROR, content_type=None),
            [("errors.envelope-content-type", "header Content-Type")],
            id="no-content-type",
        ),
        pytest.param(
            exchange(502, b"<html>Bad Gateway</html>", content_type="text/html"),
            [("errors.envelope-content-type", "header Content-Type"), ("errors.envelope-shape", "/")],
            id="html-page",
        ),
        pytest.param(exchange(404, b""), [("errors.envelope-shape", "/")], id="empty-body"),
        pytest.param(
            exchange(400, {"error": "bad request"}), [("errors.envelope-shape", "/error")], id="string"
        ),
        pytest.param(
            exchange(400, {"detail": [{"msg": "field required"}]}),
            [("errors.envelope-shape", "/")],
            id="fastapi",
        ),
        pytest.param(
            exchange(400, error_body(message="")),
            [("errors.envelope-shape", "/error/message")],
            id="empty-message",
        ),
        pytest.param(
            exchange(400, error_body(type=3)), [("errors.envelope-shape", "/error/type")], id="type-int"
        ),
        pytest.param(
            exchange(400, error_body(code=401)), [("errors.envelope-shape", "/error/code")], id="code-int"
        ),
        pytest.param(
            exchange(400, error_body(param=_ABSENT)),
            [("errors.envelope-fields-present", "/error/param")],
            id="param-absent",
        ),
        pytest.param(
            exchange(400, error_body(param=_ABSENT, code=_ABSENT)),
            [
                ("errors.envelope-fields-present", "/error/param"),
                ("errors.envelope-fields-present", "/error/code"),
            ],
            id="param-and-code-absent",
        ),
    ],
)
def test_check_error_envelope(ex: Exchange, found: list[tuple[str, str]]) -> None:
    assert ids_where(checks.check_error_envelope(ex)) == found


def test_envelope_shape_violation_shows_the_body() -> None:
    (violation,) = checks.check_error_envelope(
        exchange(500, b"Internal Server Error", content_type="application/json")
    )
    assert violation.requirement == "errors.envelope-shape"
    assert violation.actual == "Internal Server Error"


def test_check_envelope_part_of() -> None:
    assert checks.check_envelope_part_of(exchange(404, GOOD_ERROR), requirement="errors.unknown-path") == []
    assert checks.check_envelope_part_of(exchange(200, b"<html>"), requirement="errors.unknown-path") == []
    fields_only = exchange(404, error_body(param=_ABSENT))
    assert checks.check_envelope_part_of(fields_only, requirement="errors.unknown-path") == []
    html = exchange(404, b"<html>Not Found</html>", content_type="text/html")
    (violation,) = checks.check_envelope_part_of(html, requirement="errors.unknown-path")
    assert (violation.requirement, violation.where) == ("errors.unknown-path", "/")
    assert violation.actual == "text/html: <html>Not Found</html>"


# --------------------------------------------------------------------------- 2xx / 5xx


@pytest.mark.parametrize(
    ("ex", "found"),
    [
        pytest.param(exchange(200, {"object": "list", "data": []}), [], id="normal"),
        pytest.param(
            exchange(200, {"id": "r1", "object": "response", "error": {"code": "x"}}), [], id="resource"
        ),
        pytest.param(
            exchange(200, {"status": "failed", "error": {"code": "x", "message": "m"}}), [], id="task"
        ),
        pytest.param(exchange(200, {"error": None, "data": []}), [], id="error-null"),
        pytest.param(exchange(200, b"not json", content_type="text/plain"), [], id="not-json"),
        pytest.param(exchange(400, GOOD_ERROR), [], id="4xx"),
        pytest.param(exchange(200, GOOD_ERROR, sse=SSETranscript(events=())), [], id="stream"),
        pytest.param(exchange(200, GOOD_ERROR), [("errors.no-error-in-2xx", "/error")], id="error-in-200"),
        pytest.param(
            exchange(201, {"error": "nope"}), [("errors.no-error-in-2xx", "/error")], id="string-in-201"
        ),
    ],
)
def test_check_no_error_in_2xx(ex: Exchange, found: list[tuple[str, str]]) -> None:
    assert ids_where(checks.check_no_error_in_2xx(ex)) == found


@pytest.mark.parametrize(("status", "count"), [(400, 0), (404, 0), (None, 0), (500, 1), (503, 1)])
def test_check_no_5xx(status: int | None, count: int) -> None:
    client = checks.check_no_5xx_for_client_error(exchange(status, GOOD_ERROR))
    server = checks.check_no_server_error(exchange(status, GOOD_ERROR))
    assert ids_where(client) == [("errors.no-5xx-for-client-error", "status")] * count
    assert ids_where(server) == [("errors.no-server-error", "status")] * count


def test_check_client_error_composes_everything() -> None:
    assert checks.check_client_error(exchange(401, GOOD_ERROR), (401,), requirement="auth.unknown-key") == []
    found = checks.check_client_error(
        exchange(500, b"<html>oops</html>", content_type="text/html"), (401,), requirement="auth.unknown-key"
    )
    assert [v.requirement for v in found] == [
        "auth.unknown-key",
        "errors.no-5xx-for-client-error",
        "errors.envelope-content-type",
        "errors.envelope-shape",
    ]
    let_through = checks.check_client_error(exchange(200, GOOD_ERROR), (401,), requirement="auth.missing-key")
    assert [v.requirement for v in let_through] == ["auth.missing-key", "errors.no-error-in-2xx"]
    assert set(checks.CLIENT_ERROR_IDS) >= {v.requirement for v in found + let_through} - {
        "auth.unknown-key",
        "auth.missing-key",
    }


def test_check_served() -> None:
    assert checks.check_served(exchange(200, {"object": "list"}), requirement="auth.valid-key") == []
    assert ids_where(checks.check_served(exchange(500, GOOD_ERROR), requirement="auth.valid-key")) == [
        ("auth.valid-key", "status"),
        ("errors.no-server-error", "status"),
    ]
    assert ids_where(checks.check_served(exchange(200, GOOD_ERROR), requirement="auth.valid-key")) == [
        ("errors.no-error-in-2xx", "/error")
    ]
    assert ids_where(checks.check_served(exchange(401, GOOD_ERROR), requirement="auth.valid-key")) == [
        ("auth.valid-key", "status")
    ]


# --------------------------------------------------------------------------- unknown model


@pytest.mark.parametrize(
    ("status", "code", "found"),
    [
        pytest.param(404, "model_not_found", [], id="404-best"),
        pytest.param(
            400,
            "invalid_model",
            [("errors.unknown-model-404", "status"), ("errors.unknown-model-code", "/error/code")],
            id="400-other-code",
        ),
        pytest.param(503, "model_not_found", [("errors.unknown-model-404", "status")], id="503-new-api"),
        pytest.param(404, None, [("errors.unknown-model-code", "/error/code")], id="404-null-code"),
        pytest.param(
            500,
            "model_not_found",
            [("errors.unknown-model-rejected", "status"), ("errors.unknown-model-404", "status")],
            id="500",
        ),
        pytest.param(
            502,
            "model_not_found",
            [("errors.unknown-model-rejected", "status"), ("errors.unknown-model-404", "status")],
            id="502",
        ),
    ],
)
def test_check_unknown_model(status: int, code: str | None, found: list[tuple[str, str]]) -> None:
    assert ids_where(checks.check_unknown_model(exchange(status, error_body(code=code)))) == found


def test_check_unknown_model_served_with_200() -> None:
    served = exchange(200, {"object": "chat.completion", "choices": []})
    assert ids_where(checks.check_unknown_model(served)) == [
        ("errors.unknown-model-rejected", "status"),
        ("errors.unknown-model-404", "status"),
        ("errors.unknown-model-code", "/error/code"),
    ]
    assert checks.check_unknown_model(served)[2].actual == "<no error object>"


# --------------------------------------------------------------------------- auth codes


@pytest.mark.parametrize(
    ("ex", "found"),
    [
        pytest.param(exchange(401, error_body(code="invalid_api_key")), [], id="ok"),
        pytest.param(
            exchange(401, error_body(code="")), [("auth.unknown-key-code", "/error/code")], id="empty"
        ),
        pytest.param(
            exchange(401, error_body(code=_ABSENT)), [("auth.unknown-key-code", "/error/code")], id="absent"
        ),
        pytest.param(
            exchange(401, b"nope", content_type="text/plain"),
            [("auth.unknown-key-code", "/error/code")],
            id="no-envelope",
        ),
        pytest.param(exchange(500, error_body(code="x")), [], id="5xx-not-judged"),
        pytest.param(exchange(200, {"object": "list"}), [], id="2xx-not-judged"),
    ],
)
def test_check_unknown_key_code(ex: Exchange, found: list[tuple[str, str]]) -> None:
    assert ids_where(checks.check_unknown_key_code(ex)) == found


@pytest.mark.parametrize(
    ("status", "code", "count"),
    [
        (401, None, 0),
        (403, "insufficient_quota", 0),
        (429, "insufficient_quota", 0),
        (403, "quota", 1),
        (429, None, 1),
    ],
)
def test_check_exhausted_key_code(status: int, code: str | None, count: int) -> None:
    found = checks.check_exhausted_key_code(exchange(status, error_body(code=code)))
    assert ids_where(found) == [("auth.exhausted-key-code", "/error/code")] * count


def test_check_error_code_message() -> None:
    (violation,) = checks.check_error_code(
        exchange(401, error_body(code="nope")), "invalid_api_key", requirement="auth.unknown-key-code"
    )
    assert (violation.expected, violation.actual) == ('error.code "invalid_api_key"', "nope")


# --------------------------------------------------------------------------- Retry-After and bursts


NOW = datetime(2026, 11, 29, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("2", 2.0),
        (" 0 ", 0.0),
        ("1.5", 1.5),
        ("-1", None),
        ("nan", None),
        ("inf", None),
        ("soon", None),
        ("", None),
        (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
        (format_datetime(NOW - timedelta(seconds=30), usegmt=True), 0.0),
    ],
)
def test_parse_retry_after(value: str, seconds: float | None) -> None:
    assert checks.parse_retry_after(value, now=NOW) == seconds


@pytest.mark.parametrize(
    ("ex", "found"),
    [
        pytest.param(exchange(429, GOOD_ERROR, headers={"Retry-After": "1"}), [], id="seconds"),
        pytest.param(
            exchange(429, GOOD_ERROR), [("errors.rate-limit-retry-after", "header Retry-After")], id="none"
        ),
        pytest.param(
            exchange(429, GOOD_ERROR, headers={"retry-after": "later"}),
            [("errors.rate-limit-retry-after", "header Retry-After")],
            id="garbage",
        ),
        pytest.param(exchange(503, GOOD_ERROR), [], id="not-429"),
    ],
)
def test_check_retry_after(ex: Exchange, found: list[tuple[str, str]]) -> None:
    assert ids_where(checks.check_retry_after(ex)) == found


@pytest.mark.parametrize(
    ("count", "elapsed", "exceeds"),
    [(11, 0.5, True), (11, 2.0, False), (10, 0.1, False), (20, 1.9, True)],
)
def test_burst_exceeds_limit(count: int, elapsed: float, exceeds: bool) -> None:
    assert checks.burst_exceeds_limit(count, elapsed, limit=5, window=2.0) is exceeds


def test_check_rate_limited_burst() -> None:
    ok = exchange(200, {"object": "list"})
    limited = exchange(429, GOOD_ERROR)
    assert checks.check_rate_limited_burst([ok] * 5 + [limited], 0.1, limit=5, window=2.0) == []
    never = checks.check_rate_limited_burst([ok] * 11, 0.3, limit=5, window=2.0)
    assert ids_where(never) == [("errors.rate-limited", "status")]
    assert "all 11 requests answered 2xx" in never[0].actual
    assert checks.check_rate_limited_burst([ok] * 11, 2.5, limit=5, window=2.0) == []  # too slow to tell
    odd = checks.check_rate_limited_burst([ok, exchange(503, GOOD_ERROR)], 0.1, limit=5, window=2.0)
    assert ids_where(odd) == [("errors.rate-limited", "status")]
    assert odd[0].actual.startswith("HTTP 503")
