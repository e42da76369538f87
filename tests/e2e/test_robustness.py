"""Robustness: against hostile servers a run ends within its bounds, marks what was affected,
finishes the rest and writes complete reports.

Hostile behaviour comes from the reference's transport faults (a stream that never ends,
stalls or drops; a truncated JSON body; a 50 MB body) and from the raw hostile server (a
target that never answers). Transport-level behaviour (HTML 502, 429 loops, garbage) is
covered by tests/transport.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.reference.config import ReferenceConfig
from conformance.reference.faults import parse_faults
from conformance.reference.server import running_reference, target_file_text
from tests.support.hostile_server import HostileServer

TIGHT = "read = 1.5\nstream = 2.0\nrequest = 10.0\n"


def _run(tmp_path: Path, target: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", "--target", str(target), "--report-dir",
         str(tmp_path / "report"), *extra],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )
    return proc, time.monotonic() - started


@pytest.mark.parametrize(
    "faults",
    [
        ("chat.stream.framing@never-ends", "chat.response.schema@oversize"),
        ("chat.stream.framing@stall", "chat.response.schema@truncated-json"),
        ("chat.stream.framing@drop", "chat.response.schema@truncated-json"),
    ],
    ids=["never-ends+50MB", "stall+truncated", "drop+truncated"],
)
def test_hostile_answers_are_failed_on_time_and_the_rest_passes(tmp_path: Path, faults: tuple[str, ...]) -> None:
    config = ReferenceConfig(faults=parse_faults(faults))
    with running_reference(config) as base_url:
        target = tmp_path / "target.toml"
        target.write_text(target_file_text(base_url, config).replace("[timeouts]\n", "[timeouts]\n" + TIGHT, 1))
        # The reference is ours to write to: the platform write scenarios run too.
        proc, elapsed = _run(tmp_path, target, "--allow-writes", "--", "-k", "not properties and not rate_limit")
    assert proc.returncode == 1, proc.stdout[-2000:]
    # Every stream bounded by 2 s (+1.5 s read): a handful of affected streams, never a hang.
    assert elapsed < 90
    report = json.loads((tmp_path / "report" / "conformance-report.json").read_text())
    broken = {r["id"]: r["verdict"] for r in report["requirements"] if r["verdict"] not in ("PASS", "NOT_RUN")}
    assert broken == {"chat.stream.framing": "FAIL", "chat.response.schema": "FAIL"}
    assert (tmp_path / "report" / "summary.md").stat().st_size > 0
    assert (tmp_path / "report" / "junit.xml").stat().st_size > 0


def test_a_target_that_never_answers_stops_the_run_within_the_read_bound(tmp_path: Path) -> None:
    with HostileServer() as server:
        target = tmp_path / "target.toml"
        target.write_text(f'[target]\nbase_url = "{server.url("never")}/v1"\napi_key = "k"\n'
                          '[models]\nchat = "m"\n[timeouts]\nread = 1.0\nrequest = 2.0\n')
        proc, elapsed = _run(tmp_path, target)
    assert proc.returncode == 3
    assert "cannot reach the target" in proc.stdout + proc.stderr
    assert elapsed < 30


def test_a_target_answering_html_502_everywhere_is_failed_and_reported(tmp_path: Path) -> None:
    with HostileServer() as server:
        target = tmp_path / "target.toml"
        target.write_text(f'[target]\nbase_url = "{server.url("html-502")}/v1"\napi_key = "k"\n'
                          '[models]\nchat = "m"\n[timeouts]\nread = 2.0\nrequest = 5.0\n')
        proc, elapsed = _run(tmp_path, target, "--profile", "core")
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert elapsed < 120
    report = json.loads((tmp_path / "report" / "conformance-report.json").read_text())
    verdicts = {r["id"]: r["verdict"] for r in report["requirements"] if r["profile"] == "core"}
    assert verdicts["errors.no-server-error"] == "FAIL" and verdicts["chat.minimal-request"] == "FAIL"
    assert "ERROR" not in verdicts.values()  # a 502 is the server's answer, not trouble of ours
    assert report["profiles"]["core"]["result"] == "failure"
