"""Transport policy: 429 retries, the request budget, keys and credentials redaction."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from conformance.config import Budgets
from conformance.errors import BudgetExceeded, TransportError
from conformance.transport import Redactor, Transport, retry_delay
from tests.support.hostile_server import HostileServer
from tests.transport.transport_helpers import EXTRA_SECRET, SECRET, make_settings

RETRY = Budgets(max_requests=50, retries_429=2, max_retry_after=0.2)

# --------------------------------------------------------------------------- 429 retries


def test_429_then_200_is_retried_once(server: HostileServer) -> None:
    with Transport(make_settings(server.url("429-then-200"))) as transport:
        ex = transport.request("POST", "/a/chat/completions", json={})
    assert (ex.status, ex.retries_429, transport.sent) == (200, 1, 2)
    assert [h.status for h in transport.history] == [429, 200]


def test_retry_after_is_capped_by_max_retry_after() -> None:
    with HostileServer(retry_after="30") as slow, Transport(make_settings(slow.url("429-then-200"))) as t:
        started = time.monotonic()
        ex = t.request("GET", "/models")
    assert ex.status == 200 and ex.retries_429 == 1
    assert time.monotonic() - started < 2.0      # waited 0.2 s, not 30 s


def test_retry_after_as_http_date(server: HostileServer) -> None:
    with Transport(make_settings(server.url("429-date"))) as transport:
        started = time.monotonic()
        ex = transport.request("GET", "/b/models")
    assert (ex.status, ex.retries_429) == (200, 1) and time.monotonic() - started < 2.0


def test_429_forever_gives_up_after_the_configured_retries(server: HostileServer) -> None:
    with Transport(make_settings(server.url("429-forever"))) as transport:
        ex = transport.request("GET", "/models")
    assert (ex.status, ex.retries_429, transport.sent) == (429, 2, 3)
    assert ex.header("retry-after") == "0"


def test_retry_can_be_disabled_for_rate_limit_tests(server: HostileServer) -> None:
    with Transport(make_settings(server.url("429-forever"))) as transport:
        ex = transport.request("GET", "/models", retry_429=False)
    assert (ex.status, ex.retries_429, transport.sent) == (429, 0, 1)


def test_streams_retry_429_too(server: HostileServer) -> None:
    with Transport(make_settings(server.url("429-then-200"))) as transport:
        ex = transport.stream("POST", "/c/chat/completions", json={})
    assert (ex.status, ex.retries_429) == (200, 1)


NOW = datetime(2026, 11, 29, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("header", "attempt", "expected"), [
    ("3", 0, 3.0),
    ("1.5", 0, 1.5),
    ("100", 0, 10.0),                                   # capped
    ("-5", 0, 0.0),                                     # never negative
    ("inf", 0, 10.0),
    (format_datetime(NOW + timedelta(seconds=4), usegmt=True), 0, 4.0),
    (format_datetime(NOW - timedelta(seconds=4), usegmt=True), 0, 0.0),
    ("soon", 0, 0.5),                                   # unusable: backoff 0.5 * 2**attempt
    (None, 2, 2.0),
    ("nan", 1, 1.0),
    (None, 10, 10.0),
])
def test_retry_delay(header: str | None, attempt: int, expected: float) -> None:
    assert retry_delay(header, attempt, cap=10.0, now=NOW) == pytest.approx(expected)


# --------------------------------------------------------------------------- budget


def test_budget_is_enforced_and_counts_every_request(server: HostileServer) -> None:
    settings = make_settings(server.url("json-ok"), budgets=Budgets(max_requests=2))
    with Transport(settings) as transport:
        transport.request("GET", "/models")
        transport.stream("POST", "/chat/completions", json={})
        with pytest.raises(BudgetExceeded, match="budget of 2 requests"):
            transport.fetch(server.url("json-ok") + "/img.png")
    assert transport.sent == 2 and len(transport.history) == 2


def test_retries_stop_at_the_budget(server: HostileServer) -> None:
    settings = make_settings(server.url("429-forever"), budgets=Budgets(max_requests=2, retries_429=5,
                                                                         max_retry_after=0.0))
    with Transport(settings) as transport:
        ex = transport.request("GET", "/models")
        assert (ex.status, ex.retries_429, transport.sent) == (429, 1, 2)
        with pytest.raises(BudgetExceeded):
            transport.request("GET", "/models")


def test_a_failed_request_still_counts(server: HostileServer) -> None:
    with Transport(make_settings(server.url("close"))) as transport:
        with pytest.raises(TransportError):
            transport.request("POST", "/chat/completions", json={"model": "m"})
    assert transport.sent == 1


# --------------------------------------------------------------------------- keys


def _sent_auth(server: HostileServer) -> str | None:
    return server.received[-1].headers.get("authorization")


def test_key_selection(server: HostileServer) -> None:
    with Transport(make_settings(server.url("json-ok"))) as transport:
        transport.request("GET", "/models")
        assert _sent_auth(server) == f"Bearer {SECRET}"
        transport.request("GET", "/models", key=None)
        assert _sent_auth(server) is None
        transport.request("GET", "/models", key="sk-other")
        assert _sent_auth(server) == "Bearer sk-other"
        ex = transport.request("GET", "/models", headers={"authorization": "Basic dXNlcg=="})
        assert _sent_auth(server) == "Basic dXNlcg=="
        assert ex.request_headers["authorization"] == "Basic ********"
        transport.request("GET", "/models", key=None, headers={"Authorization": "Bearer"})
        assert _sent_auth(server) == "Bearer"
        transport.request("GET", "/models", key=None, headers={"Authorization": ""})
        assert _sent_auth(server) == ""


def test_a_header_value_http_cannot_carry_is_a_transport_error(server: HostileServer) -> None:
    # h11 refuses leading/trailing whitespace in a header value: "Bearer " cannot be sent as is.
    with Transport(make_settings(server.url("json-ok"))) as transport:
        with pytest.raises(TransportError, match="Illegal header value"):
            transport.request("GET", "/models", headers={"Authorization": "Bearer "})


def test_fetch_sends_credentials_only_under_the_base_url(server: HostileServer) -> None:
    base = server.url("echo") + "/v1"
    with Transport(make_settings(base)) as transport:
        inside = transport.fetch(base + "/files/1")
        outside = transport.fetch(server.url("echo") + "/assets/1")
        lookalike = transport.fetch(base + "x/files/1")
    assert "authorization" in inside.json()["headers"]
    assert "authorization" not in outside.json()["headers"]
    assert "authorization" not in lookalike.json()["headers"]


# --------------------------------------------------------------------------- redaction


def _assert_clean(text: str) -> None:
    assert SECRET not in text and EXTRA_SECRET not in text
    assert SECRET[3:] not in text                      # not even the tail of the key


def test_secrets_never_reach_records_curl_lines_or_logs(
    server: HostileServer, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="conformance.transport")
    with Transport(make_settings(server.url("echo"))) as transport:
        exchanges = [
            transport.request(
                "POST", f"/chat/completions?key={SECRET}", json={"note": SECRET, "other": EXTRA_SECRET},
                headers={"X-Api-Key": SECRET, "Cookie": f"s={SECRET}", "api-key": SECRET,
                         "Proxy-Authorization": f"Basic {SECRET}"}),
            transport.request("POST", "/embeddings", key=EXTRA_SECRET, data={"k": SECRET},
                              files={"file": ("a.wav", SECRET.encode(), "audio/wav")}),
            transport.request("GET", "/models", key=None, headers={"Authorization": SECRET}),
        ]
    first = exchanges[0]
    assert first.status == 200 and SECRET in server.received[-3].body.decode()   # it was really sent
    assert first.request_headers["authorization"] == "Bearer ********"
    assert first.request_headers["x-api-key"] == "********" and first.request_headers["cookie"] == "********"
    assert first.response_headers["set-cookie"] == "********"
    assert first.response_headers["x-echo-auth"] == "Bearer ********"
    assert first.json()["body"] == '{"note":"********","other":"********"}'
    assert exchanges[2].request_headers["authorization"] == "********"
    for ex in exchanges:
        _assert_clean(repr(ex) + ex.curl())
    _assert_clean(repr(transport.history))
    _assert_clean(caplog.text)
    assert any("/chat/completions" in r.getMessage() for r in caplog.records)


def test_secrets_in_streams_are_masked_and_framing_is_kept(server: HostileServer) -> None:
    with Transport(make_settings(server.url("sse-echo"))) as transport:
        ex = transport.stream("POST", "/chat/completions", json={})
    assert ex.sse is not None
    _assert_clean(repr(ex) + ex.curl())
    assert ex.sse.events[0].json() == {"echo": "Bearer ********"}
    assert ex.sse.events[-1].data == "[DONE]" and ex.sse.diagnostics == ()


def test_secrets_never_reach_exception_messages(server: HostileServer) -> None:
    with Transport(make_settings(server.url("close"), budgets=Budgets(max_requests=1))) as transport:
        with pytest.raises(TransportError) as timeout:
            transport.request("POST", f"/models?key={SECRET}", json={})
        with pytest.raises(BudgetExceeded) as budget:
            transport.request("GET", f"/models?key={SECRET}")
    _assert_clean(str(timeout.value) + str(budget.value))
    assert "key=********" in str(budget.value)


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("Authorization", f"Bearer {SECRET}", "Bearer ********"),
    ("authorization", "Bearer", "Bearer"),
    ("Authorization", "Bearer ", "Bearer "),
    ("Authorization", "Basic abc", "Basic ********"),
    ("Authorization", "sk-abc", "********"),
    ("Authorization", "", ""),
    ("X-API-Key", "anything", "********"),
    ("Set-Cookie", "a=b", "********"),
    ("X-Request-Id", f"req-{SECRET}", "req-********"),
    ("Content-Type", "application/json", "application/json"),
])
def test_header_redaction(name: str, value: str, expected: str) -> None:
    assert Redactor([SECRET]).header(name, value) == expected


def test_redactor_masks_the_longest_secret_first_and_url_encoded_forms() -> None:
    redactor = Redactor(["sk-ref", "sk-ref-disabled", "a/b+c"])
    assert redactor.text("x sk-ref-disabled y sk-ref") == "x ******** y ********"
    assert redactor.text("?k=a%2Fb%2Bc") == "?k=********"
    assert redactor.data(b"sk-ref") == b"********"
    assert Redactor([]).text("unchanged") == "unchanged"
