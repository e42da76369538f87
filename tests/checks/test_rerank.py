"""Unit tests of conformance.checks.rerank on canned answers."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.checks import rerank as rr
from conformance.model import Violation

DOCS = ["Paris is the capital of France.", "Bananas are yellow.", "Berlin is in Germany."]


def pairs(violations: list[Violation]) -> list[tuple[str, str | None]]:
    return [(v.requirement, v.where) for v in violations]


def answer(*results: tuple[int, float], documents: bool = False, **over: Any) -> dict[str, Any]:
    items = []
    for index, score in results:
        item: dict[str, Any] = {"index": index, "relevance_score": score}
        if documents:
            item["document"] = {"text": DOCS[index]}
        items.append(item)
    body: dict[str, Any] = {"model": "ref-rerank", "results": items, "usage": {"total_tokens": 20}}
    body.update(over)
    return body


OK = answer((0, 0.9), (2, 0.3), (1, 0.3))


def test_schema() -> None:
    assert rr.check_rerank_schema(OK) == []
    assert pairs(rr.check_rerank_schema(answer((0, 0.9), model=3))) == [("rerank.schema", "/model")]
    assert rr.check_rerank_schema(answer(usage={"tokens": 1})) == []  # judged by check_usage


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (OK, []),
        (answer((1, 0.1), (0, 0.9)), [("rerank.sorted", "/results/1/relevance_score")]),
        (answer((0, 0.9), (1, "high")), [("rerank.sorted", "/results/1/relevance_score")]),
    ],
    ids=["sorted-with-tie", "ascending", "not-a-number"],
)
def test_sorted(body: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert pairs(rr.check_sorted(body)) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (OK, []),
        (answer((0, 0.9), (0, 0.5)), [("rerank.indexes", "/results/1/index")]),
        (answer((3, 0.9)), [("rerank.indexes", "/results/0/index")]),
        (answer((-1, 0.9)), [("rerank.indexes", "/results/0/index")]),
        ({"results": [{"index": "0", "relevance_score": 1}]}, [("rerank.indexes", "/results/0/index")]),
    ],
    ids=["ok", "duplicate", "too-large", "negative", "string"],
)
def test_indexes(body: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert pairs(rr.check_indexes(body, len(DOCS))) == expected


def test_result_count() -> None:
    assert rr.check_result_count(OK, 3, None) == []
    assert rr.check_result_count(answer((0, 0.9), (1, 0.5)), 3, 2) == []
    assert rr.check_result_count(OK, 3, 10) == []
    assert pairs(rr.check_result_count(OK, 3, 2)) == [("rerank.top-n", "/results")]
    assert pairs(rr.check_result_count(answer((0, 0.9)), 3, None)) == [("rerank.top-n", "/results")]


def test_documents_echoed() -> None:
    assert rr.check_documents_echoed(answer((2, 0.9), (0, 0.1), documents=True), DOCS) == []
    assert pairs(rr.check_documents_echoed(answer((2, 0.9)), DOCS)) == [
        ("rerank.return-documents", "/results/0/document")]
    altered = answer((1, 0.9), documents=True)
    altered["results"][0]["document"]["text"] = "bananas are yellow"
    assert pairs(rr.check_documents_echoed(altered, DOCS)) == [("rerank.return-documents", "/results/0/document")]


def test_usage() -> None:
    assert rr.check_usage(OK) == []
    assert pairs(rr.check_usage(answer((0, 0.9), usage=None))) == [("rerank.usage", "/usage")]
    assert pairs(rr.check_usage({"results": []})) == [("rerank.usage", "/usage")]
    assert pairs(rr.check_usage(answer((0, 0.9), usage={"total_tokens": "20"}))) == [
        ("rerank.usage", "/usage/total_tokens")]
