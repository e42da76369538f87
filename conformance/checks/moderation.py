"""Checks for POST /moderations (SPEC-DECISIONS §22, catalogue moderation.*).

Owns: one result per input, the 13 category keys in both maps, scores within [0, 1] and
``flagged`` consistent with the categories. Imports conformance.model and conformance.spec only.
"""

from __future__ import annotations

import re
from typing import Any

from conformance.checks._common import pointer, schema_violations
from conformance.checks._judged import judges
from conformance.model import Violation, truncate

CATEGORIES = frozenset({
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
    "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence",
    "violence/graphic",
})

# Missing keys (reported at the map) and scores belong to the dedicated checks; a category
# flag of the wrong type stays a schema error.
_OWNED = (
    re.compile(r"^/results/\d+/(categories|category_scores)$"),
    re.compile(r"^/results/\d+/category_scores/"),
    re.compile(r"^/results/\d+/flagged$"),
)


def _results(body: Any) -> list[Any]:
    results = body.get("results") if isinstance(body, dict) else None
    return results if isinstance(results, list) else []


def _map(result: Any, name: str) -> dict[str, Any] | None:
    value = result.get(name) if isinstance(result, dict) else None
    return value if isinstance(value, dict) else None


@judges("moderation.schema")
def check_moderation_schema(body: Any) -> list[Violation]:
    """The answer validates against ModerationResponse (minus what dedicated checks own)."""
    return schema_violations(body, "ModerationResponse", "moderation.schema", _OWNED)


@judges("moderation.one-per-input")
def check_one_per_input(body: Any, inputs: int) -> list[Violation]:
    """One result per input."""
    count = len(_results(body))
    if count == inputs:
        return []
    return [Violation("moderation.one-per-input", f"{inputs} results (one per input)", str(count), "/results")]


@judges("moderation.category-keys")
def check_category_keys(body: Any) -> list[Violation]:
    """categories and category_scores both carry the 13 category keys, and the same key set.

    A provider that adds a category of its own in both maps stays conformant: clients index
    the 13 documented keys, so only a missing key or maps that disagree break them.
    """
    found = []
    for i, result in enumerate(_results(body)):
        maps = {name: set(_map(result, name) or {}) for name in ("categories", "category_scores")}
        for name, keys in maps.items():
            if not CATEGORIES <= keys:
                found.append(Violation("moderation.category-keys", "all 13 category keys",
                                       truncate({"missing": sorted(CATEGORIES - keys)}), f"/results/{i}/{name}"))
        if CATEGORIES <= maps["categories"] and CATEGORIES <= maps["category_scores"] and (
            maps["categories"] != maps["category_scores"]
        ):
            differ = sorted(maps["categories"] ^ maps["category_scores"])
            found.append(Violation("moderation.category-keys", "the same keys in categories and category_scores",
                                   truncate({"in one map only": differ}), f"/results/{i}"))
    return found


@judges("moderation.score-range")
def check_scores(body: Any) -> list[Violation]:
    """Every category score is a number within [0, 1]."""
    found = []
    for i, result in enumerate(_results(body)):
        for key, score in sorted((_map(result, "category_scores") or {}).items()):
            if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
                found.append(Violation("moderation.score-range", "a number within [0, 1]", truncate(score),
                                       pointer(("results", i, "category_scores", key))))
    return found


@judges("moderation.flagged-consistent")
def check_flagged(body: Any) -> list[Violation]:
    """flagged is true exactly when some category is true (null counts as false)."""
    found = []
    for i, result in enumerate(_results(body)):
        categories = _map(result, "categories")
        if categories is None or not isinstance(result, dict):
            continue
        expected = any(value is True for value in categories.values())
        if result.get("flagged") is not expected:
            found.append(Violation("moderation.flagged-consistent", f"flagged {str(expected).lower()}",
                                   truncate(result.get("flagged")), f"/results/{i}/flagged"))
    return found
