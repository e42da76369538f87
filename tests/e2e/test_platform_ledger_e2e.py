"""Management requests are counted in the run's ledger: budget and "requests sent" include them (D102)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from conformance.ledger import operation_of
from conformance.reference.app import Gateway, create_app
from conformance.reference.config import ReferenceConfig
from conformance.reference.server import running_app, target_file_text

_RUN_INI = Path(__file__).resolve().parents[2] / "conformance" / "data" / "run.ini"


def test_management_requests_are_counted_like_relay_requests(tmp_path: Path) -> None:
    inner = create_app(ReferenceConfig())
    gateway = inner.router.default
    assert isinstance(gateway, Gateway)
    with running_app(inner) as base_url:
        target = tmp_path / "target.toml"
        target.write_text(target_file_text(base_url, ReferenceConfig()), encoding="utf-8")
        report = tmp_path / "report"
        report.mkdir()
        args = ["-c", str(_RUN_INI), "--rootdir", str(report), "--pyargs", "conformance.suites.test_platform",
                f"--nexhina-base-url={base_url}", f"--nexhina-target={target}", f"--nexhina-report-dir={report}",
                "-p", "no:allure_pytest", "-p", "no:randomly", "-p", "no:benchmark", "-q"]
        with contextlib.redirect_stdout(io.StringIO()):
            pytest.main(args)
    run = json.loads((report / "conformance-report.json").read_text(encoding="utf-8"))["run"]
    counted = {op: n for op, n in run["requests_by_operation"].items() if " /api/" in op}
    seen = sum(n for (_, lane), n in gateway.requests.items() if lane == "management")
    assert counted and sum(counted.values()) == seen
    assert run["requests_sent"] == sum(gateway.requests.values())
    assert "GET /api/token/{id}" in counted and operation_of("GET", "/api/token/7") == "GET /api/token/{id}"
