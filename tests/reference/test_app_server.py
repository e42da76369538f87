"""running_reference, serve and the target file; the whole reference end to end."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import httpx
import pytest
from reference_app_support import TEST_CONFIG

from conformance.config import resolve
from conformance.errors import ConfigError
from conformance.reference.config import ReferenceConfig
from conformance.reference.models import MODELS
from conformance.reference.relay import RELAY_CAPABILITIES
from conformance.reference.server import running_reference, serve, target_file_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_AUTH = {"Authorization": f"Bearer {TEST_CONFIG.api_key}"}


def test_running_reference_starts_fast_and_releases_its_port(request_schemas: object) -> None:
    # request_schemas: the spec is parsed once per process; time the server, not that parse.
    started = time.monotonic()
    with running_reference(TEST_CONFIG) as base_url:
        elapsed = time.monotonic() - started
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        assert httpx.get(f"{base_url}/models", headers=_AUTH).status_code == 200
        port = int(base_url.rsplit(":", 1)[1].split("/")[0])
    assert elapsed < 1.0
    with socket.socket() as probe:  # nothing listens any more
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    assert not [t for t in __import__("threading").enumerate() if t.name == "nexhina-reference"]


def test_two_references_run_side_by_side() -> None:
    with running_reference(TEST_CONFIG) as first, running_reference(TEST_CONFIG) as second:
        assert first != second
        assert httpx.get(f"{second}/models", headers=_AUTH).status_code == 200


_JSON_OPERATIONS = [
    (
        "/chat/completions",
        {"model": MODELS["chat"], "messages": [{"role": "user", "content": "Say OK."}], "max_tokens": 16},
    ),
    ("/responses", {"model": MODELS["responses"], "input": "Say OK."}),
    ("/embeddings", {"model": MODELS["embeddings"], "input": "hello"}),
    ("/images/generations", {"model": MODELS["images"], "prompt": "a cat", "response_format": "url"}),
    ("/moderations", {"model": MODELS["moderation"], "input": "hello"}),
    ("/rerank", {"model": MODELS["rerank"], "query": "fruit", "documents": ["apple", "car"]}),
    ("/video/generations", {"model": MODELS["video"], "prompt": "a cat"}),
]


@pytest.mark.parametrize(("path", "body"), _JSON_OPERATIONS, ids=[p for p, _ in _JSON_OPERATIONS])
def test_live_json_operations(live_reference: str, path: str, body: dict[str, object]) -> None:
    response = httpx.post(f"{live_reference}{path}", json=body, headers=_AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json().get("error") is None


def test_live_stream_speech_transcription_assets_and_video(live_reference: str) -> None:
    chat = {"model": MODELS["chat"], "messages": [{"role": "user", "content": "hi"}], "stream": True}
    stream = httpx.post(f"{live_reference}/chat/completions", json=chat, headers=_AUTH)
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.text.rstrip().endswith("data: [DONE]")
    speech = httpx.post(
        f"{live_reference}/audio/speech",
        headers=_AUTH,
        json={"model": MODELS["speech"], "input": "hi", "voice": "alloy", "response_format": "wav"},
    )
    assert speech.status_code == 200 and speech.content.startswith(b"RIFF")
    for path in ("/audio/transcriptions", "/audio/translations"):
        text = httpx.post(
            f"{live_reference}{path}",
            headers=_AUTH,
            data={"model": MODELS["transcription"]},
            files={"file": ("a.wav", speech.content, "audio/wav")},
        )
        assert text.status_code == 200 and isinstance(text.json()["text"], str)
    image = httpx.post(
        f"{live_reference}/images/generations", headers=_AUTH, json={"prompt": "a cat", "response_format": "url"}
    ).json()
    fetched = httpx.get(image["data"][0]["url"])
    assert fetched.status_code == 200 and fetched.content.startswith(b"\x89PNG")
    task = httpx.post(
        f"{live_reference}/video/generations", headers=_AUTH, json={"model": MODELS["video"], "prompt": "a cat"}
    ).json()
    polled = httpx.get(f"{live_reference}/video/generations/{task['id']}", headers=_AUTH)
    assert polled.status_code == 200 and polled.json()["id"] == task["id"]
    unknown = httpx.get(f"{live_reference}/video/generations/nope", headers=_AUTH)
    assert unknown.status_code == 404 and unknown.json()["error"]["message"]


def test_live_fault_prefix_reaches_engine_faults(live_reference: str) -> None:
    root = live_reference.removesuffix("/v1")
    chat = {"model": MODELS["chat"], "messages": [{"role": "user", "content": "hi"}], "stream": True}
    clean = httpx.post(f"{live_reference}/chat/completions", json=chat, headers=_AUTH).text
    faulted = httpx.post(f"{root}/fault/chat.stream.done-sentinel/v1/chat/completions", json=chat, headers=_AUTH).text
    assert "[DONE]" in clean and clean != faulted


def test_target_file_describes_the_reference() -> None:
    config = ReferenceConfig()
    text = target_file_text("http://127.0.0.1:8765/v1", config)
    document = tomllib.loads(text)
    assert document["target"]["base_url"] == "http://127.0.0.1:8765/v1"
    assert document["target"]["api_key"] == config.api_key
    assert document["target"]["name"] == "nexhina-reference"
    assert {"models", "chat", "auth", "errors", "rate-limit", "body-limit"} <= set(document["target"]["features"])
    assert document["models"] == MODELS
    assert "upstream" not in document and "relay" not in document["target"]["features"]
    relayed = tomllib.loads(target_file_text("http://127.0.0.1:8765/v1", ReferenceConfig(
        upstream_url="http://127.0.0.1:8766/v1")))
    assert relayed["models"] == {**MODELS, **{f"relay_{c}": m for c, m in RELAY_CAPABILITIES.items()}}
    assert relayed["upstream"] == {"listen": "127.0.0.1:8766", "public_url": "http://127.0.0.1:8766/v1",
                                   "key": config.channel_key, "gateway_timeout": config.relay_timeout}
    assert {"relay", "relay.responses", "relay.embeddings", "relay.moderation", "relay.rerank"} <= set(
        relayed["target"]["features"])
    assert document["keys"]["rate_limited"] == config.rate_limited_key
    assert document["keys"]["model_restricted_model"] == config.model_restricted_model
    assert document["limits"] == {
        "rate_limit_requests": 5,
        "rate_limit_window_seconds": 1.0,
        "body_limit_bytes": 1024 * 1024,
    }
    assert document["timeouts"]["video_poll_interval"] < 1


def test_target_file_resolves_as_settings() -> None:
    document = tomllib.loads(target_file_text("http://127.0.0.1:8765/v1", TEST_CONFIG))
    settings = resolve({}, {}, document)
    assert settings.base_url == "http://127.0.0.1:8765/v1"
    assert settings.keys.exhausted == TEST_CONFIG.exhausted_key
    assert settings.limits.rate_limit_window_seconds == 0.5


def test_serve_refuses_non_loopback_hosts_and_unknown_faults(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="loopback"):
        serve(host="0.0.0.0", port=0)
    with pytest.raises(ConfigError, match="unknown fault"):
        serve(port=0, faults=["nope"])
    assert not list(tmp_path.iterdir())


def test_config_hides_keys_and_rejects_bad_values() -> None:
    assert TEST_CONFIG.api_key not in repr(TEST_CONFIG)
    with pytest.raises(ConfigError, match="distinct"):
        ReferenceConfig(disabled_key=ReferenceConfig().api_key)
    with pytest.raises(ConfigError, match="whitespace"):
        ReferenceConfig(api_key="sk a")
    with pytest.raises(ConfigError, match="rate_limit_requests"):
        ReferenceConfig(rate_limit_requests=0)


@pytest.mark.skipif(sys.platform == "win32", reason="signals")
def test_serve_blocks_until_interrupted_and_writes_the_target(tmp_path: Path) -> None:
    import signal
    import threading

    target = tmp_path / "target.toml"
    ready: list[str] = []
    answered: list[int] = []

    def probe_then_interrupt() -> None:
        # serve() runs in the main thread in real use; here a helper thread talks to it,
        # then stops it the way Ctrl-C does.
        deadline = time.monotonic() + 5
        while not answered and time.monotonic() < deadline:
            try:
                answered.append(httpx.get(f"{ready[0]}/models", headers={"Authorization": "Bearer sk-x"}).status_code)
            except httpx.TransportError:
                time.sleep(0.01)
        signal.raise_signal(signal.SIGINT)

    prober = threading.Thread(target=probe_then_interrupt)

    def on_ready(url: str) -> None:
        ready.append(url)
        prober.start()

    with pytest.raises(KeyboardInterrupt):  # uvicorn re-raises the signal after a clean shutdown
        serve(port=0, write_target=target, on_ready=on_ready)
    prober.join()
    assert answered == [401]
    assert tomllib.loads(target.read_text())["target"]["base_url"] == ready[0]
