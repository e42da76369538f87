"""Benchmark of whole runs against the embedded reference: ``python -m conformance.bench``.

Each configuration runs ``nexhina-conformance run`` in a fresh process (as a user would) and is
measured from the outside: wall time, the requests the report says were sent, the time the
tests of each phase took (from junit.xml: the Schemathesis property tests versus the scenario
suites) and the time the plugin took to write the reports. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CONFIGURATIONS: dict[str, tuple[str, ...]] = {
    "full, sequential": (),
    "full, -n 2": ("-n", "2"),
    "full, -n auto": ("-n", "auto"),
    "core, sequential": ("--profile", "core"),
}


@dataclass(frozen=True)
class Measurement:
    """One benchmarked run."""

    name: str
    exit_code: int
    wall_s: float
    tests: int
    requests: int
    properties_s: float
    scenarios_s: float
    reports_s: float


def measure(name: str, args: Sequence[str]) -> Measurement:
    """Run one configuration in a subprocess and measure it."""
    with tempfile.TemporaryDirectory(prefix="nexhina-bench-") as tmp:
        report = Path(tmp) / "report"
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "conformance.cli", "run", "--report-dir", str(report), *args, "--", "-q"],
            cwd=tmp, capture_output=True, text=True, check=False,
        )
        wall = time.monotonic() - started
        facts = json.loads((report / "conformance-report.json").read_text(encoding="utf-8"))["run"]
        properties, scenarios, tests = _phase_times(report / "junit.xml")
    written = re.search(r"written in ([0-9.]+) s", proc.stdout)
    return Measurement(name, proc.returncode, wall, tests, int(facts.get("requests_sent", 0)), properties,
                       scenarios, float(written.group(1)) if written else 0.0)


def _phase_times(junit: Path) -> tuple[float, float, int]:
    properties = scenarios = 0.0
    count = 0
    for case in ET.parse(junit).getroot().iter("testcase"):
        seconds = float(case.get("time", "0"))
        count += 1
        if "test_properties" in (case.get("classname", "") + case.get("name", "")):
            properties += seconds
        else:
            scenarios += seconds
    return properties, scenarios, count


def table(rows: Sequence[Measurement]) -> str:
    """The measurements as a Markdown table."""
    lines = [
        "| run | exit | wall s | tests | requests | property tests s | scenario tests s | reports s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {m.name} | {m.exit_code} | {m.wall_s:.1f} | {m.tests} | {m.requests} | {m.properties_s:.1f} "
        f"| {m.scenarios_s:.1f} | {m.reports_s:.2f} |"
        for m in rows
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen configurations (default all) and print the table."""
    parser = argparse.ArgumentParser(prog="python -m conformance.bench")
    parser.add_argument("--only", choices=sorted(CONFIGURATIONS), action="append", help="run only these")
    args = parser.parse_args(argv)
    names = args.only or list(CONFIGURATIONS)
    rows = [measure(name, CONFIGURATIONS[name]) for name in names]
    sys.stdout.write(table(rows) + "\n")
    return 0 if all(m.exit_code == 0 for m in rows) else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
