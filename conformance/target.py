"""The target of a run: its resolved settings, the embedded reference when no URL is given,
the transport, and the preflight that stops a run early when the target is unusable.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from conformance.config import Settings, UpstreamSettings, load_target_file, resolve
from conformance.errors import ConfigError, ConnectError, TransportError, TransportTimeout
from conformance.transport import Transport
from conformance.upstream.server import Upstream

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: Placeholder base URL of the embedded reference before it is started.
EMBEDDED = "http://127.0.0.1:0/v1"

#: How CLI/pytest option names map onto the settings keys of ``conformance.config.resolve``.
_CLI_KEYS = {
    "base_url": "target.base_url",
    "api_key": "target.api_key",
    "profile": "profile",
    "seed": "properties.seed",
}


def embedded_reference_layer() -> dict[str, object]:
    """The target-file layer describing the embedded reference (base URL left unset)."""
    from conformance.reference.config import ReferenceConfig
    from conformance.reference.server import target_file_text

    # Relay mode: the run starts the scripted upstream on a free port and the reference after it.
    layer = tomllib.loads(target_file_text(EMBEDDED, ReferenceConfig(upstream_url=EMBEDDED)))
    for table, key in (("target", "base_url"), ("upstream", "public_url")):
        found = layer.get(table)
        if isinstance(found, dict):
            found.pop(key, None)
    return layer


def resolve_settings(cli: Mapping[str, str], environ: Mapping[str, str]) -> Settings:
    """Settings from CLI options, the environment and the target file (if any).

    With no base URL in any layer, the embedded reference gateway is the target: its own
    description (models, features, extra keys) is the file layer under the user's.
    """
    target_path = cli.get("target") or environ.get("NEXHINA_TARGET")
    file_layer: dict[str, object] = load_target_file(Path(target_path)) if target_path else {}
    cli_layer = {_CLI_KEYS[k]: v for k, v in cli.items() if k in _CLI_KEYS}
    has_url = "target.base_url" in cli_layer or environ.get("NEXHINA_BASE_URL") or _file_url(file_layer)
    if not has_url:
        file_layer = _merge(embedded_reference_layer(), file_layer)
    return resolve(cli_layer, environ, file_layer, file_name=target_path or "embedded reference")


def _file_url(layer: Mapping[str, object]) -> bool:
    target = layer.get("target")
    return isinstance(target, Mapping) and bool(target.get("base_url"))


def _merge(base: Mapping[str, object], over: Mapping[str, object]) -> dict[str, object]:
    """Table-wise merge of two parsed target files (``over`` wins key by key)."""
    merged = dict(base)
    for key, value in over.items():
        below = merged.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            merged[key] = _merge(below, value)
        else:
            merged[key] = value
    return merged


class TargetSession:
    """A usable target for one process: settings with a real base URL, and the transport."""

    def __init__(self, settings: Settings, transport: Transport, stack: contextlib.ExitStack) -> None:
        self.settings = settings
        self.transport = transport
        self._stack = stack
        #: The run's scripted upstream (relay lane), or None without ``[upstream]``.
        self.upstream: Upstream | None = None

    @classmethod
    def open(cls, settings: Settings) -> TargetSession:
        """Start the embedded reference if needed and build the transport (the plugin ran the preflight)."""
        stack = contextlib.ExitStack()
        upstream = None
        if settings.upstream is not None:
            upstream = stack.enter_context(_start_upstream(settings.upstream))
            public = settings.upstream.public_url or upstream.url
            settings = dataclasses.replace(settings, upstream=dataclasses.replace(settings.upstream, public_url=public))
        if settings.base_url is None:
            from conformance.reference.config import ReferenceConfig
            from conformance.reference.server import running_reference

            config = ReferenceConfig()
            if settings.upstream is not None:
                config = dataclasses.replace(config, upstream_url=settings.upstream.public_url,
                                             channel_key=settings.upstream.key,
                                             relay_timeout=settings.upstream.gateway_timeout)
            base_url = stack.enter_context(running_reference(config))
            settings = dataclasses.replace(settings, base_url=base_url)
        transport = stack.enter_context(Transport(settings))
        session = cls(settings, transport, stack)
        session.upstream = upstream
        return session

    def close(self) -> None:
        """Close the transport and stop the embedded reference."""
        self._stack.close()


def _start_upstream(upstream: UpstreamSettings) -> contextlib.AbstractContextManager[Upstream]:
    """The run's scripted upstream on ``upstream.listen`` (slow script: past the gateway timeout)."""
    from conformance.upstream.app import UpstreamConfig
    from conformance.upstream.markers import new_run_id
    from conformance.upstream.server import parse_listen, running_upstream

    try:
        parse_listen(upstream.listen)
    except ValueError as exc:
        raise ConfigError(f"upstream.listen: {exc}") from exc
    config = UpstreamConfig(upstream.key, new_run_id(), slow_delay=upstream.gateway_timeout + 1.0)
    return running_upstream(upstream.listen, config)


def preflight(settings: Settings) -> None:
    """One authenticated request before any test; stop the run with one clear line if unusable."""
    with Transport(settings) as probe:
        try:
            exchange = probe.request("GET", "/models")
        except (ConnectError, TransportTimeout) as exc:
            pytest.exit(f"nexhina-conformance: cannot reach the target {settings.base_url}: {exc}", returncode=3)
        except TransportError as exc:
            pytest.exit(f"nexhina-conformance: preflight failed: {exc}", returncode=3)
    if exchange.status in (401, 403):
        pytest.exit(
            f"nexhina-conformance: the target rejected the API key (GET /models answered {exchange.status}); "
            "check NEXHINA_API_KEY or --api-key",
            returncode=4,
        )
