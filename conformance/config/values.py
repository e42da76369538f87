"""The values of a run's settings: one frozen `Settings` and its groups (budgets, timeouts, keys...).

Owns: the dataclasses a resolved run carries, their defaults, their redaction of secrets,
and the capability names (``models.<capability>`` keys). Parsing and precedence live in
``keys`` and ``resolve``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from conformance.model import REDACTED

CAPABILITIES: tuple[str, ...] = (
    "chat", "responses", "embeddings", "images", "speech",
    "transcription", "translation", "video", "moderation", "rerank",
)
#: Capabilities a gateway routes to the scripted upstream: ``[models] relay_<capability>``.
RELAY_CAPABILITIES: tuple[str, ...] = ("chat", "responses", "embeddings", "moderation", "rerank",
                                       "images", "speech", "transcription", "translation")
SECRET_KEY_NAMES = ("disabled", "expired", "exhausted", "model_restricted", "rate_limited")



@dataclass(frozen=True, slots=True)
class AuthKeys:
    """Optional extra API keys in given states, for the auth and rate-limit tests."""

    disabled: str | None = None
    expired: str | None = None
    exhausted: str | None = None
    model_restricted: str | None = None
    model_restricted_model: str | None = None
    rate_limited: str | None = None

    def secrets(self) -> tuple[str, ...]:
        """Every configured key value (for redaction)."""
        return tuple(v for v in (getattr(self, n) for n in SECRET_KEY_NAMES) if v)

    def __repr__(self) -> str:
        shown = {n: (REDACTED if getattr(self, n) else None) for n in SECRET_KEY_NAMES}
        return f"AuthKeys({shown!r}, model_restricted_model={self.model_restricted_model!r})"


PLATFORM_SECRETS = ("access_token", "admin_access_token", "other_access_token")


@dataclass(frozen=True, slots=True)
class Platform:
    """The target's management API (``[platform]``): site root and dashboard access tokens.

    ``base_url`` None means "the target's base URL without its trailing ``/v1``" (D50).
    ``user_id``, when given, is sent as the ``New-Api-User`` header with ``access_token``.
    ``channel_base_url``: the upstream of the channel the run creates (D59).
    """

    base_url: str | None = None
    access_token: str | None = None
    admin_access_token: str | None = None
    other_access_token: str | None = None
    user_id: int | None = None
    channel_base_url: str | None = None

    def secrets(self) -> tuple[str, ...]:
        """Every configured access token (for redaction)."""
        return tuple(v for v in (getattr(self, n) for n in PLATFORM_SECRETS) if v)

    def __repr__(self) -> str:
        shown = {n: (REDACTED if getattr(self, n) else None) for n in PLATFORM_SECRETS}
        return f"Platform(base_url={self.base_url!r}, {shown!r}, user_id={self.user_id!r})"


@dataclass(frozen=True, slots=True)
class Limits:
    """Limits the target declares; ``None`` = not declared (the tests needing it cannot run)."""

    rate_limit_requests: int | None = None
    rate_limit_window_seconds: float | None = None
    body_limit_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class Budgets:
    """Cost bounds of one run; the defaults are safe for a paid endpoint."""

    max_requests: int = 2000
    max_tokens: int = 16
    max_response_bytes: int = 8 * 1024 * 1024
    max_stream_bytes: int = 4 * 1024 * 1024
    retries_429: int = 2
    max_retry_after: float = 10.0
    max_duration: float = 900.0      # seconds for the whole run; then the rest is NOT_RUN
    concurrency: int = 4             # independent requests of one test in flight at once


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Every time bound of the suite, in seconds, in one place."""

    connect: float = 5.0
    read: float = 30.0
    request: float = 60.0
    stream: float = 60.0
    video_deadline: float = 120.0
    video_poll_interval: float = 2.0


@dataclass(frozen=True, slots=True)
class TLS:
    """TLS verification (on by default) and an optional CA bundle path."""

    verify: bool = True
    ca_bundle: str | None = None


@dataclass(frozen=True, slots=True)
class Matrix:
    """The model matrix: ``models`` (``("all",)``, model ids, or empty: one model per
    capability) and ``rules`` (capability -> model-name patterns that map a model to it)."""

    models: tuple[str, ...] = ()
    rules: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class Properties:
    """Settings of the Schemathesis property phase."""

    max_examples: int = 5
    seed: int = 20261129
    #: Replay an operation's generated cases from the user's cache when the spec, seed, example
    #: count, code and libraries are the same (D126); the requests sent are identical.
    case_cache: bool = True


@dataclass(frozen=True, slots=True)
class UpstreamSettings:
    """The scripted upstream of the relay lane (``[upstream]``); see ``conformance.upstream``.

    Attributes:
        listen: ``host:port`` the suite's upstream listens on (port 0: a free one).
        public_url: its base URL as the gateway reaches it (default: the listen address).
        key: the channel key the upstream expects (a key of the run's own upstream, not a
            credential of the target: checks must see it to catch a gateway leaking it).
        gateway_timeout: the gateway's declared upstream timeout, seconds.
    """

    listen: str
    key: str = field(repr=False)
    public_url: str | None = None
    gateway_timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a run needs to know about its target, resolved once and frozen.

    ``base_url`` None means "start the embedded reference gateway". ``sources`` maps every
    dotted key (see `describe`) to the layer its value came from.
    """

    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    implementation_name: str | None = None
    implementation_version: str | None = None
    features: frozenset[str] = frozenset()
    models: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    keys: AuthKeys = AuthKeys()
    limits: Limits = Limits()
    budgets: Budgets = Budgets()
    timeouts: Timeouts = Timeouts()
    tls: TLS = TLS()
    properties: Properties = Properties()
    platform: Platform = Platform()
    upstream: UpstreamSettings | None = None
    profile: str = "full"
    allow_writes: bool = False
    matrix: Matrix = Matrix()
    #: The raw [model_rules] tables of the target file, validated by conformance.model_rules (D72).
    model_rules: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False)

    def secrets(self) -> tuple[str, ...]:
        """Every configured credential: the API key, the extra keys, the access tokens (for redaction)."""
        return ((self.api_key,) if self.api_key else ()) + self.keys.secrets() + self.platform.secrets()

