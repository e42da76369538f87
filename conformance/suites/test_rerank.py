"""Scenarios for POST /rerank (SPEC-DECISIONS §23; catalogue rerank.*).

Results sorted by relevance, indexes distinct and in range, top_n, documents echoed, usage
(SHOULD), and an empty query or document list refused. Which document ranks first is never
graded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest

from conformance.checks.errors import CLIENT_ERROR_IDS, SERVED_IDS, check_client_error
from conformance.checks.rerank import (
    check_documents_echoed,
    check_indexes,
    check_rerank_schema,
    check_result_count,
    check_sorted,
    check_usage,
)
from conformance.suites.answers import served_json

if TYPE_CHECKING:
    from conformance.recorder import VerdictRecorder
    from conformance.transport import Transport

QUERY = "What is the capital of France?"
DOCUMENTS = ["Paris is the capital of France.", "Bananas are rich in potassium.", "Berlin is in Germany."]
SHAPE_IDS = ("rerank.schema", "rerank.sorted", "rerank.indexes", "rerank.top-n", "rerank.usage")


def _rerank(transport: Transport, models: Mapping[str, str], verdict: VerdictRecorder, requirement: str,
            top_n: int | None, **extra: Any) -> Any:
    """Send a rerank of DOCUMENTS; judge the common invariants; return the body or None."""
    body: dict[str, Any] = {"model": models["rerank"], "query": QUERY, "documents": DOCUMENTS, **extra}
    if top_n is not None:
        body["top_n"] = top_n
    ex = transport.request("POST", "/rerank", json=body)
    served = served_json(verdict, ex, requirement, schema="rerank.schema")
    if served is None:
        return None
    answer = served.body
    verdict.check(check_rerank_schema(answer), exchange=ex)
    verdict.check(check_sorted(answer), exchange=ex)
    verdict.check(check_indexes(answer, len(DOCUMENTS)), exchange=ex)
    verdict.check(check_result_count(answer, len(DOCUMENTS), top_n), exchange=ex)
    verdict.check(check_usage(answer), exchange=ex)
    if extra.get("return_documents"):
        verdict.check(check_documents_echoed(answer, DOCUMENTS), exchange=ex)
    return answer


@pytest.mark.feature("rerank")
@pytest.mark.requirements(*SHAPE_IDS, *SERVED_IDS)
def test_rerank_all_documents(transport: Transport, models: Mapping[str, str], verdict: VerdictRecorder) -> None:
    """Without top_n every document comes back once, sorted by relevance, with usage."""
    _rerank(transport, models, verdict, "rerank.schema", None)


@pytest.mark.feature("rerank")
@pytest.mark.requirements("rerank.return-documents", *SHAPE_IDS, *SERVED_IDS)
def test_rerank_top_n_documents(transport: Transport, models: Mapping[str, str], verdict: VerdictRecorder) -> None:
    """top_n 2 with return_documents: two results, each echoing its document text."""
    _rerank(transport, models, verdict, "rerank.top-n", 2, return_documents=True)


@pytest.mark.feature("rerank")
@pytest.mark.requirements("rerank.empty-input", *CLIENT_ERROR_IDS)
@pytest.mark.parametrize(("query", "documents"), [
    pytest.param("", DOCUMENTS, id="empty-query"),
    pytest.param(QUERY, [], id="empty-documents"),
])
def test_rerank_empty_input(transport: Transport, models: Mapping[str, str], verdict: VerdictRecorder,
                            query: str, documents: list[str]) -> None:
    """An empty query or document list gets 400 with the envelope."""
    body = {"model": models["rerank"], "query": query, "documents": documents}
    ex = transport.request("POST", "/rerank", json=body)
    verdict.check(check_client_error(ex, (400,), requirement="rerank.empty-input"), exchange=ex)
