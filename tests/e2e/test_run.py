"""`nexhina-conformance run` end to end against the embedded reference gateway.

The clean reference must give PASS on every requirement (no WARN, no ERROR, no NOT_RUN),
sequentially and with ``-n 2``; a fault must show up as FAIL with its exchange; no credential may
reach any file or output; an unreachable target or a rejected key stops the run at once.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from conformance.reference.config import ReferenceConfig
from conformance.reference.faults import parse_faults
from conformance.reference.server import free_loopback_port, running_reference, target_file_text

SCHEMA = Path(__file__).resolve().parents[2] / "conformance" / "data" / "conformance-report.schema.json"
SECRET = "sk-e2e-DISTINCTIVE-7f3a9c1b"


def run_cli(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    """Run the CLI in a subprocess with its report in tmp_path/report; return it and the report."""
    report_dir = tmp_path / "report"
    proc = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", "--report-dir", str(report_dir), *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )
    path = report_dir / "conformance-report.json"
    return proc, json.loads(path.read_text()) if path.exists() else {}


def minimal_target(tmp_path: Path) -> str:
    """A target file declaring only the chat model (the core features are the default)."""
    target = tmp_path / "minimal.toml"
    target.write_text('[models]\nchat = "ref-chat"\n')
    return str(target)


def verdicts(report: dict[str, object]) -> dict[str, str]:
    requirements = report["requirements"]
    assert isinstance(requirements, list)
    return {r["id"]: r["verdict"] for r in requirements}


@pytest.mark.parametrize("workers", [None, "2"], ids=["sequential", "xdist-2"])
def test_clean_reference_passes_every_requirement(tmp_path: Path, workers: str | None) -> None:
    proc, report = run_cli(tmp_path, *(["-n", workers] if workers else []))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    not_passing = {rid: v for rid, v in verdicts(report).items() if v != "PASS"}
    assert not_passing == {}
    assert report["profiles"] == {
        "core": {"result": "success", "statistics": report["profiles"]["core"]["statistics"]},  # type: ignore[index]
        "full": {"result": "success", "statistics": report["profiles"]["full"]["statistics"]},  # type: ignore[index]
    }
    Draft202012Validator(json.loads(SCHEMA.read_text())).validate(report)
    out = tmp_path / "report"
    assert (out / "junit.xml").stat().st_size > 0 and (out / "summary.md").stat().st_size > 0
    assert any((out / "allure-results").glob("*-result.json"))
    assert "target=" in (out / "allure-results" / "environment.properties").read_text()


@pytest.fixture
def faulted_reference(tmp_path: Path) -> Iterator[Path]:
    """A reference with a distinctive key and one fault; yields its target file."""
    # In relay mode, like the default run: the relay lane is certified too (its upstream is
    # started by the run, on the port the target file names).
    config = ReferenceConfig(api_key=SECRET, faults=parse_faults(["chat.stream.done-sentinel"]),
                             upstream_url=f"http://127.0.0.1:{free_loopback_port()}/v1")
    with running_reference(config) as base_url:
        target = tmp_path / "target.toml"
        target.write_text(target_file_text(base_url, config))
        yield target


def test_a_fault_fails_its_requirement_and_no_key_leaks(tmp_path: Path, faulted_reference: Path) -> None:
    # The reference is ours to write to: --allow-writes lets the platform write scenarios run too.
    proc, report = run_cli(tmp_path, "--target", str(faulted_reference), "--allow-writes", "--", "-k", "not properties")
    assert proc.returncode == 1
    found = verdicts(report)
    assert found["chat.stream.done-sentinel"] == "FAIL"
    assert [rid for rid, v in found.items() if v not in ("PASS", "NOT_RUN")] == ["chat.stream.done-sentinel"]
    evidence = next(r for r in report["requirements"] if r["id"] == "chat.stream.done-sentinel")["evidence"]  # type: ignore[union-attr,index]
    assert "curl" in evidence[0]["curl"] and "Bearer ********" in evidence[0]["curl"]
    assert "reproduce:" in proc.stdout
    leaks = [p for p in (tmp_path / "report").rglob("*") if p.is_file() and SECRET in p.read_text(errors="replace")]
    assert leaks == []
    assert SECRET not in proc.stdout + proc.stderr
    # The target file holds the key (it is the user's file); nothing the run wrote does.


def test_unreachable_target_stops_with_one_line(tmp_path: Path) -> None:
    target = minimal_target(tmp_path)
    proc, report = run_cli(tmp_path, "--base-url", "http://127.0.0.1:9/v1", "--api-key", SECRET, "--target", target)
    assert proc.returncode == 3
    assert "cannot reach the target" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    # Every report is still written (D33): the reason in each, no test run.
    out = tmp_path / "report"
    assert report["run"]["exit_code"] == 3  # type: ignore[index]
    assert set(verdicts(report).values()) <= {"ERROR", "NOT_RUN"} and "ERROR" in verdicts(report).values()
    Draft202012Validator(json.loads(SCHEMA.read_text())).validate(report)
    assert "cannot reach the target" in json.dumps(report)
    assert "cannot reach the target" in (out / "junit.xml").read_text()
    assert (out / "summary.md").stat().st_size > 0 and (out / "DECISIONS.md").is_file()
    # The broken preflight result, beside one result per requirement (all broken or skipped).
    results = [json.loads(p.read_text()) for p in (out / "allure-results").glob("*-result.json")]
    assert [r["status"] for r in results if "preflight" in r["name"].lower()] == ["broken"]
    assert {r["status"] for r in results} <= {"broken", "skipped"}
    assert (out / "allure-results" / "environment.properties").is_file()
    assert not [p for p in out.rglob("*") if p.is_file() and SECRET in p.read_text(errors="replace")]


def test_rejected_key_stops_with_one_line(tmp_path: Path) -> None:
    with running_reference(ReferenceConfig()) as base_url:
        proc, _ = run_cli(tmp_path, "--base-url", base_url, "--api-key", SECRET, "--target", minimal_target(tmp_path))
    assert proc.returncode == 4
    assert "rejected the API key" in proc.stdout + proc.stderr
    assert SECRET not in proc.stdout + proc.stderr


def test_a_chat_only_target_gets_core_success_and_not_supported_elsewhere(tmp_path: Path) -> None:
    config = ReferenceConfig()
    with running_reference(config) as base_url:
        target = tmp_path / "chat-only.toml"
        text = target_file_text(base_url, config)
        start = text.index("features = [")
        end = text.index("]", start)
        text = text[:start] + 'features = ["models", "chat", "chat.streaming", "auth", "errors"]' + text[end + 1:]
        target.write_text(text)
        proc, report = run_cli(tmp_path, "--target", str(target), "--", "-k", "not rate_limit")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert report["profiles"]["core"]["result"] == "success"  # type: ignore[index]
    assert report["profiles"]["full"]["result"] == "partial"  # type: ignore[index]
    found = verdicts(report)
    assert found["rerank.sorted"] == "NOT_SUPPORTED" and found["video.terminal"] == "NOT_SUPPORTED"
    assert "FAIL" not in found.values()


def test_core_profile_certifies_every_core_requirement(tmp_path: Path) -> None:
    proc, report = run_cli(tmp_path, "--profile", "core")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert report["profiles"]["core"]["result"] == "success"  # type: ignore[index]
    core = [r for r in report["requirements"] if r["profile"] == "core"]  # type: ignore[union-attr]
    assert core and all(r["verdict"] == "PASS" for r in core)
