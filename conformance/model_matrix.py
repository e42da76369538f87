"""The model matrix: every routed model of a capability certified, one verdict per (model, requirement).

Owns which models a run covers per capability (`resolve_rows`: ``--models all|LIST`` or
``[matrix] models``, mapped to capabilities by the target file's ``[matrix] <capability>``
name patterns, else by one cheap probe per name-hinted capability), the parametrization
of the model-dependent tests over those models (the test id ends in ``model=NAME``), and
the per-model verdicts and model-by-area matrix written next to the run's reports
(``model-matrix.json``, a section appended to ``summary.md``, the table in ``summary.html``,
the per-model verdicts as parameters of the Allure requirement results). Model-independent tests
(auth, errors, models, rate limit, properties, platform) run once, with the declared models.

The model of a record is read from its test id, so records stay opaque (the shards and the
merge carry them unchanged).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Generator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from conformance.allure_requirements import add_model_verdicts
from conformance.config import CAPABILITIES, Settings
from conformance.discover import PAID, candidates, offered_models, probe_for
from conformance.html_summary import write_summary
from conformance.model import Verdict
from conformance.requirements import Catalogue
from conformance.transport import Transport
from conformance.verdicts import TestRecord, aggregate

__all__ = ["MATRIX_FILE", "baselined_for", "expand_baseline", "model_of", "parametrize", "per_model",
           "resolve_rows", "write_matrix"]

MATRIX_FILE = "model-matrix.json"
#: Test modules whose requirements do not depend on the model: they run once.
MODEL_INDEPENDENT = ("test_auth", "test_errors", "test_models", "test_rate_limit", "test_properties", "platform")
_MODEL_ID = re.compile(r"model=(?P<model>.+)\]$")
#: Feature -> capability whose model a test of that feature uses.
FEATURE_CAPABILITY: Mapping[str, str] = {
    "chat": "chat", "chat.streaming": "chat", "chat.tools": "chat", "chat.limits": "chat", "chat.n": "chat",
    "chat.stop": "chat", "chat.response-format": "chat", "determinism": "chat",
    "responses": "responses", "responses.streaming": "responses", "embeddings": "embeddings",
    "images": "images", "images.url": "images", "audio.speech": "speech",
    "audio.transcription": "transcription", "audio.translation": "translation", "video": "video",
    "moderation": "moderation", "rerank": "rerank",
}


def resolve_rows(settings: Settings, transport: Transport) -> dict[str, list[str]]:
    """The models to certify per declared capability.

    A selected model joins a capability when a ``[matrix]`` pattern of that capability
    matches its name, else when a cheap probe of a capability its name hints at answers
    2xx (never a paid one). The declared ``models.<capability>`` always joins its own.
    """
    declared_caps = [c for c in CAPABILITIES if c in settings.models]
    listed = offered_models(transport)
    wanted = settings.matrix.models
    selection = listed if wanted == ("all",) else list(wanted)
    rows: dict[str, set[str]] = {cap: {settings.models[cap]} for cap in declared_caps}
    rules = settings.matrix.rules
    for model in selection:
        ruled = [cap for cap in declared_caps if any(fnmatch.fnmatchcase(model, p) for p in rules.get(cap, ()))]
        if ruled:
            for cap in ruled:
                rows[cap].add(model)
            continue
        for cap in declared_caps:
            if cap in PAID or cap in rules or candidates(cap, [model], hinted_only=True) == []:
                continue
            if probe_for(cap, settings.budgets.max_tokens)(transport, model).status in range(200, 300):
                rows[cap].add(model)
    return {cap: sorted(models) for cap, models in rows.items()}


def _independent(nodeid: str) -> bool:
    module = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    return any(name in module for name in MODEL_INDEPENDENT)


def _features(marks: Iterable[Any]) -> set[str]:
    return {str(a) for mark in marks if getattr(mark, "name", None) == "feature" for a in mark.args}


def _param_features(metafunc: Any) -> set[str]:
    """The features named by the ``pytest.param(..., marks=feature(...))`` cases of a test."""
    found: set[str] = set()
    for mark in metafunc.definition.iter_markers("parametrize"):
        values = mark.args[1] if len(mark.args) > 1 else mark.kwargs.get("argvalues", ())
        for value in values:
            found |= _features(getattr(value, "marks", ()))
    return found


def capability_of(features: Iterable[str]) -> list[str]:
    """The capabilities whose models tests of these features use."""
    return sorted({FEATURE_CAPABILITY[f] for f in features if f in FEATURE_CAPABILITY})


def parametrize(metafunc: Any, settings: Settings, rows: Mapping[str, Sequence[str]]) -> None:
    """Run a model-dependent test once per model of its capability (id ``model=NAME``).

    A test whose cases name different capabilities (``pytest.param`` marks) is parametrized
    over the models of all of them; `deselect_foreign` then drops each case's foreign models.
    """
    if "models" not in metafunc.fixturenames or _independent(metafunc.definition.nodeid):
        return
    own = _features(metafunc.definition.iter_markers("feature"))
    caps = [c for c in capability_of(own or _param_features(metafunc)) if c in rows]
    if not caps or (own and len(caps) != 1):
        return
    names = sorted({m for c in caps for m in rows[c]})
    values = [{**settings.models, **{c: m for c in caps if m in rows[c]}} for m in names]
    metafunc.parametrize("models", values, ids=[f"model={m}" for m in names])


def deselect_foreign(items: Sequence[Any], rows: Mapping[str, Sequence[str]]) -> tuple[list[Any], list[Any]]:
    """Split collected items into (kept, dropped): a case whose capability does not serve its model is dropped."""
    keep: list[Any] = []
    drop: list[Any] = []
    for item in items:
        model = model_of(item.nodeid)
        caps = capability_of(_features(item.iter_markers("feature")))
        if model is not None and caps and not any(model in rows.get(c, ()) for c in caps):
            drop.append(item)
        else:
            keep.append(item)
    return keep, drop


def model_of(nodeid: str) -> str | None:
    """The model a test ran against (from its id), None for a model-independent test."""
    found = _MODEL_ID.search(nodeid)
    return found["model"] if found else None


def per_model(records: Iterable[TestRecord], catalogue: Catalogue) -> dict[str, dict[str, str]]:
    """model -> requirement id -> verdict, over the records that name a model."""
    grouped: dict[str, list[TestRecord]] = {}
    for record in records:
        model = model_of(record.nodeid)
        if model is not None:
            grouped.setdefault(model, []).append(record)
    out: dict[str, dict[str, str]] = {}
    for model in sorted(grouped):
        results = aggregate(grouped[model], catalogue)
        out[model] = {rid: r.verdict.value for rid, r in results.items() if r.verdict is not None}
    return out


def expand_baseline(records: Sequence[TestRecord], catalogue: Catalogue,
                    baseline: Iterable[str]) -> tuple[list[str], list[str]]:
    """The baseline as requirement ids, and the stale ``MODEL:id`` entries.

    A failing requirement counts as baselined when it is listed itself, or when every model
    it fails on is listed as ``MODEL:id`` and no model-independent test failed it. A
    ``MODEL:id`` entry whose model passes that requirement is stale.
    """
    entries = list(baseline)
    plain = [e for e in entries if ":" not in e]
    scoped: dict[str, set[str]] = {}
    for entry in entries:
        if ":" in entry:
            model, _, rid = entry.rpartition(":")
            scoped.setdefault(rid, set()).add(model)
    models = per_model(records, catalogue)
    unscoped = aggregate([r for r in records if model_of(r.nodeid) is None], catalogue)
    covered: list[str] = []
    stale: list[str] = []
    for rid, listed in sorted(scoped.items()):
        failing = {m for m, verdicts in models.items() if verdicts.get(rid) == Verdict.FAIL.value}
        stale += [f"{m}:{rid}" for m in sorted(listed) if models.get(m, {}).get(rid) == Verdict.PASS.value]
        own = unscoped.get(rid)
        if failing and failing <= listed and (own is None or own.verdict is not Verdict.FAIL):
            covered.append(rid)
    return plain + [rid for rid in covered if rid not in plain], stale


def baselined_for(baseline: Iterable[str], nodeid: str) -> set[str]:
    """The requirement ids the baseline lists for one test: plain entries and its model's."""
    model = model_of(nodeid)
    return {e for e in baseline if ":" not in e} | {
        e.rpartition(":")[2] for e in baseline if model is not None and e.rpartition(":")[0] == model}


def _worst(verdicts: Iterable[str]) -> str:
    ranked = sorted((Verdict(v) for v in verdicts), key=lambda v: v.rank)
    return ranked[-1].value if ranked else "-"


def area_matrix(models: Mapping[str, Mapping[str, str]]) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The areas and, per model, the worst verdict of its requirements in each area."""
    areas = sorted({rid.split(".", 1)[0] for verdicts in models.values() for rid in verdicts})
    table = {model: {area: _worst(v for rid, v in verdicts.items() if rid.split(".", 1)[0] == area)
                     for area in areas} for model, verdicts in models.items()}
    return areas, table


def write_matrix(directory: Path, records: Sequence[TestRecord], catalogue: Catalogue) -> list[str]:
    """Write model-matrix.json and the matrix section of summary.md; return the terminal lines."""
    models = per_model(records, catalogue)
    if not models:
        return []
    areas, table = area_matrix(models)
    overall = {model: _worst(verdicts.values()) for model, verdicts in models.items()}
    document = {"models": {m: {"overall": overall[m], "areas": table[m], "requirements": models[m]}
                           for m in models}}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MATRIX_FILE).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    lines = ["| model | overall | " + " | ".join(areas) + " |", "|---|---|" + "---|" * len(areas)]
    lines += [f"| `{m}` | {overall[m]} | " + " | ".join(table[m][a] for a in areas) + " |" for m in models]
    summary = directory / "summary.md"
    if summary.is_file():
        with summary.open("a", encoding="utf-8") as out:
            out.write("\n## Model matrix (worst verdict per model and area)\n\n" + "\n".join(lines) + "\n")
    if (directory / "summary.html").is_file() and (directory / "conformance-report.json").is_file():
        write_summary(directory)   # again, now with the model-by-area matrix
    width = max(len(m) for m in models)
    terminal = [f"{'model':<{width}} {'overall':<13}" + "".join(f"{a[:12]:>14}" for a in areas)]
    terminal += [f"{m:<{width}} {overall[m]:<13}" + "".join(f"{table[m][a]:>14}" for a in areas) for m in models]
    return terminal


class MatrixHooks:
    """The hooks of a model-matrix run (registered by the plugin when ``matrix.models`` is set).

    The rows are resolved once per process, at the first parametrization, through their own
    transport (like the preflight, their requests are not the run's; xdist workers and shards
    each resolve them alike from the same target).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rows: dict[str, list[str]] | None = None
        self.discovery_requests = 0

    def _rows(self) -> dict[str, list[str]]:
        if self.rows is None:
            import contextlib
            import dataclasses

            from conformance.reference.config import ReferenceConfig
            from conformance.reference.server import running_reference

            with contextlib.ExitStack() as stack:
                settings = self.settings
                if settings.base_url is None:
                    base_url = stack.enter_context(running_reference(ReferenceConfig()))
                    settings = dataclasses.replace(settings, base_url=base_url)
                transport = stack.enter_context(Transport(settings))
                self.rows = resolve_rows(settings, transport)
                self.discovery_requests = transport.sent
        return self.rows

    @pytest.hookimpl(trylast=True)  # after the parametrize marks: the model id comes last
    def pytest_generate_tests(self, metafunc: Any) -> None:
        """Parametrize the model-dependent tests over the models of their capability."""
        parametrize(metafunc, self.settings, self._rows())

    def pytest_collection_modifyitems(self, config: Any, items: list[Any]) -> None:
        """Drop the cases parametrized over another capability's models (before any shard split)."""
        if self.rows is None:
            return
        keep, drop = deselect_foreign(items, self.rows)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: Any, exitstatus: int) -> Generator[None, None, None]:
        """After the plugin's reports: the per-model verdicts and the matrix (controller only)."""
        result = yield
        config = session.config
        if hasattr(config, "workerinput"):
            return result
        from conformance.plugin import STATE

        state = config.stash[STATE]
        if state.report_dir is not None:
            lines = write_matrix(state.report_dir, state.records, state.catalogue)
            allure_dir = config.getoption("allure_report_dir", None)
            matrix_file = state.report_dir / MATRIX_FILE
            if allure_dir and matrix_file.is_file():
                add_model_verdicts(Path(allure_dir), json.loads(matrix_file.read_text(encoding="utf-8")))
            state.summary[-2:-2] = ["model matrix (worst verdict per model and area):", *lines]
        return result
