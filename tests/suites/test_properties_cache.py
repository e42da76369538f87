"""The case cache replays exactly what generation produced (D126).

Unit tests: a generated case survives its snapshot (kind, phase, id, what goes on the wire, the
NOT_SET body), the cache file round-trips, a broken or foreign file is ignored, old files are
pruned, the key follows everything that decides the cases. End to end: the whole property phase
against a reference fault that only some generated cases trip, once with an empty cache (cases
generated and kept), once more (cases replayed) and once with one operation's file corrupted
(that operation generated again): the verdicts, the evidence and every operation's requests are
the same each time.
"""

from __future__ import annotations

import ast
import os
import pickle
from pathlib import Path
from typing import Any

import pytest
from schemathesis.core import NOT_SET

from conformance.config import Settings, resolve
from conformance.reference.config import ReferenceConfig
from conformance.reference.faults import parse_faults
from conformance.reference.server import running_reference, target_file_text
from conformance.suites import properties_cache
from conformance.suites.properties_cache import CaseCache, cache_key, cache_root, restore, snapshot
from conformance.suites.properties_cases import case_kind, explicit_cases, is_coverage, outgoing
from conformance.suites.properties_schema import loaded_schema, only_spec_values, operation_test
from tests.suites.test_properties_reproducible import FAULT, judged, property_run

BASE = "http://127.0.0.1:9/v1"
NO_FEATURES: dict[str, Any] = {"target": {"features": []}}


class _Recorder:
    """Stands in for a PropertyRun: keeps every case Hypothesis hands over."""

    def __init__(self) -> None:
        self.cases: list[Any] = []

    def run(self, case: Any) -> None:
        self.cases.append(case)


def generated(label: str) -> list[Any]:
    """Every case of one operation's test (examples, coverage, fuzzing) at the default settings."""
    with only_spec_values():
        test = operation_test(label, Settings())
        recorder = _Recorder()
        test(properties=recorder)
    assert explicit_cases(test)
    return recorder.cases


@pytest.mark.parametrize("label", ["GET /models", "POST /embeddings", "POST /audio/transcriptions"])
def test_a_restored_case_is_the_generated_case(label: str) -> None:
    method, path = label.split(" ", 1)
    operation = loaded_schema()[path][method]
    cases = generated(label)
    for case in cases:
        again = restore(snapshot(case), operation)
        assert again.operation is operation
        assert (again.id, case_kind(again), is_coverage(again)) == (case.id, case_kind(case), is_coverage(case))
        assert again.meta is not None and case.meta is not None
        assert again.meta.phase == case.meta.phase and again.meta.components == case.meta.components
        assert outgoing(again, BASE).fingerprint() == outgoing(case, BASE).fingerprint()
        assert (again.body is NOT_SET) == (case.body is NOT_SET)
    assert {case_kind(c) for c in cases} >= {"positive", "missing-auth", "wrong-method"}


def test_a_body_less_case_keeps_the_not_set_singleton() -> None:
    operation = loaded_schema()["/models"]["GET"]
    case = next(c for c in generated("GET /models") if c.body is NOT_SET)
    assert restore(snapshot(case), operation).body is NOT_SET


def test_the_file_round_trips_and_a_broken_or_foreign_file_is_ignored(tmp_path: Path) -> None:
    operation = loaded_schema()["/models"]["GET"]
    cases = generated("GET /models")[:2]
    cache = CaseCache("k", tmp_path)
    assert cache.load(operation) is None
    cache.save(frozenset({"a", "b"}), 7, [snapshot(case) for case in cases])
    loaded = cache.load(operation)
    assert loaded is not None
    assert (loaded.plan, loaded.unplanned) == (frozenset({"a", "b"}), 7)
    assert [c.id for c in loaded.cases] == [c.id for c in cases] and loaded.cases[0].operation is operation
    cache.path.write_bytes(b"not a pickle")
    assert cache.load(operation) is None
    cache.path.write_bytes(pickle.dumps({"format": properties_cache.FORMAT + 1, "plan": [], "unplanned": 0,
                                         "cases": []}))
    assert cache.load(operation) is None
    cache.save(frozenset(), 0, [b"not a snapshot"])
    assert cache.load(operation) is None                # loads, but does not restore
    assert [p.name for p in tmp_path.iterdir()] == ["k.pickle"]     # no temporary file left behind


def test_old_files_are_pruned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(properties_cache, "MAX_FILES", 3)
    for age, key in enumerate(["e", "d", "c", "b"]):
        CaseCache(key, tmp_path).save(frozenset(), 0, [])
        os.utime(tmp_path / f"{key}.pickle", (1000 - age, 1000 - age))
    CaseCache("a", tmp_path).save(frozenset(), 0, [])
    assert sorted(p.stem for p in tmp_path.glob("*.pickle")) == ["a", "d", "e"]


def test_the_key_follows_the_label_the_seed_and_the_example_count() -> None:
    def key(label: str = "GET /models", **properties: object) -> str:
        return cache_key(label, resolve({f"properties.{k}": v for k, v in properties.items()}, {}, NO_FEATURES))

    assert key() == key()
    assert len({key(), key("POST /embeddings"), key(seed=7), key(max_examples=6)}) == 4


def test_a_run_that_turns_the_cache_off_has_none() -> None:
    assert CaseCache.for_run("GET /models", resolve({}, {"NEXHINA_CASE_CACHE": "0"}, NO_FEATURES)) is None
    assert CaseCache.for_run("GET /models", Settings()) is not None


def test_cache_root_follows_xdg_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_root() == tmp_path / "nexhina-conformance"


def _stats(raw: dict[str, object]) -> dict[str, dict[str, Any]]:
    return {name: ast.literal_eval(str(value)) for name, value in raw.items()}


def test_replayed_cases_send_and_judge_exactly_what_generated_ones_did(tmp_path: Path) -> None:
    config = ReferenceConfig(faults=parse_faults([FAULT]))
    # The case cache in a directory of its own; Hypothesis's tables where they already are.
    env = {"NEXHINA_CASE_CACHE": "1", "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "HYPOTHESIS_STORAGE_DIRECTORY": str(cache_root() / "hypothesis")}
    with running_reference(config) as base_url:
        target = tmp_path / "target.toml"
        target.write_text(target_file_text(base_url, config), encoding="utf-8")
        cold, cold_stats = property_run(tmp_path, target, "cold", "1", env=env)
        files = sorted((tmp_path / "cache" / "nexhina-conformance" / "cases").glob("*.pickle"))
        warm, warm_stats = property_run(tmp_path, target, "warm", "2", env=env)
        files[0].write_bytes(b"\x80broken")
        mended, mended_stats = property_run(tmp_path, target, "mended", "3", env=env)
    assert judged(cold)[FAULT][0] == "FAIL"        # the fault is tripped by some generated cases
    assert judged(cold) == judged(warm) == judged(mended)
    assert len(files) == 13
    cold_by_op, warm_by_op, mended_by_op = _stats(cold_stats), _stats(warm_stats), _stats(mended_stats)
    assert {s.pop("cases") for s in cold_by_op.values()} == {"generated"}
    assert {s.pop("cases") for s in warm_by_op.values()} == {"cache"}
    assert sorted(s.pop("cases") for s in mended_by_op.values()) == ["cache"] * 12 + ["generated"]
    assert cold_by_op == warm_by_op == mended_by_op


def test_a_case_that_cannot_be_kept_turns_caching_off_for_its_operation_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.suites import properties_run
    from conformance.suites.properties_run import PropertyRun

    def unpicklable(case: Any) -> bytes:
        raise pickle.PicklingError("a value pickle cannot take")

    monkeypatch.setattr(properties_run, "snapshot", unpicklable)
    run = PropertyRun.__new__(PropertyRun)
    run._recorded = []
    run.op = type("Op", (), {"operation_id": "listModels"})()  # type: ignore[assignment]
    run._keep_for_cache(object())
    assert run._recorded is None
    run._cache = CaseCache("unused", Path("/nonexistent"))
    run._save()                      # nothing recorded: nothing written, nothing raised
    assert not Path("/nonexistent").exists()
