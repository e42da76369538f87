"""Checks for POST /rerank (SPEC-DECISIONS §23, catalogue rerank.*).

Owns: results sorted by relevance_score descending, indexes distinct and in range, the result
count for top_n, documents echoed for return_documents, and usage (SHOULD).
Imports conformance.model and conformance.spec only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from conformance import spec
from conformance.checks._common import schema_violations
from conformance.checks._judged import judges
from conformance.model import Violation, truncate

_OWNED = (
    re.compile(r"^/results/\d+/(index|relevance_score|document)(/|$)"),
    re.compile(r"^/usage(/|$)"),
)


def _results(body: Any) -> list[Any]:
    results = body.get("results") if isinstance(body, dict) else None
    return results if isinstance(results, list) else []


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@judges("rerank.schema")
def check_rerank_schema(body: Any) -> list[Violation]:
    """The answer validates against RerankResponse (minus what dedicated checks own)."""
    return schema_violations(body, "RerankResponse", "rerank.schema", _OWNED)


@judges("rerank.sorted")
def check_sorted(body: Any) -> list[Violation]:
    """relevance_score never increases from one result to the next."""
    found, previous = [], None
    for i, result in enumerate(_results(body)):
        score = result.get("relevance_score") if isinstance(result, dict) else None
        if not _number(score):
            found.append(Violation("rerank.sorted", "a numeric relevance_score", truncate(score),
                                   f"/results/{i}/relevance_score"))
            continue
        if previous is not None and score > previous:
            found.append(Violation("rerank.sorted", f"relevance_score <= {previous} (descending)", truncate(score),
                                   f"/results/{i}/relevance_score"))
        previous = score
    return found


@judges("rerank.indexes")
def check_indexes(body: Any, documents: int) -> list[Violation]:
    """Each index is an integer position in documents, each at most once."""
    found, seen = [], set()
    for i, result in enumerate(_results(body)):
        index = result.get("index") if isinstance(result, dict) else None
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < documents:
            found.append(Violation("rerank.indexes", f"an integer in 0..{documents - 1}", truncate(index),
                                   f"/results/{i}/index"))
        elif index in seen:
            found.append(Violation("rerank.indexes", "an index not used by an earlier result", str(index),
                                   f"/results/{i}/index"))
        seen.add(index)
    return found


@judges("rerank.top-n")
def check_result_count(body: Any, documents: int, top_n: int | None) -> list[Violation]:
    """min(top_n, len(documents)) results when top_n is given, else len(documents)."""
    expected = documents if top_n is None else min(top_n, documents)
    count = len(_results(body))
    if count == expected:
        return []
    asked = f"top_n {top_n}, " if top_n is not None else ""
    return [Violation("rerank.top-n", f"{expected} results ({asked}{documents} documents)", str(count), "/results")]


@judges("rerank.return-documents")
def check_documents_echoed(body: Any, documents: Sequence[str]) -> list[Violation]:
    """With return_documents, each result's document.text equals the input document."""
    found = []
    for i, result in enumerate(_results(body)):
        if not isinstance(result, dict):
            continue
        index, document = result.get("index"), result.get("document")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(documents):
            continue  # reported by check_indexes
        text = document.get("text") if isinstance(document, dict) else None
        if text != documents[index]:
            found.append(Violation("rerank.return-documents", f"document.text {truncate(documents[index], 80)!r}",
                                   truncate(document), f"/results/{i}/document"))
    return found


@judges("rerank.usage")
def check_usage(body: Any) -> list[Violation]:
    """usage is present and a RerankUsage."""
    usage = body.get("usage") if isinstance(body, dict) else None
    if usage is None:
        return [Violation("rerank.usage", "a usage object", "absent or null", "/usage")]
    return spec.validate(usage, "RerankUsage", requirement="rerank.usage", where="/usage")
