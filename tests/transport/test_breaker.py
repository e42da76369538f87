"""The circuit breakers and the shared budget as the transport uses them."""

from __future__ import annotations

import time

import pytest

from conformance.errors import BudgetExceeded, CircuitOpen, TransportTimeout
from conformance.ledger import Ledger
from conformance.transport import Transport
from tests.support.hostile_server import HostileServer
from tests.transport.transport_helpers import make_settings


def test_two_unanswered_requests_open_the_breaker_of_that_operation_and_mode(server: HostileServer) -> None:
    ledger = Ledger.memory(max_requests=50)
    with Transport(make_settings(server.url("never")), ledger=ledger) as transport:
        for _ in range(2):
            with pytest.raises(TransportTimeout):
                transport.request("POST", "/chat/completions", json={})
        sent = transport.sent
        started = time.monotonic()
        with pytest.raises(CircuitOpen, match=r"POST /chat/completions \(not streamed\).*TransportTimeout"):
            transport.request("POST", "/chat/completions", json={})
        assert time.monotonic() - started < 0.2 and transport.sent == sent   # refused without sending
        with pytest.raises(TransportTimeout):      # the streamed mode has its own breaker
            transport.stream("POST", "/chat/completions", json={})
    assert list(ledger.open_breakers()) == ["POST /chat/completions (not streamed)"]


def test_an_answer_in_between_resets_the_count(server: HostileServer) -> None:
    ledger = Ledger.memory(max_requests=50)
    settings = make_settings(server.url("never"))
    with Transport(settings, ledger=ledger) as bad, \
            Transport(make_settings(server.url("json-ok")), ledger=ledger) as good:
        with pytest.raises(TransportTimeout):
            bad.request("GET", "/models")
        good.request("GET", "/models")
        with pytest.raises(TransportTimeout):
            bad.request("GET", "/models")
    assert ledger.open_breakers() == {}


def test_stalled_streams_count_as_trouble(server: HostileServer) -> None:
    ledger = Ledger.memory(max_requests=50)
    with Transport(make_settings(server.url("stall")), ledger=ledger) as transport:
        for _ in range(2):
            assert transport.stream("POST", "/chat/completions", json={}).outcome in {"stalled", "deadline"}
        with pytest.raises(CircuitOpen, match="streamed"):
            transport.stream("POST", "/chat/completions", json={})


def test_scripted_requests_never_trip_but_an_open_breaker_stops_them(server: HostileServer) -> None:
    ledger = Ledger.memory(max_requests=50)
    with Transport(make_settings(server.url("never")), ledger=ledger, scripted=True) as scripted:
        for _ in range(3):
            with pytest.raises(TransportTimeout):
                scripted.request("POST", "/chat/completions", json={})
    assert ledger.open_breakers() == {}
    with Transport(make_settings(server.url("never")), ledger=ledger) as transport:
        for _ in range(2):
            with pytest.raises(TransportTimeout):
                transport.request("POST", "/chat/completions", json={})
        # A target that does not answer the operation at all: scripted traffic would only wait its bound out.
        with pytest.raises(CircuitOpen):
            transport.request("POST", "/chat/completions", json={}, scripted=True)
        assert transport.sent == 2


def test_two_transports_on_one_ledger_file_share_one_budget(server: HostileServer, tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    Ledger.create(tmp_path, max_requests=3, deadline=None)
    path = tmp_path / Ledger.FILE
    with Transport(make_settings(server.url("json-ok")), ledger=Ledger.open(path)) as one, \
            Transport(make_settings(server.url("json-ok")), ledger=Ledger.open(path)) as two:
        one.request("GET", "/models")
        two.request("GET", "/models")
        one.request("POST", "/chat/completions", json={})
        with pytest.raises(BudgetExceeded, match="budget of 3 requests"):
            two.request("GET", "/models")
    snapshot = Ledger.open(path).snapshot()
    assert snapshot["sent"] == 3 and snapshot["refused"] == 1
    assert snapshot["per_operation"] == {"GET /models": 2, "POST /chat/completions": 1}


def test_after_the_deadline_nothing_is_sent(server: HostileServer) -> None:
    ledger = Ledger.memory(max_requests=50, deadline=time.time() - 1)
    with Transport(make_settings(server.url("json-ok")), ledger=ledger) as transport:
        with pytest.raises(BudgetExceeded, match="deadline"):
            transport.request("GET", "/models")
        assert transport.sent == 0


def test_independent_requests_go_out_concurrently_in_order(server: HostileServer) -> None:
    with Transport(make_settings(server.url("json-ok"))) as transport:
        results = transport.concurrently(*(lambda i=i: transport.request("GET", f"/models?i={i}") for i in range(6)))
    assert [r.url.rsplit("=", 1)[1] for r in results] == [str(i) for i in range(6)]
    assert transport.sent == 6
