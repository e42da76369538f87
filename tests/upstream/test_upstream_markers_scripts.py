"""Unit tests of conformance.upstream: markers, scripts and the app (in-process ASGI client)."""

from __future__ import annotations

from starlette.testclient import TestClient

from conformance.upstream.app import UpstreamConfig, create_upstream_app
from conformance.upstream.markers import MarkerFactory, find_marker, new_run_id
from conformance.upstream.records import RecordStore
from conformance.upstream.scripts import CHAT_USAGE, RETRY_AFTER, SCRIPTS, render

KEY = "sk-test-channel"


def test_markers_round_trip_and_last_wins() -> None:
    run = new_run_id()
    make = MarkerFactory(run)
    first, second = make("answer"), make("error-429")
    assert (first.case, second.case) == (1, 2)
    body = f'{{"messages":[{{"content":"old {first}"}},{{"content":"new {second}"}}]}}'.encode()
    assert find_marker(body, run) == second
    assert find_marker(body, "00000000") is None
    assert find_marker(b"no marker") is None


def test_usage_numbers_are_distinct_and_odd() -> None:
    counts = [CHAT_USAGE["prompt_tokens"], CHAT_USAGE["completion_tokens"],
              CHAT_USAGE["prompt_tokens_details"]["cached_tokens"],
              CHAT_USAGE["completion_tokens_details"]["reasoning_tokens"]]
    assert len(set(counts)) == len(counts) and all(n % 2 for n in counts)


def test_render_error_and_tools() -> None:
    error = render(SCRIPTS["error-400"], "chat", {}, "nxc-1")
    assert "nxc-1" in error["error"]["message"]
    tools = render(SCRIPTS["tools"], "chat", {"tools": [{"type": "function", "function": {"name": "f"}}]}, "m")
    assert tools["choices"][0]["finish_reason"] == "tool_calls"
    assert tools["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "f"
    assert "usage" not in render(SCRIPTS["no-usage"], "responses", {}, "m")


def test_app_records_and_answers_by_script() -> None:
    run = new_run_id()
    store = RecordStore()
    client = TestClient(create_upstream_app(UpstreamConfig(KEY, run, slow_delay=0.01), store))
    marker = MarkerFactory(run)("error-429")
    body = {"model": "up-chat", "messages": [{"role": "user", "content": f"hi {marker}"}]}
    answer = client.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"})
    assert answer.status_code == 429 and answer.headers["retry-after"] == str(RETRY_AFTER)
    refused = client.post("/v1/chat/completions", json=body, headers={"Authorization": "Bearer other"})
    assert refused.status_code == 401
    records = store.for_marker(str(marker))
    assert [r.status for r in records] == [429, 401]
    assert records[0].json() == body and records[0].headers["authorization"] == f"Bearer {KEY}"
    plain = client.post("/v1/embeddings", json={"model": "up-embed", "input": "x"},
                        headers={"Authorization": f"Bearer {KEY}"})
    assert plain.status_code == 200 and plain.json()["object"] == "list"   # no marker: like the reference
    assert store.all()[-1].marker is None
