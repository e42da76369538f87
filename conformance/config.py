"""Run settings: one frozen `Settings` resolved by a pure function from four partial layers.

Precedence: CLI > environment > target file (TOML) > defaults. Each layer is a *partial*
mapping: a setting that was not given is an absent key, never ``None``. This module never
reads ``os.environ`` or the file system (except `load_target_file`, which the CLI/plugin
calls); the caller passes the layers in, so resolution is testable with plain dicts.

Key names (one scheme for every layer). The CLI layer uses the same dotted names as the
target file, flat: ``{"target.base_url": ..., "budgets.max_requests": 50, "models.chat": ...}``.
CLI values may be typed (``int``, ``list``) or strings (as argparse gives them); strings are
parsed like environment values. The file layer is the parsed TOML document (sections and
keys, see ``examples/target.toml``) and must use TOML types (``max_tokens = 16``, not ``"16"``).
Two run-level keys have no section and no place in the file: ``profile`` (``core`` | ``full``;
also ``NEXHINA_PROFILE``) and ``allow_writes`` (CLI only: writes are opt-in per run, so neither a target
file nor the environment can switch them on). ``target.api_key_env`` exists only in the file:
it names the environment variable that holds the key, looked up in the ``env`` layer passed
to `resolve`.

Environment variables (an empty value counts as not set; other variables, including unknown
``NEXHINA_*`` ones, are ignored because the gateway itself may use that prefix):

    NEXHINA_BASE_URL           target.base_url
    NEXHINA_API_KEY            target.api_key
    NEXHINA_TARGET             path of the target file (read by the CLI/plugin, not here)
    NEXHINA_PROFILE            profile
    NEXHINA_FEATURES           target.features (comma-separated)
    NEXHINA_MAX_REQUESTS       budgets.max_requests
    NEXHINA_MAX_TOKENS         budgets.max_tokens
    NEXHINA_MAX_DURATION       budgets.max_duration (seconds)
    NEXHINA_SEED               properties.seed
    NEXHINA_MAX_EXAMPLES       properties.max_examples
    NEXHINA_CONNECT_TIMEOUT    timeouts.connect
    NEXHINA_READ_TIMEOUT       timeouts.read
    NEXHINA_REQUEST_TIMEOUT    timeouts.request
    NEXHINA_STREAM_TIMEOUT     timeouts.stream
    NEXHINA_VIDEO_DEADLINE     timeouts.video_deadline
    NEXHINA_CA_BUNDLE          tls.ca_bundle
    NEXHINA_MODELS             matrix.models (``all`` or comma-separated model ids)

Layer names recorded in ``Settings.sources``: ``cli``, ``env``, ``file``, ``default`` (an API
key found through ``target.api_key_env`` counts as ``file``: the file chose it).
"""

from __future__ import annotations

import difflib
import math
import sys
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace  # replace: issue 19 (s6)
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from conformance.errors import ConfigError
from conformance.model import REDACTED

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

__all__ = [
    "CAPABILITIES",
    "CORE_FEATURES",
    "PROFILES",
    "RELAY_CAPABILITIES",
    "AuthKeys",
    "Budgets",
    "Limits",
    "Platform",
    "Matrix",
    "MissingSettingError",
    "Properties",
    "Settings",
    "TLS",
    "Timeouts",
    "UpstreamSettings",
    "describe",
    "load_target_file",
    "resolve",
]

CAPABILITIES: tuple[str, ...] = (
    "chat", "responses", "embeddings", "images", "speech",
    "transcription", "translation", "video", "moderation", "rerank",
)
#: Capabilities a gateway routes to the scripted upstream: ``[models] relay_<capability>``.
RELAY_CAPABILITIES: tuple[str, ...] = ("chat", "responses", "embeddings", "moderation", "rerank")
PROFILES: tuple[str, ...] = ("core", "full")
#: Features every Nexhina gateway has (the core profile); declared when no layer names any.
CORE_FEATURES: frozenset[str] = frozenset({"models", "chat", "chat.streaming", "auth", "errors"})
#: The capability (hence the ``models.<capability>`` key) a feature's tests send requests to.
_FEATURE_CAPABILITY: Mapping[str, str] = MappingProxyType({
    "chat": "chat", "chat.streaming": "chat", "chat.tools": "chat", "chat.limits": "chat", "chat.n": "chat",
    "chat.stop": "chat", "chat.response-format": "chat", "determinism": "chat",
    "responses": "responses", "responses.streaming": "responses", "embeddings": "embeddings",
    "images": "images", "images.url": "images", "audio.speech": "speech",
    "audio.transcription": "transcription", "audio.translation": "translation", "video": "video",
    "rerank": "rerank",
    "relay": "relay_chat", "relay.responses": "relay_responses", "relay.embeddings": "relay_embeddings",
    "relay.moderation": "relay_moderation", "relay.rerank": "relay_rerank",
})
_SECRET_KEY_NAMES = ("disabled", "expired", "exhausted", "model_restricted", "rate_limited")
_NOT_SET = "(not set)"


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
        return tuple(v for v in (getattr(self, n) for n in _SECRET_KEY_NAMES) if v)

    def __repr__(self) -> str:
        shown = {n: (REDACTED if getattr(self, n) else None) for n in _SECRET_KEY_NAMES}
        return f"AuthKeys({shown!r}, model_restricted_model={self.model_restricted_model!r})"


_PLATFORM_SECRETS = ("access_token", "admin_access_token", "other_access_token")


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
        return tuple(v for v in (getattr(self, n) for n in _PLATFORM_SECRETS) if v)

    def __repr__(self) -> str:
        shown = {n: (REDACTED if getattr(self, n) else None) for n in _PLATFORM_SECRETS}
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
    # issue 19 (s6): the raw [model_rules] tables, validated by conformance.model_rules
    model_rules: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False)

    def secrets(self) -> tuple[str, ...]:
        """Every configured credential: the API key, the extra keys, the access tokens (for redaction)."""
        return ((self.api_key,) if self.api_key else ()) + self.keys.secrets() + self.platform.secrets()


# --------------------------------------------------------------------------- key table


class _Bad(ValueError):
    """A value failed to parse; the message says what was expected."""


Parser = Callable[[object, bool], object]   # (value, came_as_text) -> parsed value


@dataclass(frozen=True, slots=True)
class _Key:
    name: str
    parse: Parser
    default: object = None
    env: str | None = None                                # the env layer is read iff this is set
    layers: frozenset[str] = frozenset({"cli", "file"})   # other layers that may give it
    secret: bool = False


def _text(value: object, as_text: bool) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Bad("expected a non-empty string")
    return value.strip()


def _number(kind: type, minimum: float | None, *, strict_min: bool = False) -> Parser:
    """A parser for an int or float with an optional lower bound (finite numbers only)."""
    what = "an integer" if kind is int else "a number"
    if minimum is not None:
        what += f" > {minimum:g}" if strict_min else f" >= {minimum:g}"

    def parse(value: object, as_text: bool) -> object:
        if isinstance(value, str) and as_text:
            try:
                value = kind(value.strip())
            except ValueError as exc:
                raise _Bad(f"expected {what}") from exc
        # bool is an int subclass: `max_tokens = true` is a mistake, not 1.
        if isinstance(value, bool) or not isinstance(value, (int,) if kind is int else (int, float)):
            raise _Bad(f"expected {what}")
        if not math.isfinite(value) or (minimum is not None and (
                value < minimum or (strict_min and value == minimum))):
            raise _Bad(f"expected {what}")
        return kind(value)
    return parse


def _boolean(value: object, as_text: bool) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and as_text:
        lowered = value.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
    raise _Bad("expected a boolean (true/false)")


def _url(value: object, as_text: bool) -> object:
    text = _text(value, as_text)
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:
        raise _Bad("expected an http(s) URL such as http://127.0.0.1:8765/v1") from exc
    if parts.scheme not in {"http", "https"} or not parts.hostname or not port_ok:
        raise _Bad("expected an http(s) URL such as http://127.0.0.1:8765/v1")
    if parts.username or parts.password:
        raise _Bad("expected a URL without credentials (put the key in target.api_key)")
    if parts.query or parts.fragment:
        raise _Bad("expected a base URL without query or fragment")
    return text.rstrip("/")


def _profile(value: object, as_text: bool) -> object:
    text = _text(value, as_text)
    if text not in PROFILES:
        raise _Bad(f"expected one of {', '.join(PROFILES)}")
    return text


def _features(value: object, as_text: bool) -> object:
    if isinstance(value, str) and as_text:
        items: list[object] = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    else:
        raise _Bad("expected a list of feature names")
    if not all(isinstance(item, str) and item.strip() for item in items):
        raise _Bad("expected a list of feature names")
    return frozenset(str(item).strip() for item in items)


def _model_list(value: object, as_text: bool) -> object:
    """``all`` or model ids (a list, or comma-separated text): the model matrix's selection."""
    if isinstance(value, str):
        items: list[object] = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise _Bad('expected "all" or a list of model ids')
    if not items or not all(isinstance(item, str) and item.strip() for item in items):
        raise _Bad('expected "all" or a list of model ids')
    return tuple(dict.fromkeys(str(item).strip() for item in items))


def _patterns(value: object, as_text: bool) -> object:
    if isinstance(value, str) and as_text:
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _Bad("expected a list of model-name patterns (shell wildcards, e.g. \"gpt-*\")")
    return tuple(str(v).strip() for v in value)


def _optional_path(value: object, as_text: bool) -> object:
    if not isinstance(value, str):
        raise _Bad("expected a path string")
    return value.strip() or None   # "" in the file means "no custom bundle"


_POS = _number(float, 0.0, strict_min=True)
# Slotted dataclasses keep no class-level defaults, so read them from default instances.
_B, _T, _TLS, _P = Budgets(), Timeouts(), TLS(), Properties()
_KEYS: tuple[_Key, ...] = (
    _Key("target.base_url", _url, env="NEXHINA_BASE_URL"),
    _Key("target.api_key", _text, env="NEXHINA_API_KEY", secret=True),
    _Key("target.name", _text),
    _Key("target.version", _text),
    _Key("target.features", _features, CORE_FEATURES, env="NEXHINA_FEATURES"),
    *(_Key(f"models.{cap}", _text) for cap in CAPABILITIES),
    *(_Key(f"models.relay_{cap}", _text) for cap in RELAY_CAPABILITIES),
    _Key("upstream.listen", _text),
    _Key("upstream.public_url", _url),
    _Key("upstream.key", _text, secret=True),
    _Key("upstream.gateway_timeout", _POS, 30.0),
    *(_Key(f"keys.{name}", _text, secret=True) for name in _SECRET_KEY_NAMES),
    _Key("keys.model_restricted_model", _text),
    _Key("matrix.models", _model_list, (), env="NEXHINA_MODELS"),
    *(_Key(f"matrix.{cap}", _patterns, ()) for cap in CAPABILITIES),
    _Key("limits.rate_limit_requests", _number(int, 1)),
    _Key("limits.rate_limit_window_seconds", _POS),
    _Key("limits.body_limit_bytes", _number(int, 1)),
    _Key("budgets.max_requests", _number(int, 1), _B.max_requests, env="NEXHINA_MAX_REQUESTS"),
    _Key("budgets.max_tokens", _number(int, 1), _B.max_tokens, env="NEXHINA_MAX_TOKENS"),
    _Key("budgets.max_response_bytes", _number(int, 1), _B.max_response_bytes),
    _Key("budgets.max_stream_bytes", _number(int, 1), _B.max_stream_bytes),
    _Key("budgets.retries_429", _number(int, 0), _B.retries_429),
    _Key("budgets.max_retry_after", _number(float, 0.0), _B.max_retry_after),
    _Key("budgets.max_duration", _POS, _B.max_duration, env="NEXHINA_MAX_DURATION"),
    _Key("budgets.concurrency", _number(int, 1), _B.concurrency),
    _Key("timeouts.connect", _POS, _T.connect, env="NEXHINA_CONNECT_TIMEOUT"),
    _Key("timeouts.read", _POS, _T.read, env="NEXHINA_READ_TIMEOUT"),
    _Key("timeouts.request", _POS, _T.request, env="NEXHINA_REQUEST_TIMEOUT"),
    _Key("timeouts.stream", _POS, _T.stream, env="NEXHINA_STREAM_TIMEOUT"),
    _Key("timeouts.video_deadline", _POS, _T.video_deadline, env="NEXHINA_VIDEO_DEADLINE"),
    _Key("timeouts.video_poll_interval", _POS, _T.video_poll_interval),
    _Key("tls.verify", _boolean, _TLS.verify),
    _Key("tls.ca_bundle", _optional_path, env="NEXHINA_CA_BUNDLE"),
    _Key("properties.max_examples", _number(int, 1), _P.max_examples, env="NEXHINA_MAX_EXAMPLES"),
    _Key("properties.seed", _number(int, None), _P.seed, env="NEXHINA_SEED"),
    _Key("platform.base_url", _url),
    *(_Key(f"platform.{name}", _text, secret=True) for name in _PLATFORM_SECRETS),
    _Key("platform.user_id", _number(int, 1)),
    _Key("platform.channel_base_url", _url),
    _Key("profile", _profile, "full", env="NEXHINA_PROFILE", layers=frozenset({"cli"})),
    _Key("allow_writes", _boolean, False, layers=frozenset({"cli"})),
)
_API_KEY_ENV = "target.api_key_env"   # file-only indirection, not a setting of its own


# --------------------------------------------------------------------------- resolution


class MissingSettingError(ConfigError):
    """A declared feature lacks a setting it needs (``feature``; ``missing``: the dotted keys)."""

    def __init__(self, message: str, feature: str, missing: tuple[str, ...]) -> None:
        super().__init__(message)
        self.feature = feature
        self.missing = missing


#: Dotted keys the ``run`` command line sets under another name.
_CLI_FLAGS: Mapping[str, str] = MappingProxyType({
    "target.base_url": "--base-url", "target.api_key": "--api-key", "profile": "--profile",
    "properties.seed": "--seed", "matrix.models": "--models",
})


def _where(layer: str, name: str, file_name: str | None) -> str:
    if layer == "cli":
        if name.startswith("models."):
            return f"CLI option '--model {name.partition('.')[2]}=...'"
        return f"CLI option {_CLI_FLAGS.get(name, name)!r}"
    if layer == "env":
        return f"environment variable {name}"
    if layer == "default":
        return f"the built-in default of {name} (no target file, option or environment variable set it)"
    section, _, key = name.partition(".")
    return f"target file {file_name or '<target file>'} [{section}] {key}"


def _fail(key: str, problem: str, value: object, where: str, *, secret: bool) -> ConfigError:
    shown = REDACTED if secret else value
    return ConfigError(f"{key}: {problem}; got {shown!r} from {where}")


def _unknown(name: str, where: str, candidates: Collection[str]) -> ConfigError:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigError(f"unknown setting {name!r} in {where}{hint}")


def _flatten_file(file: Mapping[str, object], file_name: str | None) -> dict[str, object]:
    """Turn ``{"target": {"base_url": ...}}`` into ``{"target.base_url": ...}``, rejecting unknowns."""
    where = f"target file {file_name or '<target file>'}"
    allowed = {k.name for k in _KEYS if "file" in k.layers} | {_API_KEY_ENV}
    sections = {name.partition(".")[0] for name in allowed}
    flat: dict[str, object] = {}
    for section, table in file.items():
        if section == "model_rules" and isinstance(table, Mapping):  # issue 19 (s6): kept raw by resolve()
            continue
        if not isinstance(table, Mapping):
            if section in sections:
                # the value is not echoed: `keys = "sk-..."` would put a key in the message
                raise ConfigError(f"[{section}] in {where} must be a table; got a {type(table).__name__}")
            raise _unknown(section, where, sorted(sections))
        for key, value in table.items():
            name = f"{section}.{key}"
            if name not in allowed:
                raise _unknown(name, where, sorted(allowed))
            flat[name] = value
    return flat


def _check_cli(cli: Mapping[str, object]) -> None:
    allowed = [k.name for k in _KEYS if "cli" in k.layers]
    for name in cli:
        if name not in allowed:
            raise _unknown(name, "the CLI layer", allowed)


def _pick(
    key: _Key, cli: Mapping[str, object], env: Mapping[str, str], file: Mapping[str, object],
    file_name: str | None,
) -> tuple[object, str]:
    """The parsed value of one key from the highest layer that gives it, and that layer."""
    candidates: list[tuple[str, str, object]] = []   # (layer, name in that layer, raw value)
    if key.name in cli:
        candidates.append(("cli", key.name, cli[key.name]))
    if key.env and env.get(key.env, "").strip():
        candidates.append(("env", key.env, env[key.env]))
    if key.name in file:
        candidates.append(("file", key.name, file[key.name]))
    if key.name == "target.api_key" and _API_KEY_ENV in file:
        candidates.append(("file", _API_KEY_ENV, file[_API_KEY_ENV]))
    if not candidates:
        return key.default, "default"
    layer, name, raw = candidates[0]
    where = _where(layer, name, file_name)
    if layer == "file" and key.name == "target.api_key":
        raw = _api_key_from_file(file, env, file_name)
    try:
        return key.parse(raw, layer != "file"), layer
    except _Bad as exc:
        raise _fail(key.name, str(exc), raw, where, secret=key.secret) from None


def _api_key_from_file(file: Mapping[str, object], env: Mapping[str, str], file_name: str | None) -> object:
    """The file gives the key itself or, with ``api_key_env``, the variable that holds it."""
    if "target.api_key" in file and _API_KEY_ENV in file:
        raise ConfigError(
            f"target.api_key: give either api_key or api_key_env, not both, in "
            f"target file {file_name or '<target file>'}")
    if "target.api_key" in file:
        return file["target.api_key"]
    variable = file[_API_KEY_ENV]
    where = _where("file", _API_KEY_ENV, file_name)
    if not isinstance(variable, str) or not variable.strip():
        raise _fail(_API_KEY_ENV, "expected an environment variable name", variable, where, secret=False)
    value = env.get(variable.strip(), "")
    if not value.strip():
        raise ConfigError(f"{_API_KEY_ENV}: environment variable {variable!r} (named in {where}) is not set")
    return value


def _default_known_features() -> frozenset[str]:
    # Imported here, not at module level: config depends on nothing of ours at import time.
    from conformance.requirements import load_catalogue

    return frozenset(load_catalogue().features())


def resolve(
    cli: Mapping[str, object],
    env: Mapping[str, str],
    file: Mapping[str, object],
    *,
    file_name: str | None = None,
    known_features: Collection[str] | None = None,
) -> Settings:
    """Resolve the run's settings from the CLI, environment, target-file layers and defaults.

    Args:
        cli: dotted keys (``"budgets.max_tokens"``) explicitly given on the command line.
        env: the environment (only the ``NEXHINA_*`` names in the module docstring are read).
        file: the parsed target file (see `load_target_file`), ``{}`` when there is none.
        file_name: the file's name, for error messages.
        known_features: the valid capability names; default: the catalogue's features.

    Returns:
        The frozen `Settings`, with ``sources`` naming each value's layer.

    Raises:
        ConfigError: an unknown key, or a bad value (the message names key, layer and value;
            secrets are masked).
    """
    _check_cli(cli)
    flat_file = _flatten_file(file, file_name)
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    for key in _KEYS:
        values[key.name], sources[key.name] = _pick(key, cli, env, flat_file, file_name)
    features = values["target.features"]
    assert isinstance(features, frozenset)
    known = frozenset(known_features) if known_features is not None else _default_known_features()
    unknown = sorted(features - known)
    if unknown:
        layer = sources["target.features"]
        where = _where(layer, "NEXHINA_FEATURES" if layer == "env" else "target.features", file_name)
        raise ConfigError(f"target.features: unknown capability {unknown[0]!r} from {where}; "
                          f"known: {', '.join(sorted(known))}")
    _check_feature_prerequisites(features, values, sources, file_name)
    rules = file.get("model_rules")  # issue 19 (s6): validated by conformance.model_rules.parse_rules
    raw = dict(rules) if isinstance(rules, Mapping) else {}  # issue 19 (s6)
    return replace(_build(values, sources), model_rules=MappingProxyType(raw))  # issue 19 (s6)


#: Declared features that cannot be tested without these settings.
_FEATURE_NEEDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
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
    "relay": ("upstream.listen", "upstream.key"),
    "relay.responses": ("upstream.listen", "upstream.key"),
    "relay.embeddings": ("upstream.listen", "upstream.key"),
    "relay.moderation": ("upstream.listen", "upstream.key"),
    "relay.rerank": ("upstream.listen", "upstream.key"),
})


def _check_feature_prerequisites(
    features: frozenset[str], values: Mapping[str, object], sources: Mapping[str, str], file_name: str | None
) -> None:
    """A declared feature whose key or limit is missing is a configuration error, not a test ERROR."""
    for feature in sorted(features):
        needs = _FEATURE_NEEDS.get(feature, ())
        if feature in _FEATURE_CAPABILITY:
            needs = (*needs, f"models.{_FEATURE_CAPABILITY[feature]}")
        missing = [name for name in needs if values.get(name) is None]
        if missing:
            layer = sources["target.features"]
            where = _where(layer, "NEXHINA_FEATURES" if layer == "env" else "target.features", file_name)
            raise MissingSettingError(
                f"target.features: {feature!r} is declared in {where} but {', '.join(missing)} "
                "is not set; set it or do not declare the feature", feature, tuple(missing)
            )


def target_models(value: object) -> tuple[str, ...]:
    """The parsed ``matrix.models`` value as a tuple of strings."""
    return tuple(str(v) for v in value) if isinstance(value, (tuple, list)) else ()


def _build(values: Mapping[str, object], sources: Mapping[str, str]) -> Settings:
    def group(prefix: str) -> dict[str, Any]:
        return {name.partition(".")[2]: v for name, v in values.items() if name.startswith(prefix + ".")}

    target = group("target")
    up = group("upstream")
    upstream = None
    if up.get("listen") is not None and up.get("key") is not None:
        upstream = UpstreamSettings(listen=up["listen"], key=up["key"], public_url=up.get("public_url"),
                                    gateway_timeout=up["gateway_timeout"])
    return Settings(
        base_url=target["base_url"], api_key=target["api_key"], implementation_name=target["name"],
        implementation_version=target["version"], features=target["features"],
        models=MappingProxyType({cap: m for cap, m in group("models").items() if m is not None}),
        keys=AuthKeys(**group("keys")), limits=Limits(**group("limits")), budgets=Budgets(**group("budgets")),
        timeouts=Timeouts(**group("timeouts")), tls=TLS(**group("tls")),
        properties=Properties(**group("properties")), platform=Platform(**group("platform")),
        upstream=upstream, profile=str(values["profile"]),
        allow_writes=bool(values["allow_writes"]), sources=MappingProxyType(dict(sources)),
        matrix=Matrix(models=tuple(target_models(values["matrix.models"])),
                      rules=MappingProxyType({cap: p for cap, p in group("matrix").items() if cap != "models" and p})),
    )


def load_target_file(path: str | Path) -> dict[str, object]:
    """Parse a target file (TOML); `ConfigError` names the file when it is missing or malformed."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read target file {str(path)!r}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"target file {str(path)!r} is not valid TOML: {exc}") from exc


def _render(value: object, secret: bool) -> str:
    if value is None or value == frozenset():
        return _NOT_SET
    if secret:
        return REDACTED
    if isinstance(value, frozenset):
        return ",".join(sorted(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """Every setting as (dotted key, rendered value, source layer), secrets masked (``--show-config``)."""
    flat: dict[str, object] = {
        "target.base_url": settings.base_url,
        "target.api_key": settings.api_key,
        "target.name": settings.implementation_name,
        "target.version": settings.implementation_version,
        "target.features": settings.features,
        "profile": settings.profile,
        "allow_writes": settings.allow_writes,
    }
    flat["matrix.models"] = ",".join(settings.matrix.models) or None
    flat.update({f"matrix.{cap}": ",".join(settings.matrix.rules.get(cap, ())) or None for cap in CAPABILITIES})
    groups = {"keys": settings.keys, "limits": settings.limits, "budgets": settings.budgets,
              "timeouts": settings.timeouts, "tls": settings.tls, "properties": settings.properties,
              "platform": settings.platform}
    rows = []
    for key in _KEYS:
        section, _, attr = key.name.partition(".")
        if key.name in flat:
            value = flat[key.name]
        elif section == "models":
            value = settings.models.get(attr)
        elif section == "upstream":
            value = getattr(settings.upstream, attr) if settings.upstream is not None else None
        else:
            value = getattr(groups[section], attr)
        rows.append((key.name, _render(value, key.secret), settings.sources.get(key.name, "default")))
    return rows
