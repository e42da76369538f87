"""The preflight (conformance.target.preflight): usable, unreachable (exit 3), key rejected (exit 4)."""

from __future__ import annotations

from conformance.target import preflight
from tests.support.hostile_server import HostileServer
from tests.transport.transport_helpers import make_settings


def test_a_server_that_never_answers_is_unreachable() -> None:
    with HostileServer() as server:
        failure = preflight(make_settings(server.url("close")))
    assert failure is not None and failure.exit_code == 3
    assert "cannot reach the target" in failure.message and "no answer, twice" in failure.message


def test_a_refused_connection_is_unreachable() -> None:
    failure = preflight(make_settings("http://127.0.0.1:9/v1"))
    assert failure is not None and failure.exit_code == 3 and "cannot reach the target" in failure.message


def test_a_server_that_answers_is_usable() -> None:
    with HostileServer() as server:
        assert preflight(make_settings(server.url("json-ok"))) is None
