"""Benchmark of whole runs: ``python -m conformance.bench [--only NAME] [--hostile]``.

Each configuration runs ``nexhina-conformance run`` in a fresh process (as a user would) and is
measured from the outside: wall time, CPU time (user + system of the run's process and the xdist
workers it waited for: on a shared machine the steadier figure), the requests the report says
were sent, the time the tests of each phase took (from junit.xml: the Schemathesis property tests
versus the scenario suites) and the time the plugin took to write the reports. Prints a Markdown
table.

Targets: the embedded reference, and ``nexhina-conformance serve`` in a subprocess (with
``--latency-ms`` for a slow, remote-like gateway).
"Sequential" sets ``budgets.concurrency = 1`` in the served target file (every request of a test
after the other); "in-test concurrency" keeps the default (``budgets.concurrency = 4``: the
independent requests of one test go out together, ``Transport.concurrently``); "-n 4" adds
xdist workers on top. "Black-box lane" strips the relay and the platform from the served target
file (the issue's speed targets are about that lane alone). The bench first generates the property
cases once, unmeasured, so the runs replay them from the user's cache (D126) as every run but a
machine's first does; the "case cache off" rows generate them (``NEXHINA_CASE_CACHE=0``), as a
first run does. The full black-box run (either way) compares against plain
``schemathesis run`` on the same spec, example count and seed against the same ``serve`` (the
ratio is our run over Schemathesis', wall and CPU). The load average is printed before and after.
``--hostile`` adds one full run per hostile fault with the *default* timeouts (the issue's
"ends within 3 minutes" bound).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: name -> (serve options or None for the embedded reference, run options)
CONFIGURATIONS: dict[str, tuple[tuple[str, ...] | None, tuple[str, ...]]] = {
    "full, embedded reference": (None, ()),
    "full, embedded reference, -n 2": (None, ("-n", "2")),
    "core, embedded reference": (None, ("--profile", "core")),
    "full, serve": ((), ()),
    "core, serve": ((), ("--profile", "core")),
    "full, serve, black-box lane": ((), ()),
    "core, serve, black-box lane": ((), ("--profile", "core")),
    "full, serve, black-box lane, case cache off": ((), ()),
    "core, serve, black-box lane, case cache off": ((), ("--profile", "core")),
    "full, serve --latency-ms 300, sequential": (("--latency-ms", "300"), ()),
    "full, serve --latency-ms 300, in-test concurrency": (("--latency-ms", "300"), ()),
    "full, serve --latency-ms 300, in-test concurrency, black-box lane": (("--latency-ms", "300"), ()),
    "full, serve --latency-ms 300, in-test concurrency, -n 4, black-box lane": (("--latency-ms", "300"), ("-n", "4")),
}
#: Configurations that send every request of a test after the other (``budgets.concurrency = 1``).
SEQUENTIAL: frozenset[str] = frozenset({"full, serve --latency-ms 300, sequential"})
#: Configurations whose served target file declares no relay and no platform (`black_box`): the
#: black-box lane alone, which the issue's speed targets (5 s full, 2 s core) and the plain
#: Schemathesis ratio are about.
BLACK_BOX: frozenset[str] = frozenset({
    "full, serve, black-box lane", "core, serve, black-box lane",
    "full, serve, black-box lane, case cache off", "core, serve, black-box lane, case cache off",
    # Under xdist the relay lane cannot share serve's fixed upstream address (D128).
    "full, serve --latency-ms 300, in-test concurrency, black-box lane",
    "full, serve --latency-ms 300, in-test concurrency, -n 4, black-box lane",
})
#: Configurations that generate every property case (``NEXHINA_CASE_CACHE=0``, D126): the first
#: run on a machine, or after a change of spec, seed, example count, code or library. The others
#: replay the cases from the user's cache, which the bench fills first (`prime_case_cache`).
CACHE_OFF: frozenset[str] = frozenset({
    "full, serve, black-box lane, case cache off", "core, serve, black-box lane, case cache off",
})
#: The runs the plain Schemathesis run is compared with (the ratio): cases replayed, and generated.
COMPARED = "full, serve, black-box lane"
COMPARED_GENERATING = f"{COMPARED}, case cache off"
#: Hostile faults run with the default timeouts under ``--hostile``.
HOSTILE: tuple[str, ...] = (
    "hostile:chat-no-answer", "chat.stream.framing@never-ends", "chat.stream.framing@stall",
    "hostile:reset", "hostile:html-502",
)
_SCHEMATHESIS = "schemathesis run, same spec/examples/seed, serve"


@dataclass(frozen=True)
class Measurement:
    """One benchmarked run (``cpu_s``: user + system seconds of its process and the workers it waited for)."""

    name: str
    exit_code: int
    wall_s: float
    cpu_s: float
    tests: int
    requests: int
    properties_s: float
    scenarios_s: float
    reports_s: float


@contextlib.contextmanager
def serving(options: Sequence[str], workdir: Path) -> Iterator[Path]:
    """``nexhina-conformance serve`` on a free port in a subprocess; yield its target file."""
    target = workdir / f"serve-{time.monotonic_ns()}.toml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", "serve", "--port", "0", "--write-target", str(target), *options],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()            # the base URL: the socket listens, the file is written
        yield target
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def sequential(target: Path) -> Path:
    """A copy of a served target file with ``budgets.concurrency = 1`` (next to it)."""
    text = target.read_text(encoding="utf-8")
    if "[budgets]" not in text:
        text += "\n[budgets]\n"
    copy = target.with_name(target.stem + "-sequential.toml")
    copy.write_text(text.replace("[budgets]", "[budgets]\nconcurrency = 1", 1), encoding="utf-8")
    return copy


def black_box(target: Path) -> Path:
    """A copy of a served target file without the relay and the platform (next to it).

    No ``relay*`` or ``platform*`` feature, no ``relay_*`` model, no ``[upstream]`` or
    ``[platform]`` table: a run against it is the black-box lane alone.
    """
    features = sorted(f for f in _features(target) if not f.startswith(("relay", "platform")))
    kept: list[str] = []
    section = ""
    for line in target.read_text(encoding="utf-8").splitlines():
        header = re.fullmatch(r"\[([A-Za-z_.]+)\]", line.strip())
        if header:
            section = header.group(1)
        if section in ("upstream", "platform") or line.startswith(("relay_", "# The management API")):
            continue
        if section == "target" and line.startswith("features = "):
            line = "features = " + json.dumps(features)
        kept.append(line)
    copy = target.with_name(target.stem + "-black-box.toml")
    copy.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return copy


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(name: str, args: Sequence[str], *, target: Path | None = None,
            env: Mapping[str, str] | None = None) -> Measurement:
    """Run one configuration in a subprocess and measure it (``env``: extra environment variables)."""
    with tempfile.TemporaryDirectory(prefix="nexhina-bench-") as tmp:
        report = Path(tmp) / "report"
        chosen = ("--target", str(target)) if target is not None else ()
        started, cpu = time.monotonic(), _children_cpu()
        proc = subprocess.run(
            [sys.executable, "-m", "conformance.cli", "run", "--report-dir", str(report), *chosen, *args,
             "--", "-q"],
            cwd=tmp, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})},
        )
        wall, cpu = time.monotonic() - started, _children_cpu() - cpu
        facts = json.loads((report / "conformance-report.json").read_text(encoding="utf-8"))["run"]
        junit = report / "junit.xml"
        properties, scenarios, tests = _phase_times(junit) if junit.exists() else (0.0, 0.0, 0)
    written = re.search(r"written in ([0-9.]+) s", proc.stdout)
    return Measurement(name, proc.returncode, wall, cpu, tests, int(facts.get("requests_sent", 0)), properties,
                       scenarios, float(written.group(1)) if written else 0.0)


def measure_schemathesis(target: Path) -> Measurement | None:
    """Plain ``schemathesis run`` on the suite's spec with its example count and seed (None: not installed)."""
    from conformance.config import load_target_file, resolve
    from conformance.spec import SPEC_FILE, openapi_dir

    executable = shutil.which("schemathesis") or shutil.which("st")
    if executable is None:
        return None
    settings = resolve({}, {}, load_target_file(target), known_features=_features(target))
    assert settings.base_url is not None and settings.api_key is not None
    started, cpu = time.monotonic(), _children_cpu()
    with tempfile.TemporaryDirectory(prefix="nexhina-bench-st-") as tmp:   # its .schemathesis/ cache goes here
        proc = subprocess.run(
            [executable, "run", str(openapi_dir() / SPEC_FILE), "--url", settings.base_url,
             "--header", f"Authorization: Bearer {settings.api_key}",
             "--max-examples", str(settings.properties.max_examples), "--seed", str(settings.properties.seed)],
            capture_output=True, text=True, check=False, cwd=tmp,
        )
    return Measurement(_SCHEMATHESIS, proc.returncode, time.monotonic() - started, _children_cpu() - cpu,
                       0, 0, 0.0, 0.0, 0.0)


def _features(target: Path) -> frozenset[str]:
    from conformance.config import load_target_file

    table = load_target_file(target).get("target", {})
    features = table.get("features", []) if isinstance(table, dict) else []
    return frozenset(str(f) for f in features)


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
        "| run | exit | wall s | cpu s | tests | requests | property tests s | scenario tests s | reports s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {m.name} | {m.exit_code} | {m.wall_s:.1f} | {m.cpu_s:.1f} | {m.tests} | {m.requests} "
        f"| {m.properties_s:.1f} | {m.scenarios_s:.1f} | {m.reports_s:.2f} |"
        for m in rows
    ]
    theirs = next((m for m in rows if m.name == _SCHEMATHESIS), None)
    if theirs is not None and theirs.wall_s > 0 and theirs.cpu_s > 0:
        compared = [m for m in rows if m.name in (COMPARED, COMPARED_GENERATING)]
        lines += [""] if compared else []
        lines += [f"ratio {ours.name} / plain Schemathesis (same serve): {ours.wall_s / theirs.wall_s:.2f} "
                  f"wall, {ours.cpu_s / theirs.cpu_s:.2f} cpu" for ours in compared]
    return "\n".join(lines)


def prime_case_cache() -> float:
    """Generate every operation's property cases once (unmeasured) so the measured runs replay them; seconds."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="nexhina-bench-prime-") as tmp:
        subprocess.run(
            [sys.executable, "-m", "conformance.cli", "run", "--report-dir", str(Path(tmp) / "report"),
             "--", "-q", "-k", "test_properties"],
            cwd=tmp, capture_output=True, text=True, check=False,
        )
    return time.monotonic() - started


def _hostile(workdir: Path) -> list[Measurement]:
    rows = []
    for fault in HOSTILE:
        with serving(("--fault", fault), workdir) as target:
            rows.append(measure(f"full, serve --fault {fault}, default timeouts", (), target=target))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen configurations (default all) and print the table."""
    parser = argparse.ArgumentParser(prog="python -m conformance.bench")
    parser.add_argument("--only", choices=sorted(CONFIGURATIONS), action="append", help="run only these")
    parser.add_argument("--hostile", action="store_true", help="also one run per hostile fault (default timeouts)")
    parser.add_argument("--no-schemathesis", action="store_true", help="skip the plain Schemathesis comparison")
    args = parser.parse_args(argv)
    names = args.only or list(CONFIGURATIONS)
    rows: list[Measurement] = []
    sys.stdout.write("load average at start: {:.2f} {:.2f} {:.2f}\n".format(*os.getloadavg()))
    sys.stdout.write(f"case cache primed in {prime_case_cache():.1f} s (rows without 'case cache off' replay it)\n")
    with tempfile.TemporaryDirectory(prefix="nexhina-bench-serve-") as tmp:
        workdir = Path(tmp)
        for name in names:
            serve_options, run_options = CONFIGURATIONS[name]
            if serve_options is None:
                rows.append(measure(name, run_options))
                continue
            with serving(serve_options, workdir) as target:
                if name in SEQUENTIAL:
                    target = sequential(target)
                if name in BLACK_BOX:
                    target = black_box(target)
                env = {"NEXHINA_CASE_CACHE": "0"} if name in CACHE_OFF else None
                rows.append(measure(name, run_options, target=target, env=env))
                if name in (COMPARED, COMPARED_GENERATING) and not args.no_schemathesis \
                        and not any(m.name == _SCHEMATHESIS for m in rows):
                    plain = measure_schemathesis(target)
                    if plain is not None:
                        rows.append(plain)
        if args.hostile:
            rows += _hostile(workdir)
    sys.stdout.write(table(rows) + "\n")
    sys.stdout.write("load average at end: {:.2f} {:.2f} {:.2f}\n".format(*os.getloadavg()))
    return 0 if all(m.exit_code == 0 for m in rows if "--fault" not in m.name and m.name != _SCHEMATHESIS) else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
