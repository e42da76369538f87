"""Unit tests of conformance.checks.relay and checks.key_echo on canned data (no network)."""

from __future__ import annotations

import json
from typing import Any

from conformance.checks import relay
from conformance.checks.key_echo import check_key_not_echoed
from conformance.model import Exchange, SSEEvent

ENVELOPE = {"error": {"message": "nxc upstream error-400 for M: scripted failure", "type": "invalid_request_error",
                      "param": None, "code": "x"}}
UPSTREAM = {
    "id": "chatcmpl-1", "object": "chat.completion", "model": "up-chat",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi M"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 37, "completion_tokens": 23, "total_tokens": 60,
              "prompt_tokens_details": {"cached_tokens": 11}},
}


def exchange(status: int | None, body: Any = b"", *, headers: dict[str, str] | None = None,
             elapsed: float = 0.1) -> Exchange:
    """A recorded JSON exchange."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Exchange(method="POST", url="http://127.0.0.1:1/v1/chat/completions", request_headers={},
                    request_body=None, status=status,
                    response_headers={"Content-Type": "application/json", **(headers or {})}, body=raw,
                    elapsed=elapsed)


def ids(found: Any) -> list[str]:
    return sorted(v.requirement for v in found)


def test_forwarded_clean_and_allowed_rewrites() -> None:
    sent = {"model": "relay-chat", "seed": 3, "max_tokens": 5, "stream_options": {"include_usage": False},
            "extra": 1}
    received = {"model": "up-chat", "seed": 3, "max_completion_tokens": 5, "stream_options": {"include_usage": True}}
    found = relay.check_forwarded(sent, received, requirement="relay.forwarding.chat", droppable=("extra",))
    assert list(found) == []
    assert found.judged == {"relay.forwarding.chat"}


def test_forwarded_dropped_altered_and_not_json() -> None:
    sent = {"model": "m", "seed": 3, "stop": ["x"], "extra": 1}
    found = relay.check_forwarded(sent, {"stop": ["y"], "extra": 2}, requirement="relay.forwarding.chat",
                                  droppable=("extra",))
    assert [v.where for v in found] == ["upstream body /seed", "upstream body /stop", "upstream body /extra"]
    assert ids(relay.check_forwarded(sent, None, requirement="relay.forwarding.embeddings")) == [
        "relay.forwarding.embeddings"]


def test_exactly_once() -> None:
    assert list(relay.check_exactly_once([200])) == []
    assert list(relay.check_exactly_once([503, 200])) == []
    assert ids(relay.check_exactly_once([200, 200])) == ["relay.exactly-once"]
    assert ids(relay.check_exactly_once([])) == ["relay.exactly-once"]


def test_answer_relayed() -> None:
    client = {**UPSTREAM, "model": "relay-chat"}
    assert list(relay.check_answer_relayed(UPSTREAM, client)) == []
    changed = {**client, "id": "gw-1", "choices": [{**UPSTREAM["choices"][0], "finish_reason": "length"}]}
    assert [v.where for v in relay.check_answer_relayed(UPSTREAM, changed)] == ["/id", "/choices"]
    found = relay.check_answer_relayed(UPSTREAM, {"id": "other"}, requirement="relay.concurrency")
    assert set(ids(found)) == {"relay.concurrency"}
    assert list(relay.check_own_answer(UPSTREAM, changed)) == []          # only the content decides
    other = {**client, "choices": [{"index": 0, "message": {"content": "hi N"}, "finish_reason": "stop"}]}
    assert ids(relay.check_own_answer(UPSTREAM, other)) == ["relay.concurrency"]
    assert ids(relay.check_own_answer(None, client)) == ["relay.concurrency"]
    assert list(relay.check_answer_relayed(None, client)) == []


def test_usage_exact() -> None:
    assert list(relay.check_usage_exact(UPSTREAM, UPSTREAM)) == []
    invented = {**UPSTREAM, "usage": {"prompt_tokens": 38, "completion_tokens": 23, "total_tokens": 61}}
    wheres = [v.where for v in relay.check_usage_exact(UPSTREAM, invented)]
    assert wheres == ["/usage/prompt_tokens", "/usage/total_tokens", "/usage/prompt_tokens_details"]
    assert list(relay.check_usage_exact({"id": "x"}, {"usage": {"total_tokens": 1}})) == []   # computed: allowed


def test_keys() -> None:
    assert list(relay.check_client_key_not_forwarded({"authorization": "Bearer chan"}, b"{}", "sk-client")) == []
    found = relay.check_client_key_not_forwarded({"x-client-authorization": "Bearer sk-client"}, b"sk-client",
                                                  "sk-client")
    assert [v.where for v in found] == ["upstream header x-client-authorization", "upstream body"]
    assert list(relay.check_channel_key_absent(exchange(502, ENVELOPE), "sk-chan")) == []
    leaked = exchange(502, {"error": {"message": "key sk-chan refused"}})
    assert ids(relay.check_channel_key_absent(leaked, "sk-chan")) == ["relay.key.channel-key"]
    assert "sk-chan" not in relay.check_channel_key_absent(leaked, "sk-chan")[0].actual


def test_key_not_echoed() -> None:
    key = "sk-nxc-echo-0123456789abcdef"
    assert list(check_key_not_echoed(exchange(401, {"error": {"message": "Incorrect key sk-***def"}}), key)) == []
    assert list(check_key_not_echoed(exchange(200, {"echo": key}), key)) == []
    echoed = check_key_not_echoed(exchange(401, {"error": {"message": f"Incorrect key {key}"}}), key)
    assert ids(echoed) == ["auth.key-not-echoed"]
    assert echoed.judged == {"auth.key-not-echoed"}


def test_client_error_relayed() -> None:
    message = "nxc upstream error-400 for M: scripted failure"
    assert list(relay.check_client_error_relayed(exchange(400, ENVELOPE), message)) == []
    generic = {"error": {"message": "Bad request.", "type": "invalid_request_error", "param": None, "code": None}}
    assert [v.where for v in relay.check_client_error_relayed(exchange(400, generic), message)] == ["/error/message"]
    assert [v.where for v in relay.check_client_error_relayed(exchange(502, ENVELOPE), message)] == ["status"]
    # A broken envelope still carries the message: the envelope is errors.envelope-shape's to fail.
    assert list(relay.check_client_error_relayed(exchange(400, {"error": message}), message)) == []
    assert list(relay.check_client_error_relayed(exchange(400, f"<p>{message}</p>".encode()), message)) == []


def test_channel_auth() -> None:
    assert list(relay.check_channel_auth(exchange(502, ENVELOPE))) == []
    assert ids(relay.check_channel_auth(exchange(401, ENVELOPE))) == ["relay.errors.channel-auth"]


def test_rate_limit_relayed() -> None:
    assert list(relay.check_rate_limit_relayed(exchange(429, ENVELOPE, headers={"Retry-After": "3"}), 3.0)) == []
    assert list(relay.check_rate_limit_relayed(exchange(200, UPSTREAM), 3.0)) == []
    short = exchange(429, ENVELOPE, headers={"Retry-After": "1"})
    assert ids(relay.check_rate_limit_relayed(short, 3.0)) == ["relay.errors.rate-limit"]
    assert ids(relay.check_rate_limit_relayed(exchange(429, ENVELOPE), 3.0)) == ["relay.errors.rate-limit"]
    assert ids(relay.check_rate_limit_relayed(exchange(500, ENVELOPE), 3.0)) == ["relay.errors.rate-limit"]


def test_server_error_relayed() -> None:
    assert list(relay.check_server_error_relayed(exchange(502, ENVELOPE))) == []
    assert list(relay.check_server_error_relayed(exchange(200, UPSTREAM))) == []
    assert ids(relay.check_server_error_relayed(exchange(200, ENVELOPE))) == ["relay.errors.server-error"]
    assert ids(relay.check_server_error_relayed(exchange(400, ENVELOPE))) == ["relay.errors.server-error"]
    # The 5xx's envelope is the errors.envelope-* requirements' (judged beside it), not this one's.
    assert list(relay.check_server_error_relayed(exchange(502, b"<html>"))) == []


def test_timeout_relayed() -> None:
    assert list(relay.check_timeout_relayed(exchange(504, ENVELOPE, elapsed=1.1), 1.0, 0.5)) == []
    assert [v.where for v in relay.check_timeout_relayed(exchange(504, ENVELOPE, elapsed=1.8), 1.0, 0.5)] == [
        "elapsed"]
    assert [v.where for v in relay.check_timeout_relayed(exchange(200, UPSTREAM), 1.0, 0.5)] == ["status"]


def _events(*texts: str) -> tuple[SSEEvent, ...]:
    return tuple(SSEEvent(i, json.dumps({"choices": [{"index": 0, "delta": {"content": t}}]}))
                 for i, t in enumerate(texts)) + (SSEEvent(len(texts), "[DONE]"),)


def test_own_stream() -> None:
    assert relay.stream_text(_events("a", "b")) == "ab"
    assert list(relay.check_own_stream(_events("hi ", "M"), _events("hi M"))) == []
    assert ids(relay.check_own_stream(_events("hi ", "M"), _events("hi N"))) == ["relay.concurrency"]
    assert ids(relay.check_own_stream((), _events("x"))) == ["relay.concurrency"]
    assert ids(relay.check_own_stream(_events("x"), None)) == ["relay.concurrency"]


def test_body_relayed() -> None:
    upstream = {"id": "modr-1", "model": "up-m", "results": [{"flagged": False}]}
    assert list(relay.check_body_relayed(upstream, {**upstream, "model": "relay-m"},
                                         requirement="relay.forwarding.moderation")) == []
    assert list(relay.check_body_relayed({**upstream, "usage": {"total_tokens": 3}}, upstream,
                                         requirement="relay.forwarding.rerank")) == []   # usage: its own check
    changed = {**upstream, "results": []}
    found = relay.check_body_relayed(upstream, changed, requirement="relay.forwarding.rerank")
    assert [v.where for v in found] == ["/results"] and found.judged == {"relay.forwarding.rerank"}
    assert ids(relay.check_body_relayed(None, upstream, requirement="relay.forwarding.rerank")) == [
        "relay.forwarding.rerank"]
