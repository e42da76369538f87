"""Unit tests of conformance.checks.moderation on canned answers."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from conformance.checks import moderation as md
from conformance.model import Violation


def pairs(violations: list[Violation]) -> list[tuple[str, str | None]]:
    return [(v.requirement, v.where) for v in violations]


def result(flagged: bool = False, hit: str | None = None) -> dict[str, Any]:
    categories: dict[str, Any] = {k: k == hit for k in sorted(md.CATEGORIES)}
    scores = {k: (0.9 if k == hit else 0.01) for k in sorted(md.CATEGORIES)}
    return {"flagged": flagged, "categories": categories, "category_scores": scores}


def answer(*results: dict[str, Any]) -> dict[str, Any]:
    return {"id": "modr-1", "model": "ref-moderation", "results": list(results)}


def test_schema() -> None:
    assert md.check_moderation_schema(answer(result(), result(True, "violence"))) == []
    assert pairs(md.check_moderation_schema({"model": "m", "results": []})) == [("moderation.schema", "/")]
    missing = answer(result())
    del missing["results"][0]["categories"]["hate"]
    assert md.check_moderation_schema(missing) == []  # reported by check_category_keys
    wrong_type = answer(result())
    wrong_type["results"][0]["categories"]["hate"] = "no"
    assert pairs(md.check_moderation_schema(wrong_type)) == [("moderation.schema", "/results/0/categories/hate")]


def test_one_per_input() -> None:
    assert md.check_one_per_input(answer(result(), result()), 2) == []
    assert pairs(md.check_one_per_input(answer(result()), 2)) == [("moderation.one-per-input", "/results")]


def test_category_keys() -> None:
    assert md.check_category_keys(answer(result())) == []
    body = answer(result(), result())
    del body["results"][1]["category_scores"]["illicit"]
    body["results"][0]["categories"]["spam"] = False
    assert pairs(md.check_category_keys(body)) == [("moderation.category-keys", "/results/0"),
                                                   ("moderation.category-keys", "/results/1/category_scores")]


def test_an_extra_category_in_both_maps_is_conformant() -> None:
    body = answer(result())
    body["results"][0]["categories"]["spam"] = False
    body["results"][0]["category_scores"]["spam"] = 0.01
    assert md.check_category_keys(body) == []


@pytest.mark.parametrize("score", [1.5, -0.1, "0.5", None, True])
def test_scores_out_of_range(score: Any) -> None:
    body = answer(result())
    body["results"][0]["category_scores"]["self-harm/intent"] = score
    assert pairs(md.check_scores(body)) == [("moderation.score-range", "/results/0/category_scores/self-harm~1intent")]


def test_scores_bounds_ok() -> None:
    body = answer(result())
    body["results"][0]["category_scores"].update({"hate": 0, "sexual": 1})
    assert md.check_scores(body) == []


def test_flagged() -> None:
    assert md.check_flagged(answer(result(), result(True, "violence"))) == []
    nullable = answer(result())
    nullable["results"][0]["categories"]["illicit"] = None
    assert md.check_flagged(nullable) == []
    assert pairs(md.check_flagged(answer(result(True)))) == [("moderation.flagged-consistent", "/results/0/flagged")]
    assert pairs(md.check_flagged(answer(result(False, "hate")))) == [
        ("moderation.flagged-consistent", "/results/0/flagged")]
    assert md.check_flagged(copy.deepcopy("garbage")) == []
