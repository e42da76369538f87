"""End to end: the reference in relay mode forwarding to the scripted upstream over real sockets."""

from __future__ import annotations

import httpx

from conformance.reference.config import ReferenceConfig
from conformance.reference.server import running_reference
from conformance.upstream.app import UpstreamConfig
from conformance.upstream.markers import new_run_id
from conformance.upstream.scripts import CHAT_USAGE, RETRY_AFTER
from conformance.upstream.server import running_upstream

CHANNEL = "sk-e2e-channel"
CLIENT = "sk-nexhina-reference"


def test_reference_relays_to_the_scripted_upstream() -> None:
    config = UpstreamConfig(CHANNEL, new_run_id(), slow_delay=0.6)
    with running_upstream("127.0.0.1:0", config) as upstream:
        reference = ReferenceConfig(upstream_url=upstream.url, channel_key=CHANNEL, relay_timeout=0.3)
        with running_reference(reference) as base, httpx.Client(timeout=5) as client:
            auth = {"Authorization": f"Bearer {CLIENT}"}
            marker = str(upstream.markers("answer"))
            body = {"model": "relay-chat", "messages": [{"role": "user", "content": marker}], "seed": 7}
            answer = client.post(f"{base}/chat/completions", json=body, headers=auth)
            assert answer.status_code == 200
            assert answer.json()["usage"] == CHAT_USAGE
            (record,) = upstream.records.for_marker(marker)
            assert record.json() == {**body, "model": "up-chat"}
            assert record.headers["authorization"] == f"Bearer {CHANNEL}"
            assert CLIENT not in str(dict(record.headers))
            limited = client.post(f"{base}/chat/completions", headers=auth, json={
                **body, "messages": [{"role": "user", "content": str(upstream.markers("error-429"))}]})
            assert limited.status_code == 429 and limited.headers["retry-after"] == str(RETRY_AFTER)
            slow = client.post(f"{base}/chat/completions", headers=auth, json={
                **body, "messages": [{"role": "user", "content": str(upstream.markers("slow"))}]})
            assert slow.status_code == 504 and slow.elapsed.total_seconds() < 0.8
            plain = client.post(f"{base}/chat/completions", headers=auth,
                                json={"model": "ref-chat", "messages": [{"role": "user", "content": "hi"}]})
            assert plain.status_code == 200          # not a relay model: answered by the reference itself
