"""The CLI's report wiring: ``run --compare DIR`` and ``report`` (grouping, history in the report root)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conformance import cli
from conformance.allure_requirements import GROUP_BY
from tests.runner.test_diff import NEW, OLD


def _fake_run(report: dict[str, object], code: int) -> Any:
    def fake_main(args: list[str]) -> int:
        report_dir = Path(next(a for a in args if a.startswith("--nexhina-report-dir=")).split("=", 1)[1])
        report_dir.mkdir(parents=True, exist_ok=True)
        (report_dir / "conformance-report.json").write_text(json.dumps(report))
        return code

    return fake_main


def test_run_compare_fails_on_a_regression_and_writes_diff_md(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "last-night"
    baseline.mkdir()
    (baseline / "conformance-report.json").write_text(json.dumps(OLD))
    monkeypatch.setattr(pytest, "main", _fake_run(NEW, 0))
    run_dir = tmp_path / "tonight"
    assert cli.main(["run", "--report-dir", str(run_dir), "--compare", str(baseline)]) == 1
    assert "regressions (PASS -> FAIL/ERROR): 2" in capsys.readouterr().out
    assert (run_dir / "diff.md").read_text().startswith("# Conformance diff")


def test_run_compare_keeps_the_run_code_without_regression_or_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "last-night"
    baseline.mkdir()
    (baseline / "conformance-report.json").write_text(json.dumps(NEW))
    monkeypatch.setattr(pytest, "main", _fake_run(NEW, 3))
    assert cli.main(["run", "--report-dir", str(tmp_path / "a"), "--compare", str(baseline)]) == 3
    monkeypatch.setattr(pytest, "main", _fake_run(NEW, 0))
    assert cli.main(["run", "--report-dir", str(tmp_path / "b"), "--compare", str(tmp_path / "none")]) == 0
    assert "no conformance report there" in capsys.readouterr().err
    assert "not compared: " in (tmp_path / "b" / "diff.md").read_text()


def test_report_groups_by_requirement_and_keeps_history_in_the_report_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = tmp_path / "reports" / "20261202T000000Z"
    (run_dir / "allure-results").mkdir(parents=True)
    (tmp_path / "reports" / "latest").symlink_to("20261202T000000Z")
    seen: list[list[str]] = []

    def fake_run(args: list[str], check: bool) -> subprocess.CompletedProcess[str]:
        seen.append(args)
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(cli.shutil, "which", lambda name: "/usr/bin/npx")
    monkeypatch.setattr(cli.subprocess, "run", fake_run)
    assert cli.main(["report", str(tmp_path / "reports" / "latest")]) == 0
    args = seen[0]
    assert args[args.index("--group-by") + 1] == ",".join(GROUP_BY)
    assert Path(args[args.index("--history-path") + 1]) == (tmp_path / "reports" / "allure-history.jsonl").resolve()
    assert cli.main(["report", str(run_dir), "--history", str(tmp_path / "h.jsonl")]) == 0
    assert seen[1][seen[1].index("--history-path") + 1] == str(tmp_path / "h.jsonl")
