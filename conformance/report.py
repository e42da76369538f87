"""The run's reports: conformance-report.json, summary.md and the terminal summary.

Input is the verdicts of one run (``verdicts.RequirementResult`` per requirement) and facts
about the run; output is files and text. Nothing here talks to a server.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from conformance.profiles import PROFILES
from conformance.verdicts import RequirementResult, not_run, profile_members, profile_result, profile_statistics

REPORT_SCHEMA_VERSION = 3
#: Evidence entries per requirement in the JSON report (its own verdict's entries first).
EVIDENCE_SHOWN = 5


@dataclass(frozen=True)
class RunFacts:
    """What the report says about the run besides the verdicts."""

    suite_version: str
    spec_version: str
    base_url: str
    implementation_name: str
    implementation_version: str
    features: Sequence[str]
    profile: str
    started: str
    finished: str
    duration_s: float
    seed: int | None
    workers: int
    exit_code: int
    embedded_reference: bool = False
    baseline: str | None = None
    stale: Sequence[str] = field(default_factory=tuple)
    requests_sent: int = 0
    requests_by_operation: Mapping[str, int] = field(default_factory=dict)
    billable_requests: int = 0
    stopped: str | None = None       # why tests were NOT_RUN (deadline, budget), None when all ran
    open_breakers: Mapping[str, Sequence[str]] = field(default_factory=dict)
    allow_writes: bool = False
    #: The platform lane's runs: ``{"run_id", "deleted_at_end", "leftovers"}`` per process.
    platform_runs: Sequence[Mapping[str, object]] = field(default_factory=tuple)


def safe_url(url: str) -> str:
    """The URL with any user:password part removed (credentials never reach a report)."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return url


def build_report(results: Mapping[str, RequirementResult], facts: RunFacts) -> dict[str, object]:
    """The JSON document of conformance-report.json (schema: data/conformance-report.schema.json)."""
    profiles = {}
    for name in PROFILES:
        members = profile_members(name, results)
        profiles[name] = {"result": profile_result(members, facts.features), "statistics": profile_statistics(members)}
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "suite": {"name": "nexhina-conformance", "version": facts.suite_version},
        "spec": {"file": "openapi/nexhina.yaml", "version": facts.spec_version},
        "target": {
            "base_url": safe_url(facts.base_url),
            "implementation": {"name": facts.implementation_name, "version": facts.implementation_version},
            "features": sorted(facts.features),
            "embedded_reference": facts.embedded_reference,
        },
        "run": {
            "started": facts.started,
            "finished": facts.finished,
            "duration_s": round(facts.duration_s, 3),
            "profile": facts.profile,
            "seed": facts.seed,
            "workers": facts.workers,
            "requests_sent": facts.requests_sent,
            "requests_by_operation": dict(sorted(facts.requests_by_operation.items())),
            "billable_requests": facts.billable_requests,
            "stopped": facts.stopped,
            "open_breakers": {k: list(v) for k, v in sorted(facts.open_breakers.items())},
            "allow_writes": facts.allow_writes,
            "platform_runs": [dict(run) for run in facts.platform_runs],
            "baseline": facts.baseline,
            "stale_baseline": list(facts.stale),
            "exit_code": facts.exit_code,
        },
        "profiles": profiles,
        "requirements": [_requirement_json(r) for r in results.values()],
    }


def _leftover_lines(facts: RunFacts) -> list[str]:
    """summary.md lines naming what the platform lane left on the target, and how to remove it."""
    lines = []
    for run in facts.platform_runs:
        if run.get("channel"):  # channel mode (D115): where the relay models came from, never the key
            lines.append(f"- relay models: the run's channel {run['channel']} ({run.get('channel_problem') or 'used'})")
        left = run.get("leftovers")
        if isinstance(left, (list, tuple)) and left:
            run_id = run.get("run_id")
            lines.append(f"- platform run {run_id}: left on the target: {', '.join(map(str, left))}"
                         f" (`nexhina-conformance cleanup --run-id {run_id}`)")
    return lines


def _requirement_json(result: RequirementResult) -> dict[str, object]:
    req = result.requirement
    return {
        "id": req.id,
        "level": req.level.value,
        "feature": req.feature,
        "profile": req.profile,
        "text": req.text,
        "ref": list(req.ref),
        "verdict": result.verdict.value if result.verdict else "NOT_RUN",
        "baselined": result.baselined,
        "stale": result.stale,
        "tests": sorted(result.tests),
        "evidence": [e.to_json() for e in result.ordered_evidence(EVIDENCE_SHOWN)],
    }


def area_rows(results: Mapping[str, RequirementResult]) -> dict[str, dict[str, int]]:
    """Verdict counts per area (the first segment of the requirement id), areas sorted."""
    rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for result in results.values():
        area = result.requirement.id.split(".", 1)[0]
        rows[area][result.verdict.value if result.verdict else "NOT_RUN"] += 1
    return {area: dict(rows[area]) for area in sorted(rows)}


_COLUMNS = ("PASS", "FAIL", "WARN", "NOT_SUPPORTED", "ERROR", "NOT_RUN")


def terminal_summary(results: Mapping[str, RequirementResult], facts: RunFacts) -> list[str]:
    """Short per-area lines that end every run, then the profile results."""
    lines = [f"{'area':<12}" + "".join(f"{c:>15}" for c in _COLUMNS)]
    for area, counts in area_rows(results).items():
        lines.append(f"{area:<12}" + "".join(f"{counts.get(c, 0):>15}" for c in _COLUMNS))
    report = build_report(results, facts)
    profiles = report["profiles"]
    assert isinstance(profiles, dict)
    for name in PROFILES:
        lines.append(f"profile {name}: {profiles[name]['result']}")
    for result in results.values():
        if result.verdict is not None and result.verdict.value in ("FAIL", "WARN", "ERROR"):
            mark = " (baselined)" if result.baselined else ""
            lines.append(f"{result.verdict.value:<5} {result.requirement.id}{mark}")
            impact = _client_impact(result)
            if impact:
                lines.append(f"      client: {impact}")
    lines += [f"NOT_RUN {rid} (a declared feature's requirement no test judged)"
              for rid in not_run(results.values(), facts.features)]
    lines += [f"STALE {rid} (baselined but passes: remove it from the baseline)" for rid in facts.stale]
    return lines


def _client_impact(result: RequirementResult) -> str | None:
    """The client impact of the first evidence that has one (the SDK lane's verdict)."""
    return next((ev.client_impact for ev in result.evidence if ev.client_impact), None)


def summary_markdown(results: Mapping[str, RequirementResult], facts: RunFacts) -> str:
    """summary.md: the report for people, a table per area."""
    report = build_report(results, facts)
    profiles = report["profiles"]
    assert isinstance(profiles, dict)
    out = [
        "# Nexhina conformance report",
        "",
        f"- target: {safe_url(facts.base_url)}"
        + (" (embedded reference)" if facts.embedded_reference else ""),
        f"- implementation: {facts.implementation_name} {facts.implementation_version}",
        f"- suite {facts.suite_version}, spec {facts.spec_version}, profile {facts.profile}, "
        f"seed {facts.seed}, workers {facts.workers}",
        f"- run: {facts.started} to {facts.finished} ({facts.duration_s:.1f} s), exit code {facts.exit_code}",
        f"- writes: {'allowed (--allow-writes)' if facts.allow_writes else 'off (read-only run)'}",
        *_leftover_lines(facts),
        "",
        "| profile | result | " + " | ".join(_COLUMNS) + " |",
        "|---|---|" + "---|" * len(_COLUMNS),
    ]
    for name in PROFILES:
        stats = profiles[name]["statistics"]
        out.append(f"| {name} | {profiles[name]['result']} | " + " | ".join(str(stats[c]) for c in _COLUMNS) + " |")
    unjudged = not_run(results.values(), facts.features)
    if unjudged:
        out += ["", "## Not run", "", "Requirements of a declared feature that no test judged "
                "(the profile is at best partial):", ""]
        out += [f"- `{rid}`" for rid in unjudged]
    by_area: dict[str, list[RequirementResult]] = defaultdict(list)
    for result in results.values():
        by_area[result.requirement.id.split(".", 1)[0]].append(result)
    for area in sorted(by_area):
        out += ["", f"## {area}", "", "| requirement | level | verdict | detail |", "|---|---|---|---|"]
        for result in by_area[area]:
            verdict = result.verdict.value if result.verdict else "NOT_RUN"
            if result.baselined:
                verdict += " (baselined, stale)" if result.stale else " (baselined)"
            detail = ""
            if result.evidence:
                ev = result.ordered_evidence(1)[0]
                detail = f"{ev.where or ''} expected {ev.expected or '-'}; actual {ev.actual or ev.message or '-'}"
                detail = detail[:200]
                impact = _client_impact(result)
                if impact:
                    detail += f"; client: {impact[:200]}"
                detail = detail.replace("|", "\\|").replace("\n", " ")
            out.append(f"| `{result.requirement.id}` | {result.requirement.level.value} | {verdict} | {detail} |")
    return "\n".join(out) + "\n"


def write_reports(directory: Path, results: Mapping[str, RequirementResult], facts: RunFacts) -> None:
    """Write conformance-report.json and summary.md into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    report = build_report(results, facts)
    (directory / "conformance-report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (directory / "summary.md").write_text(summary_markdown(results, facts), encoding="utf-8")


def write_allure_environment(allure_dir: Path, facts: RunFacts) -> None:
    """environment.properties for Allure's environment widget (no credentials)."""
    allure_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        f"target={safe_url(facts.base_url)}",
        f"implementation={facts.implementation_name} {facts.implementation_version}",
        f"suite=nexhina-conformance {facts.suite_version}",
        f"spec={facts.spec_version}",
        f"profile={facts.profile}",
        f"seed={facts.seed}",
    ]
    (allure_dir / "environment.properties").write_text("\n".join(lines) + "\n", encoding="utf-8")


def new_report_dir(root: Path = Path("reports")) -> Path:
    """A fresh ``reports/<UTC timestamp>/`` with ``reports/latest`` pointing at it."""
    stamp = datetime.now(tz=timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    directory = root / stamp
    directory.mkdir(parents=True, exist_ok=True)
    latest = root / "latest"
    if latest.is_symlink() or not latest.exists():
        latest.unlink(missing_ok=True)
        latest.symlink_to(stamp)
    return directory
