"""Unit tests of conformance.checks.models on canned answers."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.checks import models as m
from conformance.model import Exchange, Violation


def pairs(violations: list[Violation]) -> list[tuple[str, str | None]]:
    return [(v.requirement, v.where) for v in violations]


def model(mid: str = "ref-chat", **over: Any) -> dict[str, Any]:
    base = {"id": mid, "object": "model", "created": 1767225600, "owned_by": "nexhina"}
    base.update(over)
    return base


def listing(*models: dict[str, Any]) -> dict[str, Any]:
    return {"object": "list", "data": list(models)}


def exchange(body: bytes) -> Exchange:
    return Exchange("GET", "http://x/v1/models", {}, None, 200, {"content-type": "application/json"}, body)


def test_json_body_passes_and_fails() -> None:
    assert m.check_json_body(exchange(b'{"a": 1}'), requirement="models.list.shape") == []
    assert pairs(m.check_json_body(exchange(b"<html>"), requirement="models.list.shape")) == [
        ("models.list.shape", "/")
    ]
    assert m.check_json_body(exchange(b""), requirement="models.list.shape")[0].actual == "<empty body>"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (listing(model(), model("ref-embed")), []),
        (listing(), []),
        ({"object": "lists", "data": [model()]}, [("models.list.object", "/object")]),
        ({"data": [model()]}, [("models.list.object", "/")]),
        ({"object": "list", "data": {"ref-chat": model()}}, [("models.list.shape", "/data")]),
        ({"object": "list"}, [("models.list.shape", "/")]),
        (listing(model(object="models")), [("models.list.model-shape", "/data/0/object")]),
        (listing(model(), model(created="yesterday")), [("models.list.model-shape", "/data/1/created")]),
        (listing("ref-chat"), [("models.list.model-shape", "/data/0")]),  # type: ignore[arg-type]
    ],
    ids=["ok", "empty", "object", "no-object", "data-not-a-list", "no-data", "model-object", "created-type",
         "not-an-object"],
)
def test_model_list(body: Any, expected: list[tuple[str, str]]) -> None:
    assert pairs(m.check_model_list(body)) == expected


def test_declared_models_listed() -> None:
    body = listing(model("ref-chat"), model("ref-embed"))
    assert m.check_declared_models_listed(body, {"chat": "ref-chat", "embeddings": "ref-embed"}) == []
    found = m.check_declared_models_listed(body, {"chat": "ref-chat", "rerank": "ref-rerank"})
    assert pairs(found) == [("models.list.declared-models", "/data")]
    assert "ref-rerank" in found[0].expected and "rerank" in found[0].expected
    assert found.judged == {"models.list.declared-models"}  # type: ignore[attr-defined]


def test_declared_models_are_not_judged_without_a_data_array() -> None:
    """No list to look in is the shape's FAIL alone (one deviation, one FAIL)."""
    for body in ({"object": "list", "data": {"ref-chat": model("ref-chat")}}, {"object": "list"}, "nope"):
        found = m.check_declared_models_listed(body, {"chat": "ref-chat"})
        assert list(found) == [] and not found.judged  # type: ignore[attr-defined]


def test_listed_ids_skips_malformed() -> None:
    assert m.listed_ids({"data": [model("a"), {"id": 3}, "b", model("c")]}) == ["a", "c"]
    assert m.listed_ids("nope") == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (model("ref-chat"), []),
        (model("ref-embed"), [("models.retrieve.shape", "/id")]),
        (model("ref-chat", owned_by=None), [("models.retrieve.shape", "/owned_by")]),
    ],
    ids=["ok", "other-id", "owned-by-null"],
)
def test_model_retrieved(body: Any, expected: list[tuple[str, str]]) -> None:
    assert pairs(m.check_model_retrieved(body, "ref-chat")) == expected
