"""The run's relay channel in the session: its run id, its set-up before the first test, its deletion.

Owns the plugin side of channel mode (D115): the run id is chosen once, by the controller in
``pytest_configure`` (an xdist worker takes it from its workerinput and adds its worker id,
because each worker starts its own scripted upstream, D117); the process that owns the
scripted upstream opens the target, creates and tests the channel after collection (when a
collected test needs it) and before the first test, and
puts the channel's models into the settings every fixture and gate reads; at session finish
(also after a failure or Ctrl-C) the channel is deleted and its record returned for the
reports. The channel itself: `conformance.plugin.run_channel`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest

from conformance.config.keys import FEATURE_CAPABILITY
from conformance.errors import ConformanceError
from conformance.platform_client import new_run_id
from conformance.plugin.run_channel import (
    RELAY,
    RUN_ID_INPUT,
    RunChannel,
    channel_capabilities,
    channel_name,
    close_channel,
    new_channel,
    open_channel,
    unavailable,
    with_channel_models,
)
from conformance.plugin.selection import needed_features
from conformance.plugin.state import RunState
from conformance.plugin_keys import SETTINGS


def held_upstream(config: pytest.Config, state: RunState) -> None:
    """On an xdist worker, a scripted upstream at a fixed address is for one process only (D128).

    Every worker would start its own on the same address; the first would win and the others
    fail. None starts it: the relay lane's tests ERROR with one line saying so (the other lanes
    run), and no worker creates a channel to it.
    """
    upstream = state.settings.upstream
    if upstream is None or getattr(config, "workerinput", None) is None:
        return
    from conformance.upstream.server import parse_listen

    try:
        _, port = parse_listen(upstream.listen)
    except ValueError:
        return                  # the worker's start reports the bad address, as in one process
    if port != 0:
        state.upstream_problem = (
            f"the scripted upstream listens on the fixed address {upstream.listen}, which one process only "
            "can hold: run the relay lane without -n (D128)")
        state.channel_run_id = None


def choose_run_id(config: pytest.Config, state: RunState) -> None:
    """The run id of the run's channel when the run needs one and can create it (else None)."""
    settings = state.settings
    if state.dry_run_of is not None or not channel_capabilities(settings) or unavailable(settings) is not None:
        return
    worker_input = getattr(config, "workerinput", None)
    if worker_input is None:
        state.channel_run_id = new_run_id()
    elif worker_input.get(RUN_ID_INPUT):
        state.channel_run_id = f"{worker_input[RUN_ID_INPUT]}-{worker_input.get('workerid', 'gw')}"


def open_run_channel(config: pytest.Config, state: RunState, items: Sequence[pytest.Item]) -> None:
    """Start the target, create and test the run's channel, and give its models to the settings.

    Only when a collected test needs a model the channel serves (a core run creates nothing).
    """
    if state.channel_run_id is None:
        return
    channel = new_channel(state.channel_run_id, state.settings)
    served = {f"{RELAY}{cap}" for cap in channel.models}
    if not any(FEATURE_CAPABILITY.get(f) in served for item in items for f in needed_features(item)):
        return
    # Kept before the first request: a Ctrl-C while it is being created still deletes it at the end.
    state.channel = channel
    try:
        target = state.open_target()
    except (ConformanceError, OSError, RuntimeError) as exc:
        channel.problem = f"the target could not be started for the run's channel: {exc}"
        return
    open_channel(target.settings, channel, state.ledger)
    target.settings = with_channel_models(target.settings, channel)
    state.settings = dataclasses.replace(state.settings, models=target.settings.models)
    config.stash[SETTINGS] = state.settings


def close_run_channel(state: RunState, *, xdist_controller: bool = False) -> dict[str, Any] | None:
    """Delete the run's channel (everything named after its run id); its record, or None.

    The xdist controller of a remote target also sweeps the run id: a worker that died
    could not delete its channel (found: listed in the report like any other).
    """
    channel = state.channel
    if xdist_controller and state.channel_run_id is not None and state.settings.base_url is not None \
            and state.stopped is None:
        swept = RunChannel(state.channel_run_id, channel_name(state.channel_run_id), {})
        close_channel(state.settings, swept)
        return swept.record() if swept.deleted_at_end or swept.leftovers else None
    if channel is None or state.target is None:
        return None
    close_channel(state.target.settings, channel)
    return channel.record()
