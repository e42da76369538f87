"""End to end: a relayed call (plain and streamed) writes its Log and charges the token (D100)."""

from __future__ import annotations

import httpx

from conformance.reference.config import ReferenceConfig
from conformance.reference.metering import stream_usage
from conformance.reference.server import running_reference
from conformance.upstream.app import UpstreamConfig
from conformance.upstream.markers import new_run_id
from conformance.upstream.scripts import CHAT_USAGE
from conformance.upstream.server import running_upstream

CHANNEL = "sk-e2e-channel"
CLIENT = "sk-nexhina-reference"


def test_relayed_calls_are_logged_and_charged() -> None:
    with running_upstream("127.0.0.1:0", UpstreamConfig(CHANNEL, new_run_id())) as upstream:
        reference = ReferenceConfig(upstream_url=upstream.url, channel_key=CHANNEL)
        with running_reference(reference) as base, httpx.Client(timeout=5) as client:
            auth = {"Authorization": f"Bearer {CLIENT}"}
            root = base.removesuffix("/v1")
            message = {"role": "user", "content": str(upstream.markers("answer"))}
            plain = client.post(f"{base}/chat/completions", headers=auth,
                                json={"model": "relay-chat", "messages": [message]})
            streamed = client.post(f"{base}/chat/completions", headers=auth, json={
                "model": "relay-chat", "messages": [message], "stream": True,
                "stream_options": {"include_usage": True}})
            assert plain.status_code == streamed.status_code == 200
            assert plain.json()["usage"] == CHAT_USAGE
            streamed_usage = stream_usage(streamed.text.splitlines())
            assert streamed_usage is not None
            logs = {log["request_id"]: log for log in client.get(f"{root}/api/log/token", headers=auth).json()["data"]}
            first = logs[plain.headers["x-oneapi-request-id"]]
            second = logs[streamed.headers["x-oneapi-request-id"]]
            assert (first["model_name"], first["prompt_tokens"], first["completion_tokens"], first["is_stream"]) == (
                "relay-chat", CHAT_USAGE["prompt_tokens"], CHAT_USAGE["completion_tokens"], False)
            assert (second["prompt_tokens"], second["completion_tokens"], second["is_stream"]) == (
                streamed_usage["prompt_tokens"], streamed_usage["completion_tokens"], True)
            used = client.get(f"{root}/api/usage/token", headers=auth).json()["data"]["total_used"]
            assert used == first["quota"] + second["quota"]
