"""The run's relay channel ("channel mode", D115-D117): created at the start, deleted at the end.

Owns when a run needs a channel of its own (relay features declared, their ``[models]
relay_*`` not, ``[upstream]``, a platform admin token and ``--allow-writes``), creating it
through the management API (named after the run, serving one run-unique model per relay
capability of ``conformance.config.RELAY_CAPABILITIES``, mapped onto the scripted upstream's
models, with the upstream's channel key), testing it, the settings whose relay models are the
channel's, the gate of relay tests when there is no channel (NOT_SUPPORTED or ERROR, D116)
and deleting the channel. Judges nothing: the relay suites judge what travels through it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from conformance.config import RELAY_CAPABILITIES, Settings
from conformance.config.keys import FEATURE_CAPABILITY
from conformance.errors import TransportError
from conformance.ledger import Ledger
from conformance.model import REDACTED, Exchange
from conformance.platform_client import PlatformClient, delete_run_objects, upstream_channel

#: The workerinput key that carries the run id of the channel to an xdist worker.
RUN_ID_INPUT = "nexhina_run_channel_id"
#: The workeroutput key that carries a worker's channel record back to the controller.
CHANNEL_OUTPUT = "nexhina_run_channel"
#: The prefix of the relay models' keys in ``Settings.models``.
RELAY = "relay_"


class ChannelUnusable(RuntimeError):
    """The relay lane cannot run in this process: the run's channel could not be created or tested,
    or another process holds the scripted upstream's address (D128); the relay tests are ERROR."""


@dataclasses.dataclass
class RunChannel:
    """The channel of one run (or of one xdist worker): what it serves and what became of it.

    ``models``: relay capability -> run-unique model; ``problem``: why it cannot serve (None
    when it was created and its test succeeded); ``channel_id``: its id once created.
    """

    run_id: str
    name: str
    models: dict[str, str]
    channel_id: int | None = None
    problem: str | None = None
    deleted_at_end: list[str] = dataclasses.field(default_factory=list)
    leftovers: list[str] = dataclasses.field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """The platform-run entry of the reports (the channel's name and models, never its key)."""
        return {"run_id": self.run_id, "channel": self.name, "relay_models": dict(self.models),
                "channel_problem": self.problem, "deleted_at_end": list(self.deleted_at_end),
                "leftovers": list(self.leftovers)}


def channel_capabilities(settings: Settings) -> list[str]:
    """Relay capabilities the run tests without a declared model: those of declared relay
    features whose ``[models] relay_<capability>`` is not set (declared models win, D115)."""
    wanted = {FEATURE_CAPABILITY[f].removeprefix(RELAY) for f in settings.features
              if FEATURE_CAPABILITY.get(f, "").startswith(RELAY)}
    return [cap for cap in RELAY_CAPABILITIES if cap in wanted and f"{RELAY}{cap}" not in settings.models]


def unavailable(settings: Settings) -> str | None:
    """Why the run cannot create a channel (None: it can): the D115 prerequisites."""
    if settings.upstream is None:
        return "the target file has no [upstream]"
    if settings.platform.admin_access_token is None:
        return "[platform] admin_access_token is not set"
    if not settings.allow_writes:
        return "writes are off (run with --allow-writes)"
    return None


def source_line(settings: Settings, run_id: str | None) -> str | None:
    """Where the relay models come from, for the report header (None without relay features)."""
    missing = channel_capabilities(settings)
    declared = sorted(k.removeprefix(RELAY) for k in settings.models if k.startswith(RELAY))
    if not missing and not declared:
        return None
    parts = [f"declared ([models] relay_*: {', '.join(declared)})"] if declared else []
    if missing:
        why = unavailable(settings)
        parts.append(f"the run's channel {channel_name(run_id)} for {', '.join(missing)}" if why is None
                     else f"none for {', '.join(missing)}: {why}")
    return "relay models: " + "; ".join(parts)


def channel_name(run_id: str | None) -> str:
    """The name of the run's channel: ``nexhina-conformance-<run id>-relay`` (D55)."""
    return f"nexhina-conformance-{run_id or '<run id>'}-relay"


def new_channel(run_id: str, settings: Settings) -> RunChannel:
    """The channel the run will create: one model ``nxc-<run id>-<capability>`` per capability
    whose model is not declared and that the scripted upstream serves."""
    from conformance.upstream.app import UPSTREAM_MODELS  # starlette and the engines: only when a run has a channel

    caps = [cap for cap in channel_capabilities(settings) if cap in UPSTREAM_MODELS]
    return RunChannel(run_id, channel_name(run_id), {cap: f"nxc-{run_id}-{cap}" for cap in caps})


def channel_body(channel: RunChannel, settings: Settings) -> dict[str, Any]:
    """The ``channel`` of ``POST /api/channel/``: the run's models mapped onto the upstream's."""
    assert settings.upstream is not None and settings.upstream.public_url is not None
    from conformance.upstream.app import UPSTREAM_MODELS

    mapping = {model: UPSTREAM_MODELS[cap] for cap, model in channel.models.items()}
    # The chat model first: a channel test sends a chat with the channel's first model.
    models = sorted(channel.models.values(), key=lambda m: not m.endswith("-chat"))
    return upstream_channel(channel.name, models, mapping, settings.upstream.key, settings.upstream.public_url)


def open_channel(settings: Settings, channel: RunChannel, ledger: Ledger | None) -> RunChannel:
    """Create the channel and test it (``GET /api/channel/test/{id}``); ``channel.problem`` says
    what went wrong, in one line. ``settings``: the started target's (base URL, upstream URL)."""
    if not channel.models:
        channel.problem = "the scripted upstream serves none of the relay capabilities"
        return channel
    assert settings.platform.admin_access_token is not None
    admin = PlatformClient(settings, settings.platform.admin_access_token, ledger=ledger)
    try:
        body = {"mode": "single", "channel": channel_body(channel, settings)}
        created = admin.call("POST", "/api/channel/", json=body)
        found = admin.find("/api/channel/", channel.name)
        if found is None or not isinstance(found.get("id"), int):
            channel.problem = f"creating the run's channel failed: POST /api/channel/ answered {_said(created)}"
            return channel
        channel.channel_id = int(found["id"])
        tested = admin.call("GET", f"/api/channel/test/{channel.channel_id}")
        if not _succeeded(tested):
            channel.problem = f"testing the run's channel failed: GET /api/channel/test/{{id}} answered {_said(tested)}"
    except TransportError as exc:
        channel.problem = f"the run's channel could not be set up: {type(exc).__name__}: {exc}"
    finally:
        admin.close()
    if channel.problem is not None and settings.upstream is not None:   # a gateway may echo the channel key
        channel.problem = channel.problem.replace(settings.upstream.key, REDACTED)
    return channel


def close_channel(settings: Settings, channel: RunChannel) -> None:
    """Delete everything named after the channel's run id (fills ``deleted_at_end`` and ``leftovers``).

    Its own client and ledger: a spent budget or a passed deadline never keeps the channel alive.
    """
    if settings.platform.admin_access_token is None or settings.base_url is None:
        return
    admin = PlatformClient(settings, settings.platform.admin_access_token)
    try:
        channel.deleted_at_end, channel.leftovers = delete_run_objects(None, admin, channel.run_id)
    except TransportError as exc:
        channel.leftovers = [f"channel:{channel.channel_id} ({type(exc).__name__} while deleting it)"]
    finally:
        admin.close()
    if channel.channel_id is not None and not channel.deleted_at_end and not channel.leftovers:
        channel.leftovers = [f"channel:{channel.channel_id} (no longer listed under its name)"]


def with_channel_models(settings: Settings, channel: RunChannel | None) -> Settings:
    """``settings`` whose missing relay models are the channel's (when it can serve)."""
    if channel is None or channel.problem is not None:
        return settings
    models = {**settings.models, **{f"{RELAY}{cap}": m for cap, m in channel.models.items()}}
    return dataclasses.replace(settings, models=MappingProxyType(models))


def gate(settings: Settings, needed: Iterable[str], channel: RunChannel | None) -> tuple[str, bool] | None:
    """Why a test needing ``needed`` features cannot run for want of a relay model: (reason, is
    ERROR), or None. ERROR when the run tried to set up its channel and failed; NOT_SUPPORTED
    when it could not try (no writes, no admin token, D116)."""
    missing = [FEATURE_CAPABILITY[f] for f in needed
               if FEATURE_CAPABILITY.get(f, "").startswith(RELAY) and FEATURE_CAPABILITY[f] not in settings.models]
    if not missing:
        return None
    what = f"no [models] {', '.join(sorted(set(missing)))}"
    if channel is not None and channel.problem is not None:
        return f"{what} and {channel.problem}", True
    why = unavailable(settings) or "the run's channel does not serve it"
    return f"{what}, and the run cannot create its channel: {why}", False


def relay_lines(runs: Iterable[Mapping[str, Any]]) -> list[str]:
    """Summary lines: the run's channel, the models it served, or why it did not (never a key)."""
    lines = []
    for run in runs:
        if "channel" not in run:
            continue
        models = run.get("relay_models") or {}
        served = ", ".join(f"{cap} {model}" for cap, model in sorted(models.items()))
        problem = run.get("channel_problem")
        lines.append(f"relay models: the run's channel {run['channel']}" + (f" ({served})" if served else "")
                     + (f"; NOT USABLE: {problem}" if problem else ""))
    return lines


def _succeeded(exchange: Exchange) -> bool:
    try:
        body = exchange.json()
    except ValueError:
        return False
    return exchange.status == 200 and isinstance(body, dict) and body.get("success") is True


def _said(exchange: Exchange) -> str:
    """What a management answer said, in a few words (status and message, never data)."""
    try:
        body = exchange.json()
    except ValueError:
        body = None
    message = body.get("message") if isinstance(body, dict) else None
    return f"HTTP {exchange.status}" + (f" ({str(message)[:200]})" if message else "")


__all__ = ["CHANNEL_OUTPUT", "RUN_ID_INPUT", "ChannelUnusable", "RunChannel", "channel_capabilities", "close_channel",
           "gate", "new_channel", "open_channel", "relay_lines", "source_line", "unavailable",
           "with_channel_models"]
