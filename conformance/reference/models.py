"""The models the reference gateway serves, per capability."""

from __future__ import annotations

from typing import Final

#: capability -> model id. The target file written by ``serve --write-target`` uses these.
MODELS: Final[dict[str, str]] = {
    "chat": "ref-chat",
    "responses": "ref-chat",
    "embeddings": "ref-embed",
    "images": "ref-image",
    "speech": "ref-tts",
    "transcription": "ref-whisper",
    "translation": "ref-whisper",
    "video": "ref-video",
    "moderation": "ref-moderation",
    "rerank": "ref-rerank",
}

#: Default vector length of ``ref-embed`` (``dimensions`` may ask for fewer).
EMBEDDING_DIMENSIONS: Final[int] = 64

#: Created timestamp reported for every model (fixed: the engine is deterministic).
MODEL_CREATED: Final[int] = 1_767_225_600
OWNED_BY: Final[str] = "nexhina-reference"


def variants(capability: str, per_capability: int = 1) -> list[str]:
    """The models of ``capability`` when the reference serves ``per_capability`` of each:
    the capability's own model first, then synthetic copies ``<model>-2`` ... ``<model>-N``."""
    base = MODELS[capability]
    return [base, *(f"{base}-{i}" for i in range(2, per_capability + 1))]


def all_model_ids() -> list[str]:
    """Every distinct model id, sorted."""
    return sorted(set(MODELS.values()))
