"""The operations of the reference gateway: path table, matching and the engine calls.

Owns ``Operation`` (one method on one spec path), ``ROUTES`` (spec path -> operations),
``match()`` and ``Engines``, the seam between the HTTP layer and the engine modules.
``ModuleEngines`` binds the real engine modules; the self-tests may pass a stub.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from conformance.reference.engines import (
    BinaryResult,
    StreamResult,
    assets,
    chat,
    embeddings,
    images,
    moderation,
    rerank,
    responses,
    speech,
    transcription,
    video,
)
from conformance.reference.faultset import FaultSet

EngineResult = dict[str, Any] | BinaryResult | StreamResult


@dataclass(frozen=True)
class Upload:
    """The ``file`` part of a multipart request."""

    filename: str
    content: bytes
    content_type: str


@dataclass(frozen=True)
class Call:
    """Everything an engine call needs from one request, already parsed and checked."""

    faults: FaultSet
    public_base: str
    body: dict[str, Any]
    fields: Mapping[str, str]
    upload: Upload | None
    params: Mapping[str, str]


class Engines(Protocol):
    """What the HTTP layer asks of the engines (one instance per app: it holds state)."""

    def chat(self, body: dict[str, Any], faults: FaultSet) -> EngineResult: ...
    def responses(self, body: dict[str, Any], faults: FaultSet) -> EngineResult: ...
    def embeddings(self, body: dict[str, Any], faults: FaultSet) -> EngineResult: ...
    def images(self, body: dict[str, Any], faults: FaultSet, public_base: str) -> EngineResult: ...
    def speech(self, body: dict[str, Any], faults: FaultSet) -> EngineResult: ...
    def transcribe(
        self, fields: Mapping[str, str], upload: Upload | None, faults: FaultSet, task: str
    ) -> EngineResult: ...
    def video_submit(self, body: dict[str, Any], faults: FaultSet, public_base: str) -> EngineResult: ...
    def video_get(self, task_id: str, faults: FaultSet) -> EngineResult: ...
    def moderate(self, body: dict[str, Any], faults: FaultSet) -> EngineResult: ...
    def rerank(self, body: dict[str, Any], faults: FaultSet) -> EngineResult: ...
    def asset(self, asset_id: str) -> tuple[bytes, str] | None: ...


@dataclass(frozen=True)
class Operation:
    """One documented method on one spec path.

    ``body`` is ``json``, ``multipart`` or None; ``capability`` names the models.MODELS entry
    whose model the request must name (None: no model check).
    """

    path: str
    method: str
    body: str | None
    capability: str | None
    engine: str

    @property
    def media_type(self) -> str:
        """The request media type the spec documents for this operation."""
        return "multipart/form-data" if self.body == "multipart" else "application/json"


_OPERATIONS: tuple[Operation, ...] = (
    Operation("/models", "GET", None, None, "models_list"),
    Operation("/models/{model}", "GET", None, None, "models_retrieve"),
    Operation("/chat/completions", "POST", "json", "chat", "chat"),
    Operation("/responses", "POST", "json", "responses", "responses"),
    Operation("/embeddings", "POST", "json", "embeddings", "embeddings"),
    Operation("/images/generations", "POST", "json", "images", "images"),
    Operation("/audio/speech", "POST", "json", "speech", "speech"),
    Operation("/audio/transcriptions", "POST", "multipart", "transcription", "transcribe"),
    Operation("/audio/translations", "POST", "multipart", "translation", "translate"),
    Operation("/video/generations", "POST", "json", "video", "video_submit"),
    Operation("/video/generations/{task_id}", "GET", None, None, "video_get"),
    Operation("/moderations", "POST", "json", "moderation", "moderate"),
    Operation("/rerank", "POST", "json", "rerank", "rerank"),
)

#: spec path -> method -> operation.
ROUTES: dict[str, dict[str, Operation]] = {}
for _op in _OPERATIONS:
    ROUTES.setdefault(_op.path, {})[_op.method] = _op

_PATTERNS = tuple(
    (re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$"), path)
    for path in ROUTES
)


def match(path: str) -> tuple[str, dict[str, str]] | None:
    """The spec path a request path (relative to /v1) matches, with its path parameters."""
    for pattern, template in _PATTERNS:
        found = pattern.match(path)
        if found:
            return template, found.groupdict()
    return None


def call_engine(engines: Engines, operation: Operation, call: Call) -> EngineResult:
    """Run the engine of ``operation`` (models endpoints are answered by the app itself)."""
    name = operation.engine
    if name in ("transcribe", "translate"):
        return engines.transcribe(call.fields, call.upload, call.faults, name)
    if name == "images":
        return engines.images(call.body, call.faults, call.public_base)
    if name == "video_submit":
        return engines.video_submit(call.body, call.faults, call.public_base)
    if name == "video_get":
        return engines.video_get(call.params["task_id"], call.faults)
    simple = {
        "chat": engines.chat,
        "responses": engines.responses,
        "embeddings": engines.embeddings,
        "speech": engines.speech,
        "moderate": engines.moderate,
        "rerank": engines.rerank,
    }
    return simple[name](call.body, call.faults)


class ModuleEngines:
    """The real engines of ``conformance.reference.engines``, with one asset store and
    one video task table per app."""

    def __init__(self, *, video_polls_to_complete: int) -> None:
        self._assets = assets.AssetStore()
        self._video = video.VideoTasks(self._assets, polls_to_complete=video_polls_to_complete)

    def chat(self, body: dict[str, Any], faults: FaultSet) -> EngineResult:
        return chat.complete(body, faults)

    def responses(self, body: dict[str, Any], faults: FaultSet) -> EngineResult:
        return responses.create(body, faults)

    def embeddings(self, body: dict[str, Any], faults: FaultSet) -> EngineResult:
        return embeddings.create(body, faults)

    def images(self, body: dict[str, Any], faults: FaultSet, public_base: str) -> EngineResult:
        return images.generate(body, faults, assets=self._assets, public_base=public_base)

    def speech(self, body: dict[str, Any], faults: FaultSet) -> EngineResult:
        return speech.synthesize(body, faults)

    def transcribe(
        self, fields: Mapping[str, str], upload: Upload | None, faults: FaultSet, task: str
    ) -> EngineResult:
        file = None
        if upload is not None:
            file = transcription.UploadedFile(upload.filename, upload.content, upload.content_type)
        return transcription.transcribe(fields, file, faults, task=task)

    def video_submit(self, body: dict[str, Any], faults: FaultSet, public_base: str) -> EngineResult:
        return self._video.submit(body, faults, public_base=public_base)

    def video_get(self, task_id: str, faults: FaultSet) -> EngineResult:
        return self._video.get(task_id, faults)

    def moderate(self, body: dict[str, Any], faults: FaultSet) -> EngineResult:
        return moderation.moderate(body, faults)

    def rerank(self, body: dict[str, Any], faults: FaultSet) -> EngineResult:
        return rerank.rerank(body, faults)

    def asset(self, asset_id: str) -> tuple[bytes, str] | None:
        return self._assets.get(asset_id)
