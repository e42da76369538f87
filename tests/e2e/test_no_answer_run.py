"""ERROR vs FAIL end to end (D30): a target that resets the connection on every malformed JSON
body fails errors.malformed-json (its deterministic behaviour, reproduced once), not ERROR."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conformance.reference.config import ReferenceConfig
from conformance.reference.faults import parse_faults
from conformance.reference.server import running_reference, target_file_text


def test_a_reset_on_every_malformed_json_body_is_a_fail_not_an_error(tmp_path: Path) -> None:
    config = ReferenceConfig(faults=parse_faults(["errors.malformed-json@reset"]))
    with running_reference(config) as base_url:
        target = tmp_path / "target.toml"
        target.write_text(target_file_text(base_url, config), encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, "-m", "conformance.cli", "run", "--report-dir", str(tmp_path / "report"),
             "--target", str(target), "--", "-k", "test_malformed_json"],
            cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        )
    report = json.loads((tmp_path / "report" / "conformance-report.json").read_text(encoding="utf-8"))
    broken = {r["id"]: r for r in report["requirements"] if r["verdict"] not in ("PASS", "NOT_RUN")}
    assert {rid: r["verdict"] for rid, r in broken.items()} == {"errors.malformed-json": "FAIL"}, proc.stdout[-3000:]
    evidence = broken["errors.malformed-json"]["evidence"][0]
    assert evidence["actual"] == "no HTTP status (outcome no-answer)"
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr
