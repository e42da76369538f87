"""The relay lane's settings: ``[upstream]``, ``[models] relay_*`` and the relay features."""

from __future__ import annotations

import pytest

from conformance.config import describe, resolve
from conformance.errors import ConfigError

RELAY = ["relay", "relay.responses", "relay.embeddings"]
UPSTREAM = {"listen": "0.0.0.0:8777", "public_url": "http://gw-host:8777/v1", "key": "sk-channel-x",
            "gateway_timeout": 2.5}
MODELS = {"relay_chat": "gw-chat", "relay_responses": "gw-chat", "relay_embeddings": "gw-embed"}


def test_upstream_table_and_relay_models_resolve() -> None:
    file = {"target": {"features": RELAY}, "models": MODELS, "upstream": UPSTREAM}
    settings = resolve({}, {}, file, file_name="t.toml", known_features=RELAY)
    assert settings.upstream is not None
    assert (settings.upstream.listen, settings.upstream.public_url) == ("0.0.0.0:8777", "http://gw-host:8777/v1")
    assert settings.upstream.key == "sk-channel-x" and settings.upstream.gateway_timeout == 2.5
    assert settings.models["relay_embeddings"] == "gw-embed"
    assert "sk-channel-x" not in repr(settings.upstream)
    shown = {key: value for key, value, _ in describe(settings)}
    assert shown["upstream.key"] == "********" and shown["upstream.listen"] == "0.0.0.0:8777"


def test_without_upstream_there_is_no_relay_lane() -> None:
    file = {"target": {"features": ["chat"]}, "models": {"chat": "m"}}
    settings = resolve({}, {}, file, file_name="t.toml", known_features=["chat", *RELAY])
    assert settings.upstream is None


@pytest.mark.parametrize(("feature", "missing"),
                         [("relay", "upstream.listen"), ("relay.embeddings", "upstream.listen")])
def test_relay_feature_without_upstream_is_a_config_error(feature: str, missing: str) -> None:
    with pytest.raises(ConfigError, match=rf"{feature}.*{missing}"):
        resolve({}, {}, {"target": {"features": [feature]}, "models": MODELS}, file_name="t.toml",
                known_features=[feature])


def test_relay_feature_needs_its_model() -> None:
    with pytest.raises(ConfigError, match="models.relay_responses"):
        resolve({}, {}, {"target": {"features": ["relay.responses"]}, "upstream": UPSTREAM}, file_name="t.toml",
                known_features=["relay.responses"])


@pytest.mark.parametrize("feature", RELAY)
def test_relay_feature_needs_no_model_when_the_run_may_create_its_channel(feature: str) -> None:
    """[upstream] and a platform admin token: the run's channel serves the relay models (D115)."""
    file = {"target": {"features": [feature]}, "upstream": UPSTREAM,
            "platform": {"access_token": "u", "admin_access_token": "a"}}
    settings = resolve({}, {}, file, file_name="t.toml", known_features=[feature])
    assert not any(name.startswith("relay_") for name in settings.models)


def test_relay_feature_without_admin_token_still_needs_its_model() -> None:
    file = {"target": {"features": ["relay.embeddings"]}, "upstream": UPSTREAM, "platform": {"access_token": "u"}}
    with pytest.raises(ConfigError, match="models.relay_embeddings"):
        resolve({}, {}, file, file_name="t.toml", known_features=["relay.embeddings"])
