"""The 13 operations of the Nexhina API and the cheapest valid request for each.

Owned here, reused read-only by every suite: the auth and error suites parametrise over
:data:`OPERATIONS`; endpoint suites start from :func:`minimal_request` and change one thing.
:data:`DEFECTS` lists the invalid variants the error suite sends (kept here, outside the test
module, so the self-tests can check them against the spec). Nothing here sends a request by
itself except :meth:`RequestSpec.send`, which hands the request to the run's transport.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from conformance.errors import ConfigError
from conformance.model import Exchange
from conformance.suites.samples import tiny_wav

if TYPE_CHECKING:
    from conformance.config import Settings
    from conformance.transport import Transport

BodyKind = Literal["json", "multipart", "none"]

#: A task id no server has issued: requests that are refused before the lookup (auth, wrong
#: method) use it for GET /video/generations/{task_id}, so they never create a video.
PLACEHOLDER_TASK_ID = "video-nexhina-conformance-placeholder"

#: The one short input every minimal request uses.
SHORT_TEXT = "Say OK."


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the spec.

    Attributes:
        operation_id: the spec's operationId (also the readable pytest id).
        method: HTTP method.
        path: path template relative to the base URL (``/models/{model}``).
        feature: the catalogue feature the operation belongs to (gates its tests).
        capability: the ``models`` key naming the model it uses; None for operations that
            name no model in a body (the model listing, retrieving a model or a video task).
        body: ``json``, ``multipart`` or ``none``.
    """

    operation_id: str
    method: str
    path: str
    feature: str
    capability: str | None
    body: BodyKind

    @property
    def takes_model(self) -> bool:
        """True when the request body names a model (unknown-model tests apply)."""
        return self.capability is not None and self.body != "none"


OPERATIONS: tuple[Operation, ...] = (
    Operation("listModels", "GET", "/models", "models", None, "none"),
    Operation("retrieveModel", "GET", "/models/{model}", "models", None, "none"),
    Operation("createChatCompletion", "POST", "/chat/completions", "chat", "chat", "json"),
    Operation("createResponse", "POST", "/responses", "responses", "responses", "json"),
    Operation("createEmbedding", "POST", "/embeddings", "embeddings", "embeddings", "json"),
    Operation("createImage", "POST", "/images/generations", "images", "images", "json"),
    Operation("createSpeech", "POST", "/audio/speech", "audio.speech", "speech", "json"),
    Operation(
        "createTranscription",
        "POST",
        "/audio/transcriptions",
        "audio.transcription",
        "transcription",
        "multipart",
    ),
    Operation(
        "createTranslation", "POST", "/audio/translations", "audio.translation", "translation", "multipart"
    ),
    Operation("createVideo", "POST", "/video/generations", "video", "video", "json"),
    Operation("retrieveVideo", "GET", "/video/generations/{task_id}", "video", None, "none"),
    Operation("createModeration", "POST", "/moderations", "moderation", "moderation", "json"),
    Operation("createRerank", "POST", "/rerank", "rerank", "rerank", "json"),
)


def operation(operation_id: str) -> Operation:
    """The operation with that operationId (KeyError when there is none)."""
    for op in OPERATIONS:
        if op.operation_id == operation_id:
            return op
    raise KeyError(operation_id)


def operations_with(
    *, body: BodyKind | None = None, takes_model: bool | None = None
) -> tuple[Operation, ...]:
    """The operations filtered by body kind and/or by whether they name a model."""
    return tuple(
        op
        for op in OPERATIONS
        if (body is None or op.body == body) and (takes_model is None or op.takes_model == takes_model)
    )


@dataclass(frozen=True)
class RequestSpec:
    """One request, ready to send: method, concrete path and body.

    ``json`` is the JSON body; ``fields`` and ``files`` are the multipart form (httpx's
    ``data=`` and ``files=``). The derivation helpers return new specs with deep-copied
    bodies, so a test can never change another test's request.
    """

    method: str
    path: str
    json: dict[str, Any] | None = None
    fields: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None

    def with_body(self, updates: Mapping[str, Any]) -> RequestSpec:
        """A copy with top-level body fields set (JSON body or multipart fields)."""
        if self.json is not None:
            return replace(self, json={**copy.deepcopy(self.json), **copy.deepcopy(dict(updates))})
        if self.fields is not None:
            return replace(self, fields={**self.fields, **{k: str(v) for k, v in updates.items()}})
        raise ValueError(f"{self.method} {self.path} has no body to update")

    def without(self, *names: str) -> RequestSpec:
        """A copy without the named top-level body fields (or multipart files)."""
        if self.json is not None:
            return replace(self, json={k: copy.deepcopy(v) for k, v in self.json.items() if k not in names})
        if self.fields is not None:
            files = {k: v for k, v in (self.files or {}).items() if k not in names}
            return replace(self, fields={k: v for k, v in self.fields.items() if k not in names}, files=files)
        raise ValueError(f"{self.method} {self.path} has no body to change")

    def with_method(self, method: str) -> RequestSpec:
        """A copy with another HTTP method (and the same path and body)."""
        return replace(self, method=method)

    def send(
        self,
        transport: Transport,
        *,
        key: str | None | object = ...,
        headers: Mapping[str, str] | None = None,
        retry_429: bool = True,
    ) -> Exchange:
        """Send through the run's transport and return the recorded exchange.

        Args:
            transport: the ``transport`` fixture.
            key: omitted = the target's API key; None = no Authorization header; a string =
                ``Bearer <string>``. An ``Authorization`` entry in ``headers`` wins over it.
            headers: extra request headers.
            retry_429: False to see 429 answers instead of the transport's bounded backoff.
        """
        kwargs: dict[str, Any] = {"retry_429": retry_429}
        if key is not ...:
            kwargs["key"] = key
        if headers:
            kwargs["headers"] = dict(headers)
        if self.json is not None:
            kwargs["json"] = self.json
        if self.fields is not None:
            kwargs["data"] = self.fields
        if self.files:
            kwargs["files"] = self.files
        return transport.request(self.method, self.path, **kwargs)


def model_for(op: Operation, models: Mapping[str, str]) -> str:
    """The configured model for the operation's capability.

    Raises:
        ConfigError: the target declares the operation's feature but configures no model.
    """
    if op.capability is None:
        raise ValueError(f"{op.operation_id} names no model")
    model = models.get(op.capability)
    if not model:
        raise ConfigError(
            f"[models] {op.capability}: no model configured, but the target declares feature "
            f"{op.feature!r} ({op.operation_id} needs one)"
        )
    return model


def any_model(models: Mapping[str, str]) -> str:
    """A configured model to retrieve with GET /models/{model} (chat first, else any)."""
    if models.get("chat"):
        return models["chat"]
    for capability in sorted(models):
        if models[capability]:
            return models[capability]
    raise ConfigError("[models]: no model configured; GET /models/{model} needs one")


def minimal_request(
    op: Operation, models: Mapping[str, str], settings: Settings, *, task_id: str | None = None
) -> RequestSpec:
    """The cheapest valid request for ``op``: one short input, one output token, tiny files.

    Args:
        op: the operation.
        models: capability -> model id (the ``models`` fixture).
        settings: the run's settings (the Responses API needs ``max_output_tokens`` >= 16 on
            OpenAI, so that one request uses ``max(16, budgets.max_tokens)``).
        task_id: for GET /video/generations/{task_id}: an existing task; default
            :data:`PLACEHOLDER_TASK_ID`, which suits requests refused before any lookup.

    Raises:
        ConfigError: the operation's capability has no configured model.
    """
    if op.operation_id == "listModels":
        return RequestSpec("GET", "/models")
    if op.operation_id == "retrieveModel":
        return RequestSpec("GET", "/models/" + quote(any_model(models), safe="/:@"))
    if op.operation_id == "retrieveVideo":
        return RequestSpec("GET", "/video/generations/" + quote(task_id or PLACEHOLDER_TASK_ID, safe=""))
    model = model_for(op, models)
    if op.body == "multipart":
        return RequestSpec(
            op.method, op.path, fields={"model": model}, files={"file": ("tiny.wav", tiny_wav(), "audio/wav")}
        )
    return RequestSpec(op.method, op.path, json=_json_body(op.operation_id, model, settings))


def _json_body(operation_id: str, model: str, settings: Settings) -> dict[str, Any]:
    """The minimal JSON body per operation (only fields every conformant server accepts)."""
    if operation_id == "createChatCompletion":
        return {"model": model, "messages": [{"role": "user", "content": SHORT_TEXT}], "max_tokens": 1}
    if operation_id == "createResponse":
        return {
            "model": model,
            "input": SHORT_TEXT,
            "max_output_tokens": max(16, settings.budgets.max_tokens),
        }
    if operation_id in ("createEmbedding", "createModeration"):
        return {"model": model, "input": SHORT_TEXT}
    if operation_id == "createImage":
        # No size or response_format: their valid values differ per image model.
        return {"model": model, "prompt": "A small red dot.", "n": 1}
    if operation_id == "createSpeech":
        return {"model": model, "input": "OK.", "voice": "alloy"}
    if operation_id == "createVideo":
        return {"model": model, "prompt": "A small red dot."}
    if operation_id == "createRerank":
        return {"model": model, "query": "red", "documents": ["a red apple", "a blue sky"]}
    raise KeyError(operation_id)


# --------------------------------------------------------------------------- defects

#: A model id no target serves.
UNKNOWN_MODEL = "nexhina-conformance-no-such-model"

#: The extra top-level field D6 says a server ignores.
UNKNOWN_FIELD = "x_nexhina_conformance_unknown"

Mutation = Callable[[RequestSpec], RequestSpec]


@dataclass(frozen=True)
class Defect:
    """One invalid variant of an operation's minimal request."""

    operation_id: str
    label: str
    mutate: Mutation


def _drop(*names: str) -> Mutation:
    return lambda spec: spec.without(*names)


def _set(**updates: Any) -> Mutation:
    return lambda spec: spec.with_body(updates)


def _chat_role(role: str) -> Mutation:
    return _set(messages=[{"role": role, "content": "Say OK."}])


#: requirement id -> defects. Each body breaks exactly one constraint of the spec's request
#: schema (tests/suites/test_negative_cases.py proves it against openapi/nexhina.yaml). The
#: error suite sends each one and expects 400.
DEFECTS: dict[str, tuple[Defect, ...]] = {
    "errors.missing-required-field": (
        Defect("createChatCompletion", "messages", _drop("messages")),
        Defect("createChatCompletion", "model", _drop("model")),
        Defect("createResponse", "input", _drop("input")),
        Defect("createEmbedding", "input", _drop("input")),
        Defect("createImage", "prompt", _drop("prompt")),
        Defect("createSpeech", "input", _drop("input")),
        Defect("createVideo", "prompt", _drop("prompt")),
        Defect("createModeration", "input", _drop("input")),
        Defect("createRerank", "query", _drop("query")),
        Defect("createRerank", "documents", _drop("documents")),
    ),
    "errors.wrong-type": (
        Defect("createChatCompletion", "messages-string", _set(messages="Say OK.")),
        Defect("createChatCompletion", "temperature-string", _set(temperature="warm")),
        Defect("createResponse", "input-number", _set(input=42)),
        Defect("createEmbedding", "input-object", _set(input={"text": "Say OK."})),
        Defect("createImage", "prompt-number", _set(prompt=42)),
        Defect("createSpeech", "input-number", _set(input=42)),
        Defect("createTranscription", "temperature-string", _set(temperature="warm")),
        Defect("createTranslation", "temperature-string", _set(temperature="warm")),
        Defect("createVideo", "prompt-number", _set(prompt=42)),
        Defect("createModeration", "input-number", _set(input=42)),
        Defect("createRerank", "documents-string", _set(documents="a red apple")),
    ),
    "errors.out-of-range": (
        Defect("createChatCompletion", "temperature-5", _set(temperature=5)),
        Defect("createChatCompletion", "max_tokens-0", _set(max_tokens=0)),
        Defect("createResponse", "temperature-5", _set(temperature=5)),
        Defect("createEmbedding", "dimensions-0", _set(dimensions=0)),
        Defect("createImage", "n-0", _set(n=0)),
        Defect("createSpeech", "speed-10", _set(speed=10)),
        Defect("createTranscription", "temperature-5", _set(temperature=5)),
        Defect("createVideo", "duration-negative", _set(duration=-5)),
        Defect("createRerank", "top_n-0", _set(top_n=0)),
    ),
    "errors.unknown-enum-value": (
        Defect("createChatCompletion", "role", _chat_role("wizard")),
        Defect("createResponse", "role", _set(input=[{"role": "wizard", "content": "Say OK."}])),
        Defect("createEmbedding", "encoding_format", _set(encoding_format="hex")),
        Defect("createImage", "response_format", _set(response_format="gif")),
        Defect("createSpeech", "response_format", _set(response_format="midi")),
        Defect("createTranscription", "response_format", _set(response_format="docx")),
        Defect("createTranslation", "response_format", _set(response_format="docx")),
    ),
}


#: What a target answers on a documented path it does not route.
UNROUTED_STATUSES = (404, 405)


def unrouted(op: Operation, ex: Exchange, transport: Transport, models: Mapping[str, str],
             settings: Settings) -> bool:
    """The target does not route ``op``: ``ex`` got 404/405 and so does the valid request (D27).

    Then that answer says nothing about the credential or the method: the missing route is the
    operation's own failure (its suite reports it). The control request is sent only after a
    404/405, so a routed operation costs nothing more.
    """
    if ex.status not in UNROUTED_STATUSES:
        return False
    control = minimal_request(op, models, settings).send(transport)
    return control.status in UNROUTED_STATUSES
