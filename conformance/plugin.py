"""The pytest plugin (``pytest11`` entry point): options, markers, fixtures, verdicts, reports.

Selection (profile), gating (features -> NOT_SUPPORTED), the level rule (MUST fails, SHOULD
warns), the baseline, the run's bounds (the shared `Ledger`: one request budget across xdist
workers, the whole-run deadline, the breakers; tests stopped by them are NOT_RUN) and the
reports with the run's cost all live here, so ``nexhina-conformance run`` and
``pytest --pyargs conformance.suites --nexhina-base-url ...`` give the same results.
State lives in ``config.stash``; nothing is global.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from conformance import __version__, shard
from conformance.allure_requirements import write_requirement_results
from conformance.artefacts import copy_decisions, save_uploads
from conformance.baseline import load_baseline
from conformance.config import CORE_FEATURES, Settings
from conformance.errors import BudgetExceeded, ConformanceError, TransportError
from conformance.html_summary import write_summary
from conformance.ledger import Ledger, billable_count
from conformance.model import Level, printable
from conformance.model_matrix import baselined_for, expand_baseline
from conformance.model_rules_run import MARKER as RULES_MARKER  # issue 19 (s6)
from conformance.model_rules_run import active_rules, gate_reason, report_rules  # issue 19 (s6)
from conformance.recorder import VerdictRecorder
from conformance.report import (
    RunFacts,
    build_report,
    new_report_dir,
    terminal_summary,
    write_allure_environment,
    write_reports,
)
from conformance.requirements import Catalogue, load_catalogue
from conformance.stopped_run import preflight_record, write_allure_stopped
from conformance.target import (
    PreflightFailure,
    TargetSession,
    dry_run_settings,
    model_options,
    preflight,
    resolve_settings,
)
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
)

log = logging.getLogger("conformance.plugin")

_PROPERTY = "nexhina-record"
_NOT_SUPPORTED_PREFIX = "NOT_SUPPORTED"
_NOT_RUN_PREFIX = "NOT_RUN"
_LEDGER_INPUT = "nexhina_ledger"
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


STATE = pytest.StashKey[RunState]()
#: The platform lane's run id and leftovers (set by its run_objects fixture at teardown).
PLATFORM_RUN = pytest.StashKey[dict[str, Any]]()
RECORDER = pytest.StashKey[VerdictRecorder]()
NOT_SUPPORTED = pytest.StashKey[str]()
NOT_RUN = pytest.StashKey[str]()

_OPTIONS: tuple[tuple[str, str], ...] = (
    ("base_url", "API root of the target, e.g. https://gw.example/v1 (default: the embedded reference)"),
    ("api_key", "API key for the target (prefer NEXHINA_API_KEY: a flag may land in shell history)"),
    ("target", "target file (TOML) describing the target: models, features, keys, budgets"),
    ("profile", "core or full (default full)"),
    ("report_dir", "where conformance-report.json and summary.md go (default reports/<UTC timestamp>)"),
    ("baseline", "file of requirement ids known to fail on this target"),
    ("seed", "seed of the property tests (default from the target file)"),
    ("max_duration", "seconds for the whole run; then the remaining tests are NOT_RUN (budgets.max_duration)"),
    ("max_requests", "request budget of the whole run, all workers together (budgets.max_requests)"),
    ("allow_writes", "true to let platform tests create, change and delete objects (default false)"),
    ("models", "the model matrix: all (every listed model) or comma-separated model ids"),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Options in one group, each with a matching ini key (except the API key)."""
    group = parser.getgroup("nexhina", "Nexhina conformance")
    group.addoption("--nexhina-dry-run", dest="nexhina_dry_run", action="store_true", default=False,
                    help="send nothing to the target: run against the embedded reference and print the cost plan")
    for name, help_text in _OPTIONS:
        group.addoption(f"--nexhina-{name.replace('_', '-')}", dest=f"nexhina_{name}", default=None, help=help_text)
        if name != "api_key":
            parser.addini(f"nexhina_{name}", help_text, default=None)
    shard.add_options(group)
    group.addoption("--nexhina-model", dest="nexhina_model", action="append", default=[],
                    metavar="CAPABILITY=NAME", help="the model of a capability (repeatable; over the target file)")


def _option(config: pytest.Config, name: str) -> str | None:
    value = config.getoption(f"nexhina_{name}")
    if value is None and name != "api_key":
        value = config.getini(f"nexhina_{name}")
    return str(value) if value not in (None, "") else None


def pytest_configure(config: pytest.Config) -> None:
    """Register markers and resolve the target settings (a bad value is a usage error)."""
    config.addinivalue_line(
        "markers", "requirements(*ids): the catalogue requirement ids this test may report"
    )
    config.addinivalue_line(
        "markers", "feature(*names): features the target must declare, else the test is NOT_SUPPORTED"
    )
    config.addinivalue_line(  # issue 19 (s6)
        "markers", f"{RULES_MARKER}(*params, capability): the parameters a test is about (model rules)")
    cli = {name: _option(config, name) for name, _ in _OPTIONS}
    try:
        catalogue = load_catalogue()
        given = {k: v for k, v in cli.items() if v is not None}
        settings = resolve_settings({**given, **model_options(config.getoption("nexhina_model") or [])},
                                    os.environ)
        active_rules(settings, None)  # issue 19 (s6): a bad [model_rules] table is a usage error
        dry_run_of = settings.base_url or "the embedded reference" if config.getoption("nexhina_dry_run") else None
        if dry_run_of is not None:
            settings = dry_run_settings(settings)
        baseline_path = cli.get("baseline")
        baseline = load_baseline(Path(baseline_path), catalogue.ids()) if baseline_path else {}
        shard_text = config.getoption("nexhina_shard", None)
        spec = shard.parse_shard(str(shard_text)) if shard_text else None
        durations = shard.load_durations(config.getoption("nexhina_shard_durations", None))
    except ConformanceError as exc:
        raise pytest.UsageError(f"nexhina-conformance: {exc}") from exc
    if spec is not None:
        settings = shard.divided_budget(settings, spec.count)
    state = RunState(settings=settings, catalogue=catalogue, baseline=baseline, dry_run_of=dry_run_of)
    _open_ledger(config, state)
    config.stash[STATE] = state
    config.pluginmanager.register(RunHooks(config), "nexhina-run")
    if spec is not None:
        config.pluginmanager.register(shard.ShardHooks(spec, durations, baseline), "nexhina-shard")
    if settings.matrix.models:
        from conformance.model_matrix import MatrixHooks

        config.pluginmanager.register(MatrixHooks(settings), "nexhina-model-matrix")


def _open_ledger(config: pytest.Config, state: RunState) -> None:
    """The controller creates the run's ledger file; an xdist worker opens the controller's."""
    worker_input = getattr(config, "workerinput", None)
    if worker_input is not None and worker_input.get(_LEDGER_INPUT):
        state.ledger = Ledger.open(Path(worker_input[_LEDGER_INPUT]))
        return
    budgets = state.settings.budgets
    state.run_dir = Path(tempfile.mkdtemp(prefix="nexhina-run-"))
    state.ledger = Ledger.create(state.run_dir, max_requests=budgets.max_requests,
                                 deadline=time.time() + budgets.max_duration)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the embedded reference if this process started one; remove the run directory."""
    state = config.stash.get(STATE, None)
    if state is not None and state.target is not None:
        state.target.close()
    if state is not None and state.run_dir is not None:
        shutil.rmtree(state.run_dir, ignore_errors=True)


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Target, suite and spec versions, and the declared features."""
    state = config.stash[STATE]
    settings = state.settings
    target = settings.base_url or "embedded reference gateway (started on a free loopback port)"
    return [
        f"nexhina-conformance {__version__}: target {target}",
        f"profile {settings.profile}; features: {', '.join(sorted(settings.features)) or '-'}",
        f"writes: {'allowed (--allow-writes)' if settings.allow_writes else 'off (read-only run)'}",
    ]


def _declared_ids(item: pytest.Item) -> tuple[str, ...]:
    ids: list[str] = []
    for mark in item.iter_markers("requirements"):
        ids.extend(str(a) for a in mark.args)
    return tuple(dict.fromkeys(ids))


def _needed_features(item: pytest.Item) -> tuple[str, ...]:
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
        ids = _declared_ids(item)
        problems += [f"{item.nodeid}: unknown requirement id {rid!r}" for rid in ids if rid not in state.catalogue]
        problems += [
            f"{item.nodeid}: unknown feature {name!r}" for name in _needed_features(item) if name not in known_features
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
    if not set(_needed_features(item)) <= CORE_FEATURES:
        return False
    return any(rid in catalogue and catalogue[rid].profile == "core" for rid in ids)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test whose feature the target did not declare is NOT_SUPPORTED (reported, not run)."""
    if not _declared_ids(item):
        return
    state = item.config.stash[STATE]
    needed = _needed_features(item)
    missing = [f for f in needed if f not in state.settings.features]
    reason = None
    if missing:
        reason = f"{_NOT_SUPPORTED_PREFIX}: the target does not declare {', '.join(missing)}"
    elif WRITES_FEATURE in needed and not state.settings.allow_writes:
        reason = f"{_NOT_SUPPORTED_PREFIX}: writes are off (run with --allow-writes)"
    elif (ruled := gate_reason([{"args": m.args, "kwargs": m.kwargs} for m in item.iter_markers(RULES_MARKER)],
                               state.settings, state.ledger)) is not None:  # issue 19 (s6)
        reason = f"{_NOT_SUPPORTED_PREFIX}: {ruled}"  # issue 19 (s6)
    if reason is not None:
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
        return (f"{_NOT_RUN_PREFIX}: the run's deadline of {state.settings.budgets.max_duration:g} s passed "
                "(budgets.max_duration / --max-duration)")
    if ledger.spent():
        return (f"{_NOT_RUN_PREFIX}: the run's request budget of {state.settings.budgets.max_requests} requests "
                "is spent (budgets.max_requests)")
    return None


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
        _attach_evidence(recorder)
        pytest.fail(recorder.failure_text(Level.MUST), pytrace=False)
    if recorder is not None and recorder.of_level(Level.SHOULD):
        _attach_evidence(recorder)
    return result


def _attach_evidence(recorder: VerdictRecorder) -> None:
    """Attach the redacted exchanges and the failure text to the Allure result."""
    import allure

    allure.attach(
        recorder.failure_text(Level.MUST) or recorder.failure_text(Level.SHOULD),
        name="violations",
        attachment_type=allure.attachment_type.TEXT,
    )
    for name, text in recorder.transcripts():
        allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)
    impacts = recorder.impact_lines()
    if impacts:
        allure.attach("\n".join(impacts), name="client impact", attachment_type=allure.attachment_type.TEXT)


def _record(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> TestRecord | None:
    """The TestRecord of one phase report, or None when the phase says nothing new."""
    ids = _declared_ids(item)
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
        return TestRecord(item.nodeid, ids, TEST_NOT_RUN, violations, f"{_NOT_RUN_PREFIX}: stopped: {stopped}",
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
    report.user_properties.append((_PROPERTY, json.dumps(record.to_json())))
    state = item.config.stash[STATE]
    recorder = item.stash.get(RECORDER, None)
    if recorder is not None and recorder.observed:
        save_uploads(_report_dir(item.config), (o.exchange for o in recorder.observed if o.exchange is not None))
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


class RunHooks:
    """Hooks that need the run's state: registered per session in ``pytest_configure``."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @property
    def state(self) -> RunState:
        """The run's state in the config stash."""
        return self.config.stash[STATE]

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Start the run's clock; probe a remote target once before any test (not on workers)."""
        self.state.started = time.time()
        settings = self.state.settings
        if settings.base_url is not None and not hasattr(session.config, "workerinput") and _runs_suites(session):
            self.state.stopped = preflight(settings, ledger=self.state.ledger)
            if self.state.stopped is not None:
                _junit_property(session.config, "nexhina-preflight", self.state.stopped.message)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        """Run no test when the preflight found the target unusable (the reports are still written)."""
        return True if self.state.stopped is not None else None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Collect records on the controller (or the only process)."""
        for name, value in report.user_properties:
            if name == _PROPERTY:
                self.state.records.append(TestRecord.from_json(json.loads(str(value))))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Aggregate verdicts, apply the baseline, write reports and set the gate's exit code."""
        config = session.config
        state = self.state
        own_requests = state.target.transport.sent if state.target is not None else 0
        platform_run = config.stash.get(PLATFORM_RUN, None)
        if hasattr(config, "workerinput"):
            config.workeroutput["nexhina_requests_sent"] = own_requests  # type: ignore[attr-defined]
            if platform_run is not None:
                config.workeroutput["nexhina_platform_run"] = json.dumps(platform_run)  # type: ignore[attr-defined]
            return
        if state.stopped is not None:
            state.records.append(preflight_record(state.catalogue, state.settings.features, state.stopped.message))
        if platform_run is not None:
            state.platform_runs.append(platform_run)
        if not state.records:
            return
        state.requests_sent += own_requests
        self._conclude(session, exitstatus, stopped=_stopped_summary(state.records))

    def _conclude(self, session: pytest.Session, exitstatus: int, *, stopped: str | None) -> None:
        """Aggregate the records, write every report and set the session's exit code."""
        config = session.config
        state = self.state
        cost = state.ledger.snapshot() if state.ledger is not None else {}
        if cost:
            state.requests_sent = int(cost["sent"])   # the shared count: every worker, retries, preflight
        writing = time.monotonic()
        results = aggregate(state.records, state.catalogue)
        baselined, model_stale = expand_baseline(state.records, state.catalogue, state.baseline)
        stale = apply_baseline(results, baselined) + model_stale
        code = gate(results, stale)
        if stopped is not None:
            code = ExitCode.HARNESS_ERROR   # an incomplete run certifies nothing (D35)
        if exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.USAGE_ERROR):
            code = ExitCode(int(exitstatus))
        elif exitstatus == pytest.ExitCode.INTERNAL_ERROR:
            code = ExitCode.HARNESS_ERROR
        if state.stopped is not None:
            code = ExitCode(state.stopped.exit_code)
        facts = _facts(config, state, code, stale, cost, stopped)
        if state.dry_run_of is not None:
            state.summary = [f"dry run: nothing was sent to {state.dry_run_of}; the same selection against "
                             "the embedded reference sends:"] + _cost_lines(facts)
            session.exitstatus = int(ExitCode.CONFORMANT if stopped is None else ExitCode.HARNESS_ERROR)
            return
        report_dir = state.report_dir = _report_dir(config)
        write_reports(report_dir, results, facts)
        copy_decisions(report_dir)
        document = build_report(results, facts)
        write_summary(report_dir, document)
        allure_dir = config.getoption("allure_report_dir", None)
        if allure_dir:
            write_allure_environment(Path(allure_dir), facts)
            write_requirement_results(Path(allure_dir), document, start_ms=int(state.started * 1000))
            if state.stopped is not None:
                write_allure_stopped(Path(allure_dir), state.stopped.message)
        platform_lines = _platform_lines(report_dir, state.platform_runs)
        written = time.monotonic() - writing
        state.summary = [
            *([state.stopped.message, "no test was run"] if state.stopped else terminal_summary(results, facts)),
            *platform_lines,
            *report_rules(report_dir, state.settings, state.ledger),  # issue 19 (s6)
            *_cost_lines(facts),
            f"reports: {report_dir} (written in {written:.2f} s)",
        ]
        session.exitstatus = int(code)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """Give each xdist worker the controller's report directory (uploads land beside the
        reports) and the path of the run's ledger (one budget for the whole run).

        The report directory only for a conformance run: a self-test session must not create
        ``reports/<timestamp>``.
        """
        if _option(self.config, "report_dir") or _is_conformance_run(self.config):
            node.workerinput["nexhina_report_dir"] = str(_report_dir(self.config))
        ledger = self.state.ledger
        if ledger is not None and ledger.path is not None:
            node.workerinput[_LEDGER_INPUT] = str(ledger.path)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """Add up the requests an xdist worker sent (it reports them in its workeroutput)."""
        output = getattr(node, "workeroutput", {})
        self.state.requests_sent += int(output.get("nexhina_requests_sent", 0))
        if "nexhina_platform_run" in output:
            self.state.platform_runs.append(json.loads(str(output["nexhina_platform_run"])))

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        """The per-area summary that ends every conformance run."""
        if not self.state.summary:
            return
        terminalreporter.section("nexhina conformance")
        for line in self.state.summary:
            terminalreporter.write_line(line)


def _platform_lines(report_dir: Path, runs: list[dict[str, Any]]) -> list[str]:
    """Summary lines of the platform lane (run id, leftovers); also written to platform-run.json."""
    if not runs:
        return []
    (report_dir / "platform-run.json").write_text(json.dumps(runs, indent=2), encoding="utf-8")
    lines = []
    for run in runs:
        left = run.get("leftovers") or []
        lines.append(f"platform run id {run.get('run_id')}: "
                     + (f"LEFT ON THE TARGET {', '.join(left)} (nexhina-conformance cleanup --run-id "
                        f"{run.get('run_id')})" if left else "nothing left on the target"))
    return lines


def _runs_suites(session: pytest.Session) -> bool:
    """Whether this session is a conformance run (so self-test sessions never probe a target)."""
    return _is_conformance_run(session.config)


def _is_conformance_run(config: pytest.Config) -> bool:
    """Whether the session runs the conformance suites or names a target base URL."""
    args = [str(a) for a in config.args]
    return any("conformance.suites" in a or "conformance/suites" in a for a in args) or bool(
        config.getoption("nexhina_base_url")
    )


def _stopped_summary(records: list[TestRecord]) -> str | None:
    """One line on why tests were NOT_RUN (the first stop reason and how many), or None."""
    stopped = [r for r in records if r.outcome == TEST_NOT_RUN]
    if not stopped:
        return None
    reasons = sorted({r.message.split(";")[0] for r in stopped if r.message.startswith(_NOT_RUN_PREFIX + ": the")})
    first = reasons[0] if reasons else stopped[0].message
    return f"{len(stopped)} tests NOT_RUN; {first.removeprefix(_NOT_RUN_PREFIX + ': ')}"


def _cost_lines(facts: RunFacts) -> list[str]:
    """The cost of the run for the terminal: requests per operation and billable calls."""
    lines = [f"requests sent: {facts.requests_sent} ({facts.billable_requests} billable generation calls)"]
    if facts.requests_by_operation:
        entries = [f"{op} {n}" for op, n in
                   sorted(facts.requests_by_operation.items(), key=lambda kv: (-kv[1], kv[0]))]
        line = "  per operation:"
        for entry in entries:   # whole entries per line: an operation is never cut in two
            if len(line) + len(entry) > 110:
                lines.append(line.rstrip(","))
                line = "   "
            line += f" {entry},"
        lines.append(line.rstrip(","))
    for key, last in sorted(facts.open_breakers.items()):
        lines.append(f"circuit breaker open: {key} (last: {'; '.join(last)})")
    if facts.stopped:
        lines.append(f"stopped early: {facts.stopped}")
    return lines


def _facts(config: pytest.Config, state: RunState, code: ExitCode, stale: list[str],
           cost: Mapping[str, Any], stopped: str | None) -> RunFacts:
    from conformance.spec import spec_version

    settings = state.settings
    numprocesses = getattr(config.option, "numprocesses", None)
    return RunFacts(
        suite_version=__version__,
        spec_version=spec_version(),
        base_url=settings.base_url or "embedded reference gateway",
        implementation_name=settings.implementation_name or "unnamed implementation",
        implementation_version=settings.implementation_version or "unknown",
        features=sorted(settings.features),
        profile=settings.profile,
        started=_iso(state.started),
        finished=_iso(time.time()),
        duration_s=time.time() - state.started,
        seed=settings.properties.seed,
        workers=int(numprocesses or 0),
        exit_code=int(code),
        embedded_reference=settings.base_url is None,
        baseline=_option(config, "baseline"),
        stale=tuple(stale),
        requests_sent=state.requests_sent,
        requests_by_operation=dict(cost.get("per_operation", {})),
        billable_requests=billable_count(cost.get("per_operation", {})),
        stopped=stopped,
        open_breakers={k: list(v.get("last", [])) for k, v in cost.get("breakers", {}).items() if v.get("open")},
        allow_writes=settings.allow_writes,
        platform_runs=tuple(state.platform_runs),
    )


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds")


def report_dir_of(config: pytest.Config) -> Path:
    """The run's report directory: where the reports went, else the one it names (or a new one)."""
    return config.stash[STATE].report_dir or _report_dir(config)


def _report_dir(config: pytest.Config) -> Path:
    """The run's report directory, resolved once per process (a worker takes the controller's)."""
    state = config.stash[STATE]
    if state.report_dir is None:
        given = _option(config, "report_dir") or getattr(config, "workerinput", {}).get("nexhina_report_dir")
        state.report_dir = Path(given) if given else new_report_dir()
    return state.report_dir


def _junit_property(config: pytest.Config, name: str, value: str) -> None:
    """Add a suite-level property to junit.xml when it is being written (``--junitxml``)."""
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is not None:
        xml.add_global_property(name, value)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def _nexhina_target(pytestconfig: pytest.Config) -> Iterator[TargetSession]:
    """The reachable target: starts the embedded reference when no base URL is given."""
    state = pytestconfig.stash[STATE]
    if state.target is None:
        state.target = TargetSession.open(state.settings, ledger=state.ledger)
    yield state.target


@pytest.fixture(scope="session")
def settings(_nexhina_target: TargetSession) -> Settings:
    """The resolved target settings (base URL filled in for the embedded reference)."""
    return _nexhina_target.settings


@pytest.fixture(scope="session")
def transport(_nexhina_target: TargetSession) -> Any:
    """The one HTTP client of the run, with its budgets, bounds and redaction."""
    return _nexhina_target.transport


@pytest.fixture(scope="session")
def models(settings: Settings) -> Mapping[str, str]:
    """The model to use per capability (chat, responses, embeddings, ...)."""
    return settings.models


@pytest.fixture
def verdict(request: pytest.FixtureRequest) -> VerdictRecorder:
    """Where a test records the violations its checks found; the plugin decides the verdict."""
    state = request.config.stash[STATE]
    recorder = VerdictRecorder(state.catalogue, _declared_ids(request.node))
    request.node.stash[RECORDER] = recorder
    return recorder


@pytest.fixture(autouse=True)
def _nexhina_allure_labels(request: pytest.FixtureRequest) -> None:
    """Allure labels: epic = area, feature, story = requirement id, severity from the level."""
    ids = _declared_ids(request.node)
    if not ids or request.config.getoption("allure_report_dir", None) is None:
        return
    import allure

    catalogue = request.config.stash[STATE].catalogue
    first = catalogue[ids[0]]
    allure.dynamic.epic(first.id.split(".", 1)[0])
    allure.dynamic.feature(first.feature)
    for rid in ids:
        allure.dynamic.story(rid)
    levels = {catalogue[rid].level for rid in ids}
    allure.dynamic.severity(
        allure.severity_level.CRITICAL if Level.MUST in levels else allure.severity_level.NORMAL
    )
    callspec = getattr(request.node, "callspec", None)
    label = getattr(request.node, "operation_label", None)
    case = label or (callspec.id if callspec is not None else None)
    if case:
        # A per-case parameter keeps parametrised cases apart in Allure's history ids.
        allure.dynamic.parameter("case", case)
