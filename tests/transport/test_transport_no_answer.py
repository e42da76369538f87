"""ERROR vs FAIL in the transport (D30): a replay-safe request that gets no answer is sent once
more, and no answer again is the target's behaviour (an exchange without status, outcome
``no-answer``, for the checks to judge); a request that may create or cost something is never
replayed (`NoAnswer`, an ERROR); a complete answer, however wrong, is recorded as it is.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from conformance.errors import NoAnswer, TransportTimeout
from conformance.transport import Transport, replay_safe
from tests.support.hostile_server import HostileServer
from tests.transport.transport_helpers import make_settings


def mock(answers: list[Callable[[httpx.Request], httpx.Response]]) -> tuple[Transport, list[httpx.Request]]:
    """A transport over a mock whose n-th request gets the n-th behaviour."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[len(seen) - 1](request)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    return Transport(make_settings("http://mock.invalid/v1"), client=client), seen


def reset(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"object": "list", "data": []})


@pytest.mark.parametrize(("method", "body", "safe"), [
    ("GET", {}, True),
    ("HEAD", {}, True),
    ("POST", {"content": b'{"model": "m", "messages": ['}, True),      # malformed JSON: must get 400
    ("POST", {"content": b"\xff\xfe"}, True),
    ("POST", {"content": b'{"model": "m"}'}, False),                    # valid JSON may be served
    ("POST", {"json": {"model": "m"}}, False),
    ("POST", {"files": {"file": ("a.wav", b"RIFF")}}, False),
    ("DELETE", {}, False),
])
def test_replay_safe_requests(method: str, body: dict[str, object], safe: bool) -> None:
    assert replay_safe(method, body) is safe


def test_no_answer_twice_on_a_get_is_the_targets_answer() -> None:
    transport, seen = mock([reset, reset])
    ex = transport.request("GET", "/models")
    assert (ex.status, ex.outcome, ex.body, transport.sent, len(seen)) == (None, "no-answer", b"", 2, 2)
    assert transport.history[-1] is ex


def test_no_answer_once_then_an_answer_is_judged_as_answered() -> None:
    transport, _ = mock([reset, ok])
    ex = transport.request("POST", "/chat/completions", content=b"{not json",
                           headers={"Content-Type": "application/json"})
    assert (ex.status, ex.outcome, transport.sent) == (200, "complete", 2)


def test_a_request_that_may_create_or_cost_is_never_replayed() -> None:
    transport, seen = mock([reset, ok])
    with pytest.raises(NoAnswer, match="no valid response"):
        transport.request("POST", "/chat/completions", json={"model": "m"})
    assert (transport.sent, len(seen)) == (1, 1)


def test_an_html_502_is_an_answer_not_an_error(server: HostileServer) -> None:
    with Transport(make_settings(server.url("html-502"))) as transport:
        ex = transport.request("POST", "/chat/completions", json={"model": "m"})
    assert (ex.status, ex.outcome, transport.sent) == (502, "complete", 1)


def test_a_timeout_stays_an_error_and_is_not_replayed(server: HostileServer) -> None:
    with Transport(make_settings(server.url("never"))) as transport:
        with pytest.raises(TransportTimeout):
            transport.request("GET", "/models")
    assert transport.sent == 1


@pytest.mark.parametrize("mode", ["close", "garbage"])
def test_a_real_close_or_garbage_reproduced_is_recorded(server: HostileServer, mode: str) -> None:
    with Transport(make_settings(server.url(mode))) as transport:
        ex = transport.request("GET", "/models")
    assert (ex.status, ex.outcome, transport.sent) == (None, "no-answer", 2)
