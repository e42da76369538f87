"""The property suite's id tables: case kinds and which catalogue ids each operation judges.

This module owns the vocabulary the property suite shares between its layers: the kinds of
case (``POSITIVE``, ``NEGATIVE``, the coverage probes), the requirement ids of each operation's
answer (shape, stream, Content-Type), the ids every operation judges (``COMMON_IDS``) and
``operation_ids``, which puts them together. The mapping of a finding to these ids lives in
``checks.properties``. Constants and one pure function; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

# --------------------------------------------------------------------------- case kinds

#: A case valid by the spec, sent with the target's key.
POSITIVE = "positive"
#: A case whose body (or path) Schemathesis made invalid, sent with the target's key.
NEGATIVE = "negative"
#: The coverage phase's case without the Authorization header.
MISSING_AUTH = "missing-auth"
#: The coverage phase's case with a method the path does not document.
WRONG_METHOD = "wrong-method"
#: The coverage phase's case with a wrong or malformed Content-Type.
CONTENT_TYPE = "content-type"
#: The suite's own ignored-auth probe: a positive case sent with an unknown key.
INVALID_KEY = "invalid-key"

KINDS = (POSITIVE, NEGATIVE, MISSING_AUTH, WRONG_METHOD, CONTENT_TYPE, INVALID_KEY)

# --------------------------------------------------------------------------- requirement ids

#: operationId -> the shape requirement of its 2xx JSON answer.
SHAPE_IDS: Mapping[str, str] = {
    "listModels": "models.list.shape",
    "retrieveModel": "models.retrieve.shape",
    "createChatCompletion": "chat.response.schema",
    "createResponse": "responses.schema",
    "createEmbedding": "embeddings.schema",
    "createImage": "images.schema",
    "createTranscription": "audio.transcription.json",
    "createTranslation": "audio.translation.json",
    "createVideo": "video.submit-shape",
    "retrieveVideo": "video.retrieve-shape",
    "createModeration": "moderation.schema",
    "createRerank": "rerank.schema",
}

#: operationId -> the requirement of each event of its 2xx text/event-stream answer.
STREAM_IDS: Mapping[str, str] = {
    "createChatCompletion": "chat.stream.chunk-schema",
    "createResponse": "responses.stream.event-schema",
}

#: operationId -> the requirement that a ``stream: true`` request is answered as an event stream.
STREAM_CONTENT_TYPE_IDS: Mapping[str, str] = {
    "createChatCompletion": "chat.stream.content-type",
    "createResponse": "responses.stream.content-type",
}

#: A listed model that breaks the Model schema (inside GET /models' ``data``).
MODEL_SHAPE = "models.list.model-shape"

#: operationId -> the requirement that owns the ``object`` member of its 2xx JSON answer (a
#: SHOULD of its own: no client reads it, D71).
OBJECT_IDS: Mapping[str, str] = {
    "listModels": "models.list.object",
    "createChatCompletion": "chat.response.object",
    "createResponse": "responses.object",
}

MISSING = "errors.missing-required-field"
MALFORMED = "errors.malformed-json"
WRONG_TYPE = "errors.wrong-type"
OUT_OF_RANGE = "errors.out-of-range"
UNKNOWN_ENUM = "errors.unknown-enum-value"

#: Ids every property test may report, whatever its operation (besides its shape ids).
COMMON_IDS: tuple[str, ...] = (
    "errors.no-server-error",
    "errors.no-5xx-for-client-error",
    "errors.documented-status",
    "errors.documented-content-type",
    "errors.envelope-shape",
    "errors.envelope-content-type",
    "errors.envelope-fields-present",
    "errors.no-error-in-2xx",
    MISSING,
    WRONG_TYPE,
    OUT_OF_RANGE,
    UNKNOWN_ENUM,
    MALFORMED,
    "errors.wrong-method",
    "errors.wrong-method-405",
    "errors.wrong-content-type",
    "auth.missing-key",
    "auth.unknown-key",
)

#: Ids judged only on a JSON request body (negative cases and the wrong Content-Type probe).
JSON_BODY_IDS = frozenset({MISSING, WRONG_TYPE, OUT_OF_RANGE, UNKNOWN_ENUM, MALFORMED, "errors.wrong-content-type"})

#: Operations whose generated valid cases are never served (a path id nobody created): no
#: shape to judge and no served case to repeat with an unknown key (the video suite owns them).
UNSERVED = frozenset({"retrieveVideo"})


def operation_ids(operation_id: str, *, body: str = "json", has_enum: bool = True) -> tuple[str, ...]:
    """Every id the property test of one operation judges (its own shape ids first).

    Args:
        operation_id: the spec's operationId.
        body: ``json``, ``multipart`` or ``none``: only a JSON body can be made invalid or sent
            under a wrong Content-Type.
        has_enum: whether the JSON body schema holds an ``enum``/``const`` (else no case can
            carry an unknown enum value).
    """
    own = tuple(
        rid
        for rid in (
            None if operation_id in UNSERVED else SHAPE_IDS.get(operation_id),
            STREAM_IDS.get(operation_id),
            STREAM_CONTENT_TYPE_IDS.get(operation_id),
            MODEL_SHAPE if operation_id == "listModels" else None,
            None if operation_id in UNSERVED else OBJECT_IDS.get(operation_id),
        )
        if rid
    )
    dropped = set() if body == "json" else set(JSON_BODY_IDS)
    if not has_enum:
        dropped.add(UNKNOWN_ENUM)
    if operation_id in UNSERVED:
        dropped.add("auth.unknown-key")
    return (*own, *(rid for rid in COMMON_IDS if rid not in dropped))
