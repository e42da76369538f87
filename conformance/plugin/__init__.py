"""The pytest plugin (``pytest11`` entry point ``conformance.plugin``): options, markers, fixtures, verdicts, reports.

Selection (profile), gating (features -> NOT_SUPPORTED), the level rule (MUST fails, SHOULD
warns), the baseline, the run's bounds (the shared `Ledger`: one request budget across xdist
workers, the whole-run deadline, the breakers; tests stopped by them are NOT_RUN) and the
reports with the run's cost all live here, so ``nexhina-conformance run`` and
``pytest --pyargs conformance.suites --nexhina-base-url ...`` give the same results.
State lives in ``config.stash``; nothing is global.

This module only gathers the hooks and fixtures of its parts (pytest registers this module):

- `conformance.plugin.options`: options, ini keys, settings resolution, the ledger;
- `conformance.plugin.selection`: marker validation, the profile's tests, NOT_SUPPORTED / NOT_RUN;
- `conformance.plugin.outcomes`: the level rule and each test's record;
- `conformance.plugin.session`: preflight, record collection, xdist, the verdict and reports;
- `conformance.plugin.reports`: the run's facts and cost lines;
- `conformance.plugin.fixtures`: ``settings``, ``transport``, ``models``, ``verdict``;
- `conformance.plugin.early_start`: tests whose waiting starts before the first test (D127);
- `conformance.plugin.allure_labels`: Allure labels and evidence;
- `conformance.plugin.state`: the run state and stash keys.
- `conformance.plugin.run_channel`, `conformance.plugin.run_channel_setup`: the run's own relay
  channel (channel mode, D115-D119).
"""

from __future__ import annotations

from conformance.plugin.allure_labels import _nexhina_allure_labels
from conformance.plugin.early_start import started_early
from conformance.plugin.fixtures import _nexhina_target, models, scripted_upstream, settings, transport, verdict
from conformance.plugin.options import (
    pytest_addoption,
    pytest_configure,
    pytest_report_header,
    pytest_unconfigure,
)
from conformance.plugin.outcomes import pytest_runtest_call, pytest_runtest_makereport
from conformance.plugin.selection import pytest_collection_modifyitems, pytest_runtest_setup
from conformance.plugin.session import RunHooks
from conformance.plugin.state import (
    NOT_RUN,
    NOT_SUPPORTED,
    PLATFORM_RUN,
    RECORD_PROPERTY,
    RECORDER,
    STATE,
    WRITES_FEATURE,
    RunState,
    report_dir_of,
)

#: Former name of `RECORD_PROPERTY` (tests/e2e/record_collector.py reads it).
_PROPERTY = RECORD_PROPERTY

__all__ = [
    "NOT_RUN",
    "NOT_SUPPORTED",
    "PLATFORM_RUN",
    "RECORDER",
    "RECORD_PROPERTY",
    "STATE",
    "WRITES_FEATURE",
    "RunHooks",
    "RunState",
    "_nexhina_allure_labels",
    "_nexhina_target",
    "models",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_report_header",
    "pytest_runtest_call",
    "pytest_runtest_makereport",
    "pytest_runtest_setup",
    "pytest_unconfigure",
    "report_dir_of",
    "scripted_upstream",
    "settings",
    "started_early",
    "transport",
    "verdict",
]
