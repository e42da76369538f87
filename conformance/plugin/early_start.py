"""Tests that start early: a waiting test's requests go out in the background from the run's start (D127).

A test marked ``@pytest.mark.early_start(send=func)`` spends most of its time waiting, not working
(the rate-limit test waits out the window before its recovery probe). In a run of one process,
once collection is done and before the first test, the plugin calls ``func(transport, settings)``
on a background thread for every such test the run will really run (its features declared,
nothing gating it), so the wait overlaps the tests before it. The test takes what ``func``
returned with the ``started_early`` fixture, which re-raises what ``func`` raised, and judges it.
Under xdist (which worker runs the test is not known in advance), and whenever the test was
not started, the fixture calls ``func`` then, inline: the same requests in the same order, only
later. ``func`` sends requests and returns what it saw; it judges nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

import pytest

from conformance.config import Settings
from conformance.errors import ConformanceError
from conformance.plugin.selection import declared_ids, not_supported
from conformance.plugin.state import RunState
from conformance.transport import Transport

#: The marker: ``early_start(send=func)``, ``func(transport, settings)`` sends the test's requests.
MARK = "early_start"
#: The background result of an item started early.
EARLY = pytest.StashKey["Future[Any]"]()

EarlyFunction = Callable[[Transport, Settings], Any]


def _function(item: pytest.Item) -> EarlyFunction | None:
    mark = item.get_closest_marker(MARK)
    if mark is None:
        return None
    func = mark.kwargs.get("send")
    if not callable(func):
        raise pytest.UsageError(f"{item.nodeid}: early_start takes send=<function (transport, settings)>")
    sender: EarlyFunction = func
    return sender


def start_early(config: pytest.Config, state: RunState, items: Sequence[pytest.Item]) -> None:
    """Start every marked test the run will run, each on its own background thread (one process only)."""
    if (state.stopped is not None or state.dry_run_of is not None or config.option.collectonly
            or hasattr(config, "workerinput") or config.pluginmanager.has_plugin("dsession")):
        return
    chosen = [(item, func) for item in items
              if (func := _function(item)) is not None and declared_ids(item) and not_supported(item, state) is None]
    if not chosen:
        return
    try:
        target = state.open_target()
    except (ConformanceError, OSError, RuntimeError):
        return                 # the first test's fixtures meet the same problem and report it
    for item, func in chosen:
        future: Future[Any] = Future()
        item.stash[EARLY] = future
        # A daemon: a run that ends (or is interrupted) before the test never waits for it.
        threading.Thread(target=_run, args=(future, func, target.transport, target.settings),
                         name=f"nexhina-early-{item.name}", daemon=True).start()


def _run(future: Future[Any], func: EarlyFunction, transport: Transport, settings: Settings) -> None:
    if not future.set_running_or_notify_cancel():
        return
    try:
        future.set_result(func(transport, settings))
    except BaseException as exc:  # noqa: BLE001 - handed to the test, which raises it
        future.set_exception(exc)


@pytest.fixture
def started_early(request: pytest.FixtureRequest, transport: Transport, settings: Settings) -> Any:
    """What the test's ``early_start`` function returned (started early, or called now)."""
    item = request.node
    func = _function(item)
    if func is None:
        raise pytest.UsageError(f"{item.nodeid}: the started_early fixture needs an early_start mark")
    future = item.stash.get(EARLY, None)
    return func(transport, settings) if future is None else future.result()
