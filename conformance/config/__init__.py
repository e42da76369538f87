"""Run settings: one frozen `Settings` resolved by a pure function from four partial layers.

Precedence: CLI > environment > target file (TOML) > defaults. The pytest ini values
(``nexhina_*`` keys) belong to the file layer, under the target file (D85). Each layer is a *partial*
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
    NEXHINA_CASE_CACHE         properties.case_cache (0 turns the generated-case cache off)
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

from conformance.config.resolution import MissingSettingError, load_target_file, resolve
from conformance.config.show import describe
from conformance.config.values import (
    CAPABILITIES,
    RELAY_CAPABILITIES,
    TLS,
    AuthKeys,
    Budgets,
    Limits,
    Matrix,
    Platform,
    Properties,
    Settings,
    Timeouts,
    UpstreamSettings,
)
from conformance.profiles import CORE_FEATURES, PROFILES

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

