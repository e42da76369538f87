"""Report writing helpers: the run's facts, its cost lines, the stop summary and the platform lane's runs.

Pure formatting over the run state, except `write_platform_runs` (it writes platform-run.json).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from conformance import __version__
from conformance.ledger import billable_count
from conformance.plugin.state import NOT_RUN_PREFIX, RunState, option
from conformance.report import RunFacts
from conformance.verdicts import TEST_NOT_RUN, ExitCode, TestRecord


def write_platform_runs(report_dir: Path, runs: list[dict[str, Any]]) -> list[str]:
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


def stopped_summary(records: list[TestRecord]) -> str | None:
    """One line on why tests were NOT_RUN (the first stop reason and how many), or None."""
    stopped = [r for r in records if r.outcome == TEST_NOT_RUN]
    if not stopped:
        return None
    reasons = sorted({r.message.split(";")[0] for r in stopped if r.message.startswith(NOT_RUN_PREFIX + ": the")})
    first = reasons[0] if reasons else stopped[0].message
    return f"{len(stopped)} tests NOT_RUN; {first.removeprefix(NOT_RUN_PREFIX + ': ')}"


def cost_lines(facts: RunFacts) -> list[str]:
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


def run_facts(config: pytest.Config, state: RunState, code: ExitCode, stale: list[str],
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
        baseline=option(config, "baseline"),
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
