"""The recorder: judged ids (earned PASS) and sibling violations collapsed into one record."""

from __future__ import annotations

from conformance.checks.embeddings import check_embeddings_schema
from conformance.model import Findings, Violation
from conformance.recorder import VerdictRecorder
from conformance.requirements import load_catalogue

SCHEMA = "embeddings.schema"


def _list_of_lists(n: int) -> dict[str, object]:
    vectors = [[[0.5, float(i)] for i in range(n)], [[0.25, float(i)] for i in range(n)]]
    return {"object": "list", "model": "m", "usage": {"prompt_tokens": 1, "total_tokens": 1},
            "data": [{"object": "embedding", "index": k, "embedding": v} for k, v in enumerate(vectors)]}


def test_sibling_violations_collapse_into_one_record_with_a_count() -> None:
    recorder = VerdictRecorder(load_catalogue(), [SCHEMA])
    found = check_embeddings_schema(_list_of_lists(100))
    assert len(found) == 200  # the defect: one violation per vector element
    recorder.check(found)
    (record,) = recorder.records()
    assert record.count == 200 and record.expected == "schema EmbeddingResponse: a number"
    assert record.where == "/data/0/embedding/0, /data/0/embedding/1, /data/0/embedding/2 and 197 more (200 locations)"
    assert recorder.failure_text().count("FAIL embeddings.schema") == 1


def test_different_rules_or_places_stay_apart() -> None:
    recorder = VerdictRecorder(load_catalogue(), [SCHEMA])
    recorder.check([
        Violation(SCHEMA, "schema X: a number", "[1]", "/data/0/embedding/3"),
        Violation(SCHEMA, "schema X: a number", "[2]", "/data/0/embedding/7"),
        Violation(SCHEMA, "schema X: a string", "1", "/data/0/object"),
        Violation(SCHEMA, "schema X: a number", "[2]", "/usage/total_tokens"),
    ])
    assert [(r.count, r.where) for r in recorder.records()] == [
        (2, "/data/0/embedding/3, /data/0/embedding/7 (2 locations)"),
        (1, "/data/0/object"),
        (1, "/usage/total_tokens"),
    ]


def test_only_judged_declared_ids_are_earned() -> None:
    recorder = VerdictRecorder(load_catalogue(), [SCHEMA, "embeddings.usage"])
    recorder.check([])  # a plain list earns nothing
    assert recorder.judged_ids() == ()
    recorder.check(Findings(judged={SCHEMA, "chat.response.schema"}))  # undeclared ids are not earned here
    assert recorder.judged_ids() == (SCHEMA,)
