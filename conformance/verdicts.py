"""Per-requirement verdicts from per-test records, profile results and the run's gate.

Pure logic: test records in (as the plugin gathers them from every xdist worker),
verdicts out. The level of a requirement (never the test) decides FAIL versus WARN. PASS is
earned: a test that ran gives PASS only to the declared ids its checks judged (``judged``);
a declared id it never judged gets nothing from it (NOT_RUN when no test judged it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum

from conformance.model import Level, Requirement, Verdict
from conformance.profiles import covers
from conformance.requirements import Catalogue

#: How a single test ended, as the plugin classifies it.
TEST_PASSED = "passed"
TEST_VIOLATED = "violated"  # the test ran and recorded at least one violation
TEST_ERROR = "error"  # harness/transport trouble: timeout, refused connection, a bug of ours
TEST_NOT_SUPPORTED = "not_supported"
TEST_NOT_RUN = "not_run"  # stopped before or while it ran: the run's deadline or request budget


@dataclass(frozen=True)
class Evidence:
    """What one test saw of one requirement: enough to act on without rerunning."""

    test: str
    verdict: Verdict
    message: str = ""
    where: str | None = None
    expected: str | None = None
    actual: str | None = None
    curl: str | None = None
    count: int = 1  # identical violations at sibling locations, collapsed into this entry
    client_impact: str | None = None  # what the official SDK made of the exchange (conformance.sdk)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready mapping (None fields dropped; ``count`` only when above 1)."""
        data: dict[str, object] = {"test": self.test, "verdict": self.verdict.value}
        for key in ("message", "where", "expected", "actual", "curl", "client_impact"):
            value = getattr(self, key)
            if value:
                data[key] = value
        if self.count > 1:
            data["count"] = self.count
        return data


@dataclass(frozen=True)
class ViolationRecord:
    """A violation as carried from a worker to the controller (plain strings)."""

    requirement: str
    expected: str
    actual: str
    where: str | None = None
    curl: str | None = None
    count: int = 1
    client_impact: str | None = None


@dataclass(frozen=True)
class TestRecord:
    """The outcome of one test: its declared requirements, what its checks judged and found."""

    __test__ = False  # not a pytest test class, despite the name

    nodeid: str
    requirements: tuple[str, ...]
    outcome: str
    violations: tuple[ViolationRecord, ...] = ()
    message: str = ""
    judged: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        """Serialise for transport in ``report.user_properties`` (xdist-safe)."""
        return {
            "nodeid": self.nodeid,
            "requirements": list(self.requirements),
            "outcome": self.outcome,
            "message": self.message,
            "violations": [v.__dict__ for v in self.violations],
            "judged": list(self.judged),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> TestRecord:
        """The inverse of :meth:`to_json`."""
        raw_violations = data.get("violations", [])
        assert isinstance(raw_violations, list)
        requirements = data["requirements"]
        assert isinstance(requirements, list)
        judged = data.get("judged", [])
        assert isinstance(judged, list)
        return cls(
            nodeid=str(data["nodeid"]),
            requirements=tuple(str(r) for r in requirements),
            outcome=str(data["outcome"]),
            message=str(data.get("message", "")),
            violations=tuple(ViolationRecord(**v) for v in raw_violations),
            judged=tuple(str(r) for r in judged),
        )


@dataclass
class RequirementResult:
    """The verdict of one requirement over the whole run, with its evidence."""

    requirement: Requirement
    verdict: Verdict | None = None  # None: no test exercised it in this run
    evidence: list[Evidence] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)
    baselined: bool = False
    stale: bool = False

    def add(self, evidence: Evidence) -> None:
        """Merge one test's evidence, keeping the worst verdict."""
        if evidence.test not in self.tests:
            self.tests.append(evidence.test)
        if evidence.verdict is not Verdict.PASS:
            self.evidence.append(evidence)
        if self.verdict is None or evidence.verdict.rank > self.verdict.rank:
            self.verdict = evidence.verdict

    def ordered_evidence(self, limit: int | None = None) -> list[Evidence]:
        """The evidence with entries of the requirement's own verdict first, cut to ``limit``.

        So a FAIL, WARN or ERROR always shows at least one entry of that verdict, however many
        NOT_SUPPORTED entries other tests added.
        """
        own = [e for e in self.evidence if e.verdict is self.verdict]
        rest = [e for e in self.evidence if e.verdict is not self.verdict]
        ordered = own + rest
        return ordered if limit is None else ordered[:limit]


def verdict_for(level: Level) -> Verdict:
    """The verdict a violation earns: decided by the requirement's level, in one place."""
    return Verdict.FAIL if level is Level.MUST else Verdict.WARN


def aggregate(records: Iterable[TestRecord], catalogue: Catalogue) -> dict[str, RequirementResult]:
    """Fold test records into one result per catalogue requirement (worst verdict wins).

    A test that ran (passed or violated) adds PASS only for the declared ids it judged; a
    skipped or errored test adds NOT_SUPPORTED or ERROR for every id it declared. A
    requirement declared by a test that was NOT_RUN (the run's deadline or budget ended it)
    is NOT_RUN unless some test found it broken (WARN, ERROR, FAIL): the tests that did run
    do not earn it a PASS on their own.
    """
    results = {req.id: RequirementResult(req) for req in catalogue}
    unfinished: set[str] = set()
    for record in records:
        violated = {v.requirement for v in record.violations}
        ran = record.outcome in (TEST_PASSED, TEST_VIOLATED)
        for violation in record.violations:
            req = catalogue[violation.requirement]
            results[req.id].add(
                Evidence(
                    test=record.nodeid,
                    verdict=verdict_for(req.level),
                    message=record.message,
                    where=violation.where,
                    expected=violation.expected,
                    actual=violation.actual,
                    curl=violation.curl,
                    count=violation.count,
                    client_impact=violation.client_impact,
                )
            )
        for rid in record.requirements:
            if rid in violated or (ran and rid not in record.judged):
                continue
            if record.outcome == TEST_NOT_RUN:
                unfinished.add(rid)
                if record.nodeid not in results[rid].tests:
                    results[rid].tests.append(record.nodeid)
                continue
            results[rid].add(Evidence(test=record.nodeid, verdict=_clean_verdict(record), message=_msg(record)))
    for rid in unfinished:
        if results[rid].verdict in (None, Verdict.PASS, Verdict.NOT_SUPPORTED):
            results[rid].verdict = None
    return results


def _clean_verdict(record: TestRecord) -> Verdict:
    """The verdict of a requirement the test declared but did not see violated."""
    if record.outcome == TEST_NOT_SUPPORTED:
        return Verdict.NOT_SUPPORTED
    if record.outcome == TEST_ERROR:
        return Verdict.ERROR
    return Verdict.PASS


def _msg(record: TestRecord) -> str:
    return record.message if record.outcome in (TEST_ERROR, TEST_NOT_SUPPORTED) else ""


def apply_baseline(results: Mapping[str, RequirementResult], baseline: Iterable[str]) -> list[str]:
    """Mark baselined requirements; return the stale entries (listed but now passing)."""
    stale: list[str] = []
    for rid in baseline:
        result = results.get(rid)
        if result is None:
            continue
        result.baselined = True
        if result.verdict is Verdict.PASS:
            result.stale = True
            stale.append(rid)
    return stale


PROFILE_SUCCESS = "success"
PROFILE_PARTIAL = "partial"
PROFILE_FAILURE = "failure"
PROFILE_ERROR = "error"
PROFILE_NOT_RUN = "not-run"


def profile_members(profile: str, results: Mapping[str, RequirementResult]) -> list[RequirementResult]:
    """The requirements a profile covers: ``core`` its own, ``full`` every one."""
    return [r for r in results.values() if covers(profile, r.requirement.profile)]


def profile_statistics(members: Iterable[RequirementResult]) -> dict[str, int]:
    """Counts of each verdict among a profile's requirements (``NOT_RUN`` when unexercised)."""
    stats = {v.value: 0 for v in Verdict} | {"NOT_RUN": 0, "BASELINED": 0}
    for result in members:
        stats[result.verdict.value if result.verdict else "NOT_RUN"] += 1
        if result.baselined and result.verdict is Verdict.FAIL:
            stats["BASELINED"] += 1
    return stats


def not_run(members: Iterable[RequirementResult], features: Collection[str]) -> list[str]:
    """Ids of a declared feature that no test judged (NOT_RUN): never a silent success."""
    return [r.requirement.id for r in members if r.verdict is None and r.requirement.feature in features]


def profile_result(members: Iterable[RequirementResult], features: Collection[str] = ()) -> str:
    """success (all pass), partial (NOT_SUPPORTED, or NOT_RUN of a declared feature), failure, error.

    ``features`` are the target's declared features: one of their requirements that no test
    judged makes the profile at best partial.
    """
    members = list(members)
    verdicts = [r.verdict for r in members if r.verdict is not None]
    if not verdicts:
        return PROFILE_NOT_RUN
    if Verdict.FAIL in verdicts:
        return PROFILE_FAILURE
    if Verdict.ERROR in verdicts:
        return PROFILE_ERROR
    if Verdict.NOT_SUPPORTED in verdicts or not_run(members, features):
        return PROFILE_PARTIAL
    return PROFILE_SUCCESS


class ExitCode(IntEnum):
    """Exit codes of a conformance run (the pytest convention where it has one)."""

    CONFORMANT = 0
    NOT_CONFORMANT = 1
    INTERRUPTED = 2
    HARNESS_ERROR = 3
    USAGE_ERROR = 4


def gate(results: Mapping[str, RequirementResult], stale: Iterable[str]) -> ExitCode:
    """The run's exit code: FAIL not in the baseline or a stale entry -> 1; ERROR -> 3."""
    verdicts = [(r.verdict, r.baselined) for r in results.values()]
    if any(v is Verdict.FAIL and not baselined for v, baselined in verdicts) or list(stale):
        return ExitCode.NOT_CONFORMANT
    if any(v is Verdict.ERROR for v, _ in verdicts):
        return ExitCode.HARNESS_ERROR
    return ExitCode.CONFORMANT
