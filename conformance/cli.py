"""The ``nexhina-conformance`` command: a thin layer over pytest and the reference gateway.

Sub-commands: ``run`` (the main job), ``init`` (discover a gateway, write its target file),
``merge OUT DIR...`` (the shards of one run into one report), ``serve`` (the embedded reference on loopback),
``upstream`` (the relay lane's scripted upstream, alone: what a gateway channel needs),
``list requirements|faults|tests``, ``report [DIR]`` (single-file HTML from Allure results),
``diff OLD NEW`` (what changed between two runs) and ``spec`` (where the OpenAPI document is).
Selection, gating, verdicts and reports live in the pytest plugin; this module only builds a
pytest command line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from conformance.cli_servers import serve_command, upstream_command
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
    run.add_argument("--max-duration", type=float,
                     help="seconds for the whole run; then the rest is NOT_RUN and the exit code 3 (default 900)")
    run.add_argument("--max-requests", type=int, help="request budget of the whole run, all workers together")
    run.add_argument("--dry-run", action="store_true",
                     help="print the requests per operation and the billable calls the run would send; send nothing")
    run.add_argument("--allow-writes", action="store_true",
                     help="let the platform tests create, change and delete objects on the target")
    run.add_argument("--model", action="append", default=[], metavar="CAPABILITY=NAME",
                     help="the model of a capability, e.g. chat=gpt-4o-mini (repeatable; over the target file)")
    run.add_argument("--models", metavar="all|LIST",
                     help="the model matrix: every listed model (all) or these (comma-separated), per capability")
    run.add_argument("--shard", metavar="K/N", help="run shard K of N of the plan (merge them with `merge`)")
    run.add_argument("--shard-durations", metavar="FILE",
                     help="JSON {test id: seconds} that weights the split (give every shard the same file)")
    run.add_argument("--show-config", action="store_true", help="print the resolved settings and exit")
    run.add_argument(
        "--compare", metavar="DIR", help="after the run, diff against this earlier report (exit 1 on a regression)"
    )
    run.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: arguments passed to pytest")
    serve = sub.add_parser("serve", help="run the embedded reference gateway on loopback")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--api-key", help="the valid API key it accepts")
    serve.add_argument("--fault", action="append", default=[], help="a named fault to switch on (repeatable)")
    serve.add_argument("--write-target", help="write a target file describing this server (with [upstream])")
    serve.add_argument("--upstream", metavar="URL",
                       help="forward the relay models to this upstream base URL, where `run` starts its "
                            "scripted upstream (default: a free loopback port, so two serves never share one)")
    serve.add_argument("--latency-ms", type=float, default=0.0, help="simulated round trip added to every request")
    serve.add_argument("--operation-latency", action="append", default=[], metavar="PATH=MS",
                       help="latency of one operation, e.g. /chat/completions=800 (repeatable)")
    serve.add_argument("--capabilities", help="serve only these capabilities, comma-separated (e.g. chat)")
    serve.add_argument("--models-per-capability", type=int, default=1, metavar="N",
                       help="serve N models per capability (ref-chat, ref-chat-2, ...), for the model matrix")
    serve.add_argument("--model-fault", action="append", default=[], metavar="MODEL=FAULT",
                       help="a named fault on only for requests naming MODEL (repeatable)")
    init = sub.add_parser("init", help="discover a gateway and write a target file for it")
    init.add_argument("--base-url", required=True, help="API root of the gateway, e.g. https://gw.example/v1")
    init.add_argument("--api-key", help="API key (prefer the NEXHINA_API_KEY environment variable)")
    init.add_argument("-o", "--output", default="target.toml", help="the target file to write (default target.toml)")
    init.add_argument("--max-requests", type=int, default=60, help="request budget of the probing (default 60)")
    init.add_argument("--probe-paid", action="store_true",
                      help="also probe images and video (each probe is a paid generation)")
    init.add_argument("--api-key-env", default="NEXHINA_API_KEY",
                      help="the environment variable the written file reads the key from")
    init.add_argument("--force", action="store_true", help="overwrite an existing output file")
    merging = sub.add_parser("merge", help="merge the report directories of the shards of one run")
    merging.add_argument("out", help="the merged report directory")
    merging.add_argument("directories", nargs="+", help="the shards' report directories")
    upstream = sub.add_parser("upstream", help="run the relay lane's scripted upstream alone and print its channel")
    upstream.add_argument("--host", default="127.0.0.1", help="address to listen on (a gateway must reach it)")
    upstream.add_argument("--port", type=int, default=8777)
    upstream.add_argument("--key", help="the channel key it expects (default: the reference's channel key)")
    listing = sub.add_parser("list", help="list requirements, faults or tests")
    listing.add_argument("what", choices=("requirements", "faults", "tests"))
    report = sub.add_parser("report", help="render a single-file HTML report from a run's Allure results")
    report.add_argument("directory", nargs="?", default="reports/latest")
    report.add_argument(
        "--history", help="Allure history file kept across runs (default: <report root>/allure-history.jsonl)"
    )
    diff = sub.add_parser("diff", help="what changed between two runs (regressions first); exit 1 on a regression")
    diff.add_argument("old", help="the earlier report directory or conformance-report.json")
    diff.add_argument("new", help="the later report directory or conformance-report.json")
    diff.add_argument("--format", choices=("text", "markdown"), default="text")
    diff.add_argument("--output", help="also write the diff to this file")
    sub.add_parser("spec", help="print the path of the OpenAPI document and its version")
    cleanup = sub.add_parser("cleanup", help="delete the platform objects a run left on its target")
    cleanup.add_argument("--run-id", required=True, help="the run id the report names")
    cleanup.add_argument("--base-url", help="API root of the target")
    cleanup.add_argument("--target", help="target file (TOML) with the [platform] section")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "serve":
            return serve_command(args)
        if args.command == "init":
            return _init(args)
        if args.command == "merge":
            return _merge(Path(args.out), [Path(d) for d in args.directories])
        if args.command == "upstream":
            return upstream_command(args)
        if args.command == "list":
            return _list(args.what)
        if args.command == "report":
            return _report(Path(args.directory), args.history)
        if args.command == "diff":
            return _diff(Path(args.old), Path(args.new), args.format, args.output)
        if args.command == "spec":
            return _spec()
        if args.command == "cleanup":
            return _cleanup(args)
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
    for flag in ("base_url", "api_key", "target", "profile", "baseline", "seed", "max_duration", "max_requests",
                 "models"):
        value = getattr(args, flag)
        if value is not None:
            cmd.append(f"--nexhina-{flag.replace('_', '-')}={value}")
    if getattr(args, "allow_writes", False):
        cmd.append("--nexhina-allow-writes=true")
    cmd += [
        f"--nexhina-report-dir={report_dir}",
        f"--junitxml={report_dir / 'junit.xml'}",
        f"--alluredir={report_dir / 'allure-results'}",
    ]
    cmd += [f"--nexhina-model={spec}" for spec in args.model]
    if args.shard:
        cmd.append(f"--nexhina-shard={args.shard}")
    if args.shard_durations:
        cmd.append(f"--nexhina-shard-durations={args.shard_durations}")
    if args.workers:
        cmd += ["-p", "xdist", "-n", str(args.workers)]
    if getattr(args, "dry_run", False):
        cmd.append("--nexhina-dry-run")
    extra = list(args.pytest_args)
    if extra and extra[0] == "--":
        extra = extra[1:]
    return cmd + extra


def _run(args: argparse.Namespace) -> int:
    import pytest

    from conformance.config import describe
    from conformance.errors import ConformanceError
    from conformance.target import model_options, resolve_settings

    if args.show_config:
        names = ("base_url", "api_key", "target", "profile", "seed", "max_duration", "max_requests", "models")
        cli = {k: str(v) for k in names if (v := getattr(args, k))}
        try:
            cli.update(model_options(args.model))
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
    if code == int(pytest.ExitCode.NO_TESTS_COLLECTED) and args.shard:
        _out(f"nexhina-conformance: shard {args.shard} drew no test of the plan (more shards than units of work)")
        return int(ExitCode.CONFORMANT)
    if code == int(pytest.ExitCode.NO_TESTS_COLLECTED):
        _err("nexhina-conformance: no test was selected (check -k/-m after --)")
        return int(ExitCode.USAGE_ERROR)
    if code not in {int(c) for c in ExitCode}:
        return int(ExitCode.HARNESS_ERROR)
    if args.compare:
        compared = _diff(Path(args.compare), report_dir, "text", str(report_dir / "diff.md"))
        code = max(code, compared) if compared != int(ExitCode.USAGE_ERROR) else code
    return code


def _cleanup(args: argparse.Namespace) -> int:
    """Delete what run ``--run-id`` created (tokens; codes and channels with an admin token)."""
    from conformance.errors import ConformanceError
    from conformance.platform_client import PlatformClient, delete_run_objects
    from conformance.target import resolve_settings

    cli = {k: str(v) for k in ("base_url", "target") if (v := getattr(args, k))}
    try:
        settings = resolve_settings(cli, os.environ)
    except ConformanceError as exc:
        _err(f"nexhina-conformance: {exc}")
        return int(ExitCode.USAGE_ERROR)
    if settings.base_url is None or settings.platform.access_token is None:
        _err("nexhina-conformance: cleanup needs a target base URL and [platform] access_token")
        return int(ExitCode.USAGE_ERROR)
    user = PlatformClient(settings, settings.platform.access_token, user_id=settings.platform.user_id)
    admin_token = settings.platform.admin_access_token
    admin = PlatformClient(settings, admin_token) if admin_token else None
    try:
        deleted, left = delete_run_objects(user, admin, args.run_id)
    finally:
        user.close()
        if admin is not None:
            admin.close()
    _out(f"run {args.run_id}: deleted {len(deleted)} object(s): {', '.join(deleted) or '-'}")
    if left:
        _err(f"nexhina-conformance: could not delete: {', '.join(left)}")
        return int(ExitCode.NOT_CONFORMANT)
    return int(ExitCode.CONFORMANT)


def _init(args: argparse.Namespace) -> int:
    from conformance.discover import discover, probe_settings, render_target_file
    from conformance.errors import ConformanceError
    from conformance.transport import Transport

    output = Path(args.output)
    if output.exists() and not args.force:
        _err(f"nexhina-conformance: {output} exists; pass --force to overwrite it")
        return int(ExitCode.USAGE_ERROR)
    try:
        settings = probe_settings(args.base_url, args.api_key, os.environ, args.max_requests)
        with Transport(settings) as transport:
            found = discover(transport, max_tokens=settings.budgets.max_tokens, probe_paid=args.probe_paid)
    except ConformanceError as exc:
        _err(f"nexhina-conformance: {exc}")
        return int(ExitCode.USAGE_ERROR)
    output.write_text(render_target_file(found, api_key_env=args.api_key_env), encoding="utf-8")
    _out(f"wrote {output}: {len(found.models)} capabilities, {len(found.features)} features "
         f"from {len(found.listed)} listed models in {found.requests} requests")
    for note in found.notes:
        _out(f"note: {note}")
    _out(f"next: review it, then `nexhina-conformance run --target {output}` "
         f"(the key from the environment variable {args.api_key_env})")
    return 0


def _merge(out: Path, directories: list[Path]) -> int:
    from conformance.errors import ConformanceError
    from conformance.merge import merge

    try:
        result = merge(out, directories)
    except ConformanceError as exc:
        _err(f"nexhina-conformance: {exc}")
        return int(ExitCode.USAGE_ERROR)
    for line in result.summary:
        _out(line)
    return int(result.code)


def _list(what: str) -> int:
    if what == "requirements":
        from conformance.requirements import load_catalogue

        for req in load_catalogue():
            _out(f"{req.id:<45} {req.level.value:<6} {req.basis or '-':<8} {req.feature:<26} {req.text}")
        return 0
    if what == "faults":
        from conformance.reference.faults import all_faults

        for name, description in all_faults().items():
            _out(f"{name:<50} {description}")
        return 0
    from conformance.inventory import collect_suite_tests

    for test in collect_suite_tests():
        _out(f"{test.nodeid:<70} {', '.join(test.requirements)}")
    return 0


def _diff(old: Path, new: Path, fmt: str, output: str | None) -> int:
    from conformance.diff import ReportVersionError, diff_paths, render, render_markdown

    try:
        result = diff_paths(old, new)
    except ReportVersionError as exc:
        _err(f"nexhina-conformance diff: {exc}")
        if output:  # CI publishes the file either way (the first night has nothing to compare)
            Path(output).write_text(f"# Conformance diff\n\nnot compared: {exc}\n", encoding="utf-8")
        return int(ExitCode.USAGE_ERROR)
    sys.stdout.write(render(result, fmt))
    if output:
        text = render_markdown(result) if output.endswith(".md") else render(result, fmt)
        Path(output).write_text(text, encoding="utf-8")
    return result.exit_code


def _report(directory: Path, history: str | None = None) -> int:
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
    from conformance.allure_requirements import GROUP_BY

    out = directory / "html"
    history_path = Path(history) if history else directory.resolve().parent / "allure-history.jsonl"
    proc = subprocess.run(
        [npx, "--yes", "allure@3.18.0", "awesome", str(results), "--single-file", "-o", str(out),
         "--report-name", "Nexhina conformance", "--group-by", ",".join(GROUP_BY),
         "--history-path", str(history_path)],
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
