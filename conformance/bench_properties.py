"""Benchmark of the property phase: ``python -m conformance.bench_properties [pytest args]``.

Runs the property suite alone (``-k test_properties``) against the embedded reference (or the
target the usual options name), then prints the wall time, the requests sent and, per
operation, the cases generated, sent (by kind) and skipped. Extra arguments go to pytest, e.g.
``--nexhina-seed 7`` or ``-n 2``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

_PROPERTY = "nexhina-properties"
#: The same pytest settings as ``nexhina-conformance run`` (not the checkout's own pytest config).
_RUN_INI = Path(__file__).parent / "data" / "run.ini"


class _Collector:
    """A pytest plugin object that keeps the per-operation stats the property fixture leaves."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.outcomes: dict[str, str] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep each item's stats (teardown report) and its call outcome."""
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self.outcomes[report.nodeid] = report.outcome
        for name, value in report.user_properties:
            if name == _PROPERTY and isinstance(value, dict):
                self.rows[report.nodeid] = value


def _lines(collector: _Collector, wall: float) -> list[str]:
    total = sum(int(row.get("sent", 0)) for row in collector.rows.values())
    operations = len(collector.rows)
    lines = [f"property phase: {wall:.2f} s wall, {total} requests sent, {operations} operations", ""]
    lines.append(f"{'operation':<48} {'outcome':<8} {'generated':>9} {'sent':>5} {'skipped':>7}  by kind")
    for nodeid in sorted(collector.rows):
        row = collector.rows[nodeid]
        label = nodeid.split("[", 1)[-1].rstrip("]")
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(row.get("by_kind", {}).items()))
        kinds += " | generated: " + ", ".join(f"{k} {v}" for k, v in sorted(row.get("by_phase", {}).items()))
        lines.append(
            f"{label:<48} {collector.outcomes.get(nodeid, '?'):<8} {row.get('generated', 0):>9} "
            f"{row.get('sent', 0):>5} {row.get('skipped', 0):>7}  {kinds}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the property suite once and print its numbers; returns pytest's exit code."""
    extra = list(sys.argv[1:] if argv is None else argv)
    collector = _Collector()
    with tempfile.TemporaryDirectory(prefix="nexhina-bench-") as tmp:
        args = ["-c", str(_RUN_INI), "--rootdir", str(Path.cwd()), "--pyargs", "conformance.suites",
                "-k", "test_properties", "-p", "no:cacheprovider", "-q",
                f"--nexhina-report-dir={Path(tmp) / 'report'}", *extra]
        started = time.perf_counter()
        code = int(pytest.main(args, plugins=[collector]))
        wall = time.perf_counter() - started
    sys.stdout.write("\n".join(_lines(collector, wall)) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
