"""The configuration of one reference gateway: its API keys per state, limits and faults.

Owns ``ReferenceConfig`` and the default key values. The same values are written to the
target file (``conformance.reference.server.target_file_text``), so a suite run against the
reference knows which key is disabled, expired, exhausted, model-restricted or rate limited.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.errors import ConfigError
from conformance.reference.faultset import NO_FAULTS, FaultSet
from conformance.reference.model_rules import REASONING_MODEL
from conformance.reference.models import MODELS, variants

DEFAULT_API_KEY = "sk-nexhina-reference"
DEFAULT_DISABLED_KEY = "sk-nexhina-reference-disabled"
DEFAULT_EXPIRED_KEY = "sk-nexhina-reference-expired"
DEFAULT_EXHAUSTED_KEY = "sk-nexhina-reference-exhausted"
DEFAULT_MODEL_RESTRICTED_KEY = "sk-nexhina-reference-restricted"
DEFAULT_MODEL_RESTRICTED_MODEL = "ref-chat"
DEFAULT_RATE_LIMITED_KEY = "sk-nexhina-reference-rate-limited"
DEFAULT_RATE_LIMIT_REQUESTS = 5
DEFAULT_RATE_LIMIT_WINDOW_SECONDS = 1.0  # D125: the recovery wait is the rate-limit test's whole cost
DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024
DEFAULT_VIDEO_POLLS = 2
#: The channel key the reference sends to its upstream in relay mode.
DEFAULT_CHANNEL_KEY = "sk-nxc-upstream-channel"
#: The declared upstream timeout of the reference in relay mode, seconds.
DEFAULT_RELAY_TIMEOUT = 0.5


@dataclass(frozen=True)
class ReferenceConfig:
    """Everything that makes one reference gateway differ from another.

    Attributes:
        api_key: the valid key; never rate limited.
        disabled_key, expired_key: keys answered 401.
        exhausted_key: a key whose quota is spent (answered 429 ``insufficient_quota``).
        model_restricted_key: a valid key that may not use ``model_restricted_model`` (403).
        rate_limited_key: a valid key admitted ``rate_limit_requests`` times per
            ``rate_limit_window_seconds`` (sliding window), then answered 429 with Retry-After.
        body_limit_bytes: request bodies over this size get 413.
        video_polls_to_complete: how many GETs a video task needs to complete.
        faults: faults switched on for every request (path faults add to these).
        latency_ms: simulated round trip: every request waits this long before it is handled.
        operation_latency_ms: (path suffix, ms) pairs that replace ``latency_ms`` for the
            requests of one operation, e.g. ``(("/chat/completions", 800.0),)``.
        capabilities: the capabilities (``models.MODELS`` keys) served; None = all. The
            endpoints of the others answer 404 like an unknown path and their models are
            not listed (a gateway that routes only some capabilities, for ``init``).
        models_per_capability: how many models each capability serves (``models.variants``:
            the usual model, then synthetic copies), for the model matrix and its benchmark.
        model_faults: (model, fault name) pairs: a fault switched on only for requests
            naming that model (a route that is broken for one model).
        upstream_url: relay mode: the upstream base URL relay models are forwarded to.
        channel_key: the key sent to the upstream (never a client key).
        relay_timeout: the declared upstream timeout; a slower upstream gets 504.
        ruled_models: chat also serves ``model_rules.REASONING_MODEL``, a model with
            parameter rules (issue 19); off by default (``GET /models`` is unchanged).

    The keys are left out of ``repr`` so that a user-chosen key never reaches a log.
    """

    api_key: str = field(default=DEFAULT_API_KEY, repr=False)
    disabled_key: str = field(default=DEFAULT_DISABLED_KEY, repr=False)
    expired_key: str = field(default=DEFAULT_EXPIRED_KEY, repr=False)
    exhausted_key: str = field(default=DEFAULT_EXHAUSTED_KEY, repr=False)
    model_restricted_key: str = field(default=DEFAULT_MODEL_RESTRICTED_KEY, repr=False)
    model_restricted_model: str = DEFAULT_MODEL_RESTRICTED_MODEL
    rate_limited_key: str = field(default=DEFAULT_RATE_LIMITED_KEY, repr=False)
    rate_limit_requests: int = DEFAULT_RATE_LIMIT_REQUESTS
    rate_limit_window_seconds: float = DEFAULT_RATE_LIMIT_WINDOW_SECONDS
    body_limit_bytes: int = DEFAULT_BODY_LIMIT_BYTES
    video_polls_to_complete: int = DEFAULT_VIDEO_POLLS
    faults: FaultSet = NO_FAULTS
    latency_ms: float = 0.0
    operation_latency_ms: tuple[tuple[str, float], ...] = ()
    capabilities: frozenset[str] | None = None
    models_per_capability: int = 1
    model_faults: tuple[tuple[str, str], ...] = ()
    upstream_url: str | None = None
    channel_key: str = field(default=DEFAULT_CHANNEL_KEY, repr=False)
    relay_timeout: float = DEFAULT_RELAY_TIMEOUT
    ruled_models: bool = False

    def __post_init__(self) -> None:
        keys = self.keys_by_role()
        for role, key in keys.items():
            if not key or any(ch.isspace() for ch in key):
                raise ConfigError(f"reference {role} must be a non-empty key without whitespace, got {key!r}")
        if len(set(keys.values())) != len(keys):
            raise ConfigError(f"reference keys must be distinct, got {sorted(keys.values())}")
        if self.rate_limit_requests < 1:
            raise ConfigError(f"rate_limit_requests must be >= 1, got {self.rate_limit_requests}")
        if self.rate_limit_window_seconds <= 0:
            raise ConfigError(f"rate_limit_window_seconds must be > 0, got {self.rate_limit_window_seconds}")
        if self.body_limit_bytes < 1024:
            # Below 1 KiB even the suite's ordinary requests would be refused.
            raise ConfigError(f"body_limit_bytes must be >= 1024, got {self.body_limit_bytes}")
        if self.latency_ms < 0 or any(ms < 0 for _, ms in self.operation_latency_ms):
            raise ConfigError(f"latency must be >= 0 ms, got {self.latency_ms}, {self.operation_latency_ms}")
        unknown = sorted((self.capabilities or frozenset()) - set(MODELS))
        if unknown:
            raise ConfigError(f"unknown capability {unknown[0]!r}; known: {', '.join(MODELS)}")
        if self.models_per_capability < 1:
            raise ConfigError(f"models_per_capability must be >= 1, got {self.models_per_capability}")
        if self.relay_timeout <= 0:
            raise ConfigError(f"relay_timeout must be > 0, got {self.relay_timeout}")
        if self.video_polls_to_complete < 0:
            raise ConfigError(f"video_polls_to_complete must be >= 0, got {self.video_polls_to_complete}")

    def serves(self, capability: str) -> bool:
        """Whether this gateway routes ``capability`` (its endpoint and its model)."""
        return self.capabilities is None or capability in self.capabilities

    def models_for(self, capability: str) -> list[str]:
        """The models that serve ``capability`` (the first is its default)."""
        served = variants(capability, self.models_per_capability)
        return [*served, REASONING_MODEL] if self.ruled_models and capability == "chat" else served

    def model_ids(self) -> list[str]:
        """The distinct model ids this gateway serves, sorted (what ``GET /models`` lists)."""
        return sorted({model for cap in MODELS if self.serves(cap) for model in self.models_for(cap)})

    def faults_of_model(self, model: str) -> frozenset[str]:
        """The faults switched on for requests that name ``model``."""
        return frozenset(name for scoped, name in self.model_faults if scoped == model)

    def keys_by_role(self) -> dict[str, str]:
        """Every configured key by its role name (``api_key``, ``disabled_key``, ...)."""
        return {
            "api_key": self.api_key,
            "disabled_key": self.disabled_key,
            "expired_key": self.expired_key,
            "exhausted_key": self.exhausted_key,
            "model_restricted_key": self.model_restricted_key,
            "rate_limited_key": self.rate_limited_key,
        }
