"""The key table: every setting's dotted name, parser, default, environment variable and layers.

Owns: `KEYS` (one scheme for every layer), which features need which settings
(`FEATURE_CAPABILITY`, `FEATURE_NEEDS`) and the command-line flag of a key (`CLI_FLAGS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from conformance.config.parsers import (
    Parser,
    parse_boolean,
    parse_features,
    parse_model_list,
    parse_number,
    parse_optional_path,
    parse_patterns,
    parse_profile_name,
    parse_text,
    parse_url,
)
from conformance.config.values import (
    CAPABILITIES,
    PLATFORM_SECRETS,
    RELAY_CAPABILITIES,
    SECRET_KEY_NAMES,
    TLS,
    Budgets,
    Properties,
    Timeouts,
)
from conformance.profiles import CORE_FEATURES

#: The capability (hence the ``models.<capability>`` key) a feature's tests send requests to.
FEATURE_CAPABILITY: Mapping[str, str] = MappingProxyType({
    "chat": "chat", "chat.streaming": "chat", "chat.tools": "chat", "chat.limits": "chat", "chat.n": "chat",
    "chat.stop": "chat", "chat.response-format": "chat", "determinism": "chat",
    "responses": "responses", "responses.streaming": "responses", "embeddings": "embeddings",
    "images": "images", "images.url": "images", "audio.speech": "speech",
    "audio.transcription": "transcription", "audio.translation": "translation", "video": "video",
    "rerank": "rerank",
    # ``relay`` relays chat; ``relay.<capability>`` each other relay capability (RELAY_CAPABILITIES).
    "relay": "relay_chat", **{f"relay.{cap}": f"relay_{cap}" for cap in RELAY_CAPABILITIES if cap != "chat"},
})


@dataclass(frozen=True, slots=True)
class Key:
    name: str
    parse: Parser
    default: object = None
    env: str | None = None                                # the env layer is read iff this is set
    layers: frozenset[str] = frozenset({"cli", "file"})   # other layers that may give it
    secret: bool = False



POSITIVE = parse_number(float, 0.0, strict_min=True)
# Slotted dataclasses keep no class-level defaults, so read them from default instances.
_B, _T, _TLS, _P = Budgets(), Timeouts(), TLS(), Properties()
KEYS: tuple[Key, ...] = (
    Key("target.base_url", parse_url, env="NEXHINA_BASE_URL"),
    Key("target.api_key", parse_text, env="NEXHINA_API_KEY", secret=True),
    Key("target.name", parse_text),
    Key("target.version", parse_text),
    Key("target.features", parse_features, CORE_FEATURES, env="NEXHINA_FEATURES"),
    *(Key(f"models.{cap}", parse_text) for cap in CAPABILITIES),
    *(Key(f"models.relay_{cap}", parse_text) for cap in RELAY_CAPABILITIES),
    Key("upstream.listen", parse_text),
    Key("upstream.public_url", parse_url),
    Key("upstream.key", parse_text, secret=True),
    Key("upstream.gateway_timeout", POSITIVE, 30.0),
    *(Key(f"keys.{name}", parse_text, secret=True) for name in SECRET_KEY_NAMES),
    Key("keys.model_restricted_model", parse_text),
    Key("matrix.models", parse_model_list, (), env="NEXHINA_MODELS"),
    *(Key(f"matrix.{cap}", parse_patterns, ()) for cap in CAPABILITIES),
    Key("limits.rate_limit_requests", parse_number(int, 1)),
    Key("limits.rate_limit_window_seconds", POSITIVE),
    Key("limits.body_limit_bytes", parse_number(int, 1)),
    Key("budgets.max_requests", parse_number(int, 1), _B.max_requests, env="NEXHINA_MAX_REQUESTS"),
    Key("budgets.max_tokens", parse_number(int, 1), _B.max_tokens, env="NEXHINA_MAX_TOKENS"),
    Key("budgets.max_response_bytes", parse_number(int, 1), _B.max_response_bytes),
    Key("budgets.max_stream_bytes", parse_number(int, 1), _B.max_stream_bytes),
    Key("budgets.retries_429", parse_number(int, 0), _B.retries_429),
    Key("budgets.max_retry_after", parse_number(float, 0.0), _B.max_retry_after),
    Key("budgets.max_duration", POSITIVE, _B.max_duration, env="NEXHINA_MAX_DURATION"),
    Key("budgets.concurrency", parse_number(int, 1), _B.concurrency),
    Key("timeouts.connect", POSITIVE, _T.connect, env="NEXHINA_CONNECT_TIMEOUT"),
    Key("timeouts.read", POSITIVE, _T.read, env="NEXHINA_READ_TIMEOUT"),
    Key("timeouts.request", POSITIVE, _T.request, env="NEXHINA_REQUEST_TIMEOUT"),
    Key("timeouts.stream", POSITIVE, _T.stream, env="NEXHINA_STREAM_TIMEOUT"),
    Key("timeouts.video_deadline", POSITIVE, _T.video_deadline, env="NEXHINA_VIDEO_DEADLINE"),
    Key("timeouts.video_poll_interval", POSITIVE, _T.video_poll_interval),
    Key("tls.verify", parse_boolean, _TLS.verify),
    Key("tls.ca_bundle", parse_optional_path, env="NEXHINA_CA_BUNDLE"),
    Key("properties.max_examples", parse_number(int, 1), _P.max_examples, env="NEXHINA_MAX_EXAMPLES"),
    Key("properties.seed", parse_number(int, None), _P.seed, env="NEXHINA_SEED"),
    Key("properties.case_cache", parse_boolean, _P.case_cache, env="NEXHINA_CASE_CACHE"),
    Key("platform.base_url", parse_url),
    *(Key(f"platform.{name}", parse_text, secret=True) for name in PLATFORM_SECRETS),
    Key("platform.user_id", parse_number(int, 1)),
    Key("platform.channel_base_url", parse_url),
    Key("profile", parse_profile_name, "full", env="NEXHINA_PROFILE", layers=frozenset({"cli"})),
    Key("allow_writes", parse_boolean, False, layers=frozenset({"cli"})),
)
API_KEY_ENV = "target.api_key_env"   # file-only indirection, not a setting of its own

#: Dotted keys the ``run`` command line sets under another name.
CLI_FLAGS: Mapping[str, str] = MappingProxyType({
    "target.base_url": "--base-url", "target.api_key": "--api-key", "profile": "--profile",
    "properties.seed": "--seed", "matrix.models": "--models",
})

#: Declared features that cannot be tested without these settings.
FEATURE_NEEDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "auth.disabled-key": ("keys.disabled",),
    "auth.expired-key": ("keys.expired",),
    "auth.exhausted-key": ("keys.exhausted",),
    "auth.model-restricted-key": ("keys.model_restricted", "keys.model_restricted_model"),
    "rate-limit": ("keys.rate_limited", "limits.rate_limit_requests", "limits.rate_limit_window_seconds"),
    "body-limit": ("limits.body_limit_bytes",),
    "platform": ("platform.access_token",),
    "platform.isolation": ("platform.access_token", "platform.other_access_token"),
    "platform.admin": ("platform.access_token", "platform.admin_access_token"),
    "platform.writes": ("platform.access_token",),
    **{feature: ("upstream.listen", "upstream.key") for feature in (
        "relay", *(f"relay.{cap}" for cap in RELAY_CAPABILITIES if cap != "chat"))},
})
