"""Resolution: one frozen `Settings` from the command-line, environment and file layers and defaults.

Owns: the precedence (command line > environment > target file > defaults), rejecting
unknown keys with a suggestion, error messages that name key, layer and value (secrets
masked), the ``api_key_env`` indirection, feature prerequisites, and reading a target file.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
from collections.abc import Collection, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from conformance.config.keys import API_KEY_ENV, CLI_FLAGS, FEATURE_CAPABILITY, FEATURE_NEEDS, KEYS, Key
from conformance.config.parsers import Bad
from conformance.config.values import (
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
from conformance.errors import ConfigError
from conformance.model import REDACTED
from conformance.profiles import FEATURES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

class MissingSettingError(ConfigError):
    """A declared feature lacks a setting it needs (``feature``; ``missing``: the dotted keys)."""

    def __init__(self, message: str, feature: str, missing: tuple[str, ...]) -> None:
        super().__init__(message)
        self.feature = feature
        self.missing = missing



def _where(layer: str, name: str, file_name: str | None) -> str:
    if layer == "cli":
        if name.startswith("models."):
            return f"CLI option '--model {name.partition('.')[2]}=...'"
        return f"CLI option {CLI_FLAGS.get(name, name)!r}"
    if layer == "env":
        return f"environment variable {name}"
    if layer == "ini":
        return f"pytest ini value of {name}"
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
    allowed = {k.name for k in KEYS if "file" in k.layers} | {API_KEY_ENV}
    sections = {name.partition(".")[0] for name in allowed}
    flat: dict[str, object] = {}
    for section, table in file.items():
        if section == "model_rules" and isinstance(table, Mapping):
            continue  # kept raw by resolve(), validated by conformance.model_rules (D72)
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
    allowed = [k.name for k in KEYS if "cli" in k.layers]
    for name in cli:
        if name not in allowed:
            raise _unknown(name, "the CLI layer", allowed)


def _check_ini(ini: Mapping[str, str]) -> None:
    """The pytest ini keys give file-layer settings (and the profile), never ``allow_writes``."""
    if "allow_writes" in ini:
        raise ConfigError("allow_writes: writes are switched on per run, on the command line only; "
                          "a pytest ini value of allow_writes is not accepted")
    allowed = sorted({k.name for k in KEYS if "file" in k.layers} | {"profile"})
    for name in ini:
        if name not in allowed:
            raise _unknown(name, "the pytest ini values", allowed)


def _pick(
    key: Key, cli: Mapping[str, object], env: Mapping[str, str], file: Mapping[str, object],
    file_name: str | None, ini: Mapping[str, str],
) -> tuple[object, str]:
    """The parsed value of one key from the highest layer that gives it, and that layer.

    The pytest ini values belong to the file layer, under the target file (text, parsed
    like environment values); their source is recorded as ``file``.
    """
    candidates: list[tuple[str, str, object]] = []   # (layer, name in that layer, raw value)
    if key.name in cli:
        candidates.append(("cli", key.name, cli[key.name]))
    if key.env and env.get(key.env, "").strip():
        candidates.append(("env", key.env, env[key.env]))
    if key.name in file:
        candidates.append(("file", key.name, file[key.name]))
    if key.name == "target.api_key" and API_KEY_ENV in file:
        candidates.append(("file", API_KEY_ENV, file[API_KEY_ENV]))
    if key.name in ini:
        candidates.append(("ini", key.name, ini[key.name]))
    if not candidates:
        return key.default, "default"
    layer, name, raw = candidates[0]
    where = _where(layer, name, file_name)
    if layer == "file" and key.name == "target.api_key":
        raw = _api_key_from_file(file, env, file_name)
    try:
        return key.parse(raw, layer != "file"), "file" if layer == "ini" else layer
    except Bad as exc:
        raise _fail(key.name, str(exc), raw, where, secret=key.secret) from None


def _api_key_from_file(file: Mapping[str, object], env: Mapping[str, str], file_name: str | None) -> object:
    """The file gives the key itself or, with ``api_key_env``, the variable that holds it."""
    if "target.api_key" in file and API_KEY_ENV in file:
        raise ConfigError(
            f"target.api_key: give either api_key or api_key_env, not both, in "
            f"target file {file_name or '<target file>'}")
    if "target.api_key" in file:
        return file["target.api_key"]
    variable = file[API_KEY_ENV]
    where = _where("file", API_KEY_ENV, file_name)
    if not isinstance(variable, str) or not variable.strip():
        raise _fail(API_KEY_ENV, "expected an environment variable name", variable, where, secret=False)
    value = env.get(variable.strip(), "")
    if not value.strip():
        raise ConfigError(f"{API_KEY_ENV}: environment variable {variable!r} (named in {where}) is not set")
    return value


def resolve(
    cli: Mapping[str, object],
    env: Mapping[str, str],
    file: Mapping[str, object],
    *,
    file_name: str | None = None,
    known_features: Collection[str] | None = None,
    ini: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve the run's settings from the CLI, environment, target-file layers and defaults.

    Args:
        cli: dotted keys (``"budgets.max_tokens"``) explicitly given on the command line.
        env: the environment (only the ``NEXHINA_*`` names in the module docstring are read).
        file: the parsed target file (see `load_target_file`), ``{}`` when there is none.
        file_name: the file's name, for error messages.
        known_features: the valid feature names; default: ``conformance.profiles.FEATURES``.
        ini: dotted keys given as pytest ini values (text): part of the file layer, under
            the target file (D85). ``allow_writes`` is refused there.

    Returns:
        The frozen `Settings`, with ``sources`` naming each value's layer.

    Raises:
        ConfigError: an unknown key, or a bad value (the message names key, layer and value;
            secrets are masked).
    """
    _check_cli(cli)
    ini = ini or {}
    _check_ini(ini)
    flat_file = _flatten_file(file, file_name)
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    for key in KEYS:
        values[key.name], sources[key.name] = _pick(key, cli, env, flat_file, file_name, ini)
    features = values["target.features"]
    assert isinstance(features, frozenset)
    known = frozenset(known_features) if known_features is not None else FEATURES
    unknown = sorted(features - known)
    if unknown:
        layer = sources["target.features"]
        where = _where(layer, "NEXHINA_FEATURES" if layer == "env" else "target.features", file_name)
        raise ConfigError(f"target.features: unknown capability {unknown[0]!r} from {where}; "
                          f"known: {', '.join(sorted(known))}")
    _check_feature_prerequisites(features, values, sources, file_name)
    rules = file.get("model_rules")
    raw = dict(rules) if isinstance(rules, Mapping) else {}
    return dataclasses.replace(_build(values, sources), model_rules=MappingProxyType(raw))


def _check_feature_prerequisites(
    features: frozenset[str], values: Mapping[str, object], sources: Mapping[str, str], file_name: str | None
) -> None:
    """A declared feature whose key or limit is missing is a configuration error, not a test ERROR."""
    for feature in sorted(features):
        needs = FEATURE_NEEDS.get(feature, ())
        if feature in FEATURE_CAPABILITY and not _channel_may_serve(FEATURE_CAPABILITY[feature], values):
            needs = (*needs, f"models.{FEATURE_CAPABILITY[feature]}")
        missing = [name for name in needs if values.get(name) is None]
        if missing:
            layer = sources["target.features"]
            where = _where(layer, "NEXHINA_FEATURES" if layer == "env" else "target.features", file_name)
            raise MissingSettingError(
                f"target.features: {feature!r} is declared in {where} but {', '.join(missing)} "
                "is not set; set it or do not declare the feature", feature, tuple(missing)
            )


def _channel_may_serve(capability: str, values: Mapping[str, object]) -> bool:
    """A relay capability needs no declared model when the run may create its own channel:
    ``[upstream]`` and a platform admin token (writes decide at run time, D115)."""
    return capability.startswith("relay_") and all(
        values.get(name) is not None for name in ("upstream.listen", "upstream.key", "platform.admin_access_token"))


def _target_models(value: object) -> tuple[str, ...]:
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
        matrix=Matrix(models=tuple(_target_models(values["matrix.models"])),
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

