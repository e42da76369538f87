"""Options and configuration: the ``--nexhina-*`` options and ini keys, settings resolution, the ledger.

``pytest_configure`` resolves the target settings once (a bad value is a usage error), opens the
run's shared ledger and registers the per-session hooks (`RunHooks`, shard, model matrix).
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from conformance import __version__, shard
from conformance.baseline import load_baseline
from conformance.errors import ConformanceError
from conformance.ledger import Ledger
from conformance.model_rules_run import MARKER as RULES_MARKER
from conformance.model_rules_run import active_rules
from conformance.plugin.early_start import MARK as EARLY_MARK
from conformance.plugin.run_channel import source_line
from conformance.plugin.run_channel_setup import choose_run_id, held_upstream
from conformance.plugin.session import RunHooks
from conformance.plugin.state import LEDGER_INPUT, STATE, RunState, ini_value, option
from conformance.plugin_keys import SETTINGS
from conformance.requirements import load_catalogue
from conformance.target import dry_run_settings, model_options, resolve_settings

#: The ini key saying the process exists for this run alone (``nexhina-conformance run``): see `tune_gc`.
OWN_PROCESS_INI = "nexhina_own_process"
#: Allocations between two young-generation garbage collections in such a process (Python's default: 700).
GC_THRESHOLD = 20_000
_GC_BEFORE = pytest.StashKey[tuple[int, int, int]]()

OPTIONS: tuple[tuple[str, str], ...] = (
    ("base_url", "API root of the target, e.g. https://gw.example/v1 (default: the embedded reference)"),
    ("api_key", "API key for the target (prefer NEXHINA_API_KEY: a flag may land in shell history)"),
    ("target", "target file (TOML) describing the target: models, features, keys, budgets"),
    ("profile", "core or full (default full)"),
    ("report_dir", "where conformance-report.json and summary.md go (default reports/<UTC timestamp>)"),
    ("baseline", "file of requirement ids known to fail on this target"),
    ("seed", "seed of the property tests (default from the target file)"),
    ("max_duration", "seconds for the whole run; then the remaining tests are NOT_RUN (budgets.max_duration)"),
    ("max_requests", "request budget of the whole run, all workers together (budgets.max_requests)"),
    ("allow_writes", "true to let platform tests create, change and delete objects (default false)"),
    ("models", "the model matrix: all (every listed model) or comma-separated model ids"),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Options in one group, each with a matching ini key (except the API key)."""
    group = parser.getgroup("nexhina", "Nexhina conformance")
    group.addoption("--nexhina-dry-run", dest="nexhina_dry_run", action="store_true", default=False,
                    help="send nothing to the target: run against the embedded reference and print the cost plan")
    for name, help_text in OPTIONS:
        group.addoption(f"--nexhina-{name.replace('_', '-')}", dest=f"nexhina_{name}", default=None, help=help_text)
        if name != "api_key":
            parser.addini(f"nexhina_{name}", help_text, default=None)
    parser.addini(OWN_PROCESS_INI, "true when the process exists for this run alone (the CLI's run.ini): "
                  "fewer garbage collections during the run, none of its heap at the end", type="bool", default=False)
    shard.add_options(group)
    group.addoption("--nexhina-model", dest="nexhina_model", action="append", default=[],
                    metavar="CAPABILITY=NAME", help="the model of a capability (repeatable; over the target file)")


def pytest_configure(config: pytest.Config) -> None:
    """Register markers and resolve the target settings (a bad value is a usage error)."""
    config.addinivalue_line(
        "markers", f"{RULES_MARKER}(*params, capability): the parameters a test is about (model rules)")
    config.addinivalue_line(
        "markers", f"{EARLY_MARK}(send=func): func(transport, settings) sends the test's requests; a run of one "
        "process starts it in the background before the first test (D127)")
    config.addinivalue_line(
        "markers", "requirements(*ids): the catalogue requirement ids this test may report"
    )
    config.addinivalue_line(
        "markers", "feature(*names): features the target must declare, else the test is NOT_SUPPORTED"
    )
    tune_gc(config)
    cli = {name: option(config, name) for name, _ in OPTIONS}
    try:
        catalogue = load_catalogue()
        # The ini values are the file layer, not the command line (D85).
        given = {name: str(v) for name, _ in OPTIONS if (v := config.getoption(f"nexhina_{name}")) not in (None, "")}
        ini = {name: v for name, _ in OPTIONS if (v := ini_value(config, name)) is not None}
        settings = resolve_settings({**given, **model_options(config.getoption("nexhina_model") or [])},
                                    os.environ, ini)
        active_rules(settings, None)   # a bad [model_rules] table is a usage error
        dry_run_of = settings.base_url or "the embedded reference" if config.getoption("nexhina_dry_run") else None
        if dry_run_of is not None:
            settings = dry_run_settings(settings)
        baseline_path = cli.get("baseline")
        baseline = load_baseline(Path(baseline_path), catalogue.ids()) if baseline_path else {}
        shard_text = config.getoption("nexhina_shard", None)
        spec = shard.parse_shard(str(shard_text)) if shard_text else None
        durations = shard.load_durations(config.getoption("nexhina_shard_durations", None))
    except ConformanceError as exc:
        raise pytest.UsageError(f"nexhina-conformance: {exc}") from exc
    if spec is not None:
        settings = shard.divided_budget(settings, spec.count)
    state = RunState(settings=settings, catalogue=catalogue, baseline=baseline, dry_run_of=dry_run_of)
    _open_ledger(config, state)
    choose_run_id(config, state)
    held_upstream(config, state)
    config.stash[STATE] = state
    config.stash[SETTINGS] = settings
    config.pluginmanager.register(RunHooks(config), "nexhina-run")
    if spec is not None:
        config.pluginmanager.register(shard.ShardHooks(spec, durations, baseline), "nexhina-shard")
    if settings.matrix.models:
        from conformance.model_matrix import MatrixHooks

        config.pluginmanager.register(MatrixHooks(settings), "nexhina-model-matrix")


def _open_ledger(config: pytest.Config, state: RunState) -> None:
    """The controller creates the run's ledger file; an xdist worker opens the controller's."""
    worker_input = getattr(config, "workerinput", None)
    if worker_input is not None and worker_input.get(LEDGER_INPUT):
        state.ledger = Ledger.open(Path(worker_input[LEDGER_INPUT]))
        return
    budgets = state.settings.budgets
    state.run_dir = Path(tempfile.mkdtemp(prefix="nexhina-run-"))
    state.ledger = Ledger.create(state.run_dir, max_requests=budgets.max_requests,
                                 deadline=time.time() + budgets.max_duration)


def tune_gc(config: pytest.Config) -> None:
    """In a process that exists for this run alone (`OWN_PROCESS_INI`), collect young garbage less often.

    Schemathesis and Hypothesis allocate millions of short-lived objects: at Python's default
    threshold the collector ran about 600 times in a core run (0.5-0.8 s of its 2.5 s of CPU);
    at `GC_THRESHOLD` about 20 times (D122). Undone at `pytest_unconfigure`.
    """
    if config.getini(OWN_PROCESS_INI):
        before = gc.get_threshold()
        config.stash[_GC_BEFORE] = before
        gc.set_threshold(GC_THRESHOLD, before[1], before[2])


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the embedded reference if this process started one; remove the run directory.

    In a process that exists for this run alone (`OWN_PROCESS_INI`), the heap is then frozen
    (``gc.freeze()``): pytest's clean-up collects garbage five times over everything Schemathesis
    and Hypothesis left, and the interpreter once more at exit, about 0.7 s of a short run on the
    2-core machine for memory the ending process gives back anyway (D122). A process that goes on
    after the session (a test calling ``cli.main`` in-process) keeps that session's cyclic garbage.
    """
    state = config.stash.get(STATE, None)
    if state is not None and state.target is not None:
        state.target.close()
    if state is not None and state.run_dir is not None:
        shutil.rmtree(state.run_dir, ignore_errors=True)
    before = config.stash.get(_GC_BEFORE, None)
    if before is not None:
        gc.set_threshold(*before)
        gc.freeze()


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Target, suite and spec versions, and the declared features."""
    state = config.stash[STATE]
    settings = state.settings
    target = settings.base_url or "embedded reference gateway (started on a free loopback port)"
    relay = source_line(settings, state.channel_run_id)
    if relay and state.channel_run_id and config.pluginmanager.has_plugin("dsession"):
        relay += " (one per xdist worker, named <run id>-gwN, D117)"
    return [
        f"nexhina-conformance {__version__}: target {target}",
        f"profile {settings.profile}; features: {', '.join(sorted(settings.features)) or '-'}",
        f"writes: {'allowed (--allow-writes)' if settings.allow_writes else 'off (read-only run)'}",
        *([relay] if relay else []),
    ]
