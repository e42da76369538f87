"""Property tests: Schemathesis generates requests for every operation of the spec (issue 6).

One pytest item per operation (``test_properties[POST /chat/completions]``), each running the
examples, coverage and fuzzing phases in positive and negative mode. Generated requests find
what hand-written scenarios miss: a 5xx on an odd but valid value, a 2xx for an invalid body,
an answer that drifts from its schema, an undocumented status or Content-Type, an error
without the envelope. Every finding lands on a catalogue requirement (see
``conformance.checks.properties``); the plugin turns MUST violations into failures.

Cost control: the coverage phase is sampled (``properties.max_examples`` positive and
negative cases per operation, every probe), the fuzzing phase draws
``properties.max_examples`` cases from ``properties.seed``; positive cases use the target's
model and ``budgets.max_tokens``; every request goes through the run's transport (budget,
time bounds, byte caps, redaction).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import pytest

from conformance.config import Settings
from conformance.suites.operations import operation
from conformance.suites.properties_cases import coverage_plan, explicit_cases
from conformance.suites.properties_run import PropertyRun
from conformance.suites.properties_schema import AnyCase, configure_item, load_schema, operation_of

if TYPE_CHECKING:
    from conformance.recorder import VerdictRecorder
    from conformance.transport import SuiteTransport

logger = logging.getLogger("conformance.suites.properties")

#: Loaded at import (collection): module level, so xdist can spread the operations.
schema = load_schema()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Per operation, at collection: the run's examples count and seed, the feature and ids."""
    from conformance.plugin_keys import SETTINGS

    configure_item(metafunc.function, metafunc.config.stash[SETTINGS])


@pytest.fixture
def properties(
    request: pytest.FixtureRequest,
    settings: Settings,
    transport: SuiteTransport,
    models: Mapping[str, str],
    verdict: VerdictRecorder,
) -> Iterator[PropertyRun]:
    """The state of one operation's property test (the same object for all its cases)."""
    func = request.node.obj
    op = operation(str(operation_of(func).definition.raw.get("operationId", "")))
    cases = explicit_cases(func)
    if not cases:
        # Every operation has coverage probes; none means Hypothesis stores examples elsewhere now.
        logger.warning("%s: no explicit cases found; the coverage phase sends nothing", op.operation_id)
    plan = coverage_plan(cases, quota=settings.properties.max_examples, seed=settings.properties.seed)
    run = PropertyRun(op, settings=settings, transport=transport, models=models, verdict=verdict,
                      coverage_ids=plan)
    yield run
    request.node.user_properties.append(("nexhina-properties", run.stats.as_dict()))


# The ids (per operation, its shape ids first) and the feature are marked by
# pytest_generate_tests: they differ per operation.
@schema.parametrize()
def test_properties(case: AnyCase, properties: PropertyRun) -> None:
    """Send one generated case of the operation and judge the answer (never raises on a finding)."""
    properties.run(case)
