"""The run's relay channel as data (D115-D117): when a run needs one, its body, the gate of relay tests."""

from __future__ import annotations

import json
from types import MappingProxyType

from conformance.config import Platform, Settings, UpstreamSettings
from conformance.plugin.run_channel import (
    RunChannel,
    channel_body,
    channel_capabilities,
    gate,
    new_channel,
    source_line,
    unavailable,
    with_channel_models,
)
from conformance.upstream.app import UPSTREAM_MODELS

KEY = "sk-upstream-channel-key"
UPSTREAM = UpstreamSettings(listen="127.0.0.1:0", key=KEY, public_url="http://127.0.0.1:9999/v1")
RELAY = frozenset({"relay", "relay.responses", "relay.embeddings", "relay.moderation", "relay.rerank"})


def _settings(*, writes: bool = True, admin: str | None = "admin", models: dict[str, str] | None = None,
              features: frozenset[str] = RELAY) -> Settings:
    return Settings(base_url="http://gw/v1", features=features, models=MappingProxyType(models or {}),
                    platform=Platform(access_token="u", admin_access_token=admin), upstream=UPSTREAM,
                    allow_writes=writes)


def test_the_channel_serves_the_declared_relay_features_without_a_declared_model() -> None:
    assert channel_capabilities(_settings()) == ["chat", "responses", "embeddings", "moderation", "rerank"]
    assert channel_capabilities(_settings(models={"relay_chat": "gw-chat"})) == [
        "responses", "embeddings", "moderation", "rerank"]   # declared models win
    assert channel_capabilities(_settings(features=frozenset({"relay.embeddings", "chat"}))) == ["embeddings"]


def test_what_keeps_a_run_from_creating_its_channel() -> None:
    assert unavailable(_settings()) is None
    assert "--allow-writes" in str(unavailable(_settings(writes=False)))
    assert "admin_access_token" in str(unavailable(_settings(admin=None)))


def test_the_channel_body_maps_run_unique_models_onto_the_upstreams() -> None:
    channel = new_channel("0102abcd", _settings())
    assert channel.models["chat"] == "nxc-0102abcd-chat" and channel.name == "nexhina-conformance-0102abcd-relay"
    body = channel_body(channel, _settings())
    assert body["models"].split(",")[0] == "nxc-0102abcd-chat"   # the channel test sends the first model
    assert json.loads(body["model_mapping"]) == {m: UPSTREAM_MODELS[c] for c, m in channel.models.items()}
    assert body["base_url"] == "http://127.0.0.1:9999" and body["key"] == KEY
    assert KEY not in json.dumps(channel.record())


def test_relay_tests_are_error_when_the_channel_failed_and_not_supported_when_it_could_not_be_made() -> None:
    failed = RunChannel("r", "n", {"chat": "nxc-r-chat"}, problem="testing the run's channel failed: HTTP 200")
    reason = gate(_settings(), ["relay"], failed)
    assert reason is not None and reason[1] and "testing the run's channel failed" in reason[0]
    reason = gate(_settings(writes=False), ["relay"], None)
    assert reason is not None and not reason[1] and "--allow-writes" in reason[0]
    assert gate(_settings(), ["chat"], failed) is None
    served = RunChannel("r", "n", {"chat": "nxc-r-chat"})
    settings = with_channel_models(_settings(), served)
    assert settings.models["relay_chat"] == "nxc-r-chat" and gate(settings, ["relay"], served) is None
    assert with_channel_models(_settings(), failed).models == {}


def test_the_header_says_where_the_relay_models_come_from() -> None:
    assert "the run's channel nexhina-conformance-r1-relay" in str(source_line(_settings(), "r1"))
    assert "declared" in str(source_line(_settings(models={f"relay_{c}": "m" for c in UPSTREAM_MODELS}), None))
    assert "none for chat" in str(source_line(_settings(writes=False), None))
    assert source_line(_settings(features=frozenset({"chat"})), None) is None
