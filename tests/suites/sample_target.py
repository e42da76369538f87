"""A model per capability and default settings, for tests that build requests offline."""

from __future__ import annotations

from conformance.config import Settings

SETTINGS = Settings()
MODELS = {
    "chat": "m-chat",
    "responses": "m-resp",
    "embeddings": "m-emb",
    "images": "m-img",
    "speech": "m-tts",
    "transcription": "m-stt",
    "translation": "m-stt",
    "video": "m-vid",
    "moderation": "m-mod",
    "rerank": "m-rr",
}
