"""Unit tests of the reference's moderation and rerank engines."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.reference.api_error import ApiError
from conformance.reference.engines import moderation, rerank
from conformance.reference.faultset import FaultSet

CLEAN = FaultSet()
KEYS = {
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
    "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence",
    "violence/graphic",
}  # fmt: skip
DOCS = ["the cat sat on the mat", "dogs chase cats", "a cat and a mat", "quantum physics lecture"]


def faults(*names: str) -> FaultSet:
    return FaultSet(frozenset(names))


def moderate(value: object, fault_set: FaultSet = CLEAN) -> dict[str, Any]:
    return moderation.moderate({"model": "ref-moderation", "input": value}, fault_set)


def rank(fault_set: FaultSet = CLEAN, **extra: Any) -> dict[str, Any]:
    return rerank.rerank({"model": "ref-rerank", "query": "cat on a mat", "documents": DOCS, **extra}, fault_set)


def consistent(result: dict[str, Any]) -> bool:
    return bool(result["flagged"] == any(result["categories"].values()))


# --- moderation ---------------------------------------------------------------------------------------


def test_moderation_keys_scores_and_flagged() -> None:
    answer = moderate(["I will kill you", "a lovely sunny day"])
    assert answer["id"].startswith("modr-") and answer["model"] == "ref-moderation"
    violent, calm = answer["results"]
    for result in (violent, calm):
        assert set(result["categories"]) == set(result["category_scores"]) == KEYS
        assert all(0 <= s <= 1 for s in result["category_scores"].values()) and consistent(result)
        assert all(result["categories"][k] == (result["category_scores"][k] >= 0.5) for k in KEYS)
    assert violent["flagged"] and violent["categories"]["violence"] and violent["categories"]["harassment/threatening"]
    assert not calm["flagged"]
    assert moderate(["I will kill you", "a lovely sunny day"]) == answer


def test_moderation_one_result_per_input_form() -> None:
    assert len(moderate("hello")["results"]) == 1
    assert len(moderate(["a", "b", "c"])["results"]) == 3
    parts = [{"type": "text", "text": "gore"}, {"type": "image_url", "image_url": {"url": "http://x/y.png"}}]
    (result,) = moderate(parts)["results"]
    assert result["categories"]["violence/graphic"] and "image" in result["category_applied_input_types"]["violence"]


@pytest.mark.parametrize("value", [[], None, 3, ["ok", 4]])
def test_moderation_bad_input_is_400(value: object) -> None:
    with pytest.raises(ApiError) as caught:
        moderate(value)
    assert caught.value.status == 400


def test_moderation_faults() -> None:
    assert "id" not in moderate("x", faults("moderation.schema"))
    assert len(moderate("x", faults("moderation.one-per-input"))["results"]) == 2
    assert len(moderate(["x", "y"], faults("moderation.one-per-input"))["results"]) == 1
    (twelve,) = moderate("x", faults("moderation.category-keys"))["results"]
    assert len(twelve["categories"]) == len(twelve["category_scores"]) == 12 and consistent(twelve)
    (high,) = moderate("calm", faults("moderation.score-range"))["results"]
    assert max(high["category_scores"].values()) == 1.5 and consistent(high)
    for text in ("calm", "murder"):
        (flipped,) = moderate(text, faults("moderation.flagged-consistent"))["results"]
        assert not consistent(flipped) and all(0 <= s <= 1 for s in flipped["category_scores"].values())


# --- rerank -------------------------------------------------------------------------------------------


def test_rerank_sorted_valid_and_deterministic() -> None:
    answer = rank()
    scores = [r["relevance_score"] for r in answer["results"]]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert sorted(r["index"] for r in answer["results"]) == list(range(len(DOCS)))
    assert answer["results"][0]["index"] in (0, 2) and answer["results"][-1]["index"] == 3
    assert answer == rank() and answer["usage"]["total_tokens"] > 0
    assert "document" not in answer["results"][0]


def test_rerank_ties_keep_input_order() -> None:
    answer = rerank.rerank({"model": "m", "query": "zzz", "documents": ["a", "b", "c"]}, CLEAN)
    assert [r["index"] for r in answer["results"]] == [0, 1, 2]


@pytest.mark.parametrize(("top_n", "count"), [(1, 1), (2, 2), (10, len(DOCS))])
def test_rerank_top_n(top_n: int, count: int) -> None:
    results = rank(top_n=top_n)["results"]
    assert len(results) == count and results == rank()["results"][:count]


def test_rerank_return_documents_echo_strings_and_objects() -> None:
    for results in (
        rank(return_documents=True)["results"],
        rank(return_documents=True, documents=[{"text": d} for d in DOCS])["results"],
    ):
        assert all(r["document"] == {"text": DOCS[r["index"]]} for r in results)


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"query": ""}, "query"),
        ({"documents": []}, "documents"),
        ({"documents": [1]}, "documents"),
        ({"top_n": 0}, "top_n"),
    ],
)
def test_rerank_bad_requests_are_400(extra: dict[str, Any], param: str) -> None:
    with pytest.raises(ApiError) as caught:
        rank(**extra)
    assert caught.value.status == 400 and caught.value.param == param


def test_rerank_fault_schema_keeps_order_and_indexes() -> None:
    answer = rank(faults("rerank.schema"))
    assert isinstance(answer["id"], int) and answer["model"] is None
    assert answer["results"] == rank()["results"] and answer["usage"] == rank()["usage"]


def test_rerank_fault_sorted_is_ascending_with_same_members() -> None:
    results = rank(faults("rerank.sorted"), top_n=3)["results"]
    assert results == list(reversed(rank(top_n=3)["results"]))


def test_rerank_fault_indexes_duplicate_or_out_of_range() -> None:
    indexes = [r["index"] for r in rank(faults("rerank.indexes"), return_documents=True)["results"]]
    assert len(set(indexes)) < len(indexes)
    (only,) = rank(faults("rerank.indexes"), top_n=1)["results"]
    assert only["index"] == len(DOCS)
    for r in rank(faults("rerank.indexes"), return_documents=True)["results"]:
        assert r["document"]["text"] == DOCS[r["index"]]


def test_rerank_fault_top_n_and_documents_and_usage() -> None:
    assert len(rank(faults("rerank.top-n"), top_n=1)["results"]) == len(DOCS)
    altered = rank(faults("rerank.return-documents"), return_documents=True)["results"]
    assert all(r["document"]["text"] != DOCS[r["index"]] for r in altered)
    assert all(
        "document" not in r for r in rank(faults("rerank.return-documents@missing"), return_documents=True)["results"]
    )
    assert "usage" not in rank(faults("rerank.usage"))


def test_rerank_fault_empty_input_is_accepted() -> None:
    assert rank(faults("rerank.empty-input"), documents=[])["results"] == []
    assert {r["relevance_score"] for r in rank(faults("rerank.empty-input"), query="")["results"]} == {0.0}
