"""The fault matrix: the scenario suites run once per reference fault, verdicts compared.

For every fault of the reference catalogue the conformance suites run in this process
against ``http://127.0.0.1:PORT/fault/<name>/v1`` of one embedded reference, and the
requirements that FAIL or WARN are recorded. The clean reference must give PASS everywhere;
a fault must fail its own requirement and nothing beyond its listed, justified collateral.

The Schemathesis property suite (seconds per run) runs only for a fault that the scenario
suites did not catch: some requirements are the property suite's alone.

Focus: with ``--sample P`` (the self-test uses it), each fault runs only the tests of its own
area (the first segment of the requirement it is named after, plus the areas of its listed
collateral with ``--collateral FILE``) and a deterministic P % sample of the other tests
(chosen by a CRC of fault and test id, so a rerun picks the same). Without ``--sample`` every
fault runs every test: the full sweep, ``python -m conformance.matrix`` (or
``NEXHINA_MATRIX_FULL=1 pytest tests/test_fault_matrix.py``).

``python -m conformance.matrix [--shard K/N] [--sample P] [--collateral FILE] [--out FILE] [NAME ...]``
prints the table and writes it as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
import zlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field
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
    #: requirement -> what the official SDK made of the evidence behind it (conformance.sdk)
    impact: dict[str, str] = field(default_factory=dict)

    @property
    def own_impact(self) -> str:
        """The client impact of the fault's own requirement (``-`` when it has none)."""
        return self.impact.get(fault_requirement(self.fault), "-") if self.fault else "-"


def fault_requirement(fault: str) -> str:
    """The requirement a fault is named after (``chat.stream.single-finish@cut-short`` -> the id)."""
    return fault.split("@", 1)[0]


@dataclass(frozen=True)
class Focus:
    """Which tests one fault's run keeps: its areas' tests and a deterministic sample of the rest."""

    fault: str
    areas: frozenset[str]
    sample_percent: int

    def keeps(self, nodeid: str, requirements: Iterable[str]) -> bool:
        """Whether the test ``nodeid`` (declaring ``requirements``) runs for this fault."""
        if any(rid.split(".", 1)[0] in self.areas for rid in requirements):
            return True
        return zlib.crc32(f"{self.fault}|{nodeid}".encode()) % 100 < self.sample_percent

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        """Deselect the tests outside the focus (a pytest hook: the focus is passed as a plugin)."""
        keep: list[pytest.Item] = []
        drop: list[pytest.Item] = []
        for item in items:
            ids = [str(a) for m in item.iter_markers("requirements") for a in m.args]
            (keep if self.keeps(item.nodeid, ids) else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep


def focus_for(fault: str, sample_percent: int, collateral: Collection[str] = ()) -> Focus:
    """The focus of ``fault``: the areas of its requirement and of its listed collateral."""
    areas = {fault_requirement(fault).split(".", 1)[0]} | {rid.split(".", 1)[0] for rid in collateral}
    return Focus(fault, frozenset(areas), sample_percent)


def run_suites(
    base_url: str, target_file: Path, *, extra: Sequence[str] = (), focus: Focus | None = None
) -> tuple[int, dict[str, str], dict[str, str]]:
    """Run the scenario suites once in this process: exit code, broken requirements, their client impact."""
    with tempfile.TemporaryDirectory(prefix="nexhina-matrix-") as tmp:
        args = [
            "-c", str(_RUN_INI), "--rootdir", tmp, "--pyargs", "conformance.suites",
            f"--nexhina-base-url={base_url}", f"--nexhina-target={target_file}", f"--nexhina-report-dir={tmp}",
            "--nexhina-allow-writes=true",
            "-p", "no:allure_pytest", "-p", "no:randomly", "-q", *extra,
        ]
        with contextlib.redirect_stdout(io.StringIO()):
            code = int(pytest.main(args, plugins=[focus] if focus is not None else []))
        report_path = Path(tmp) / "conformance-report.json"
        if not report_path.exists():
            return code, {"<no report>": "ERROR"}, {}
        report = json.loads(report_path.read_text(encoding="utf-8"))
    broken = {r["id"]: r["verdict"] for r in report["requirements"] if r["verdict"] in BROKEN}
    impact = {
        r["id"]: next((e["client_impact"] for e in r["evidence"] if e.get("client_impact")), "no exchange")
        for r in report["requirements"]
        if r["verdict"] in BROKEN
    }
    return code, broken, impact


def run_matrix(faults: Iterable[str], *, include_clean: bool = True, sample_percent: int | None = None,
               collateral: dict[str, list[str]] | None = None) -> list[Row]:
    """Start one reference, run the suites clean (optionally) and once per fault.

    ``sample_percent``: None runs every test per fault; a number runs each fault's focus
    (see `Focus`), its areas taken from its requirement and its ``collateral`` entry.
    """
    from conformance.reference.config import ReferenceConfig
    from conformance.reference.server import free_loopback_port, running_reference, target_file_text

    # Relay lane: each suite run starts the scripted upstream on this fixed port (the
    # reference forwards there), and stops it at the end of the run.
    config = ReferenceConfig(rate_limit_window_seconds=_MATRIX_WINDOW_SECONDS,
                             upstream_url=f"http://127.0.0.1:{free_loopback_port()}/v1")
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
            focus = None
            if name and sample_percent is not None:
                focus = focus_for(name, sample_percent, (collateral or {}).get(name, ()))
            started = time.monotonic()
            code, broken, impact = run_suites(url, target, extra=("-k", "not properties"), focus=focus)
            if name and fault_requirement(name) not in broken:
                # Some requirements (documented statuses and content types, server errors on
                # generated input) are the property suite's alone: give it its turn.
                code, more, more_impact = run_suites(url, target, extra=("-k", "properties"), focus=focus)
                broken = {**broken, **more}
                impact = {**impact, **more_impact}
            rows.append(Row(name, broken, code, round(time.monotonic() - started, 2), impact))
    return rows


def impact_kind(text: str) -> str:
    """The outcome word of a client-impact line: parses, raises, parses-differently, not-covered."""
    body = text.split(": ", 1)[-1]
    for prefix, kind in (
        ("parsed without error", "parses"),
        ("raises", "raises"),
        ("parses differently", "parses-differently"),
        ("not covered", "not-covered"),
    ):
        if body.startswith(prefix):
            return kind
    return "no-exchange"


def table(rows: Iterable[Row]) -> str:
    """The matrix as a plain-text table: fault -> SDK impact of its requirement, requirements broken."""
    lines = [f"{'fault':<52} {'s':>5}  {'client impact':<18}  requirements failed"]
    for row in rows:
        failed = ", ".join(f"{rid}" + ("" if v == "FAIL" else f" ({v})") for rid, v in sorted(row.broken.items()))
        kind = impact_kind(row.own_impact) if row.fault else "-"
        lines.append(f"{row.fault or '(clean reference)':<52} {row.seconds:>5.1f}  {kind:<18}  {failed or '-'}")
    return "\n".join(lines)


def _shard(names: list[str], spec: str | None) -> list[str]:
    if not spec:
        return names
    k, n = (int(x) for x in spec.split("/"))
    return names[k::n]


def _collateral(path: str | None) -> dict[str, list[str]]:
    if not path:
        return {}
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return {str(fault): [str(rid) for rid in entry.get("also", [])] for fault, entry in data.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run (a shard of) the matrix, print the table, write JSON."""
    from conformance.reference.faults import catalogue

    parser = argparse.ArgumentParser(prog="python -m conformance.matrix")
    parser.add_argument("faults", nargs="*", help="faults to run (default: every fault)")
    parser.add_argument("--shard", help="K/N: run every N-th fault starting at K")
    parser.add_argument("--no-clean", action="store_true", help="skip the clean reference run")
    parser.add_argument("--out", help="write the rows as JSON to this file")
    parser.add_argument("--sample", type=int, metavar="P",
                        help="run each fault's own area and P %% of the other tests (default: every test)")
    parser.add_argument("--collateral", help="YAML of fault -> {also: [ids]}: their areas join the focus")
    args = parser.parse_args(argv)
    names = _shard(list(args.faults or catalogue()), args.shard)
    rows = run_matrix(names, include_clean=not args.no_clean, sample_percent=args.sample,
                      collateral=_collateral(args.collateral))
    sys.stdout.write(table(rows) + "\n")
    if args.out:
        Path(args.out).write_text(json.dumps([asdict(r) for r in rows], indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
