"""Detection power: every reference fault fails its own requirement and nothing unlisted.

The matrix runs in four processes (``python -m conformance.matrix --shard K/4``); each starts
its own reference and runs the suites once per fault, in-process. To keep CI fast each fault
runs the tests of its own area (and of its listed collateral) plus a deterministic sample of
the rest; ``NEXHINA_MATRIX_FULL=1`` runs the full sweep (every test per fault). The table is
written to ``reports/fault-matrix/`` (``matrix.txt``, ``matrix.json``) and printed with ``-s``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.matrix import Row, fault_requirement, impact_kind, table
from conformance.model import Level
from conformance.reference.faults import catalogue as fault_catalogue
from conformance.requirements import load_catalogue

SHARDS = 4
#: Percent of the tests outside a fault's areas that its CI run samples (deterministically).
SAMPLE_PERCENT = 15
ROOT = Path(__file__).resolve().parents[1]
COLLATERAL_FILE = Path(__file__).with_name("fault_collateral.yaml")
OUT = ROOT / "reports" / "fault-matrix"


@cache
def collateral() -> dict[str, dict[str, Any]]:
    """fault -> {also: [requirement ids], why: reason}: the justified extra failures."""
    data = yaml.safe_load(COLLATERAL_FILE.read_text(encoding="utf-8")) or {}
    assert isinstance(data, dict)
    return data


@cache
def matrix() -> tuple[Row, ...]:
    """Run the matrix once per session (in parallel shards) and save the table."""
    OUT.mkdir(parents=True, exist_ok=True)
    procs = []
    for k in range(SHARDS):
        out = OUT / f"shard{k}.json"
        args = [sys.executable, "-m", "conformance.matrix", "--shard", f"{k}/{SHARDS}", "--out", str(out)]
        if not os.environ.get("NEXHINA_MATRIX_FULL"):
            args += ["--sample", str(SAMPLE_PERCENT), "--collateral", str(COLLATERAL_FILE)]
        if k:
            args.append("--no-clean")
        procs.append((subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True), out))
    rows: list[Row] = []
    try:
        for proc, out in procs:
            _, err = proc.communicate(timeout=900)
            assert proc.returncode == 0, err[-3000:]
            rows += [Row(**r) for r in json.loads(out.read_text(encoding="utf-8"))]
            out.unlink()
    finally:
        # A timeout or a failed shard must not leave the other shards running behind the session.
        for proc, _ in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    rows.sort(key=lambda r: r.fault)
    (OUT / "matrix.txt").write_text(table(rows) + "\n", encoding="utf-8")
    (OUT / "matrix.json").write_text(json.dumps([r.__dict__ for r in rows], indent=1) + "\n", encoding="utf-8")
    sys.stdout.write("\n" + table(rows) + "\n")
    return tuple(rows)


def _row(fault: str) -> Row:
    return next(r for r in matrix() if r.fault == fault)


def test_the_clean_reference_passes_everything() -> None:
    assert _row("").broken == {}


@pytest.mark.parametrize("fault", sorted(fault_catalogue()))
def test_fault_fails_exactly_its_requirement(fault: str) -> None:
    row = _row(fault)
    requirement = load_catalogue()[fault_requirement(fault)]
    expected = "FAIL" if requirement.level is Level.MUST else "WARN"
    assert row.broken.get(requirement.id) == expected, f"{fault} went undetected: {row.broken}"
    extra = set(row.broken) - {requirement.id}
    listed = set(collateral().get(fault, {}).get("also", []))
    assert extra == listed, f"{fault}: unlisted collateral {sorted(extra - listed)}, stale {sorted(listed - extra)}"


def test_collateral_entries_name_real_faults_and_give_reasons() -> None:
    faults = fault_catalogue()
    for fault, entry in collateral().items():
        assert fault in faults, fault
        assert entry.get("why"), f"{fault}: collateral without a reason"
        assert set(entry.get("also", [])) <= set(load_catalogue().ids()), fault


@pytest.mark.parametrize("fault", sorted(fault_catalogue()))
def test_fault_reports_its_client_impact(fault: str) -> None:
    """Every fault's own requirement carries what the official SDK made of it (issue 19)."""
    assert _row(fault).own_impact.startswith(("openai-python ", "no exchange")), _row(fault).impact


def test_a_client_basis_is_shown_by_the_sdk() -> None:
    """A MUST kept because it breaks a widely used client (basis ``client``, D65/D71) does: at
    least one of its reference faults makes the official SDK raise or read something else."""
    shown = {fault_requirement(r.fault) for r in matrix()
             if r.fault and impact_kind(r.own_impact) in {"raises", "parses-differently"}}
    claimed = {r.id for r in load_catalogue() if r.basis == "client"}
    assert claimed <= shown, f"basis client, but no fault of theirs breaks the SDK: {sorted(claimed - shown)}"
