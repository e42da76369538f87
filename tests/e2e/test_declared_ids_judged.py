"""Earned PASS end to end: every id a suite test declares is judged by one of its checks.

The full default run against the clean reference; every test that ran must have judged each
id of its ``@pytest.mark.requirements`` (a declaration without a check is a PASS nothing
earned), and every one of the catalogue's requirements still passes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conformance.requirements import load_catalogue
from conformance.verdicts import TEST_PASSED, TEST_VIOLATED, TestRecord

HERE = Path(__file__).resolve().parent


def run_with_records(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[TestRecord]]:
    """Run the CLI with the record collector; return the process and every test's record."""
    records = tmp_path / "records.jsonl"
    env = dict(os.environ, NEXHINA_RECORDS_OUT=str(records))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", "--report-dir", str(tmp_path / "report"), *args,
         "--", "-p", "record_collector"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False, env=env,
    )
    lines = records.read_text(encoding="utf-8").splitlines() if records.exists() else []
    return proc, [TestRecord.from_json(json.loads(line)) for line in lines]


def unjudged(records: list[TestRecord]) -> dict[str, list[str]]:
    """nodeid -> the ids it declared but never judged, for the tests that ran."""
    out: dict[str, list[str]] = {}
    for record in records:
        if record.outcome not in (TEST_PASSED, TEST_VIOLATED):
            continue
        missing = sorted(set(record.requirements) - set(record.judged))
        if missing:
            out[record.nodeid] = missing
    return out


def test_every_declared_id_is_judged_on_the_clean_reference(tmp_path: Path) -> None:
    proc, records = run_with_records(tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert records, "the collector saw no record"
    assert unjudged(records) == {}
    report = json.loads((tmp_path / "report" / "conformance-report.json").read_text())
    not_passing = {r["id"]: r["verdict"] for r in report["requirements"] if r["verdict"] != "PASS"}
    assert not_passing == {} and len(report["requirements"]) == len(load_catalogue())


def test_unjudged_finds_a_declaration_without_a_check() -> None:
    """The other way: a record that declares an id its checks never judged is an offender."""
    records = [
        TestRecord("a", ("chat.stream.tool-call-index",), TEST_PASSED, judged=()),
        TestRecord("b", ("chat.stream.finish-last",), TEST_PASSED, judged=("chat.stream.finish-last",)),
        TestRecord("c", ("rerank.sorted",), "not_supported"),
    ]
    assert unjudged(records) == {"a": ["chat.stream.tool-call-index"]}
