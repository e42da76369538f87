"""Selection and gating: marker validation, the profile's tests, NOT_SUPPORTED and NOT_RUN before a test.

A test whose feature the target did not declare is NOT_SUPPORTED; once the run's deadline passed or
its request budget is spent, every further test is NOT_RUN.
"""

from __future__ import annotations

import pytest

from conformance.model_rules_run import MARKER as RULES_MARKER
from conformance.model_rules_run import gate_reason
from conformance.plugin.run_channel import ChannelUnusable, gate
from conformance.plugin.state import (
    NOT_RUN,
    NOT_RUN_PREFIX,
    NOT_SUPPORTED,
    NOT_SUPPORTED_PREFIX,
    STATE,
    WRITES_FEATURE,
    RunState,
)
from conformance.profiles import kept_in_core
from conformance.requirements import Catalogue


def declared_ids(item: pytest.Item) -> tuple[str, ...]:
    ids: list[str] = []
    for mark in item.iter_markers("requirements"):
        ids.extend(str(a) for a in mark.args)
    return tuple(dict.fromkeys(ids))


def needed_features(item: pytest.Item) -> tuple[str, ...]:
    names: list[str] = []
    for mark in item.iter_markers("feature"):
        names.extend(str(a) for a in mark.args)
    return tuple(dict.fromkeys(names))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Check every marker names known ids and features; keep only the profile's tests."""
    state = config.stash[STATE]
    known_features = state.catalogue.features()
    problems: list[str] = []
    keep: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        ids = declared_ids(item)
        problems += [f"{item.nodeid}: unknown requirement id {rid!r}" for rid in ids if rid not in state.catalogue]
        problems += [
            f"{item.nodeid}: unknown feature {name!r}" for name in needed_features(item) if name not in known_features
        ]
        if ids and state.settings.profile == "core" and not _in_core(item, ids, state.catalogue):
            deselected.append(item)
        else:
            keep.append(item)
    if problems:
        raise pytest.UsageError("nexhina-conformance: bad markers:\n  " + "\n  ".join(problems))
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = keep


def _in_core(item: pytest.Item, ids: tuple[str, ...], catalogue: Catalogue) -> bool:
    """A test belongs to the core profile when it needs only core features and checks a core id."""
    return kept_in_core(needed_features(item), ids,
                        lambda rid: catalogue[rid].profile if rid in catalogue else None)


def not_supported(item: pytest.Item, state: RunState) -> tuple[str, bool] | None:
    """Why the target cannot take ``item`` (and whether that is an ERROR rather than NOT_SUPPORTED), or None."""
    needed = needed_features(item)
    missing = [f for f in needed if f not in state.settings.features]
    if missing:
        return f"{NOT_SUPPORTED_PREFIX}: the target does not declare {', '.join(missing)}", False
    if WRITES_FEATURE in needed and not state.settings.allow_writes:
        return f"{NOT_SUPPORTED_PREFIX}: writes are off (run with --allow-writes)", False
    if state.upstream_problem is not None and any(f.startswith("relay") for f in needed):
        return state.upstream_problem, True
    if (relay := gate(state.settings, needed, state.channel)) is not None:
        # The run tried to set up its channel and failed: ERROR (D116).
        return (relay[0], True) if relay[1] else (f"{NOT_SUPPORTED_PREFIX}: {relay[0]}", False)
    if (ruled := gate_reason([{"args": m.args, "kwargs": m.kwargs} for m in item.iter_markers(RULES_MARKER)],
                             state.settings, state.ledger)) is not None:
        return f"{NOT_SUPPORTED_PREFIX}: {ruled}", False   # the declared model does not take it (D72)
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test whose feature the target did not declare is NOT_SUPPORTED (reported, not run)."""
    if not declared_ids(item):
        return
    state = item.config.stash[STATE]
    gated = not_supported(item, state)
    if gated is not None:
        reason, error = gated
        if error:
            raise ChannelUnusable(reason)
        item.stash[NOT_SUPPORTED] = reason
        pytest.skip(reason)
    stop = _stop_reason(state)
    if stop is not None:
        item.stash[NOT_RUN] = stop
        pytest.skip(stop)


def _stop_reason(state: RunState) -> str | None:
    """Why no further test may start (the run's deadline passed, its budget is spent), or None."""
    ledger = state.ledger
    if ledger is None:
        return None
    if ledger.past_deadline():
        return (f"{NOT_RUN_PREFIX}: the run's deadline of {state.settings.budgets.max_duration:g} s passed "
                "(budgets.max_duration / --max-duration)")
    if ledger.spent():
        return (f"{NOT_RUN_PREFIX}: the run's request budget of {state.settings.budgets.max_requests} requests "
                "is spent (budgets.max_requests)")
    return None
