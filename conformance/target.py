"""The target of a run: its resolved settings, the embedded reference when no URL is given,
the transport, and the preflight that says when the target is unusable (the plugin then runs
no test but still writes every report).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from conformance.config import (
    CAPABILITIES,
    MissingSettingError,
    Settings,
    UpstreamSettings,
    load_target_file,
    resolve,
)
from conformance.errors import ConfigError, ConnectError, TransportError, TransportTimeout
from conformance.ledger import Ledger
from conformance.model_rules_run import learn_rules  # issue 19 (s6)
from conformance.transport import Transport

if TYPE_CHECKING:   # the upstream's server (uvicorn) is imported only when a run starts one
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
    "max_duration": "budgets.max_duration",
    "max_requests": "budgets.max_requests",
    "allow_writes": "allow_writes",
    "models": "matrix.models",
}


def embedded_reference_layer(*, relay_models: bool = False) -> dict[str, object]:
    """The target-file layer describing the embedded reference (base URL left unset).

    Without ``relay_models`` its ``[models] relay_*`` are left out: the default run's relay
    lane goes through the channel the run creates (channel mode, D118).
    """
    from conformance.reference.config import ReferenceConfig
    from conformance.reference.server import target_file_text

    # Relay mode: the run starts the scripted upstream on a free port and the reference after it.
    layer = tomllib.loads(target_file_text(EMBEDDED, ReferenceConfig(upstream_url=EMBEDDED)))
    for table, key in (("target", "base_url"), ("upstream", "public_url")):
        found = layer.get(table)
        if isinstance(found, dict):
            found.pop(key, None)
    models = layer.get("models")
    if not relay_models and isinstance(models, dict):
        layer["models"] = {k: v for k, v in models.items() if not k.startswith("relay_")}
    return layer


def resolve_settings(
    cli: Mapping[str, str], environ: Mapping[str, str], ini: Mapping[str, str] | None = None
) -> Settings:
    """Settings from CLI options, the environment, the target file (if any) and pytest ini values.

    ``cli`` and ``ini`` use the option names (``base_url``, ``target``...). The ini values
    are the file layer, under the target file (D85); the target file's path comes from
    ``--target``, else ``NEXHINA_TARGET``, else the ini value. With no base URL in any
    layer, the embedded reference gateway is the target: its own description (models,
    features, extra keys) is the file layer under the user's.
    """
    ini = ini or {}
    target_path = cli.get("target") or environ.get("NEXHINA_TARGET") or ini.get("target")
    file_layer: dict[str, object] = load_target_file(Path(target_path)) if target_path else {}
    cli_layer = {_CLI_KEYS[k]: v for k, v in cli.items() if k in _CLI_KEYS}
    cli_layer.update({k: v for k, v in cli.items() if k.startswith("models.")})
    ini_layer = {_CLI_KEYS[k]: v for k, v in ini.items() if k in _CLI_KEYS}
    has_url = ("target.base_url" in cli_layer or environ.get("NEXHINA_BASE_URL") or _file_url(file_layer)
               or "target.base_url" in ini_layer)
    if not has_url:
        # The reference's description lies under everything the user gave, ini values included.
        file_layer = _merge(_without(embedded_reference_layer(), ini_layer), file_layer)
        # The embedded reference is ours to write to: its run certifies the writes too (D51).
        cli_layer.setdefault("allow_writes", "true")
    file_name = target_path or (None if has_url else "(the embedded reference's own description)")
    try:
        return resolve(cli_layer, environ, file_layer, file_name=file_name, ini=ini_layer)
    except MissingSettingError as exc:
        if target_path or not has_url or not all(name.startswith("models.") for name in exc.missing):
            raise
        raise ConfigError(_first_run_hint(exc, cli_layer, environ)) from None


def model_options(specs: Sequence[str]) -> dict[str, str]:
    """``--model CAPABILITY=NAME`` options as CLI-layer keys (``models.chat``); a bad one is a ConfigError."""
    found: dict[str, str] = {}
    for spec in specs:
        capability, sep, name = spec.partition("=")
        capability, name = capability.strip(), name.strip()
        if not sep or not name or capability not in CAPABILITIES:
            raise ConfigError(f"--model {spec!r}: expected CAPABILITY=NAME with a capability among "
                              f"{', '.join(CAPABILITIES)}")
        found[f"models.{capability}"] = name
    return found


def _first_run_hint(exc: MissingSettingError, cli_layer: Mapping[str, object], environ: Mapping[str, str]) -> str:
    """What to do when a run has a base URL but no target file and no model (lists the offered models)."""
    from conformance.discover import offered_models, probe_settings

    capability = exc.missing[0].partition(".")[2]
    url = str(cli_layer.get("target.base_url") or environ.get("NEXHINA_BASE_URL"))
    key = cli_layer.get("target.api_key")
    try:
        settings = probe_settings(url, str(key) if key else None, environ, max_requests=1)
        with Transport(settings) as probe:
            listed = offered_models(probe)
        offered = f"the target lists {len(listed)} model(s): {', '.join(listed) or '(none)'}"
    except (ConfigError, TransportError) as problem:
        offered = f"its models could not be listed ({problem})"
    return (f"{exc}.\nNo target file says which models this gateway serves; {offered}.\n"
            f"Either run `nexhina-conformance init --base-url {url}` to discover them and write a target "
            f"file (then `run --target target.toml`), or name them: `--model {capability}=NAME` "
            "(repeatable, one per capability).")


def dry_run_settings(settings: Settings) -> Settings:
    """The run's settings aimed at the embedded reference instead of the target (``--dry-run``).

    Profile, features, budgets, properties and timeouts stay the user's, so the same tests
    run; the reference's own models, keys and limits replace the target's, and nothing is
    sent to the target.
    """
    reference = resolve({}, {}, embedded_reference_layer(relay_models=True), file_name="embedded reference")
    return dataclasses.replace(settings, base_url=None, api_key=reference.api_key, models=reference.models,
                               keys=reference.keys, limits=reference.limits)


def _file_url(layer: Mapping[str, object]) -> bool:
    target = layer.get("target")
    return isinstance(target, Mapping) and bool(target.get("base_url"))


def _without(layer: Mapping[str, object], dotted: Mapping[str, object]) -> dict[str, object]:
    """A parsed target file without the ``section.key`` entries named in ``dotted``."""
    kept: dict[str, object] = {}
    for section, table in layer.items():
        if isinstance(table, Mapping):
            kept[section] = {k: v for k, v in table.items() if f"{section}.{k}" not in dotted}
        else:
            kept[section] = table
    return kept


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
    def open(cls, settings: Settings, *, ledger: Ledger | None = None, start_upstream: bool = True) -> TargetSession:
        """Start the embedded reference if needed and build the transport (the plugin ran the preflight).

        ``ledger``: the run's shared budget and breakers (default: one of this process alone).
        ``start_upstream``: False when another process holds the scripted upstream's address (D128).
        """
        stack = contextlib.ExitStack()
        upstream = None
        if settings.upstream is not None and start_upstream:
            upstream = stack.enter_context(_start_upstream(settings.upstream))
            public = settings.upstream.public_url or upstream.url
            settings = dataclasses.replace(settings, upstream=dataclasses.replace(settings.upstream, public_url=public))
        if settings.base_url is None:
            from conformance.reference.config import ReferenceConfig
            from conformance.reference.server import running_reference

            config = ReferenceConfig()
            if settings.upstream is not None:
                # Its own route to the upstream only for declared relay models: in channel mode
                # the run's channel is the relay lane's only way there (D118).
                declared = any(name.startswith("relay_") for name in settings.models)
                config = dataclasses.replace(config, upstream_url=settings.upstream.public_url if declared else None,
                                             channel_key=settings.upstream.key,
                                             relay_timeout=settings.upstream.gateway_timeout)
            base_url = stack.enter_context(running_reference(config))
            settings = dataclasses.replace(settings, base_url=base_url)
        transport = stack.enter_context(Transport(settings, ledger=ledger))
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


def runs_suites(args: Sequence[str], *, pyargs: bool, invocation_dir: Path) -> bool:
    """Whether a pytest session's arguments select tests of the conformance suites.

    Decided by where the arguments lie, not by how they are spelt: a path (relative to
    ``invocation_dir``) or, with ``--pyargs``, a module name, inside the suites package or
    containing it. A session that runs no suite (the project's self-tests) never probes a target.
    """
    suites = Path(__file__).resolve().parent / "suites"
    for arg in args:
        location = _arg_location(arg.split("::", 1)[0], pyargs=pyargs, invocation_dir=invocation_dir)
        if location is not None and (location == suites or suites in location.parents
                                     or location in suites.parents):
            return True
    return False


def _arg_location(arg: str, *, pyargs: bool, invocation_dir: Path) -> Path | None:
    """The resolved file or directory an argument names (a module name with ``--pyargs``), or None."""
    path = (invocation_dir / arg).resolve()
    if path.exists():
        return path
    if not pyargs:
        return None
    try:
        spec = importlib.util.find_spec(arg)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    origin = Path(spec.origin).resolve()
    return origin.parent if origin.name == "__init__.py" else origin


@dataclass(frozen=True)
class PreflightFailure:
    """Why the target cannot be tested: one line for the user, and the run's exit code."""

    message: str
    exit_code: int


def preflight(settings: Settings, *, ledger: Ledger | None = None) -> PreflightFailure | None:
    """One authenticated request before any test; None when the target is usable.

    Unreachable (refused, DNS, TLS, timeout, no answer) -> exit code 3; the key rejected
    (401/403 on GET /models) -> exit code 4. With the run's ``ledger`` the probe counts
    against the run's request budget.
    """
    with Transport(settings, ledger=ledger, scripted=True) as probe:
        try:
            exchange = probe.request("GET", "/models")
            if exchange.status is not None and exchange.status not in (401, 403):  # issue 19 (s6): learn model rules
                learn_rules(probe, settings, ledger)
            if ledger is not None:  # issue 19 (s6): the probes count as preflight requests
                ledger.set_preflight_requests(probe.sent)
        except (ConnectError, TransportTimeout) as exc:
            return PreflightFailure(f"nexhina-conformance: cannot reach the target {settings.base_url}: {exc}", 3)
        except TransportError as exc:
            return PreflightFailure(f"nexhina-conformance: preflight failed: {exc}", 3)
    if exchange.status is None:
        return PreflightFailure(f"nexhina-conformance: cannot reach the target {settings.base_url}: "
                                f"GET /models got no answer, twice (outcome {exchange.outcome})", 3)
    if exchange.status in (401, 403):
        return PreflightFailure(
            f"nexhina-conformance: the target rejected the API key (GET /models answered {exchange.status}); "
            "check NEXHINA_API_KEY or --api-key",
            4,
        )
    return None
