"""Scenarios for GET /models and GET /models/{model} (SPEC-DECISIONS §16).

The list's shape, every declared model listed, one model retrieved, an unknown id refused
with 404 and the error envelope.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from conformance.checks.errors import CLIENT_ERROR_IDS, SERVED_IDS, check_client_error, check_served
from conformance.checks.models import (
    check_declared_models_listed,
    check_json_body,
    check_model_list,
    check_model_retrieved,
    listed_ids,
)
from conformance.config import Settings
from conformance.model import Exchange

if TYPE_CHECKING:
    from conformance.recorder import VerdictRecorder
    from conformance.transport import Transport

#: The catalogue feature of each model capability: a model counts as declared only when the
#: target also declares the capability's feature.
CAPABILITY_FEATURES: Mapping[str, str] = {
    "chat": "chat",
    "responses": "responses",
    "embeddings": "embeddings",
    "images": "images",
    "speech": "audio.speech",
    "transcription": "audio.transcription",
    "translation": "audio.translation",
    "video": "video",
    "moderation": "moderation",
    "rerank": "rerank",
}

UNKNOWN_MODEL = "nexhina-conformance-no-such-model"


def declared_models(settings: Settings) -> dict[str, str]:
    """capability -> model id for the capabilities whose feature the target declares."""
    return {
        capability: model
        for capability, model in settings.models.items()
        if CAPABILITY_FEATURES.get(capability) in settings.features
    }


def _served_json(verdict: VerdictRecorder, ex: Exchange, requirement: str) -> Any:
    """The decoded body of a served JSON answer, or None (the violations are recorded)."""
    if not verdict.check(check_served(ex, requirement=requirement), exchange=ex):
        return None
    if not verdict.check(check_json_body(ex, requirement=requirement), exchange=ex):
        return None
    return ex.json()


@pytest.mark.feature("models")
@pytest.mark.requirements(
    "models.list.shape", "models.list.model-shape", "models.list.object", "models.list.declared-models", *SERVED_IDS
)
def test_models_list(transport: Transport, settings: Settings, verdict: VerdictRecorder) -> None:
    """GET /models lists Model objects, including every model the target declares."""
    ex = transport.request("GET", "/models")
    body = _served_json(verdict, ex, "models.list.shape")
    if body is None:
        return
    verdict.check(check_model_list(body), exchange=ex)
    verdict.check(check_declared_models_listed(body, declared_models(settings)), exchange=ex)


@pytest.mark.feature("models")
@pytest.mark.requirements("models.retrieve.shape", *SERVED_IDS)
def test_models_retrieve(transport: Transport, settings: Settings, verdict: VerdictRecorder) -> None:
    """GET /models/{model} returns that Model (a declared model, else the first listed)."""
    candidates = sorted(declared_models(settings).values())
    if not candidates:
        listing = transport.request("GET", "/models")
        try:
            listed = listing.json() if listing.status == 200 else None
        except ValueError:
            listed = None
        candidates = listed_ids(listed)[:1]
        if not candidates:
            return  # nothing to retrieve; the list test judges an empty or broken list
    model_id = candidates[0]
    ex = transport.request("GET", "/models/" + quote(model_id, safe="/:@"))
    body = _served_json(verdict, ex, "models.retrieve.shape")
    if body is not None:
        verdict.check(check_model_retrieved(body, model_id), exchange=ex)


@pytest.mark.feature("models")
@pytest.mark.requirements("models.retrieve.unknown-404", *CLIENT_ERROR_IDS)
def test_models_retrieve_unknown(transport: Transport, verdict: VerdictRecorder) -> None:
    """GET /models/{unknown} gets 404 with the error envelope (not 200 with an error inside)."""
    ex = transport.request("GET", "/models/" + UNKNOWN_MODEL)
    verdict.check(check_client_error(ex, (404,), requirement="models.retrieve.unknown-404"), exchange=ex)
