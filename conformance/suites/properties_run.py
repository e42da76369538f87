"""One operation's property test: generate its cases, send them as they come, judge every answer in order.

:class:`PropertyRun` lives for one pytest item (one operation). :meth:`PropertyRun.build` builds
the operation's Schemathesis test (only now: collection builds nothing), or takes its cases from
the case cache when an earlier run generated them (`conformance.suites.properties_cache`, D126);
:meth:`PropertyRun.execute` runs it (or replays them). For every case Hypothesis hands over,
:meth:`PropertyRun.run` decides whether to send it (coverage sample, cost caps), makes a positive
case cheap and sends it in the background (at most ``budgets.concurrency`` in flight, D120) while
Hypothesis draws the next one: nothing
that decides which cases are drawn or sent depends on an answer. Every request goes through the
run's transport (budget, time bounds, byte caps, redaction). Once the cases are drawn, the
answers are judged in case order: Schemathesis' checks and ours, every finding mapped to
catalogue violations and recorded with the ``verdict`` fixture (deduplicated: one operation can
produce the same finding for many cases). The first positive case answered 2xx is also sent
once with an unknown key (Schemathesis' ``ignored_auth``, done through our transport). The
requests' digest (`RunStats.requests`) follows case order too, whatever the wire order.

It never raises on a finding: the plugin turns recorded MUST violations into a failure after
the test. A transport error (budget spent, timeout, refused connection) stops the sending and is
raised once the answers before it (in case order) are judged, so the item ends as ERROR.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import pickle
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from schemathesis.core.failures import Failure, FailureGroup

from conformance.checks.errors import check_status
from conformance.checks.properties import (
    CONTENT_TYPE,
    INVALID_KEY,
    MISSING_AUTH,
    NEGATIVE,
    POSITIVE,
    WRONG_METHOD,
    CaseFacts,
    check_stream_answered_as_stream,
    failure_to_violations,
    invalid_body_requirement,
    judged_by_case,
)
from conformance.errors import TransportError
from conformance.model import Exchange, Findings, Violation
from conformance.suites.operations import Operation, operation
from conformance.suites.properties_cache import CaseCache, snapshot
from conformance.suites.properties_cases import (
    EXPENSIVE_POSITIVE_CAP,
    Outgoing,
    cap_positive,
    case_kind,
    coverage_plan,
    drop_unplanned,
    explicit_cases,
    is_coverage,
    outgoing,
    prefer_stream,
)
from conformance.suites.properties_schema import (
    AnyCase,
    checks_for,
    failure_facts,
    loaded_schema,
    only_spec_values,
    operation_test,
    response_from_exchange,
)
from conformance.transport import DEFAULT

if TYPE_CHECKING:
    from conformance.config import Settings
    from conformance.recorder import VerdictRecorder
    from conformance.transport import KeyChoice, SuiteTransport

logger = logging.getLogger("conformance.suites.properties")

#: A well-formed key no target issued (the ignored-auth probe).
INVALID_KEY_VALUE = "sk-nexhina-conformance-unknown-0000000000000000"
#: Distinct findings of one requirement kept per operation (the rest repeat them).
FINDINGS_PER_REQUIREMENT = 3


@dataclass
class RunStats:
    """What one operation's property test did (for the bench and the logs)."""

    generated: int = 0
    sent: int = 0
    skipped: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    by_phase: dict[str, int] = field(default_factory=dict)
    #: sha256 over every request sent, in order (`Outgoing.fingerprint`): equal digests, equal cases
    requests: Any = field(default_factory=hashlib.sha256)
    #: Where the cases came from: "generated" by Hypothesis, or replayed from the case "cache"
    cases: str = "generated"

    def as_dict(self) -> dict[str, object]:
        """Plain data (JSON-ready)."""
        return {"generated": self.generated, "sent": self.sent, "skipped": self.skipped,
                "by_kind": dict(self.by_kind), "by_phase": dict(self.by_phase),
                "requests_sha256": self.requests.hexdigest()[:16], "cases": self.cases}


class PropertyRun:
    """The state of one operation's property test (see the module docstring)."""

    def __init__(
        self,
        op: Operation,
        *,
        settings: Settings,
        transport: SuiteTransport,
        models: Mapping[str, str],
        verdict: VerdictRecorder,
        coverage_ids: frozenset[str],
    ) -> None:
        self.op = op
        self.settings = settings
        self.transport = transport
        self.models = models
        self.verdict = verdict
        self.coverage_ids = coverage_ids
        self.stats = RunStats()
        self._positive_cap = EXPENSIVE_POSITIVE_CAP.get(op.operation_id, 3 * settings.properties.max_examples)
        self._positives = 0
        self._auth_probed = False
        self._seen: set[tuple[str, str | None, str]] = set()
        self._per_requirement: dict[str, int] = {}
        self._pending: list[tuple[AnyCase, str, Outgoing, Future[Exchange | TransportError] | None]] = []
        self._test: Callable[..., None] | None = None
        self._replay: list[AnyCase] | None = None     # the cases, from the case cache
        self._cache: CaseCache | None = None          # where generated cases are kept
        self._recorded: list[bytes] | None = None     # generated cases as they arrived (for the cache)
        self._unplanned = 0
        self._pool: ThreadPoolExecutor | None = None
        self._stopped = False    # a send failed: later cases are not sent
        features = settings.features
        # Auth probes need a target with keys; client-mistake cases one that declares errors.
        self._kinds = {POSITIVE}
        self._kinds |= {MISSING_AUTH, INVALID_KEY} if "auth" in features else set()
        self._kinds |= {NEGATIVE, WRONG_METHOD, CONTENT_TYPE} if "errors" in features else set()

    @classmethod
    def build(cls, label: str, *, settings: Settings, transport: SuiteTransport, models: Mapping[str, str],
              verdict: VerdictRecorder) -> PropertyRun:
        """The run of one operation (``"POST /chat/completions"``): its cases from the case cache, or
        its test built and its coverage sample planned (the cases recorded for the cache)."""
        method, path = label.split(" ", 1)
        api_operation = loaded_schema()[path][method]
        op = operation(str(api_operation.definition.raw.get("operationId", "")))
        cache = CaseCache.for_run(label, settings)
        cached = cache.load(api_operation) if cache is not None else None
        if cached is not None:
            run = cls(op, settings=settings, transport=transport, models=models, verdict=verdict,
                      coverage_ids=cached.plan)
            run._replay = list(cached.cases)
            run.stats.cases = "cache"
            run._skip_unplanned(cached.unplanned)
            return run
        with only_spec_values():
            test = operation_test(label, settings)
        explicit = explicit_cases(test)
        if not explicit:
            # Every operation has coverage probes; none means Hypothesis stores examples elsewhere now.
            logger.warning("%s: no explicit cases found; the coverage phase sends nothing", op.operation_id)
        plan = coverage_plan(explicit, quota=settings.properties.max_examples, seed=settings.properties.seed)
        run = cls(op, settings=settings, transport=transport, models=models, verdict=verdict, coverage_ids=plan)
        run._test = test
        run._cache = cache
        run._recorded = [] if cache is not None else None
        run._skip_unplanned(len(drop_unplanned(test, plan)))
        return run

    def _skip_unplanned(self, count: int) -> None:
        """Count the coverage cases outside the plan: generated all the same (the phase enumerated
        them) and skipped unsent, as `run` would."""
        self._unplanned = count
        self.stats.generated += count
        self.stats.skipped += count
        if count:
            self.stats.by_phase["coverage"] = count

    def execute(self) -> None:
        """Run the operation's Hypothesis test (or replay its cached cases), its kept cases sent as
        they come, then judge every answer."""
        from schemathesis.generation.hypothesis.reporting import ignore_hypothesis_output

        test, replay = self._test, self._replay
        if test is None and replay is None:
            raise RuntimeError("PropertyRun.execute needs a run made by PropertyRun.build")
        workers = max(1, self.settings.budgets.concurrency)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nexhina-property") as pool:
            self._pool = pool
            try:
                if replay is not None:
                    for case in replay:
                        self.run(case)
                elif test is not None:
                    with ignore_hypothesis_output(), only_spec_values():
                        test(properties=self)
                    self._save()
                self.flush()
            finally:
                self._pool = None

    def _keep_for_cache(self, case: AnyCase) -> None:
        """Keep a generated case for the cache; a case that cannot be kept turns caching off for
        this operation (the run itself never depends on the cache)."""
        if self._recorded is None:
            return
        try:
            self._recorded.append(snapshot(case))
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            logger.info("%s: a generated case cannot be cached (%s); this operation's cases are not kept",
                        self.op.operation_id, exc)
            self._recorded = None

    def _save(self) -> None:
        """Keep the cases Hypothesis handed over (the whole generation ran) for the next run."""
        if self._cache is not None and self._recorded is not None:
            self._cache.save(self.coverage_ids, self._unplanned, self._recorded)

    # ------------------------------------------------------------------ per case

    def run(self, case: AnyCase) -> None:
        """Keep one generated case to send (or skip it); nothing is sent here (see `flush`)."""
        self._keep_for_cache(case)                    # before anything below changes it
        self.stats.generated += 1
        phase = case.meta.phase.name.value if case.meta is not None else "unknown"
        self.stats.by_phase[phase] = self.stats.by_phase.get(phase, 0) + 1
        kind = self._admit(case)
        if kind is None:
            self.stats.skipped += 1
            return
        if kind == POSITIVE:
            cap_positive(case, self.op, self.models, self.settings)
            # Every other positive case of a streaming operation asks for a stream, so both
            # answers (JSON and text/event-stream) are judged whatever the generator drew.
            if self._positives % 2 == 0:
                prefer_stream(case, self.op, self.settings)
        # A snapshot: cases of one operation can share body objects, and later cases are capped in place.
        request = copy.deepcopy(outgoing(case, self.transport.base_url))
        logger.debug("%s: sending a %s case (%s)", self.op.operation_id, kind,
                     getattr(case.meta.phase.data, "description", "") if case.meta is not None else "")
        self._pending.append((case, kind, request, self._submit(request, kind)))

    def _submit(self, request: Outgoing, kind: str) -> Future[Exchange | TransportError] | None:
        """Send now, in the background while Hypothesis draws the next case; None once a send failed."""
        if self._stopped:
            return None          # an earlier case's send failed: the run stops there (see `flush`)
        if self._pool is not None:
            return self._pool.submit(self._attempt, request, kind)
        done: Future[Exchange | TransportError] = Future()
        done.set_result(self._attempt(request, kind))
        return done

    def flush(self) -> None:
        """Judge each kept case's answer in case order (waiting for it when it is still on its way).

        The unknown-key probe follows the first positive case answered 2xx (in case order).
        The first transport error (in case order) is raised once the answers before it are
        judged; cases after it that were already sent count against the budget but are not
        judged, later ones are not sent: as if the run had stopped there.
        """
        pending, self._pending = self._pending, []
        for case, kind, request, sent in pending:
            if sent is None:
                raise RuntimeError("a property case was held back with no failed send before it")
            answer = sent.result()
            if isinstance(answer, TransportError):
                raise answer
            self._count(request, kind)
            self._judge(case, kind, request, answer)
            if kind == POSITIVE and INVALID_KEY in self._kinds and not self._auth_probed \
                    and answer.status is not None and 200 <= answer.status < 300:
                self._auth_probed = True
                probe = self._send(request, INVALID_KEY)
                self._judge(case, INVALID_KEY, request, probe)

    def _admit(self, case: AnyCase) -> str | None:
        """The case's kind when it is to be sent; None to skip it."""
        kind = case_kind(case)
        if kind is None or kind not in self._kinds:
            return None
        if is_coverage(case) and case.id not in self.coverage_ids:
            return None
        if kind == POSITIVE:
            if self._positives >= self._positive_cap:
                return None
            self._positives += 1
        return kind

    def _attempt(self, request: Outgoing, kind: str) -> Exchange | TransportError:
        """One send: its answer, or the transport error it ended with (raised in case order by `flush`)."""
        try:
            return self._deliver(request, kind)
        except TransportError as exc:
            self._stopped = True
            return exc

    def _send(self, request: Outgoing, kind: str) -> Exchange:
        exchange = self._deliver(request, kind)
        self._count(request, kind)
        return exchange

    def _deliver(self, request: Outgoing, kind: str) -> Exchange:
        key: KeyChoice = DEFAULT
        if kind == MISSING_AUTH:
            key = None
        elif kind == INVALID_KEY:
            key = INVALID_KEY_VALUE
        if request.stream:
            return self.transport.stream(request.method, request.path, json=request.json_body,
                                         headers=request.headers, key=key)
        return self.transport.request(
            request.method, request.path,
            json=request.json_body if request.has_json else None,
            content=request.content, data=request.data,
            headers=request.headers, key=key,
        )

    def _count(self, request: Outgoing, kind: str) -> None:
        """Count one answered request in the stats and the digest (in case order)."""
        self.stats.sent += 1
        self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + 1
        self.stats.requests.update(kind.encode() + b"\0" + request.fingerprint() + b"\0")

    # ------------------------------------------------------------------ judging

    def _facts(self, kind: str, request: Outgoing) -> CaseFacts:
        multipart = self.op.body == "multipart"
        invalid: str | None = None
        if kind == NEGATIVE and self.op.body == "json":
            absent = request.body_absent or not request.has_json
            invalid = invalid_body_requirement(self.op.path, self.op.method, request.json_body, absent=absent)
        return CaseFacts(self.op.operation_id, kind, invalid, multipart)

    def _judge(self, case: AnyCase, kind: str, request: Outgoing, exchange: Exchange) -> None:
        facts = self._facts(kind, request)
        json_but_valid = self.op.body == "json" and facts.invalid_requirement is None
        valid_as_sent = self.op.body == "none" or json_but_valid
        if kind == NEGATIVE and valid_as_sent:
            # Invalid as generated, valid as sent (the spec's path parameters are plain
            # strings, so no path is invalid on the wire): judge it as the valid request it is.
            facts = CaseFacts(self.op.operation_id, POSITIVE, None, False)
        # What the checks below evaluate on this answer: the ids it may earn PASS for.
        found = Findings(judged=judged_by_case(facts, exchange, multipart=facts.multipart))
        for failure in self._schemathesis_failures(case, facts, exchange):
            mapped = failure_to_violations(failure_facts(failure, exchange), facts)
            if not mapped:
                logger.info("%s: unmapped finding %s (%s) for %s", self.op.operation_id, failure.code,
                            failure.title, exchange.curl())
            found = found + mapped
        found = found + self._own_checks(kind, exchange)
        if request.stream and kind == POSITIVE:
            found = found + check_stream_answered_as_stream(exchange, self.op.operation_id)
        self._record(found, exchange)

    def _schemathesis_failures(
        self, case: AnyCase, facts: CaseFacts, exchange: Exchange
    ) -> list[Failure]:
        checks = checks_for(facts.kind, multipart=facts.multipart)
        response = response_from_exchange(exchange)
        try:
            case.validate_response(response, checks=checks, headers=dict(exchange.request_headers))
        except FailureGroup as group:
            return [f for f in group.exceptions if isinstance(f, Failure)]
        except Failure as failure:
            return [failure]
        return []

    def _own_checks(self, kind: str, exchange: Exchange) -> list[Violation]:
        if kind == INVALID_KEY:
            return check_status(exchange, (401,), requirement="auth.unknown-key")
        if kind == CONTENT_TYPE and self.op.body == "json":
            return check_status(exchange, (400, 415), requirement="errors.wrong-content-type")
        return []

    def _record(self, violations: Findings, exchange: Exchange) -> None:
        fresh: list[Violation] = []
        for violation in violations:
            key = (violation.requirement, violation.where, violation.expected)
            count = self._per_requirement.get(violation.requirement, 0)
            if key in self._seen or count >= FINDINGS_PER_REQUIREMENT:
                continue
            self._seen.add(key)
            self._per_requirement[violation.requirement] = count + 1
            fresh.append(violation)
        # Always: a clean answer still earns what it was judged for; repeats are not re-reported.
        self.verdict.check(Findings(fresh, judged=violations.judged), exchange=exchange if fresh else None)
