"""The reference's moderation engine (SPEC-DECISIONS 22): keyword rules over 13 categories.

A category scores 0.85..0.95 when one of its keywords occurs in the text (whole words,
case-insensitive), else a small hash-derived score under 0.05; a category is true when its
score is >= 0.5 and ``flagged`` is true when any category is. A string or each string of a
list is one input; a list of multimodal parts ({type: text|image_url}) is one input.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from conformance.reference.api_error import ApiError
from conformance.reference.faultset import FaultSet
from conformance.reference.models import MODELS

FAULTS: dict[str, str] = {
    "moderation.schema": "the answer has no id.",
    "moderation.one-per-input": "a list loses its last result; a single input gets two results.",
    "moderation.category-keys": "categories and category_scores lack 'illicit/violent' (12 keys).",
    "moderation.score-range": "the violence score is 1.5 (its category and flagged stay consistent).",
    "moderation.flagged-consistent": "flagged is the negation of 'any category is true'.",
}

#: The 13 ModerationCategory keys, each with the keywords that trigger it.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "harassment": ("idiot", "loser", "harass", "worthless"),
    "harassment/threatening": ("hurt you", "kill you", "threaten"),
    "hate": ("hate", "racist", "bigot"),
    "hate/threatening": ("exterminate", "wipe them out"),
    "illicit": ("steal", "counterfeit", "smuggle", "hack into"),
    "illicit/violent": ("bomb", "build a weapon"),
    "self-harm": ("self-harm", "suicide", "hurt myself", "kill myself"),
    "self-harm/intent": ("kill myself", "end my life", "want to die"),
    "self-harm/instructions": ("how to kill myself", "ways to self-harm"),
    "sexual": ("sex", "sexual", "porn", "nude"),
    "sexual/minors": ("underage",),
    "violence": ("kill", "murder", "attack", "shoot", "stab"),
    "violence/graphic": ("gore", "dismember", "blood everywhere"),
}
CATEGORIES: tuple[str, ...] = tuple(KEYWORDS)
#: Categories the omni moderation models also apply to images.
_IMAGE_CATEGORIES = frozenset(
    {"self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "violence", "violence/graphic"}
)
_PATTERNS = {
    key: re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)
    for key, words in KEYWORDS.items()
}


def moderate(body: Mapping[str, Any], faults: FaultSet) -> dict[str, Any]:
    """Answer a moderation request: one result per input.

    Raises:
        ApiError: 400 when ``input`` is an empty list or not a string or list.
    """
    inputs = _inputs(body.get("input"))
    results = [_result(text, has_image, faults) for text, has_image in inputs]
    if faults.on("moderation.one-per-input"):
        results = results[:-1] if len(results) > 1 else results * 2
    digest = hashlib.sha256(repr(body.get("input")).encode("utf-8")).hexdigest()
    answer: dict[str, Any] = {
        "id": f"modr-{digest[:24]}",
        "model": body.get("model") or MODELS["moderation"],
        "results": results,
    }
    if faults.on("moderation.schema"):
        del answer["id"]
    return answer


def _inputs(value: object) -> list[tuple[str, bool]]:
    """(text, has an image part) per input."""
    if isinstance(value, str):
        return [(value, False)]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return [(v, False) for v in value]
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        texts = [str(part.get("text", "")) for part in value if part.get("type") == "text"]
        has_image = any(part.get("type") == "image_url" for part in value)
        return [(" ".join(texts), has_image)]
    message = "input must be a string, a non-empty list of strings or a non-empty list of content parts"
    raise ApiError(400, message, param="input", code="invalid_value")


def _result(text: str, has_image: bool, faults: FaultSet) -> dict[str, Any]:
    scores = {key: score(key, text) for key in CATEGORIES}
    if faults.on("moderation.score-range"):
        scores["violence"] = 1.5
    categories = {key: value >= 0.5 for key, value in scores.items()}
    applied = {key: ["text", "image"] if has_image and key in _IMAGE_CATEGORIES else ["text"] for key in scores}
    if faults.on("moderation.category-keys"):
        del scores["illicit/violent"], categories["illicit/violent"], applied["illicit/violent"]
    flagged = any(categories.values())
    return {
        "flagged": not flagged if faults.on("moderation.flagged-consistent") else flagged,
        "categories": categories,
        "category_scores": scores,
        "category_applied_input_types": applied,
    }


def score(category: str, text: str) -> float:
    """The score of ``category`` for ``text``: 0.85..0.95 on a keyword hit, else under 0.05."""
    jitter = int.from_bytes(hashlib.sha256(f"{category}|{text}".encode()).digest()[:4], "big") / 2**32
    if _PATTERNS[category].search(text):
        return round(0.85 + 0.1 * jitter, 6)
    return round(0.05 * jitter, 6)
