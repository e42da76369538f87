"""Unit tests of conformance.upstream.streams: the stream plans and their traces (in-process ASGI client)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from conformance.sse import parse_sse
from conformance.upstream.app import UpstreamConfig, create_upstream_app
from conformance.upstream.markers import MarkerFactory, new_run_id
from conformance.upstream.records import RecordStore
from conformance.upstream.streams import MALFORMED, SLOW_GAP, STREAM_SCRIPTS, plan

KEY = "sk-test-channel"
BODY = {"model": "up-chat", "stream": True}


def test_plans_end_as_scripted() -> None:
    def frames(name: str) -> bytes:
        return b"".join(s.frame for s in plan(STREAM_SCRIPTS[name], "chat", BODY, "m", 0.0))

    assert frames("stream-clean").endswith(b"data: [DONE]\n\n") and b'"finish_reason":"stop"' in frames("stream-clean")
    assert b"[DONE]" not in frames("stream-cut") and b'"finish_reason":"stop"' not in frames("stream-cut")
    assert MALFORMED in frames("stream-malformed")
    assert plan(STREAM_SCRIPTS["stream-drop"], "chat", BODY, "m", 0.0)[-1].drop
    assert max(s.pause for s in plan(STREAM_SCRIPTS["stream-stall"], "chat", BODY, "m", 1.0)) >= 3.0
    slow = plan(STREAM_SCRIPTS["stream-slow"], "chat", BODY, "m", 0.0)
    assert sum(s.pause for s in slow) == pytest.approx(3 * SLOW_GAP)
    names = [e.event for e in parse_sse(b"".join(
        s.frame for s in plan(STREAM_SCRIPTS["stream-cut"], "responses", BODY, "m", 0.0))).events]
    assert "response.completed" not in names and names[0] == "response.created"


def test_app_streams_a_script_and_traces_it() -> None:
    run = new_run_id()
    store = RecordStore()
    client = TestClient(create_upstream_app(UpstreamConfig(KEY, run), store))
    marker = str(MarkerFactory(run)("stream-clean"))
    body = {**BODY, "messages": [{"role": "user", "content": f"hi {marker}"}]}
    response = client.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 200 and response.text.endswith("data: [DONE]\n\n")
    assert store.for_marker(marker)[-1].answer == response.content
    trace = store.traces.get(marker)
    assert trace is not None and trace.how == "complete" and len(trace.sent) == response.text.count("data:")
