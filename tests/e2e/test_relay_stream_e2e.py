"""End to end: the reference relaying faulted upstream streams over real sockets (D47)."""

from __future__ import annotations

import json

import httpx

from conformance.reference.config import ReferenceConfig
from conformance.reference.server import running_reference
from conformance.upstream.app import UpstreamConfig
from conformance.upstream.markers import new_run_id
from conformance.upstream.server import running_upstream

CHANNEL = "sk-e2e-channel"
AUTH = {"Authorization": "Bearer sk-nexhina-reference"}


def test_failed_upstream_streams_end_with_an_error_event_not_done() -> None:
    config = UpstreamConfig(CHANNEL, new_run_id(), slow_delay=0.6)
    with running_upstream("127.0.0.1:0", config) as upstream:
        reference = ReferenceConfig(upstream_url=upstream.url, channel_key=CHANNEL, relay_timeout=0.3)
        with running_reference(reference) as base, httpx.Client(timeout=5) as client:
            for script in ("stream-cut", "stream-malformed", "stream-drop", "stream-stall"):
                marker = str(upstream.markers(script))
                body = {"model": "relay-chat", "stream": True, "messages": [{"role": "user", "content": marker}]}
                text = client.post(f"{base}/chat/completions", json=body, headers=AUTH).text
                last = text.strip().split("\n\n")[-1]
                assert "[DONE]" not in text, script
                assert "error" in json.loads(last.removeprefix("data: ")), script
            marker = str(upstream.markers("stream-clean"))
            body = {"model": "relay-chat", "stream": True, "messages": [{"role": "user", "content": marker}]}
            assert client.post(f"{base}/chat/completions", json=body, headers=AUTH).text.endswith("data: [DONE]\n\n")
