"""The reference's rerank engine (SPEC-DECISIONS 23): Jaccard relevance over word sets.

``relevance_score`` is the Jaccard index of the lower-cased word sets of the query and the
document (so within [0, 1]); results are sorted by score descending, ties by input position,
cut to ``top_n``. Documents are strings or objects with ``text``; ``return_documents: true``
echoes ``document: {text}``. Usage counts the words of the query and of every document.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from conformance.reference.api_error import ApiError
from conformance.reference.faultset import FaultSet
from conformance.reference.models import MODELS

FAULTS: dict[str, str] = {
    "rerank.schema": "id is an integer and model is null (results and usage stay sound).",
    "rerank.sorted": "results are sorted ascending (the same top_n results, reversed).",
    "rerank.indexes": "the last result repeats the first result's index (one result: index = len(documents)).",
    "rerank.top-n": "top_n is ignored: every document is returned.",
    "rerank.return-documents": "document.text is altered (upper-cased and suffixed).",
    "rerank.return-documents@missing": "return_documents true gives results without document.",
    "rerank.empty-input": "an empty query or an empty documents list is accepted.",
    "rerank.usage": "the answer has no usage (a SHOULD).",
}

_WORD = re.compile(r"\w+")


def rerank(body: Mapping[str, Any], faults: FaultSet) -> dict[str, Any]:
    """Answer a rerank request.

    Raises:
        ApiError: 400 for an empty query or empty documents, a document that is neither a
            string nor an object with ``text``, or a ``top_n`` below 1.
    """
    query, texts = _query(body, faults), _documents(body, faults)
    top_n = _top_n(body.get("top_n"), len(texts), faults)
    query_words = _words(query)
    scores = [jaccard(query_words, _words(text)) for text in texts]
    order = sorted(range(len(texts)), key=lambda i: (-scores[i], i))[:top_n]
    if faults.on("rerank.sorted"):
        order.reverse()
    indexes = _reported_indexes(order, len(texts), faults)
    results = [_result(i, scores[pos], texts, body, faults) for i, pos in zip(indexes, order, strict=True)]
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode("utf-8")).hexdigest()
    answer: dict[str, Any] = {
        "id": f"rerank-{digest[:24]}",
        "model": body.get("model") or MODELS["rerank"],
        "results": results,
    }
    if faults.on("rerank.schema"):
        answer["id"], answer["model"] = int(digest[:8], 16), None
    if not faults.on("rerank.usage"):
        tokens = len(query_words) + sum(len(_WORD.findall(text)) for text in texts)
        answer["usage"] = {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens}
    return answer


def jaccard(left: frozenset[str], right: frozenset[str]) -> float:
    """|left & right| / |left | right|, and 0.0 when both are empty."""
    union = left | right
    return round(len(left & right) / len(union), 6) if union else 0.0


def _words(text: str) -> frozenset[str]:
    return frozenset(word.lower() for word in _WORD.findall(text))


def _query(body: Mapping[str, Any], faults: FaultSet) -> str:
    query = body.get("query")
    if not isinstance(query, str):
        raise ApiError(400, "query must be a string", param="query", code="invalid_value")
    if not query and not faults.on("rerank.empty-input"):
        raise ApiError(400, "query is empty", param="query", code="invalid_value")
    return query


def _documents(body: Mapping[str, Any], faults: FaultSet) -> list[str]:
    """The text of each document (a string, or an object's ``text``)."""
    documents = body.get("documents")
    if not isinstance(documents, list):
        raise ApiError(400, "documents must be a list", param="documents", code="invalid_value")
    if not documents and not faults.on("rerank.empty-input"):
        raise ApiError(400, "documents is empty", param="documents", code="invalid_value")
    texts = []
    for n, document in enumerate(documents):
        if isinstance(document, Mapping) and isinstance(document.get("text"), str):
            document = document["text"]
        if not isinstance(document, str):
            message = f"documents[{n}] must be a string or an object with text"
            raise ApiError(400, message, param="documents", code="invalid_value")
        texts.append(document)
    return texts


def _top_n(value: object, count: int, faults: FaultSet) -> int:
    if value is None or faults.on("rerank.top-n"):
        return count
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ApiError(400, "top_n must be a positive integer", param="top_n", code="invalid_value")
    return min(value, count)


def _reported_indexes(order: list[int], count: int, faults: FaultSet) -> list[int]:
    """The index each result reports: its position, except under the ``rerank.indexes`` fault."""
    indexes = list(order)
    if faults.on("rerank.indexes") and indexes:
        indexes[-1] = indexes[0] if len(indexes) > 1 else count
    return indexes


def _result(
    index: int, relevance: float, texts: list[str], body: Mapping[str, Any], faults: FaultSet
) -> dict[str, Any]:
    result: dict[str, Any] = {"index": index, "relevance_score": relevance}
    if body.get("return_documents") is True and not faults.on("rerank.return-documents@missing"):
        # The document of the reported index, so a bad index does not also break the echo.
        text = texts[index] if index < len(texts) else ""
        if faults.on("rerank.return-documents"):
            text = text.upper() + " (edited)"
        result["document"] = {"text": text}
    return result
