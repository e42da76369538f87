"""One run against a target versus the same run as 3 shards plus `merge`: identical verdicts.

Request counts must agree too, apart from each shard's own preflight (GET /models and one
model-rule probe, D73).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conformance.allure_requirements import is_requirement_result
from conformance.reference.config import ReferenceConfig
from conformance.reference.server import running_reference, target_file_text

SELECT = ["--", "-q", "-p", "no:cacheprovider", "-k", "not test_properties"]


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, check=False)


def _report(directory: Path) -> dict[str, object]:
    report = json.loads((directory / "conformance-report.json").read_text())
    assert isinstance(report, dict)
    return report


def _verdicts(report: dict[str, object]) -> dict[str, str]:
    requirements = report["requirements"]
    assert isinstance(requirements, list)
    return {r["id"]: r["verdict"] for r in requirements}


def test_three_shards_merge_to_the_unsharded_run(tmp_path: Path) -> None:
    config = ReferenceConfig()
    with running_reference(config) as url:
        (tmp_path / "t.toml").write_text(target_file_text(url, config))
        whole = _cli(tmp_path, "run", "--target", "t.toml", "--report-dir", "whole", *SELECT)
        assert whole.returncode == 0, whole.stdout[-2000:] + whole.stderr[-2000:]
        for k in (1, 2, 3):
            part = _cli(tmp_path, "run", "--target", "t.toml", "--shard", f"{k}/3", "--report-dir", f"s{k}", *SELECT)
            assert part.returncode == 0, part.stdout[-2000:] + part.stderr[-2000:]
    merged = _cli(tmp_path, "merge", "merged", "s1", "s2", "s3")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    one, three = _report(tmp_path / "whole"), _report(tmp_path / "merged")
    assert _verdicts(three) == _verdicts(one)
    assert three["profiles"] == one["profiles"]
    facts = json.loads((tmp_path / "merged" / "merge.json").read_text())
    # Every run counts its own preflight (GET /models and the model-rule probe, D73): the whole
    # run one, the shards three; apart from those the counts are equal.
    per_preflight = facts["preflight_requests"] // 3
    assert per_preflight >= 1 and facts["preflight_requests"] == 3 * per_preflight
    extra = facts["preflight_requests"] - per_preflight
    assert facts["requests_sent"] - extra == one["run"]["requests_sent"]  # type: ignore[index]
    # The cost, summed over the shards, is in the merged JSON report as in an unsharded run's.
    parts = [_report(tmp_path / f"s{k}")["run"] for k in (1, 2, 3)]
    run = three["run"]
    assert isinstance(run, dict)
    summed: dict[str, int] = {}
    for part in parts:
        for op, n in part["requests_by_operation"].items():  # type: ignore[index]
            summed[op] = summed.get(op, 0) + n
    assert run["requests_by_operation"] == summed and summed
    assert run["billable_requests"] == sum(p["billable_requests"] for p in parts)  # type: ignore[index]
    unsharded = dict(one["run"]["requests_by_operation"])  # type: ignore[index]
    more = {op: n - unsharded.get(op, 0) for op, n in summed.items() if n != unsharded.get(op, 0)}
    assert sum(more.values()) == extra and set(more) <= {"GET /models", "POST /chat/completions"}
    assert run["billable_requests"] - one["run"]["billable_requests"] == more.get("POST /chat/completions", 0)  # type: ignore[index]
    assert facts["requests_by_operation"] == summed
    assert all(s["tests"] > 0 for s in facts["shards"])
    assert (tmp_path / "merged" / "junit.xml").read_text().count("<testcase") == sum(
        (tmp_path / f"s{k}" / "junit.xml").read_text().count("<testcase") for k in (1, 2, 3))
    results = [json.loads(p.read_text()) for p in (tmp_path / "merged" / "allure-results").glob("*-result.json")]
    requirement_results = [r for r in results if is_requirement_result(r)]
    # One requirement result per requirement, from the merged verdicts (not the shards' partial ones).
    assert sorted(r["fullName"] for r in requirement_results) == sorted(f"requirement {i}" for i in _verdicts(one))
    assert len(results) > len(requirement_results)
    assert (tmp_path / "merged" / "summary.html").is_file()
    refused = _cli(tmp_path, "merge", "bad", "s1", "s2")
    assert refused.returncode == 4 and "not covered" in refused.stderr
