"""Unit tests of conformance.checks.embeddings on canned answers."""

from __future__ import annotations

import base64
import struct
from typing import Any

import pytest

from conformance.checks import embeddings as e
from conformance.model import Violation

V1 = [0.5, -0.25, 0.125, 1.0]
V2 = [0.75, 0.0, -1.5, 2.0]


def pairs(violations: list[Violation]) -> list[tuple[str, str | None]]:
    return [(v.requirement, v.where) for v in violations]


def b64(values: list[float], order: str = "<") -> str:
    return base64.b64encode(struct.pack(f"{order}{len(values)}f", *values)).decode()


def answer(*vectors: Any, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "object": "list", "model": "ref-embed",
        "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
        "usage": {"prompt_tokens": 4, "total_tokens": 4},
    }
    body.update(over)
    return body


def test_schema() -> None:
    assert e.check_embeddings_schema(answer(V1, V2)) == []
    assert e.check_embeddings_schema(answer(b64(V1))) == []
    assert pairs(e.check_embeddings_schema(answer(V1, model=None))) == [("embeddings.schema", "/model")]
    assert e.check_embeddings_schema(answer(V1, usage=None)) == []  # owned by check_embeddings_usage


def test_one_per_input() -> None:
    assert e.check_one_per_input(answer(V1, V2), 2) == []
    assert pairs(e.check_one_per_input(answer(V1), 2)) == [("embeddings.one-per-input", "/data")]
    swapped = answer(V1, V2)
    swapped["data"][0]["index"], swapped["data"][1]["index"] = 1, 0
    assert pairs(e.check_one_per_input(swapped, 2)) == [
        ("embeddings.one-per-input", "/data/0/index"), ("embeddings.one-per-input", "/data/1/index")]
    wrong_object = answer(V1)
    wrong_object["data"][0]["object"] = "vector"
    assert pairs(e.check_one_per_input(wrong_object, 1)) == [("embeddings.one-per-input", "/data/0/object")]


def test_equal_dimensions() -> None:
    assert e.check_equal_dimensions(answer(V1, V2)) == []
    assert e.check_equal_dimensions(answer(b64(V1), b64(V2))) == []
    assert pairs(e.check_equal_dimensions(answer(V1, V2[:3]))) == [("embeddings.equal-dimensions", "/data/1/embedding")]
    assert e.check_equal_dimensions(answer()) == []


def test_dimensions() -> None:
    assert e.check_dimensions(answer(V1, V2), 4) == []
    assert pairs(e.check_dimensions(answer(V1, V2), 2)) == [
        ("embeddings.dimensions", "/data/0/embedding"), ("embeddings.dimensions", "/data/1/embedding")]


def test_decode_base64_vector() -> None:
    assert e.decode_base64_vector(b64(V1)) == V1
    assert e.decode_base64_vector("not base64!") is None
    assert e.decode_base64_vector(base64.b64encode(b"abc").decode()) is None  # not a multiple of 4 bytes


@pytest.mark.parametrize(
    ("encoded", "exact", "expected"),
    [
        ([b64(V1), b64(V2)], True, []),
        ([b64(V1), b64(V2)], False, []),
        ([b64([x + 1e-3 for x in V1]), b64(V2)], True, [("embeddings.base64", "/data/0/embedding")]),
        ([b64([x + 1e-3 for x in V1]), b64(V2)], False, []),
        ([b64(V1, ">"), b64(V2, ">")], False, [("embeddings.base64", "/data/0/embedding"),
                                              ("embeddings.base64", "/data/1/embedding")]),
        ([V1, V2], True, [("embeddings.base64", "/data/0/embedding"), ("embeddings.base64", "/data/1/embedding")]),
        ([b64(V1[:3]), b64(V2)], False, [("embeddings.base64", "/data/0/embedding")]),
        ([b64(V1), "@@@"], True, [("embeddings.base64", "/data/1/embedding")]),
    ],
    ids=["exact", "close", "drift-exact", "drift-live", "big-endian", "floats", "short", "garbage"],
)
def test_base64(encoded: list[Any], exact: bool, expected: list[tuple[str, str]]) -> None:
    assert pairs(e.check_base64_embeddings(answer(V1, V2), answer(*encoded), exact=exact)) == expected


def test_usage() -> None:
    assert e.check_embeddings_usage(answer(V1)) == []
    for usage in (None, {"prompt_tokens": 4}, {"prompt_tokens": "4", "total_tokens": 4},
                  {"prompt_tokens": True, "total_tokens": 4}):
        assert pairs(e.check_embeddings_usage(answer(V1, usage=usage))) == [("embeddings.usage", "/usage")]
