"""The fixtures the suites use: ``settings``, ``transport``, ``models``, ``verdict``, ``scripted_upstream``.

The session's target (the embedded reference unless a base URL is given) is opened once and closed
in ``pytest_unconfigure``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import pytest

from conformance.config import Settings
from conformance.plugin.selection import declared_ids
from conformance.plugin.state import RECORDER, STATE
from conformance.recorder import VerdictRecorder
from conformance.target import TargetSession
from conformance.transport import Transport

if TYPE_CHECKING:
    from conformance.upstream.server import Upstream


@pytest.fixture(scope="session")
def _nexhina_target(pytestconfig: pytest.Config) -> Iterator[TargetSession]:
    """The reachable target: starts the embedded reference when no base URL is given."""
    yield pytestconfig.stash[STATE].open_target()


@pytest.fixture(scope="session")
def settings(_nexhina_target: TargetSession) -> Settings:
    """The resolved target settings (base URL filled in for the embedded reference)."""
    return _nexhina_target.settings


@pytest.fixture(scope="session")
def transport(_nexhina_target: TargetSession) -> Transport:
    """The one HTTP client of the run, with its budgets, bounds and redaction."""
    return _nexhina_target.transport


@pytest.fixture(scope="session")
def scripted_upstream(_nexhina_target: TargetSession) -> Upstream | None:
    """The run's scripted upstream (relay lane), or None when the target file has no ``[upstream]``."""
    return _nexhina_target.upstream


@pytest.fixture(scope="session")
def models(settings: Settings) -> Mapping[str, str]:
    """The model to use per capability (chat, responses, embeddings, ...)."""
    return settings.models


@pytest.fixture
def verdict(request: pytest.FixtureRequest) -> VerdictRecorder:
    """Where a test records the violations its checks found; the plugin decides the verdict."""
    state = request.config.stash[STATE]
    recorder = VerdictRecorder(state.catalogue, declared_ids(request.node))
    request.node.stash[RECORDER] = recorder
    return recorder

