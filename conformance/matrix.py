"""The fault matrix: the scenario suites run once per reference fault, verdicts compared.

For every fault of the reference catalogue the conformance suites run in this process
against ``http://127.0.0.1:PORT/fault/<name>/v1`` of one embedded reference, and the
requirements that FAIL or WARN are recorded. The clean reference must give PASS everywhere;
a fault must fail its own requirement and nothing beyond its listed, justified collateral.

The Schemathesis property suite (seconds per run) runs only for a fault that the scenario
suites did not catch: some requirements are the property suite's alone.

``python -m conformance.matrix [--shard K/N] [--out FILE] [NAME ...]`` prints the table and
writes it as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import socket
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

#: Verdicts that mean "this requirement was found broken" (or could not be judged).
BROKEN = ("FAIL", "WARN", "ERROR")
_RUN_INI = Path(__file__).parent / "data" / "run.ini"
#: A short rate-limit window keeps the rate-limit scenario (run once per fault) cheap.
_MATRIX_WINDOW_SECONDS = 0.4
#: Bounds of the matrix runs, in target-file form (a clean exchange takes milliseconds).
_MATRIX_TIMEOUTS = "read = 2.0\nstream = 2.0\nrequest = 10.0\n"


@dataclass(frozen=True)
class Row:
    """What the suites reported against one fault (``""`` = the clean reference)."""

    fault: str
    broken: dict[str, str]
    exit_code: int
    seconds: float


def fault_requirement(fault: str) -> str:
    """The requirement a fault is named after (``chat.stream.single-finish@cut-short`` -> the id)."""
    return fault.split("@", 1)[0]


def run_suites(base_url: str, target_file: Path, *, extra: Sequence[str] = ()) -> tuple[int, dict[str, str]]:
    """Run the scenario suites once in this process; return the exit code and broken requirements."""
    with tempfile.TemporaryDirectory(prefix="nexhina-matrix-") as tmp:
        args = [
            "-c", str(_RUN_INI), "--rootdir", tmp, "--pyargs", "conformance.suites",
            f"--nexhina-base-url={base_url}", f"--nexhina-target={target_file}", f"--nexhina-report-dir={tmp}",
            "-p", "no:allure_pytest", "-p", "no:randomly", "-q", *extra,
        ]
        with contextlib.redirect_stdout(io.StringIO()):
            code = int(pytest.main(args))
        report_path = Path(tmp) / "conformance-report.json"
        if not report_path.exists():
            return code, {"<no report>": "ERROR"}
        report = json.loads(report_path.read_text(encoding="utf-8"))
    broken = {r["id"]: r["verdict"] for r in report["requirements"] if r["verdict"] in BROKEN}
    return code, broken


def run_matrix(faults: Iterable[str], *, include_clean: bool = True) -> list[Row]:
    """Start one reference, run the suites clean (optionally) and once per fault."""
    from conformance.reference.config import ReferenceConfig
    from conformance.reference.server import running_reference, target_file_text

    # Relay lane: each suite run starts the scripted upstream on this fixed port (the
    # reference forwards there), and stops it at the end of the run.
    config = ReferenceConfig(rate_limit_window_seconds=_MATRIX_WINDOW_SECONDS,
                             upstream_url=f"http://127.0.0.1:{_free_port()}/v1")
    rows: list[Row] = []
    with running_reference(config) as base_url, tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "reference.toml"
        # Short bounds: the hostile faults (streams that never end or stall) cost one bound each.
        text = target_file_text(base_url, config).replace("[timeouts]\n", "[timeouts]\n" + _MATRIX_TIMEOUTS, 1)
        target.write_text(text, encoding="utf-8")
        root = base_url.removesuffix("/v1")
        names = ([""] if include_clean else []) + list(faults)
        for name in names:
            url = f"{root}/fault/{name}/v1" if name else base_url
            started = time.monotonic()
            code, broken = run_suites(url, target, extra=("-k", "not properties"))
            if name and fault_requirement(name) not in broken:
                # Some requirements (documented statuses and content types, server errors on
                # generated input) are the property suite's alone: give it its turn.
                code, more = run_suites(url, target, extra=("-k", "properties"))
                broken = {**broken, **more}
            rows.append(Row(name, broken, code, round(time.monotonic() - started, 2)))
    return rows


def _free_port() -> int:
    """A loopback port free right now (for the scripted upstream the suite runs start)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def table(rows: Iterable[Row]) -> str:
    """The matrix as a plain-text table: fault -> requirements found broken."""
    lines = [f"{'fault':<52} {'s':>5}  requirements failed"]
    for row in rows:
        failed = ", ".join(f"{rid}" + ("" if v == "FAIL" else f" ({v})") for rid, v in sorted(row.broken.items()))
        lines.append(f"{row.fault or '(clean reference)':<52} {row.seconds:>5.1f}  {failed or '-'}")
    return "\n".join(lines)


def _shard(names: list[str], spec: str | None) -> list[str]:
    if not spec:
        return names
    k, n = (int(x) for x in spec.split("/"))
    return names[k::n]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run (a shard of) the matrix, print the table, write JSON."""
    from conformance.reference.faults import catalogue

    parser = argparse.ArgumentParser(prog="python -m conformance.matrix")
    parser.add_argument("faults", nargs="*", help="faults to run (default: every fault)")
    parser.add_argument("--shard", help="K/N: run every N-th fault starting at K")
    parser.add_argument("--no-clean", action="store_true", help="skip the clean reference run")
    parser.add_argument("--out", help="write the rows as JSON to this file")
    args = parser.parse_args(argv)
    names = _shard(list(args.faults or catalogue()), args.shard)
    rows = run_matrix(names, include_clean=not args.no_clean)
    sys.stdout.write(table(rows) + "\n")
    if args.out:
        Path(args.out).write_text(json.dumps([asdict(r) for r in rows], indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
