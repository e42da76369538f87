"""Store channels route their models to their upstream; the channel test calls it (D103)."""

from __future__ import annotations

import json

import httpx

from conformance.reference.config import DEFAULT_API_KEY, ReferenceConfig
from conformance.reference.platform_store import ADMIN_ACCESS_TOKEN
from conformance.reference.server import running_reference
from conformance.upstream.app import UpstreamConfig
from conformance.upstream.markers import new_run_id
from conformance.upstream.server import running_upstream

ADMIN = {"Authorization": f"Bearer {ADMIN_ACCESS_TOKEN}"}
CLIENT = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}


def test_a_created_channel_serves_its_model_and_stops_when_deleted() -> None:
    with running_upstream("127.0.0.1:0", UpstreamConfig("sk-chan", new_run_id())) as upstream, \
            running_reference(ReferenceConfig()) as base, httpx.Client(timeout=5) as client:
        root = base.removesuffix("/v1")
        channel = {"name": "c", "type": 1, "key": "sk-chan", "base_url": upstream.url.removesuffix("/v1"),
                   "models": "nxc-t-chat", "model_mapping": json.dumps({"nxc-t-chat": "up-chat"})}
        assert client.post(f"{root}/api/channel/", json={"mode": "single", "channel": channel},
                           headers=ADMIN).json()["success"] is True
        found = next(c for c in client.get(f"{root}/api/channel/", headers=ADMIN).json()["data"]["items"]
                     if c["name"] == "c")
        assert client.get(f"{root}/api/channel/test/{found['id']}", headers=ADMIN).json()["success"] is True
        marker = str(upstream.markers("answer"))
        body = {"model": "nxc-t-chat", "messages": [{"role": "user", "content": marker}]}
        answer = client.post(f"{base}/chat/completions", json=body, headers=CLIENT)
        assert answer.status_code == 200 and answer.json()["model"] == "nxc-t-chat"
        (record,) = upstream.records.for_marker(marker)
        assert record.json()["model"] == "up-chat" and record.headers["authorization"] == "Bearer sk-chan"
        faulted = base.replace("/v1", "/fault/platform.channel.lifecycle@unrouted/v1")
        assert client.post(f"{faulted}/chat/completions", json=body, headers=CLIENT).status_code == 404
        client.delete(f"{root}/api/channel/{found['id']}", headers=ADMIN)
        assert client.post(f"{base}/chat/completions", json=body, headers=CLIENT).status_code == 404


def test_a_channel_whose_upstream_refuses_its_key_fails_its_test() -> None:
    with running_upstream("127.0.0.1:0", UpstreamConfig("sk-right", new_run_id())) as upstream, \
            running_reference(ReferenceConfig()) as base, httpx.Client(timeout=5) as client:
        root = base.removesuffix("/v1")
        channel = {"name": "bad", "key": "sk-wrong", "base_url": upstream.url, "models": "nxc-bad"}
        client.post(f"{root}/api/channel/", json={"mode": "single", "channel": channel}, headers=ADMIN)
        found = next(c for c in client.get(f"{root}/api/channel/", headers=ADMIN).json()["data"]["items"]
                     if c["name"] == "bad")
        assert client.get(f"{root}/api/channel/test/{found['id']}", headers=ADMIN).json()["success"] is False


def test_the_relay_clients_are_closed_on_shutdown() -> None:
    from conformance.reference.app import Gateway, create_app
    from conformance.reference.server import running_app

    app = create_app(ReferenceConfig(upstream_url="http://127.0.0.1:9/v1", channel_key="sk-x"))
    gateway = app.router.default
    assert isinstance(gateway, Gateway) and gateway.relay is not None
    with running_app(app):
        assert not gateway.relay._client.is_closed
    assert gateway.relay._client.is_closed


#: One request per relayed capability (path, body without its model), plain and streamed.
_RELAYED = {
    "chat": ("/chat/completions", {"messages": [{"role": "user", "content": "hi {marker}"}]}),
    "chat-stream": ("/chat/completions", {"messages": [{"role": "user", "content": "hi {marker}"}], "stream": True}),
    "responses": ("/responses", {"input": "hi {marker}"}),
    "responses-stream": ("/responses", {"input": "hi {marker}", "stream": True}),
    "embeddings": ("/embeddings", {"input": "hi {marker}"}),
    "moderation": ("/moderations", {"input": "hi {marker}"}),
    "rerank": ("/rerank", {"query": "hi {marker}", "documents": ["a cat", "a dog"]}),
    "images": ("/images/generations", {"prompt": "a red square {marker}", "response_format": "b64_json"}),
    "speech": ("/audio/speech", {"input": "hi {marker}", "voice": "nova", "response_format": "wav"}),
}


def test_a_channel_forwards_every_relayed_capability_plain_and_streamed() -> None:
    """Channel mode's route (D118): each capability's run-unique model reaches the upstream mapped."""
    from conformance.reference.relay import RELAYED_PATHS
    from conformance.upstream.app import UPSTREAM_MODELS

    with running_upstream("127.0.0.1:0", UpstreamConfig("sk-chan", new_run_id())) as upstream, \
            running_reference(ReferenceConfig()) as base, httpx.Client(timeout=5) as client:
        root = base.removesuffix("/v1")
        caps = sorted({name.removesuffix("-stream") for name in _RELAYED})
        mapping = {f"nxc-t-{cap}": UPSTREAM_MODELS[cap] for cap in caps}
        channel = {"name": "run", "type": 1, "key": "sk-chan", "base_url": upstream.url.removesuffix("/v1"),
                   "models": ",".join(mapping), "model_mapping": json.dumps(mapping)}
        client.post(f"{root}/api/channel/", json={"mode": "single", "channel": channel}, headers=ADMIN)
        for name, (path, template) in _RELAYED.items():
            assert path in RELAYED_PATHS
            cap = name.removesuffix("-stream")
            marker = str(upstream.markers("stream-clean" if template.get("stream") else "answer"))
            body = json.loads(json.dumps(template).replace("{marker}", marker))
            answer = client.post(f"{base}{path}", json={**body, "model": f"nxc-t-{cap}"}, headers=CLIENT)
            assert answer.status_code == 200, (name, answer.text[:300])
            if body.get("stream"):
                assert answer.headers["content-type"].startswith("text/event-stream") and "data:" in answer.text
            (record,) = upstream.records.for_marker(marker)
            assert record.json()["model"] == UPSTREAM_MODELS[cap], name
            assert record.headers["authorization"] == "Bearer sk-chan", name
