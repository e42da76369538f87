"""The reference's answers to ``GET /models`` and ``GET /models/{model}`` (D16).

Owns the Model objects and the faults of the models area (see ``faults.HTTP_FAULTS``).
"""

from __future__ import annotations

from typing import Any

from conformance.reference.api_error import ApiError
from conformance.reference.faultset import FaultSet
from conformance.reference.http_errors import Answer, json_response
from conformance.reference.models import MODEL_CREATED, OWNED_BY, all_model_ids

#: The model GET /models leaves out under ``models.list.declared-models``.
_DROPPED = "ref-rerank"


def model_object(model_id: str, faults: FaultSet) -> dict[str, Any]:
    """One Model object: id, object "model", created, owned_by."""
    created: object = MODEL_CREATED
    if faults.on("models.list.model-shape"):
        created = "2026-01-01T00:00:00Z"
    return {"id": model_id, "object": "model", "created": created, "owned_by": OWNED_BY}


def list_models(faults: FaultSet, served: list[str] | None = None) -> dict[str, Any]:
    """The ModelList of every served model (``served``: those ids; default every model)."""
    ids = all_model_ids() if served is None else served
    if faults.on("models.list.declared-models"):
        ids = [i for i in ids if i != _DROPPED]
    listing: dict[str, Any] = {"object": "list", "data": [model_object(i, faults) for i in ids]}
    if faults.on("models.list.object"):
        listing["object"] = "models"
    if faults.on("models.list.shape"):
        listing["data"] = {m["id"]: m for m in listing["data"]}
    return listing


def retrieve_model(model_id: str, faults: FaultSet, served: list[str] | None = None) -> dict[str, Any]:
    """The Model ``model_id``; 404 envelope when it is not served (``served``: as in `list_models`).

    Raises:
        ApiError: 404 ``model_not_found`` for an unknown id.
        Answer: the faulted answers that leave the envelope path.
    """
    # Retrieval must not inherit the list's own shape fault (that would break a second id).
    plain = FaultSet(faults.names - {"models.list.model-shape"})
    if model_id not in (all_model_ids() if served is None else served):
        error = ApiError(404, f"The model {model_id!r} does not exist.", param="model", code="model_not_found")
        if faults.on("models.retrieve.unknown-404"):
            return model_object(model_id, plain)
        if faults.on("models.retrieve.unknown-404@200-error"):
            raise Answer(json_response(error.envelope(), 200))
        raise error
    found = model_object(model_id, plain)
    return {"data": found} if faults.on("models.retrieve.shape") else found
