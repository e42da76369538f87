"""The ``nexhina-conformance`` command: a thin layer over pytest and the reference gateway.

Sub-commands: ``run`` (the main job), ``serve`` (the embedded reference on loopback),
``upstream`` (the relay lane's scripted upstream, alone: what a gateway channel needs),
``list requirements|faults|tests``, ``report [DIR]`` (single-file HTML from Allure results)
and ``spec`` (where the OpenAPI document is). Selection, gating, verdicts and reports live in
the pytest plugin; this module only builds a pytest command line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from conformance.report import new_report_dir
from conformance.verdicts import ExitCode

_RUN_INI = Path(__file__).parent / "data" / "run.ini"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nexhina-conformance",
        description="Conformance suite for the Nexhina API (an OpenAI-compatible LLM gateway).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="certify a target (default: the embedded reference gateway)")
    run.add_argument("--base-url", help="API root of the target, e.g. https://gw.example/v1")
    run.add_argument("--api-key", help="API key (prefer the NEXHINA_API_KEY environment variable)")
    run.add_argument("--target", help="target file (TOML): models, features, keys, budgets")
    run.add_argument("--profile", choices=("core", "full"), help="requirement profile (default full)")
    run.add_argument("--report-dir", help="report directory (default reports/<UTC timestamp>)")
    run.add_argument("--baseline", help="file of requirement ids known to fail on this target")
    run.add_argument("--seed", type=int, help="seed of the property tests")
    run.add_argument("-n", "--workers", help="parallel workers (pytest-xdist), e.g. 2 or auto")
    run.add_argument("--show-config", action="store_true", help="print the resolved settings and exit")
    run.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: arguments passed to pytest")
    serve = sub.add_parser("serve", help="run the embedded reference gateway on loopback")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--api-key", help="the valid API key it accepts")
    serve.add_argument("--fault", action="append", default=[], help="a named fault to switch on (repeatable)")
    serve.add_argument("--write-target", help="write a target file describing this server (with [upstream])")
    serve.add_argument("--upstream", metavar="URL", default="http://127.0.0.1:8777/v1",
                       help="forward the relay models to this upstream base URL, where `run` starts its "
                            "scripted upstream (default %(default)s)")
    upstream = sub.add_parser("upstream", help="run the relay lane's scripted upstream alone and print its channel")
    upstream.add_argument("--host", default="127.0.0.1", help="address to listen on (a gateway must reach it)")
    upstream.add_argument("--port", type=int, default=8777)
    upstream.add_argument("--key", help="the channel key it expects (default: the reference's channel key)")
    listing = sub.add_parser("list", help="list requirements, faults or tests")
    listing.add_argument("what", choices=("requirements", "faults", "tests"))
    report = sub.add_parser("report", help="render a single-file HTML report from a run's Allure results")
    report.add_argument("directory", nargs="?", default="reports/latest")
    sub.add_parser("spec", help="print the path of the OpenAPI document and its version")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "upstream":
            return _upstream(args)
        if args.command == "list":
            return _list(args.what)
        if args.command == "report":
            return _report(Path(args.directory))
        if args.command == "spec":
            return _spec()
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:  # `... | head`: the reader has seen enough
        return 0
    _parser().print_help()
    return int(ExitCode.USAGE_ERROR)


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")


def pytest_command(args: argparse.Namespace, report_dir: Path) -> list[str]:
    """The pytest arguments ``run`` stands for (the same run as plain pytest with the plugin)."""
    cmd = ["-c", str(_RUN_INI), "--rootdir", str(Path.cwd()), "--pyargs", "conformance.suites"]
    for flag in ("base_url", "api_key", "target", "profile", "baseline", "seed"):
        value = getattr(args, flag)
        if value is not None:
            cmd.append(f"--nexhina-{flag.replace('_', '-')}={value}")
    cmd += [
        f"--nexhina-report-dir={report_dir}",
        f"--junitxml={report_dir / 'junit.xml'}",
        f"--alluredir={report_dir / 'allure-results'}",
    ]
    if args.workers:
        cmd += ["-p", "xdist", "-n", str(args.workers)]
    extra = list(args.pytest_args)
    if extra and extra[0] == "--":
        extra = extra[1:]
    return cmd + extra


def _run(args: argparse.Namespace) -> int:
    import pytest

    from conformance.config import describe
    from conformance.errors import ConformanceError
    from conformance.target import resolve_settings

    if args.show_config:
        cli = {k: str(v) for k in ("base_url", "api_key", "target", "profile", "seed") if (v := getattr(args, k))}
        try:
            settings = resolve_settings(cli, os.environ)
        except ConformanceError as exc:
            _err(f"nexhina-conformance: {exc}")
            return int(ExitCode.USAGE_ERROR)
        for key, value, layer in describe(settings):
            _out(f"{key} = {value}    ({layer})")
        return int(ExitCode.CONFORMANT)
    report_dir = Path(args.report_dir) if args.report_dir else new_report_dir()
    if report_dir.exists():
        shutil.rmtree(report_dir / "allure-results", ignore_errors=True)
    code = int(pytest.main(pytest_command(args, report_dir)))
    if code == int(pytest.ExitCode.NO_TESTS_COLLECTED):
        _err("nexhina-conformance: no test was selected (check -k/-m after --)")
        return int(ExitCode.USAGE_ERROR)
    if code not in {int(c) for c in ExitCode}:
        return int(ExitCode.HARNESS_ERROR)
    return code


def _serve(args: argparse.Namespace) -> int:
    from conformance.reference.server import serve

    serve(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        faults=tuple(args.fault),
        write_target=args.write_target,
        upstream_url=args.upstream,
        on_ready=_out,
    )
    return 0


def _upstream(args: argparse.Namespace) -> int:
    from conformance.reference.config import DEFAULT_CHANNEL_KEY
    from conformance.upstream.app import UPSTREAM_MODELS, UpstreamConfig
    from conformance.upstream.markers import new_run_id
    from conformance.upstream.server import serve_upstream

    key = args.key or DEFAULT_CHANNEL_KEY
    host = f"[{args.host}]" if ":" in args.host else args.host

    def ready(url: str) -> None:
        _out(f"scripted upstream: {url}")
        _out(f"channel base URL: {url}   channel key: {key}")
        _out(f"models: {', '.join(sorted(set(UPSTREAM_MODELS.values())))}")
        listen = url.split("//", 1)[1].split("/", 1)[0]
        _out(f"target file: [upstream] listen = \"{listen}\", key = <this key>; stop this "
             "command before `run`, which starts its own upstream there")

    serve_upstream(f"{host}:{args.port}", UpstreamConfig(key, new_run_id()), on_ready=ready)
    return 0


def _list(what: str) -> int:
    if what == "requirements":
        from conformance.requirements import load_catalogue

        for req in load_catalogue():
            _out(f"{req.id:<45} {req.level.value:<6} {req.feature:<26} {req.text}")
        return 0
    if what == "faults":
        from conformance.reference.faults import catalogue

        for name, description in catalogue().items():
            _out(f"{name:<50} {description}")
        return 0
    from conformance.inventory import collect_suite_tests

    for test in collect_suite_tests():
        _out(f"{test.nodeid:<70} {', '.join(test.requirements)}")
    return 0


def _report(directory: Path) -> int:
    results = directory / "allure-results"
    if not results.is_dir():
        _err(f"nexhina-conformance: no Allure results in {results}; run `nexhina-conformance run` first")
        return int(ExitCode.USAGE_ERROR)
    npx = shutil.which("npx")
    if npx is None:
        _err(
            "nexhina-conformance: rendering needs Node.js with npx (Allure Report 3 from npm, no Java): "
            "install Node.js 20+, then run this command again; it calls "
            f"`npx --yes allure@3.18.0 awesome {results} --single-file -o {directory / 'html'}`"
        )
        return int(ExitCode.USAGE_ERROR)
    out = directory / "html"
    proc = subprocess.run(
        [npx, "--yes", "allure@3.18.0", "awesome", str(results), "--single-file", "-o", str(out),
         "--report-name", "Nexhina conformance"],
        check=False,
    )
    if proc.returncode == 0:
        _out(f"report: {out / 'index.html'}")
    return 0 if proc.returncode == 0 else int(ExitCode.HARNESS_ERROR)


def _spec() -> int:
    from conformance.spec import SPEC_FILE, openapi_dir, spec_version

    _out(f"{openapi_dir() / SPEC_FILE} (version {spec_version()})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
