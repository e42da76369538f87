"""The reference's wire layer: latency and the hostile faults."""

from __future__ import annotations

import time

import httpx
import pytest

from conformance.reference.config import ReferenceConfig
from conformance.reference.faults import parse_faults
from conformance.reference.server import running_reference

KEY = {"Authorization": "Bearer sk-nexhina-reference"}
CHAT = {"model": "ref-chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


def test_latency_delays_every_request_and_per_operation_latency_replaces_it() -> None:
    config = ReferenceConfig(latency_ms=150, operation_latency_ms=(("/models", 0.0),))
    with running_reference(config) as base, httpx.Client(timeout=5) as client:
        started = time.monotonic()
        assert client.post(f"{base}/chat/completions", json=CHAT, headers=KEY).status_code == 200
        assert time.monotonic() - started >= 0.15
        started = time.monotonic()
        assert client.get(f"{base}/models", headers=KEY).status_code == 200
        assert time.monotonic() - started < 0.15


def test_hostile_faults_by_url_leave_other_faults_to_the_app() -> None:
    with running_reference(ReferenceConfig()) as base, httpx.Client(timeout=httpx.Timeout(5, read=0.5)) as client:
        root = base.removesuffix("/v1")
        answer = client.get(f"{root}/fault/hostile:html-502/v1/models", headers=KEY)
        assert answer.status_code == 502 and answer.headers["content-type"].startswith("text/html")
        with pytest.raises(httpx.TransportError):
            client.get(f"{root}/fault/hostile:reset/v1/models", headers=KEY)
        url = f"{root}/fault/hostile:chat-no-answer+models.list.object/v1"
        with pytest.raises(httpx.ReadTimeout):
            client.post(f"{url}/chat/completions", json=CHAT, headers=KEY)
        streamed = client.post(f"{url}/chat/completions", json={**CHAT, "stream": True}, headers=KEY)
        assert streamed.status_code == 200
        assert client.get(f"{url}/models", headers=KEY).json()["object"] == "models"   # the app's fault


def test_hostile_faults_for_the_whole_server() -> None:
    config = ReferenceConfig(faults=parse_faults(["hostile:reset"]))
    with running_reference(config) as base, httpx.Client(timeout=2) as client:
        with pytest.raises(httpx.TransportError):
            client.get(f"{base}/models", headers=KEY)
