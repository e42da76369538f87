"""The reference's embeddings engine (SPEC-DECISIONS 17): hashed, unit-norm vectors.

Each input (a string or a token array) is hashed into ``EMBEDDING_DIMENSIONS`` values; the
vector is normalised to unit length and every value is rounded through float32, so that the
base64 answer (little-endian float32) decodes to exactly the numbers of the float answer.
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from conformance.reference.api_error import ApiError
from conformance.reference.faultset import FaultSet
from conformance.reference.models import EMBEDDING_DIMENSIONS

FAULTS: dict[str, str] = {
    "embeddings.schema": "drops the top-level model and sets object to 'embedding_list'.",
    "embeddings.input-forms": "rejects token-array input (int[] and int[][]) with 400.",
    "embeddings.one-per-input": "data[i].index is i + 1 (off by one).",
    "embeddings.equal-dimensions": "with two or more inputs and no dimensions asked, the last vector is one value "
    "shorter (dimensions requests stay sound, so embeddings.dimensions does not fail too).",
    "embeddings.dimensions": "ignores dimensions (always the full model length, never a 400).",
    "embeddings.base64": "base64 carries big-endian float32 instead of little-endian.",
    "embeddings.usage": "usage carries prompt_tokens but no total_tokens (usage stays present).",
    "embeddings.empty-input": "accepts an empty string, an empty list or a list with an empty string.",
}

_FLOAT32 = struct.Struct("<f")


def create(body: Mapping[str, Any], faults: FaultSet) -> dict[str, Any]:
    """Answer an embeddings request (already schema-validated by the app).

    Raises:
        ApiError: 400 for empty input, an input of an unknown form, a token-array input under
            the ``embeddings.input-forms`` fault, or ``dimensions`` above the model's length.
    """
    inputs = _inputs(body.get("input"), faults)
    dims = _dimensions(body.get("dimensions"), faults)
    vectors = [_vector(item, dims) for item in inputs]
    if faults.on("embeddings.equal-dimensions") and len(vectors) > 1 and body.get("dimensions") is None:
        vectors[-1] = _float32(_normalise(vectors[-1][:-1]))
    as_base64 = body.get("encoding_format") == "base64"
    data = [
        {
            "object": "embedding",
            "index": i + 1 if faults.on("embeddings.one-per-input") else i,
            "embedding": _encode(vec, faults) if as_base64 else vec,
        }
        for i, vec in enumerate(vectors)
    ]
    tokens = sum(_token_count(item) for item in inputs)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    if faults.on("embeddings.usage"):
        del usage["total_tokens"]
    answer: dict[str, Any] = {"object": "list", "data": data, "model": body.get("model"), "usage": usage}
    if faults.on("embeddings.schema"):
        del answer["model"]
        answer["object"] = "embedding_list"
    return answer


def decode_base64(text: str) -> list[float]:
    """Decode a base64 embedding (little-endian float32) into floats; a helper for tests."""
    raw = base64.b64decode(text)
    return [value for (value,) in _FLOAT32.iter_unpack(raw)]


def _inputs(value: object, faults: FaultSet) -> list[str | list[int]]:
    """The inputs as a list of strings and token arrays, after the emptiness rules."""
    allow_empty = faults.on("embeddings.empty-input")
    if isinstance(value, str):
        items: list[str | list[int]] = [value]
    elif isinstance(value, list) and value and _is_token_list(value):
        items = [list(value)]
    elif isinstance(value, list) and all(isinstance(v, str) or _is_token_list(v) for v in value):
        items = [v if isinstance(v, str) else list(v) for v in value]
    else:
        raise _bad("input must be a string, a list of strings, a token array or a list of token arrays")
    if not allow_empty and (not items or any(len(item) == 0 for item in items)):
        raise _bad("input must not be empty (nor contain an empty string or token array)")
    if faults.on("embeddings.input-forms") and any(isinstance(item, list) for item in items):
        raise _bad("token-array input is not supported")
    return items


def _is_token_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(t, int) and not isinstance(t, bool) for t in value)


def _dimensions(value: object, faults: FaultSet) -> int:
    """The vector length to answer with."""
    if value is None or faults.on("embeddings.dimensions"):
        return EMBEDDING_DIMENSIONS
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _bad("dimensions must be a positive integer", param="dimensions")
    if value > EMBEDDING_DIMENSIONS:
        raise _bad(f"dimensions {value} exceeds the model's {EMBEDDING_DIMENSIONS} dimensions", param="dimensions")
    return value


def _vector(item: str | Sequence[int], dims: int) -> list[float]:
    """The unit vector of one input, truncated to ``dims`` and renormalised, float32-exact."""
    key = item.encode("utf-8") if isinstance(item, str) else ("tokens:" + ",".join(map(str, item))).encode()
    raw: list[float] = []
    counter = 0
    while len(raw) < EMBEDDING_DIMENSIONS:
        block = hashlib.sha256(key + counter.to_bytes(4, "big")).digest()
        # Eight values per digest: 4 bytes each, mapped onto [-1, 1).
        raw += [int.from_bytes(block[j : j + 4], "big") / 2**31 - 1.0 for j in range(0, 32, 4)]
        counter += 1
    return _float32(_normalise(raw[:dims]))


def _normalise(values: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def _float32(values: Sequence[float]) -> list[float]:
    """Round each value to the nearest float32 so the base64 form is lossless."""
    return [_FLOAT32.unpack(_FLOAT32.pack(v))[0] for v in values]


def _encode(vector: Sequence[float], faults: FaultSet) -> str:
    order = ">" if faults.on("embeddings.base64") else "<"
    return base64.b64encode(struct.pack(f"{order}{len(vector)}f", *vector)).decode("ascii")


def _token_count(item: str | Sequence[int]) -> int:
    """Whitespace words of a string (at least 1), or the length of a token array."""
    if isinstance(item, str):
        return max(1, len(item.split()))
    return len(item)


def _bad(message: str, *, param: str = "input") -> ApiError:
    return ApiError(400, message, param=param, code="invalid_value")
