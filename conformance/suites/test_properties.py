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
time bounds, byte caps, redaction), the cases of one operation together (at most
``budgets.concurrency`` in flight, D120).

Collection builds nothing (D121): the items, their ids and marks come from the spec
(`conformance.suites.properties_items`); an item builds its operation's Schemathesis test when
it runs, so Schemathesis and Hypothesis are imported, and coverage cases enumerated, only for
the operations a run really tests.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import pytest

from conformance.config import Settings
from conformance.suites.properties_items import property_params

if TYPE_CHECKING:
    from conformance.recorder import VerdictRecorder
    from conformance.suites.properties_run import PropertyRun
    from conformance.transport import SuiteTransport


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One item per operation of the spec (its feature and ids as marks): nothing is built here."""
    if "operation_label" in metafunc.fixturenames:
        metafunc.parametrize("operation_label", property_params())


@pytest.fixture
def properties(
    request: pytest.FixtureRequest,
    operation_label: str,
    settings: Settings,
    transport: SuiteTransport,
    models: Mapping[str, str],
    verdict: VerdictRecorder,
) -> Iterator[PropertyRun]:
    """The state of one operation's property test, its Schemathesis test built now."""
    from conformance.suites.properties_run import PropertyRun  # Schemathesis: only when a property test runs

    run = PropertyRun.build(operation_label, settings=settings, transport=transport, models=models,
                            verdict=verdict)
    yield run
    request.node.user_properties.append(("nexhina-properties", run.stats.as_dict()))


def test_properties(operation_label: str, properties: PropertyRun) -> None:
    """Generate the operation's cases, send them and judge every answer (never raises on a finding)."""
    properties.execute()
