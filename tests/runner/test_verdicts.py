"""Verdict aggregation, profile results, baseline and the gate (pure logic)."""

from __future__ import annotations

import pytest

from conformance.model import Verdict
from conformance.requirements import load_catalogue
from conformance.verdicts import (
    TEST_ERROR,
    TEST_NOT_RUN,
    TEST_NOT_SUPPORTED,
    TEST_PASSED,
    TEST_VIOLATED,
    ExitCode,
    TestRecord,
    ViolationRecord,
    aggregate,
    apply_baseline,
    gate,
    not_run,
    profile_members,
    profile_result,
)

MUST_ID = "chat.stream.done-sentinel"
SHOULD_ID = "chat.stream.role-not-repeated"
FULL_ID = "rerank.sorted"


def _violation(rid: str) -> ViolationRecord:
    return ViolationRecord(requirement=rid, expected="x", actual="y", where="event[3]")


def test_levels_decide_fail_versus_warn() -> None:
    cat = load_catalogue()
    records = [TestRecord("t1", (MUST_ID, SHOULD_ID), TEST_VIOLATED, (_violation(MUST_ID), _violation(SHOULD_ID)))]
    results = aggregate(records, cat)
    assert results[MUST_ID].verdict is Verdict.FAIL
    assert results[SHOULD_ID].verdict is Verdict.WARN
    assert results[MUST_ID].evidence[0].where == "event[3]"


def test_worst_verdict_wins_across_tests() -> None:
    cat = load_catalogue()
    records = [
        TestRecord("t1", (MUST_ID,), TEST_PASSED, judged=(MUST_ID,)),
        TestRecord("t2", (MUST_ID,), TEST_ERROR, message="transport error: timeout"),
        TestRecord("t3", (MUST_ID,), TEST_PASSED, judged=(MUST_ID,)),
    ]
    results = aggregate(records, cat)
    assert results[MUST_ID].verdict is Verdict.ERROR
    assert results[MUST_ID].tests == ["t1", "t2", "t3"]
    records.append(TestRecord("t4", (MUST_ID,), TEST_VIOLATED, (_violation(MUST_ID),)))
    assert aggregate(records, cat)[MUST_ID].verdict is Verdict.FAIL


def test_error_is_kept_apart_from_fail() -> None:
    cat = load_catalogue()
    results = aggregate([TestRecord("t", (MUST_ID,), TEST_ERROR, message="harness error")], cat)
    assert results[MUST_ID].verdict is Verdict.ERROR
    assert gate(results, []) is ExitCode.HARNESS_ERROR


def test_not_supported_gives_partial_profile() -> None:
    cat = load_catalogue()
    records = [
        TestRecord("a", (MUST_ID,), TEST_PASSED, judged=(MUST_ID,)),
        TestRecord("b", (FULL_ID,), TEST_NOT_SUPPORTED),
    ]
    results = aggregate(records, cat)
    assert results[FULL_ID].verdict is Verdict.NOT_SUPPORTED
    assert profile_result(profile_members("core", results)) == "success"
    assert profile_result(profile_members("full", results)) == "partial"
    assert gate(results, []) is ExitCode.CONFORMANT


@pytest.mark.parametrize(
    ("outcome", "violations", "expected"),
    [
        (TEST_PASSED, (), "success"),
        (TEST_VIOLATED, (_violation(MUST_ID),), "failure"),
        (TEST_VIOLATED, (_violation(SHOULD_ID),), "success"),
        (TEST_ERROR, (), "error"),
    ],
)
def test_profile_results(outcome: str, violations: tuple[ViolationRecord, ...], expected: str) -> None:
    cat = load_catalogue()
    rid = violations[0].requirement if violations else MUST_ID
    results = aggregate([TestRecord("t", (rid,), outcome, violations, judged=(rid,))], cat)
    assert profile_result(profile_members("core", results)) == expected


def test_baseline_allows_listed_failures_and_catches_stale_entries() -> None:
    cat = load_catalogue()
    results = aggregate(
        [
            TestRecord("t1", (MUST_ID,), TEST_VIOLATED, (_violation(MUST_ID),)),
            TestRecord("t2", (FULL_ID,), TEST_PASSED, judged=(FULL_ID,)),
        ],
        cat,
    )
    assert gate(results, []) is ExitCode.NOT_CONFORMANT
    stale = apply_baseline(results, [MUST_ID])
    assert stale == [] and gate(results, stale) is ExitCode.CONFORMANT
    stale = apply_baseline(results, [FULL_ID])
    assert stale == [FULL_ID] and results[FULL_ID].stale
    assert gate(results, stale) is ExitCode.NOT_CONFORMANT


def test_record_round_trips_through_json() -> None:
    record = TestRecord("t", (MUST_ID, SHOULD_ID), TEST_VIOLATED, (_violation(MUST_ID),), "m", judged=(SHOULD_ID,))
    assert TestRecord.from_json(record.to_json()) == record


def test_pass_is_earned_only_by_judged_ids() -> None:
    cat = load_catalogue()
    declared_only = [TestRecord("t", (MUST_ID, SHOULD_ID), TEST_PASSED, judged=(SHOULD_ID,))]
    results = aggregate(declared_only, cat)
    assert results[SHOULD_ID].verdict is Verdict.PASS
    assert results[MUST_ID].verdict is None and results[MUST_ID].tests == []  # NOT_RUN, not PASS
    violated = [TestRecord("t", (MUST_ID, SHOULD_ID), TEST_VIOLATED, (_violation(MUST_ID),))]
    assert aggregate(violated, cat)[SHOULD_ID].verdict is None
    # a skipped or errored test still speaks for every id it declares
    skipped = [TestRecord("t", (MUST_ID,), TEST_NOT_SUPPORTED), TestRecord("u", (SHOULD_ID,), TEST_ERROR)]
    assert aggregate(skipped, cat)[MUST_ID].verdict is Verdict.NOT_SUPPORTED
    assert aggregate(skipped, cat)[SHOULD_ID].verdict is Verdict.ERROR


def test_not_run_of_a_declared_feature_makes_the_profile_partial() -> None:
    cat = load_catalogue()
    results = aggregate([TestRecord("t", (MUST_ID,), TEST_PASSED, judged=(MUST_ID,))], cat)
    members = [results[MUST_ID], results[SHOULD_ID]]
    assert profile_result(members) == "success"  # no declared feature: nothing is owed
    assert profile_result(members, {cat[SHOULD_ID].feature}) == "partial"
    assert not_run(members, {cat[SHOULD_ID].feature}) == [SHOULD_ID]


def test_fail_evidence_comes_first_whatever_the_cap() -> None:
    cat = load_catalogue()
    records = [TestRecord(f"s{i}", (MUST_ID,), TEST_NOT_SUPPORTED, message="not declared") for i in range(9)]
    records.append(TestRecord("v", (MUST_ID,), TEST_VIOLATED, (_violation(MUST_ID),)))
    result = aggregate(records, cat)[MUST_ID]
    assert result.verdict is Verdict.FAIL
    assert result.evidence[0].verdict is Verdict.NOT_SUPPORTED  # the defect: arrival order
    assert [e.verdict for e in result.ordered_evidence(5)][0] is Verdict.FAIL
    assert len(result.ordered_evidence(5)) == 5


def test_unexercised_requirements_are_not_run() -> None:
    results = aggregate([], load_catalogue())
    assert all(r.verdict is None for r in results.values())
    assert profile_result(profile_members("full", results)) == "not-run"


def test_a_test_that_ran_outranks_one_that_was_not_supported() -> None:
    cat = load_catalogue()
    records = [
        TestRecord("op-a", (MUST_ID,), TEST_NOT_SUPPORTED),
        TestRecord("op-b", (MUST_ID,), TEST_PASSED, judged=(MUST_ID,)),
    ]
    assert aggregate(records, cat)[MUST_ID].verdict is Verdict.PASS
    assert aggregate(records[:1], cat)[MUST_ID].verdict is Verdict.NOT_SUPPORTED


def test_a_requirement_with_a_test_not_run_is_not_run_unless_found_broken() -> None:
    cat = load_catalogue()
    records = [
        TestRecord("ran", (MUST_ID, SHOULD_ID, FULL_ID), TEST_PASSED, judged=(MUST_ID, SHOULD_ID, FULL_ID)),
        TestRecord("stopped", (MUST_ID, SHOULD_ID), TEST_NOT_RUN, message="NOT_RUN: budget spent"),
        TestRecord("broken", (SHOULD_ID,), TEST_VIOLATED, (_violation(SHOULD_ID),)),
    ]
    results = aggregate(records, cat)
    assert results[MUST_ID].verdict is None            # reported NOT_RUN, never PASS
    assert results[MUST_ID].tests == ["ran", "stopped"]
    assert results[SHOULD_ID].verdict is Verdict.WARN  # a finding stands
    assert results[FULL_ID].verdict is Verdict.PASS
