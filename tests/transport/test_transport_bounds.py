"""Transport against a hostile server: every misbehaviour ends within its bound, clearly recorded."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import replace

import httpx
import pytest

from conformance.config import TLS, Budgets, Settings
from conformance.errors import ConfigError, ConnectError, TransportError, TransportTimeout
from conformance.model import Exchange
from conformance.transport import Transport
from tests.support.hostile_server import HostileServer
from tests.transport.transport_helpers import SECRET, TIGHT, make_settings

#: Slack on top of the documented worst case (deadline + one read timeout), for a busy CI box.
SLACK = 0.5


def timed(call: Callable[[], Exchange]) -> tuple[Exchange, float]:
    started = time.monotonic()
    exchange = call()
    return exchange, time.monotonic() - started


def test_plain_request_is_recorded(server: HostileServer) -> None:
    with Transport(make_settings(server.url("json-ok"))) as transport:
        ex = transport.request("POST", "/chat/completions", json={"model": "m"})
    assert (ex.status, ex.outcome, ex.json()) == (200, "complete", {"ok": True})
    assert ex.method == "POST" and ex.url == server.url("json-ok") + "/chat/completions"
    assert ex.request_body == b'{"model":"m"}' and ex.sse is None and ex.retries_429 == 0
    assert ex.content_type == "application/json" and ex.elapsed > 0
    assert transport.sent == 1 and transport.history == (ex,)


def test_never_answering_server_raises_transport_timeout(server: HostileServer) -> None:
    with Transport(make_settings(server.url("never"))) as transport:
        started = time.monotonic()
        with pytest.raises(TransportTimeout, match="no response within the bound") as info:
            transport.request("GET", f"/models?key={SECRET}")
    assert time.monotonic() - started < TIGHT.request + TIGHT.read + SLACK
    assert SECRET not in str(info.value) and "key=********" in str(info.value)


def test_slow_headers_beyond_the_bound_time_out(server: HostileServer) -> None:
    with Transport(make_settings(server.url("slow-headers"))) as transport:
        started = time.monotonic()
        with pytest.raises(TransportTimeout):
            transport.stream("POST", "/chat/completions", json={})
    assert time.monotonic() - started < TIGHT.stream + TIGHT.read + SLACK


def test_slow_headers_within_the_bound_are_fine() -> None:
    with HostileServer(slow_headers_delay=0.1) as slow, Transport(make_settings(slow.url("slow-headers"))) as t:
        assert t.request("GET", "/models").status == 200


def test_endless_drip_stream_is_cut_at_the_deadline(server: HostileServer) -> None:
    with Transport(make_settings(server.url("drip"))) as transport:
        ex, elapsed = timed(lambda: transport.stream("POST", "/chat/completions", json={}))
    assert ex.outcome == "deadline" and ex.status == 200
    assert TIGHT.stream <= elapsed < TIGHT.stream + TIGHT.read + SLACK
    assert ex.sse is not None and len(ex.sse.events) >= 3
    assert "missing-done" in {d.kind for d in ex.sse.diagnostics}


def test_silent_stream_is_recorded_as_stalled(server: HostileServer) -> None:
    with Transport(make_settings(server.url("stall"))) as transport:
        ex, elapsed = timed(lambda: transport.stream("POST", "/chat/completions", json={}))
    assert ex.outcome == "stalled" and elapsed < TIGHT.read + SLACK
    assert ex.sse is not None and len(ex.sse.events) == 1


def test_connection_dropped_mid_stream(server: HostileServer) -> None:
    with Transport(make_settings(server.url("drop"))) as transport:
        ex = transport.stream("POST", "/chat/completions", json={})
    assert ex.outcome == "dropped" and ex.sse is not None and len(ex.sse.events) == 2
    assert ex.body == ex.sse.raw


def test_connection_dropped_before_content_length(server: HostileServer) -> None:
    with Transport(make_settings(server.url("drop-length"))) as transport:
        ex = transport.request("GET", "/models")
    assert (ex.outcome, ex.body, ex.status) == ("dropped", b'{"partial"', 200)


def test_oversize_body_is_cut_at_the_cap(server: HostileServer) -> None:
    settings = make_settings(server.url("oversize"), budgets=Budgets(max_response_bytes=100_000))
    with Transport(settings) as transport:
        ex, elapsed = timed(lambda: transport.request("GET", "/models"))
    assert ex.outcome == "oversize" and len(ex.body) == 100_000 and elapsed < 2.0


def test_oversize_stream_is_cut_at_the_stream_cap(server: HostileServer) -> None:
    settings = make_settings(server.url("oversize-sse"), budgets=Budgets(max_stream_bytes=5_000))
    with Transport(settings) as transport:
        ex = transport.stream("POST", "/chat/completions", json={})
    assert ex.outcome == "oversize" and ex.sse is not None and len(ex.sse.raw) == 5_000


def test_body_exactly_at_the_cap_is_complete(server: HostileServer) -> None:
    settings = make_settings(server.url("json-ok"), budgets=Budgets(max_response_bytes=len(b'{"ok": true}')))
    with Transport(settings) as transport:
        ex = transport.request("GET", "/models")
    assert ex.outcome == "complete" and ex.json() == {"ok": True}


def test_html_502_is_recorded_not_raised(server: HostileServer) -> None:
    with Transport(make_settings(server.url("html-502"))) as transport:
        ex = transport.request("POST", "/chat/completions", json={})
    assert (ex.status, ex.content_type, ex.outcome) == (502, "text/html", "complete")
    assert b"502 Bad Gateway" in ex.body


def test_well_formed_stream(server: HostileServer) -> None:
    with Transport(make_settings(server.url("sse"))) as transport:
        ex = transport.stream("POST", "/chat/completions", json={"stream": True})
    assert ex.outcome == "complete" and ex.sse is not None
    assert [e.data for e in ex.sse.events][-1] == "[DONE]" and ex.sse.diagnostics == ()
    assert ex.body == ex.sse.raw


def test_stream_split_into_tiny_chunks_with_crlf(server: HostileServer) -> None:
    with Transport(make_settings(server.url("sse-split"))) as transport:
        split = transport.stream("POST", "/chat/completions", json={})
    with Transport(make_settings(server.url("sse"))) as transport:
        plain = transport.stream("POST", "/chat/completions", json={})
    assert split.sse is not None and plain.sse is not None
    assert [e.data for e in split.sse.events] == [e.data for e in plain.sse.events]
    assert split.sse.diagnostics == ()


def test_stream_of_a_json_answer_has_no_transcript(server: HostileServer) -> None:
    with Transport(make_settings(server.url("json-ok"))) as transport:
        ex = transport.stream("POST", "/chat/completions", json={"stream": True})
    assert ex.sse is None and ex.json() == {"ok": True}


def test_connection_refused_raises_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with Transport(make_settings(f"http://127.0.0.1:{port}/v1")) as transport:
        with pytest.raises(ConnectError, match="cannot connect"):
            transport.request("GET", "/models")


@pytest.mark.parametrize("mode", ["close", "garbage"])
def test_no_valid_response_raises_transport_error(server: HostileServer, mode: str) -> None:
    with Transport(make_settings(server.url(mode))) as transport:
        with pytest.raises(TransportError) as info:
            transport.request("POST", "/chat/completions", json={"model": "m"})   # never replayed (D30)
    assert not isinstance(info.value, (ConnectError, TransportTimeout))
    assert isinstance(info.value.__cause__, httpx.HTTPError)   # chained, not leaked


def test_a_given_client_is_used_and_not_closed() -> None:
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(204)))
    with Transport(make_settings("http://mock.invalid/v1"), client=client) as transport:
        assert transport.request("DELETE", "/x").status == 204
    assert not client.is_closed
    client.close()


def test_settings_without_base_url_are_rejected() -> None:
    with pytest.raises(ConfigError, match="target.base_url"):
        Transport(Settings())


def test_missing_ca_bundle_is_a_config_error() -> None:
    settings: Settings = replace(make_settings("https://127.0.0.1:1/v1"), tls=TLS(ca_bundle="/nonexistent/ca.pem"))
    with pytest.raises(ConfigError, match="tls.ca_bundle"):
        Transport(settings)
