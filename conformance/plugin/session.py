"""Session hooks: the preflight before any test, record collection, xdist hand-over, the verdict at the end.

`RunHooks` is registered per session in ``pytest_configure``; at session finish it aggregates the
records, applies the baseline, writes every report (`conformance.plugin.reports`) and sets the exit code.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from conformance.allure_requirements import write_requirement_results
from conformance.artefacts import copy_decisions
from conformance.html_summary import write_summary
from conformance.model_matrix import expand_baseline
from conformance.model_rules_run import report_rules
from conformance.plugin.early_start import start_early
from conformance.plugin.reports import cost_lines, run_facts, stopped_summary, write_platform_runs
from conformance.plugin.run_channel import CHANNEL_OUTPUT, RUN_ID_INPUT, relay_lines
from conformance.plugin.run_channel_setup import close_run_channel, open_run_channel
from conformance.plugin.state import (
    LEDGER_INPUT,
    PLATFORM_RUN,
    RECORD_PROPERTY,
    STATE,
    RunState,
    option,
    resolve_report_dir,
)
from conformance.relay_notes import note_lines
from conformance.report import build_report, terminal_summary, write_allure_environment, write_reports
from conformance.stopped_run import preflight_record, write_allure_stopped
from conformance.target import preflight, runs_suites
from conformance.verdicts import ExitCode, TestRecord, aggregate, apply_baseline, gate


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
                junit_property(session.config, "nexhina-preflight", self.state.stopped.message)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Create the run's relay channel in the process that runs the tests (D115, D117), then start
        the tests that start early (D127)."""
        config = session.config
        if self.state.stopped is None and not config.option.collectonly and not config.pluginmanager.has_plugin(
                "dsession"):
            open_run_channel(config, self.state, session.items)
        start_early(config, self.state, session.items)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        """Run no test when the preflight found the target unusable (the reports are still written)."""
        return True if self.state.stopped is not None else None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Collect records on the controller (or the only process)."""
        for name, value in report.user_properties:
            if name == RECORD_PROPERTY:
                self.state.records.append(TestRecord.from_json(json.loads(str(value))))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Aggregate verdicts, apply the baseline, write reports and set the gate's exit code."""
        config = session.config
        state = self.state
        own_requests = state.target.transport.sent if state.target is not None else 0
        platform_run = config.stash.get(PLATFORM_RUN, None)
        # also after a failure or Ctrl-C (D115)
        channel = close_run_channel(state, xdist_controller=config.pluginmanager.has_plugin("dsession"))
        if hasattr(config, "workerinput"):
            if channel is not None:
                config.workeroutput[CHANNEL_OUTPUT] = json.dumps(channel)  # type: ignore[attr-defined]
            config.workeroutput["nexhina_requests_sent"] = own_requests  # type: ignore[attr-defined]
            if platform_run is not None:
                config.workeroutput["nexhina_platform_run"] = json.dumps(platform_run)  # type: ignore[attr-defined]
            return
        if state.stopped is not None:
            state.records.append(preflight_record(state.catalogue, state.settings.features, state.stopped.message))
        if platform_run is not None:
            state.platform_runs.append(platform_run)
        if channel is not None:
            state.platform_runs.append(channel)
        if not state.records:
            if channel is not None:   # interrupted before any record: the channel's fate is still written
                state.summary = write_platform_runs(resolve_report_dir(config), state.platform_runs)
            return
        state.requests_sent += own_requests
        stopped = (f"the run stopped before any test: {state.stopped.message}" if state.stopped is not None
                   else stopped_summary(state.records))
        self._conclude(session, exitstatus, stopped=stopped)

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
        facts = run_facts(config, state, code, stale, cost, stopped)
        if state.dry_run_of is not None:
            state.summary = [f"dry run: nothing was sent to {state.dry_run_of}; the same selection against "
                             "the embedded reference sends:"] + cost_lines(facts)
            session.exitstatus = int(ExitCode.CONFORMANT if stopped is None else ExitCode.HARNESS_ERROR)
            return
        report_dir = state.report_dir = resolve_report_dir(config)
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
        platform_lines = write_platform_runs(report_dir, state.platform_runs)
        written = time.monotonic() - writing
        state.summary = [
            *([state.stopped.message, "no test was run"] if state.stopped else terminal_summary(results, facts)),
            *relay_lines(state.platform_runs),
            *platform_lines,
            *note_lines(report_dir),  # the relay's allowed rewrites and computed usage (D104)
            *report_rules(report_dir, state.settings, state.ledger),  # the models' parameter rules (D72)
            *cost_lines(facts),
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
        if option(self.config, "report_dir") or is_conformance_run(self.config):
            node.workerinput["nexhina_report_dir"] = str(resolve_report_dir(self.config))
        ledger = self.state.ledger
        if ledger is not None and ledger.path is not None:
            node.workerinput[LEDGER_INPUT] = str(ledger.path)
        if self.state.channel_run_id is not None:
            node.workerinput[RUN_ID_INPUT] = self.state.channel_run_id

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """Add up the requests an xdist worker sent (it reports them in its workeroutput)."""
        output = getattr(node, "workeroutput", {})
        self.state.requests_sent += int(output.get("nexhina_requests_sent", 0))
        if "nexhina_platform_run" in output:
            self.state.platform_runs.append(json.loads(str(output["nexhina_platform_run"])))
        if CHANNEL_OUTPUT in output:
            self.state.platform_runs.append(json.loads(str(output[CHANNEL_OUTPUT])))

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        """The per-area summary that ends every conformance run."""
        if not self.state.summary:
            return
        terminalreporter.section("nexhina conformance")
        for line in self.state.summary:
            terminalreporter.write_line(line)


def _runs_suites(session: pytest.Session) -> bool:
    """Whether this session is a conformance run (so self-test sessions never probe a target)."""
    return is_conformance_run(session.config)


def is_conformance_run(config: pytest.Config) -> bool:
    """Whether the session runs the conformance suites (where its arguments lie) or names a target."""
    return runs_suites([str(a) for a in config.args], pyargs=bool(config.getoption("pyargs", False)),
                       invocation_dir=Path(config.invocation_params.dir)) or bool(
        config.getoption("nexhina_base_url"))


def junit_property(config: pytest.Config, name: str, value: str) -> None:
    """Add a suite-level property to junit.xml when it is being written (``--junitxml``)."""
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is not None:
        xml.add_global_property(name, value)
