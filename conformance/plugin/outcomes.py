"""Outcomes: the level rule after each test body and the `TestRecord` each report carries.

A MUST violation fails the test; a SHOULD is reported; a test stopped by the run's bounds is NOT_RUN;
a transport or harness error is an ERROR, never the server's FAIL. The record travels to the
controller as a user property (so it works under xdist too).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Generator

import pytest

from conformance.artefacts import save_uploads
from conformance.errors import BudgetExceeded, TransportError
from conformance.model import Level, printable
from conformance.model_matrix import baselined_for
from conformance.plugin.allure_labels import attach_evidence
from conformance.plugin.selection import declared_ids
from conformance.plugin.state import (
    NOT_RUN,
    NOT_RUN_PREFIX,
    NOT_SUPPORTED,
    RECORD_PROPERTY,
    RECORDER,
    STATE,
    resolve_report_dir,
)
from conformance.verdicts import (
    TEST_ERROR,
    TEST_NOT_RUN,
    TEST_NOT_SUPPORTED,
    TEST_PASSED,
    TEST_VIOLATED,
    TestRecord,
    ViolationRecord,
)

log = logging.getLogger("conformance.plugin")


def _stopped_by_bounds(exc: BaseException | None) -> BudgetExceeded | None:
    """The `BudgetExceeded` that ended a test, also when wrapped (Hypothesis, exception groups)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, BudgetExceeded):
            return exc
        inner = getattr(exc, "exceptions", None)
        if isinstance(inner, (list, tuple)):
            for sub in inner:
                found = _stopped_by_bounds(sub)
                if found is not None:
                    return found
        exc = exc.__cause__ or exc.__context__
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """After the test body: a MUST violation fails the test, with the full failure text."""
    result = yield
    recorder = item.stash.get(RECORDER, None)
    if recorder is not None and recorder.of_level(Level.MUST):
        attach_evidence(recorder)
        pytest.fail(recorder.failure_text(Level.MUST), pytrace=False)
    if recorder is not None and recorder.of_level(Level.SHOULD):
        attach_evidence(recorder)
    return result


def _record(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> TestRecord | None:
    """The TestRecord of one phase report, or None when the phase says nothing new."""
    ids = declared_ids(item)
    if not ids:
        return None
    recorder = item.stash.get(RECORDER, None)
    violations = tuple(_printable(v) for v in recorder.records()) if recorder is not None else ()
    judged = recorder.judged_ids() if recorder is not None else ()
    if report.when == "setup" and report.skipped:
        reason = item.stash.get(NOT_SUPPORTED, None)
        if reason is not None:
            return TestRecord(item.nodeid, ids, TEST_NOT_SUPPORTED, message=reason)
        stop = item.stash.get(NOT_RUN, None)
        if stop is not None:
            return TestRecord(item.nodeid, ids, TEST_NOT_RUN, message=stop)
        return TestRecord(item.nodeid, ids, TEST_ERROR, message="a test of a declared feature was skipped")
    if report.when == "setup" and report.failed:
        return TestRecord(item.nodeid, ids, TEST_ERROR, message=_error_text(call))
    if report.when != "call":
        return None
    if report.skipped:
        return TestRecord(item.nodeid, ids, TEST_ERROR, violations, "a test of a declared feature was skipped")
    excinfo = call.excinfo
    must_found = recorder is not None and recorder.of_level(Level.MUST)
    stopped = _stopped_by_bounds(excinfo.value) if excinfo is not None else None
    if stopped is not None and not must_found:
        return TestRecord(item.nodeid, ids, TEST_NOT_RUN, violations, f"{NOT_RUN_PREFIX}: stopped: {stopped}",
                          judged)
    if excinfo is not None and not must_found:
        return TestRecord(item.nodeid, ids, TEST_ERROR, violations, _error_text(call), judged)
    return TestRecord(item.nodeid, ids, TEST_VIOLATED if violations else TEST_PASSED, violations, judged=judged)


def _printable(record: ViolationRecord) -> ViolationRecord:
    """The record with control characters escaped (nothing raw reaches a report, D31)."""
    return dataclasses.replace(record, expected=printable(record.expected), actual=printable(record.actual),
                               where=printable(record.where) if record.where is not None else None)


def _error_text(call: pytest.CallInfo[None]) -> str:
    if call.excinfo is None:
        return ""
    exc = call.excinfo.value
    kind = "transport" if isinstance(exc, TransportError) else "harness"
    return printable(f"{kind} error: {type(exc).__name__}: {exc}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the test's record to the report (xdist carries it to the controller)."""
    report = yield
    record = _record(item, call, report)
    if record is None:
        return report
    report.user_properties.append((RECORD_PROPERTY, json.dumps(record.to_json())))
    state = item.config.stash[STATE]
    recorder = item.stash.get(RECORDER, None)
    if recorder is not None and recorder.observed:
        save_uploads(resolve_report_dir(item.config), (o.exchange for o in recorder.observed if o.exchange is not None))
    must_failed = {v.requirement for v in record.violations if state.catalogue[v.requirement].level is Level.MUST}
    known = baselined_for(state.baseline, item.nodeid)
    if report.failed and record.outcome == TEST_VIOLATED and must_failed and must_failed <= known:
        # Known deviation: shown as xfail, so the run's output stays readable; verdict stays FAIL.
        report.outcome = "skipped"
        report.wasxfail = "baselined: " + ", ".join(sorted(must_failed))
    elif record.outcome == TEST_ERROR and report.when == "call" and report.skipped:
        report.outcome = "failed"
        report.longrepr = record.message
    elif record.outcome == TEST_ERROR and report.failed and item.config.get_verbosity() < 1:
        # One line (what, where, why); the traceback only with -v, and in the debug log (D30).
        log.debug("%s: %s\n%s", item.nodeid, record.message, report.longreprtext)
        report.longrepr = record.message
    elif record.outcome == TEST_NOT_RUN and report.when == "call":
        report.outcome = "skipped"   # stopped by the run's bounds: not a failure of the test
        report.longrepr = (str(item.path), (item.location[1] or 0) + 1, record.message)
    return report
