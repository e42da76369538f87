"""A scripted upstream at a fixed address under xdist (D128): the relay lane ERRORs with one line,
the other lanes run; without the relay lane the same ``-n 2`` run is clean.

Before, every worker tried to listen on the address; the first won and every test of the
others (relay or not) ended as a harness error.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.test_serve_capabilities_target import _free_port


def _run(cwd: Path, target: Path, name: str, selection: str) -> tuple[int, dict[str, tuple[str, str]]]:
    report = cwd / name
    proc = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", "--target", str(target), "--report-dir", str(report),
         "-n", "2", "--", "-q", "-k", selection],
        cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    document = json.loads((report / "conformance-report.json").read_text(encoding="utf-8"))
    verdicts = {r["id"]: (r["verdict"], json.dumps(r.get("evidence", []))) for r in document["requirements"]
                if r["verdict"] != "NOT_RUN"}
    return proc.returncode, verdicts


def test_the_relay_lane_errors_with_one_line_and_the_rest_runs(tmp_path: Path) -> None:
    target = tmp_path / "target.toml"
    server = subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", "serve", "--port", "0", "--capabilities", "chat",
         "--write-target", str(target), "--upstream", f"http://127.0.0.1:{_free_port()}/v1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        both, verdicts = _run(tmp_path, target, "both", "test_models or test_relay_chat")
        clean, alone = _run(tmp_path, target, "alone", "test_models")
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert both == 3
    relay = {rid: v for rid, v in verdicts.items() if rid.startswith("relay.")}
    assert relay and {verdict for verdict, _ in relay.values()} == {"ERROR"}
    assert all("which one process only can hold: run the relay lane without -n (D128)" in evidence
               for _, evidence in relay.values())
    models = {rid: v[0] for rid, v in verdicts.items() if rid.startswith("models.")}
    assert models and set(models.values()) == {"PASS"}
    assert clean == 0 and {v for v, _ in alone.values()} <= {"PASS", "NOT_SUPPORTED"}
