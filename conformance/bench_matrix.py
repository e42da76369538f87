"""Scale benchmark of the model matrix: ``python -m conformance.bench_matrix``.

Serves the reference with N models per capability and a fixed latency (``serve
--models-per-capability N --latency-ms MS``, as a remote gateway), then runs the same
selection of model-dependent tests with ``--models all`` three ways: sequentially, with
``-n auto``, and as 4 shards started at once (as a CI matrix would; the time is the slowest
shard's, the requests the shards' sum). Prints a Markdown table of wall time and requests.
Every run is a fresh ``nexhina-conformance run`` process, measured from the outside.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.reference.config import ReferenceConfig
from conformance.reference.models import MODELS
from conformance.reference.server import running_app, target_file_text, wired_app

#: The slice of tests measured per model (chat only: the matrix multiplies it by the models).
DEFAULT_SELECTION = "test_chat_minimal_request or test_chat_max_tokens_length"


@dataclass(frozen=True)
class Measurement:
    """One benchmarked configuration."""

    models: int
    mode: str
    wall_s: float
    tests: int
    requests: int
    exit_codes: tuple[int, ...]


def _target(url: str) -> str:
    rules = "\n".join(f'{cap} = ["{model}*"]' for cap, model in MODELS.items())
    return target_file_text(url, ReferenceConfig()) + f'\n[matrix]\nmodels = "all"\n{rules}\n'


def _command(target: Path, report: Path, selection: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "conformance.cli", "run", "--target", str(target), "--profile", "core",
            "--report-dir", str(report), *extra, "--", "-q", "-p", "no:cacheprovider", "-k", selection]


def _requests(report: Path) -> int:
    path = report / "conformance-report.json"
    if not path.is_file():  # a shard that drew no test writes no report
        return 0
    document = json.loads(path.read_text(encoding="utf-8"))
    return int(document["run"]["requests_sent"])


def measure(models: int, latency_ms: float, selection: str, tmp: Path) -> list[Measurement]:
    """The three modes against one reference serving ``models`` models per capability."""
    out: list[Measurement] = []
    app = wired_app(ReferenceConfig(models_per_capability=models, latency_ms=latency_ms))
    with running_app(app) as url:
        target = tmp / f"t{models}.toml"
        target.write_text(_target(url), encoding="utf-8")
        for mode, extra in (("sequential", ()), ("-n auto", ("-n", "auto"))):
            report = tmp / f"r{models}-{mode.replace(' ', '')}"
            started = time.monotonic()
            proc = subprocess.run(_command(target, report, selection, *extra), capture_output=True, text=True,
                                  check=False)
            wall = time.monotonic() - started
            out.append(Measurement(models, mode, wall, _junit_tests(report), _requests(report), (proc.returncode,)))
        started = time.monotonic()
        procs = [subprocess.Popen(_command(target, tmp / f"r{models}-s{k}", selection, "--shard", f"{k}/4"),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for k in range(1, 5)]
        codes = tuple(p.wait() for p in procs)
        wall = time.monotonic() - started
        reports = [tmp / f"r{models}-s{k}" for k in range(1, 5)]
        out.append(Measurement(models, "4 shards", wall, sum(_junit_tests(r) for r in reports),
                               sum(_requests(r) for r in reports), codes))
    return out


def _junit_tests(report: Path) -> int:
    import xml.etree.ElementTree as ET

    if not (report / "junit.xml").is_file():
        return 0
    root = ET.parse(report / "junit.xml").getroot()  # noqa: S314 - our own run's file
    return sum(int(s.get("tests", "0")) for s in root.iter("testsuite"))


def table(rows: Sequence[Measurement]) -> str:
    """The Markdown table of the measurements."""
    lines = ["| models per capability | mode | wall (s) | tests | requests | exit |", "|---|---|---|---|---|---|"]
    lines += [f"| {m.models} | {m.mode} | {m.wall_s:.1f} | {m.tests} | {m.requests} | "
              f"{','.join(map(str, m.exit_codes))} |" for m in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(prog="python -m conformance.bench_matrix", description=__doc__)
    parser.add_argument("--models", default="1,10,100", help="models per capability, comma-separated")
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("-k", dest="selection", default=DEFAULT_SELECTION, help="the tests measured per model")
    args = parser.parse_args(argv)
    rows: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="nexhina-bench-matrix-") as tmp:
        for count in (int(n) for n in args.models.split(",")):
            rows += measure(count, args.latency_ms, args.selection, Path(tmp))
            sys.stdout.write(table(rows) + "\n\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
