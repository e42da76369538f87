"""Metering: relayed and streamed answers are logged and charged like plain served ones (D100)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from conformance.reference.app import create_app
from conformance.reference.config import DEFAULT_API_KEY, ReferenceConfig
from conformance.reference.metering import stream_usage

KEY = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}


def _logs(client: TestClient) -> list[dict[str, Any]]:
    logs = client.get("/api/log/token", headers=KEY).json()["data"]
    assert isinstance(logs, list)
    return logs


def test_stream_usage_reads_chat_chunks_and_responses_events() -> None:
    chat = ['data: {"choices": []}', 'data: {"choices": [], "usage": {"prompt_tokens": 3}}', "data: [DONE]"]
    assert stream_usage(chat) == {"prompt_tokens": 3}
    responses = ["event: response.completed", 'data: {"response": {"usage": {"input_tokens": 5}}}']
    assert stream_usage(responses) == {"input_tokens": 5}
    assert stream_usage(["data: not json", ": comment"]) is None


def test_a_streamed_call_with_usage_is_logged_and_charged() -> None:
    client = TestClient(create_app(ReferenceConfig()))
    body = {"model": "ref-chat", "messages": [{"role": "user", "content": "hi"}], "stream": True,
            "stream_options": {"include_usage": True}}
    answer = client.post("/v1/chat/completions", json=body, headers=KEY)
    assert answer.status_code == 200
    usage = stream_usage(answer.text.splitlines())
    assert usage is not None
    (log,) = _logs(client)
    assert log["request_id"] == answer.headers["x-oneapi-request-id"]
    assert (log["prompt_tokens"], log["completion_tokens"], log["is_stream"]) == (
        usage["prompt_tokens"], usage["completion_tokens"], True)
    used = client.get("/api/usage/token", headers=KEY).json()["data"]["total_used"]
    assert used == log["quota"]


def test_a_streamed_call_without_usage_is_not_charged() -> None:
    client = TestClient(create_app(ReferenceConfig()))
    body = {"model": "ref-chat", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    assert client.post("/v1/chat/completions", json=body, headers=KEY).status_code == 200
    assert _logs(client) == []


def test_the_stream_fault_charges_but_does_not_log() -> None:
    client = TestClient(create_app(ReferenceConfig()))
    body = {"model": "ref-chat", "messages": [{"role": "user", "content": "hi"}], "stream": True,
            "stream_options": {"include_usage": True}}
    answer = client.post("/fault/platform.logs.calls@stream/v1/chat/completions", json=body, headers=KEY)
    assert answer.status_code == 200
    assert _logs(client) == []
    assert client.get("/api/usage/token", headers=KEY).json()["data"]["total_used"] > 0
