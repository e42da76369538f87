"""Merging shards: ``nexhina-conformance merge OUT DIR...``.

Owns the re-aggregation of sharded runs into one report directory. It reads each shard's
``shard.json`` (the plan and the raw per-test records written by `conformance.shard`), never
the shards' capped JSON summaries, refuses shards of different plans or a plan not fully
covered, and writes what one unsharded run writes: conformance-report.json, summary.md and summary.html
(from the records, through the same aggregation), model-matrix.json when the run was
per model, junit.xml (the shards' test cases in one
suite), allure-results (the shards' per-test results side by side, the requirement results
written anew from the merged verdicts) and ``merge.json`` (the shards,
their requests and their preflights). The run's cost (requests per operation, billable calls)
is the sum over the shards' reports, in the merged JSON report as in an unsharded run's.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from conformance.allure_requirements import add_model_verdicts, is_requirement_result, write_requirement_results
from conformance.errors import ConfigError
from conformance.html_summary import write_summary
from conformance.ledger import billable_count
from conformance.model_matrix import MATRIX_FILE, expand_baseline, write_matrix
from conformance.report import RunFacts, build_report, terminal_summary, write_allure_environment, write_reports
from conformance.requirements import load_catalogue
from conformance.shard import SHARD_FILE, SHARD_FORMAT
from conformance.verdicts import ExitCode, TestRecord, aggregate, apply_baseline, gate

__all__ = ["MergeResult", "load_shards", "merge", "sum_operations"]


@dataclass(frozen=True)
class Shard:
    """One shard's directory and its shard file."""

    directory: Path
    document: Mapping[str, Any]

    @property
    def index(self) -> int:
        """The 1-based shard number."""
        return int(self.document["shard"])


@dataclass(frozen=True)
class MergeResult:
    """What `merge` wrote: the exit code of the merged verdicts and the summary lines."""

    code: ExitCode
    summary: list[str]


def load_shards(directories: Sequence[Path]) -> list[Shard]:
    """Read and cross-check the shard files; a ConfigError says which directory is wrong and why."""
    shards: list[Shard] = []
    for directory in directories:
        path = directory / SHARD_FILE
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"merge: {path} is not a shard file ({exc}); run each shard with --shard K/N") from exc
        if not isinstance(document, dict) or document.get("format") != SHARD_FORMAT:
            raise ConfigError(f"merge: {path} has an unknown shard format")
        shards.append(Shard(directory, document))
    if not shards:
        raise ConfigError("merge: no shard directory given")
    first = shards[0].document
    for shard in shards[1:]:
        for key in ("plan", "shards", "planned", "baseline"):
            if shard.document[key] != first[key]:
                raise ConfigError(f"merge: {shard.directory} ran a different plan than {shards[0].directory} "
                                  f"(its {key} differs); merge only shards of one run")
    indices = sorted(s.index for s in shards)
    expected = list(range(1, int(first["shards"]) + 1))
    if indices != expected:
        missing = sorted(set(expected) - set(indices))
        doubled = sorted({i for i in indices if indices.count(i) > 1})
        raise ConfigError(f"merge: the plan of {first['shards']} shards is not covered "
                          f"(missing: {missing or '-'}; given twice: {doubled or '-'})")
    covered = [t for s in shards for t in s.document["tests"]]
    if sorted(covered) != sorted(first["planned"]):
        raise ConfigError("merge: the shards' tests do not add up to the plan (a shard was cut short or edited)")
    for shard in shards:
        mine = set(shard.document["tests"])
        stray = [r["nodeid"] for r in shard.document["records"] if r.get("nodeid") not in mine]
        if stray:
            raise ConfigError(f"merge: {shard.directory} has a record of a test outside its shard: {stray[0]}")
    return sorted(shards, key=lambda s: s.index)


def merge(out: Path, directories: Sequence[Path]) -> MergeResult:
    """Merge the shard directories into the report directory ``out``."""
    shards = load_shards(directories)
    catalogue = load_catalogue()
    records = [TestRecord.from_json(raw) for shard in shards for raw in shard.document["records"]]
    results = aggregate(records, catalogue)
    baselined, model_stale = expand_baseline(records, catalogue, shards[0].document["baseline"])
    stale = apply_baseline(results, baselined) + model_stale
    code = gate(results, stale)
    facts = _facts(shards, code, stale)
    out.mkdir(parents=True, exist_ok=True)
    write_reports(out, results, facts)
    write_summary(out)
    matrix = write_matrix(out, records, catalogue)
    _merge_junit(out / "junit.xml", [s.directory / "junit.xml" for s in shards])
    allure = out / "allure-results"
    for shard in shards:
        source = shard.directory / "allure-results"
        if source.is_dir():
            shutil.copytree(source, allure, dirs_exist_ok=True)
    for path in allure.glob("*-result.json"):   # a shard's requirement results judge only its part
        if is_requirement_result(json.loads(path.read_text(encoding="utf-8"))):
            path.unlink()
    write_requirement_results(allure, build_report(results, facts), start_ms=_start_ms(facts))
    if (out / MATRIX_FILE).is_file():
        add_model_verdicts(allure, json.loads((out / MATRIX_FILE).read_text(encoding="utf-8")))
    write_allure_environment(allure, facts)
    (out / "merge.json").write_text(json.dumps(_merge_facts(shards, facts), indent=2) + "\n", encoding="utf-8")
    summary = terminal_summary(results, facts) + matrix + [
        f"merged {len(shards)} shards of plan {shards[0].document['plan']}",
        f"requests sent: {facts.requests_sent} (of which {sum(_preflight(s) for s in shards)} preflight, "
        f"one per shard; {facts.billable_requests} billable generation calls)",
        f"reports: {out}",
    ]
    return MergeResult(code, summary)


def _start_ms(facts: RunFacts) -> int:
    """The merged run's start, in ms since the epoch (the requirement results' start times)."""
    return int(datetime.fromisoformat(facts.started).timestamp() * 1000)


def _preflight(shard: Shard) -> int:
    return int(shard.document.get("preflight_requests", 0))


def sum_operations(reports: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Requests per operation summed over the shards' JSON reports (a report without them adds none)."""
    total: dict[str, int] = {}
    for report in reports:
        for operation, count in (report.get("run", {}).get("requests_by_operation") or {}).items():
            total[operation] = total.get(operation, 0) + int(count)
    return dict(sorted(total.items()))


def _merge_facts(shards: Sequence[Shard], facts: RunFacts) -> dict[str, object]:
    return {
        "plan": shards[0].document["plan"],
        "shards": [{"shard": s.index, "directory": str(s.directory), "tests": len(s.document["tests"]),
                    "requests_sent": s.document["requests_sent"], "preflight_requests": _preflight(s)}
                   for s in shards],
        "requests_sent": sum(int(s.document["requests_sent"]) for s in shards),
        "preflight_requests": sum(_preflight(s) for s in shards),
        "requests_by_operation": dict(facts.requests_by_operation),
        "billable_requests": facts.billable_requests,
    }


def _facts(shards: Sequence[Shard], code: ExitCode, stale: Sequence[str]) -> RunFacts:
    """The merged run's facts, from the shards' own reports (target, suite, times)."""
    reports = [json.loads(p.read_text(encoding="utf-8")) for s in shards
               if (p := s.directory / "conformance-report.json").is_file()]
    if not reports:
        raise ConfigError("merge: no shard wrote a conformance-report.json")
    target, suite, run = reports[0]["target"], reports[0]["suite"], reports[0]["run"]
    started = min(r["run"]["started"] for r in reports)
    finished = max(r["run"]["finished"] for r in reports)
    per_operation = sum_operations(reports)
    span = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    return RunFacts(
        suite_version=suite["version"], spec_version=reports[0]["spec"]["version"],
        base_url=target["base_url"], implementation_name=target["implementation"]["name"],
        implementation_version=target["implementation"]["version"], features=target["features"],
        profile=run["profile"], started=started, finished=finished, duration_s=span, seed=run["seed"],
        workers=max(int(r["run"]["workers"]) for r in reports), exit_code=int(code),
        embedded_reference=bool(target["embedded_reference"]), baseline=run["baseline"], stale=tuple(stale),
        requests_sent=sum(int(s.document["requests_sent"]) for s in shards),
        requests_by_operation=per_operation, billable_requests=billable_count(per_operation),
    )


def _merge_junit(out: Path, sources: Sequence[Path]) -> None:
    """One ``<testsuite>`` holding every shard's test cases, with the counts recomputed."""
    cases: list[ET.Element] = []
    elapsed = 0.0
    for source in sources:
        if not source.is_file():
            continue
        root = ET.parse(source).getroot()  # noqa: S314 - our own shards' junit files
        for suite in root.iter("testsuite"):
            elapsed += float(suite.get("time", "0") or 0)
            cases.extend(suite.iter("testcase"))
    suite = ET.Element("testsuite", {
        "name": "nexhina-conformance", "tests": str(len(cases)),
        "failures": str(sum(1 for c in cases if c.find("failure") is not None)),
        "errors": str(sum(1 for c in cases if c.find("error") is not None)),
        "skipped": str(sum(1 for c in cases if c.find("skipped") is not None)),
        "time": f"{elapsed:.3f}",
    })
    suite.extend(cases)
    root = ET.Element("testsuites", {"name": "nexhina-conformance (merged shards)"})
    root.append(suite)
    ET.ElementTree(root).write(out, encoding="utf-8", xml_declaration=True)
