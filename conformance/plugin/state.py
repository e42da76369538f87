"""The plugin's run state and stash keys: everything one pytest session keeps (in ``config.stash``).

Also where the run's report directory is resolved (once per process; an xdist worker takes the
controller's). Nothing here is global: every value hangs off the pytest config.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance.config import Settings
from conformance.ledger import Ledger
from conformance.plugin.run_channel import RunChannel
from conformance.plugin_keys import PLATFORM_RUN
from conformance.recorder import VerdictRecorder
from conformance.report import new_report_dir
from conformance.requirements import Catalogue
from conformance.target import PreflightFailure, TargetSession
from conformance.verdicts import TestRecord

__all__ = ["LEDGER_INPUT", "NOT_RUN", "NOT_RUN_PREFIX", "NOT_SUPPORTED", "NOT_SUPPORTED_PREFIX", "PLATFORM_RUN",
           "RECORDER", "RECORD_PROPERTY", "STATE", "WRITES_FEATURE", "RunState", "option", "report_dir_of",
           "resolve_report_dir"]

#: The user property that carries a test's record to the controller (xdist too).
RECORD_PROPERTY = "nexhina-record"
NOT_SUPPORTED_PREFIX = "NOT_SUPPORTED"
NOT_RUN_PREFIX = "NOT_RUN"
LEDGER_INPUT = "nexhina_ledger"
#: Tests needing this feature create, change or delete objects: they also need --allow-writes.
WRITES_FEATURE = "platform.writes"


@dataclass
class RunState:
    """Everything the plugin keeps for one pytest session (in ``config.stash``)."""

    settings: Settings
    catalogue: Catalogue
    baseline: dict[str, str]
    started: float = field(default_factory=time.time)
    records: list[TestRecord] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    target: TargetSession | None = None
    requests_sent: int = 0  # by the workers that have finished (xdist); this process adds its own
    stopped: PreflightFailure | None = None  # the preflight found the target unusable: no test runs
    report_dir: Path | None = None  # resolved once per process (workers get the controller's)
    ledger: Ledger | None = None  # the run's shared budget, deadline and breakers
    run_dir: Path | None = None   # where this (controller) process keeps the ledger file
    dry_run_of: str | None = None  # --dry-run: the target nothing is sent to
    platform_runs: list[dict[str, Any]] = field(default_factory=list)  # run ids and leftovers of the platform lane
    channel_run_id: str | None = None  # the run id of the run's relay channel, when the run needs one (D115)
    channel: RunChannel | None = None  # the relay channel this process created (D115)
    upstream_problem: str | None = None  # why this process cannot start the scripted upstream (D128)

    def open_target(self) -> TargetSession:
        """This process's target, opened now if no fixture or set-up opened it yet (raises when it cannot)."""
        if self.target is None:
            self.target = TargetSession.open(self.settings, ledger=self.ledger,
                                             start_upstream=self.upstream_problem is None)
        return self.target


STATE = pytest.StashKey[RunState]()
RECORDER = pytest.StashKey[VerdictRecorder]()
NOT_SUPPORTED = pytest.StashKey[str]()
NOT_RUN = pytest.StashKey[str]()


def option(config: pytest.Config, name: str) -> str | None:
    """The value of ``--nexhina-<name>``, else of its ini key (never for the API key), else None."""
    value = config.getoption(f"nexhina_{name}")
    if value is None and name != "api_key":
        value = ini_value(config, name)
    return str(value) if value not in (None, "") else None


def ini_value(config: pytest.Config, name: str) -> str | None:
    """The pytest ini value of ``nexhina_<name>`` (the file layer of the settings, D85), else None."""
    value = config.getini(f"nexhina_{name}") if name != "api_key" else None
    return str(value) if value not in (None, "") else None


def report_dir_of(config: pytest.Config) -> Path:
    """The run's report directory: where the reports went, else the one it names (or a new one)."""
    return config.stash[STATE].report_dir or resolve_report_dir(config)


def resolve_report_dir(config: pytest.Config) -> Path:
    """The run's report directory, resolved once per process (a worker takes the controller's)."""
    state = config.stash[STATE]
    if state.report_dir is None:
        given = option(config, "report_dir") or getattr(config, "workerinput", {}).get("nexhina_report_dir")
        state.report_dir = Path(given) if given else new_report_dir()
    return state.report_dir
