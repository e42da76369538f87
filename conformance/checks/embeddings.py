"""Checks for POST /embeddings (SPEC-DECISIONS §17, catalogue embeddings.*).

Owns the shape and internal consistency of an embeddings answer: one item per input in
order, equal vector lengths, ``dimensions``, base64 as little-endian float32, usage.
Imports conformance.model and conformance.spec only.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import struct
from typing import Any

from conformance.checks._common import is_int, schema_violations
from conformance.checks._judged import judges
from conformance.model import Violation, truncate

#: Element-wise tolerance between the base64 and the float answer on a deterministic target.
EXACT_TOLERANCE = 1e-6
#: On a live target two calls may differ slightly: the decoded vector must point the same way.
MIN_COSINE = 0.99

_OWNED = (
    re.compile(r"^/data/\d+/(index|object)$"),
    re.compile(r"^/usage(/|$)"),
)


def _data(body: Any) -> list[Any]:
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, list) else []


def decode_base64_vector(text: str) -> list[float] | None:
    """The float32 values of a base64 embedding (little-endian), or None when malformed."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) % 4:
        return None
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def _vector(item: Any) -> list[float] | None:
    """The vector of one data item, float or base64 form (None when neither)."""
    embedding = item.get("embedding") if isinstance(item, dict) else None
    if isinstance(embedding, str):
        return decode_base64_vector(embedding)
    if isinstance(embedding, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in embedding):
        return [float(x) for x in embedding]
    return None


@judges("embeddings.schema")
def check_embeddings_schema(body: Any) -> list[Violation]:
    """The answer validates against EmbeddingResponse (minus what dedicated checks own)."""
    return schema_violations(body, "EmbeddingResponse", "embeddings.schema", _OWNED)


@judges("embeddings.one-per-input")
def check_one_per_input(body: Any, inputs: int) -> list[Violation]:
    """``inputs`` data items, ``data[i].index == i`` and ``object == "embedding"``."""
    data = _data(body)
    found = []
    if len(data) != inputs:
        found.append(Violation("embeddings.one-per-input", f"{inputs} data items (one per input)",
                               str(len(data)), "/data"))
    for i, item in enumerate(data):
        index = item.get("index") if isinstance(item, dict) else None
        if not is_int(index) or index != i:
            found.append(Violation("embeddings.one-per-input", f"index {i}", truncate(index), f"/data/{i}/index"))
        kind = item.get("object") if isinstance(item, dict) else None
        if kind != "embedding":
            found.append(Violation("embeddings.one-per-input", '"embedding"', truncate(kind), f"/data/{i}/object"))
    return found


@judges("embeddings.equal-dimensions")
def check_equal_dimensions(body: Any) -> list[Violation]:
    """Every vector of one answer has the same length (items without a vector are skipped)."""
    lengths = [(i, len(v)) for i, item in enumerate(_data(body)) if (v := _vector(item)) is not None]
    if not lengths:
        return []
    first = lengths[0][1]
    return [
        Violation("embeddings.equal-dimensions", f"length {first} (as /data/0)", str(n), f"/data/{i}/embedding")
        for i, n in lengths
        if n != first
    ]


@judges("embeddings.dimensions")
def check_dimensions(body: Any, dimensions: int) -> list[Violation]:
    """An answer to a request with ``dimensions`` has vectors of exactly that length."""
    found = []
    for i, item in enumerate(_data(body)):
        vector = _vector(item)
        if vector is not None and len(vector) != dimensions:
            found.append(Violation("embeddings.dimensions", f"length {dimensions} (the requested dimensions)",
                                   str(len(vector)), f"/data/{i}/embedding"))
    return found


@judges("embeddings.base64")
def check_base64_embeddings(float_body: Any, base64_body: Any, *, exact: bool) -> list[Violation]:
    """base64 decodes as little-endian float32 to the float answer of the same request.

    Args:
        float_body: the answer with ``encoding_format: float``.
        base64_body: the answer with ``encoding_format: base64`` for the same input.
        exact: the target is deterministic (feature ``determinism``): compare element-wise
            within 1e-6. Otherwise two calls may differ slightly, so the decoded vector must
            have the same length and a cosine similarity of at least 0.99 with the float one
            (a wrong byte order or element type gives garbage, far below that).
    """
    found = []
    floats, encoded = _data(float_body), _data(base64_body)
    for i, item in enumerate(encoded):
        where = f"/data/{i}/embedding"
        raw = item.get("embedding") if isinstance(item, dict) else None
        decoded = decode_base64_vector(raw) if isinstance(raw, str) else None
        if decoded is None:
            found.append(Violation("embeddings.base64", "a base64 string of little-endian float32",
                                   truncate(raw), where))
            continue
        reference = _vector(floats[i]) if i < len(floats) else None
        if reference is None:
            continue  # the float answer is judged by its own checks
        problem = _compare(decoded, reference, exact=exact)
        if problem:
            found.append(Violation("embeddings.base64", problem, truncate(decoded[:8]), where))
    return found


def _compare(decoded: list[float], reference: list[float], *, exact: bool) -> str | None:
    """Why ``decoded`` does not match ``reference`` (None when it does)."""
    if len(decoded) != len(reference):
        return f"{len(reference)} float32 values (as the float answer), got {len(decoded)}"
    if not all(math.isfinite(x) for x in decoded):
        return "finite float32 values matching the float answer"
    if exact:
        worst = max((abs(a - b) for a, b in zip(decoded, reference, strict=True)), default=0.0)
        return None if worst <= EXACT_TOLERANCE else f"the float answer within 1e-6 (largest difference {worst:.3g})"
    dot = sum(a * b for a, b in zip(decoded, reference, strict=True))
    norm = math.sqrt(sum(a * a for a in decoded)) * math.sqrt(sum(b * b for b in reference))
    cosine = dot / norm if norm else 0.0
    return None if cosine >= MIN_COSINE else f"the float answer (cosine >= {MIN_COSINE}, got {cosine:.3g})"


@judges("embeddings.usage")
def check_embeddings_usage(body: Any) -> list[Violation]:
    """usage carries integer prompt_tokens and total_tokens."""
    usage = body.get("usage") if isinstance(body, dict) else None
    if isinstance(usage, dict) and is_int(usage.get("prompt_tokens")) and is_int(usage.get("total_tokens")):
        return []
    return [Violation("embeddings.usage", "usage with integer prompt_tokens and total_tokens", truncate(usage),
                      "/usage")]
