"""The OpenAPI document itself: valid 3.1, the documented names, operations, media types, refs, examples."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import validate as validate_openapi

from conformance import spec
from conformance.reference.models import MODELS

DOCUMENTED_SCHEMAS = """
ChatRequest Log ChatMessage ToolCall User FunctionDefinition Channel ToolDefinition Token
ChatCompletionRequest Redemption ChatCompletionChoice ChatCompletionResponse ChatCompletionChunk
ResponseInputText ResponseRequest ResponseOutputText ResponseOutputMessage ResponseObject
EmbeddingRequest EmbeddingData EmbeddingResponse ImageGenerationRequest ImageData
ImageUsageInputTokensDetails ImageUsage ImageGenerationResponse SpeechRequest TranscriptionRequest
TranslationRequest TranscriptionResponse TranslationResponse VideoGenerationRequest VideoData
VideoGenerationResponse ModerationRequest ModerationCategory ModerationResult ModerationResponse
RerankRequest RerankResult RerankResponse
""".split()

# Supporting names other modules and the catalogue's refs rely on.
SUPPORTING_SCHEMAS = """
ErrorResponse Error Model ModelList CompletionUsage ChatCompletionMessage ChatCompletionChunkChoice
ChatCompletionChunkDelta ToolCallDelta ResponseUsage ResponseFunctionToolCall ResponseFunctionCallOutput
ResponseStreamEvent EmbeddingUsage TranscriptionVerboseResponse TranscriptionSegment VideoTaskError
RerankUsage ChatCompletionSseEvent ResponseSseEvent
""".split()

STREAM_EVENTS = {
    "response.created": "ResponseCreatedEvent",
    "response.in_progress": "ResponseInProgressEvent",
    "response.output_item.added": "ResponseOutputItemAddedEvent",
    "response.content_part.added": "ResponseContentPartAddedEvent",
    "response.output_text.delta": "ResponseOutputTextDeltaEvent",
    "response.output_text.done": "ResponseOutputTextDoneEvent",
    "response.content_part.done": "ResponseContentPartDoneEvent",
    "response.output_item.done": "ResponseOutputItemDoneEvent",
    "response.function_call_arguments.delta": "ResponseFunctionCallArgumentsDeltaEvent",
    "response.function_call_arguments.done": "ResponseFunctionCallArgumentsDoneEvent",
    "response.completed": "ResponseCompletedEvent",
    "response.incomplete": "ResponseIncompleteEvent",
    "response.failed": "ResponseFailedEvent",
    "error": "ResponseErrorEvent",
}

OPERATIONS = {
    ("GET", "/models"): ("listModels", "Models"),
    ("GET", "/models/{model}"): ("retrieveModel", "Models"),
    ("POST", "/chat/completions"): ("createChatCompletion", "Chat"),
    ("POST", "/responses"): ("createResponse", "Responses"),
    ("POST", "/embeddings"): ("createEmbedding", "Embeddings"),
    ("POST", "/images/generations"): ("createImage", "Images"),
    ("POST", "/audio/speech"): ("createSpeech", "Audio"),
    ("POST", "/audio/transcriptions"): ("createTranscription", "Audio"),
    ("POST", "/audio/translations"): ("createTranslation", "Audio"),
    ("POST", "/video/generations"): ("createVideo", "Video"),
    ("GET", "/video/generations/{task_id}"): ("retrieveVideo", "Video"),
    ("POST", "/moderations"): ("createModeration", "Moderation"),
    ("POST", "/rerank"): ("createRerank", "Rerank"),
}


def _walk(node: Any, pointer: str = "") -> Iterator[tuple[str, Any]]:
    yield pointer, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{pointer}/{index}")


def _resolve(pointer: str) -> Any:
    node: Any = spec.load_spec()
    for token in pointer.split("/")[1:]:
        key = token.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _media_examples() -> Iterator[tuple[str, str, str, str, Any]]:
    """(method, path, status or 'request', media type, example value) for every example."""
    for method, path, _ in spec.operations():
        operation = spec.load_spec()["paths"][path][method.lower()]
        for media, entry in operation.get("requestBody", {}).get("content", {}).items():
            for value in _examples_of(entry):
                yield method, path, "request", media, value
        for status in operation["responses"]:
            response = spec._response(path, method, status)
            for media, entry in (response or {}).get("content", {}).items():
                for value in _examples_of(entry):
                    yield method, path, status, media, value


def _examples_of(entry: dict[str, Any]) -> list[Any]:
    found = [entry["example"]] if "example" in entry else []
    return found + [named["value"] for named in entry.get("examples", {}).values()]


def test_document_is_valid_openapi_3_1() -> None:
    document = spec.load_spec()
    assert document["openapi"] == "3.1.0"
    validate_openapi(document)


def test_spec_path_and_version() -> None:
    assert spec.SPEC_PATH.name == spec.SPEC_FILE and spec.SPEC_PATH.is_file()
    assert spec.openapi_dir() == spec.SPEC_PATH.parent
    assert spec.spec_version() == spec.load_spec()["info"]["version"]


@pytest.mark.parametrize("name", DOCUMENTED_SCHEMAS + SUPPORTING_SCHEMAS)
def test_schema_name_present(name: str) -> None:
    assert name in spec.schema_names()


def test_the_42_documented_names_are_distinct() -> None:
    assert len(set(DOCUMENTED_SCHEMAS)) == 42


def test_stream_event_union_has_one_schema_per_type() -> None:
    schemas = spec.load_spec()["components"]["schemas"]
    members = {ref["$ref"].rsplit("/", 1)[-1] for ref in schemas["ResponseStreamEvent"]["oneOf"]}
    for event_type, name in STREAM_EVENTS.items():
        assert name in members
        assert schemas[name]["properties"]["type"]["const"] == event_type
        assert schemas[name]["properties"]["sequence_number"] == {"type": "integer"}
        assert {"type", "sequence_number"} <= set(schemas[name]["required"])


def test_every_ref_resolves() -> None:
    refs = [(p, n["$ref"]) for p, n in _walk(spec.load_spec()) if isinstance(n, dict) and "$ref" in n]
    assert len(refs) > 100
    for where, ref in refs:
        assert ref.startswith("#/"), where
        _resolve(ref[1:])


def test_operations_ids_and_tags() -> None:
    found = {(m, p): op for m, p, op in spec.operations()}
    assert found == {key: op_id for key, (op_id, _) in OPERATIONS.items()}
    for (method, path), (_, tag) in OPERATIONS.items():
        operation = spec.load_spec()["paths"][path][method.lower()]
        assert operation["tags"] == [tag]
        assert operation["summary"] and operation["description"]


def test_servers_and_security() -> None:
    document = spec.load_spec()
    (server,) = document["servers"]
    assert server["url"] == "{base_url}"
    assert server["variables"]["base_url"]["default"].endswith("/v1")
    assert document["security"] == [{"bearerAuth": []}]
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        **document["components"]["securitySchemes"]["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
    }


def test_request_media_types() -> None:
    for method, path, _ in spec.operations():
        body = spec.load_spec()["paths"][path][method.lower()].get("requestBody")
        if method == "GET":
            assert body is None
        elif path.startswith("/audio/trans"):
            assert set(body["content"]) == {"multipart/form-data"}
            content_types = body["content"]["multipart/form-data"]["encoding"]["file"]["contentType"]
            assert "audio/wav" in content_types and "audio/mpeg" in content_types
        else:
            assert set(body["content"]) == {"application/json"}


def test_success_media_types() -> None:
    def media(path: str, method: str = "post") -> frozenset[str]:
        return spec.response_media_types(path, method, 200)

    assert media("/chat/completions") == {"application/json", "text/event-stream"}
    assert media("/responses") == {"application/json", "text/event-stream"}
    assert {"audio/mpeg", "audio/wav", "audio/ogg", "audio/aac", "audio/flac", "audio/pcm"} <= media("/audio/speech")
    for path in ("/audio/transcriptions", "/audio/translations"):
        assert {"application/json", "text/plain", "text/vtt"} <= media(path)
    assert media("/models", "get") == {"application/json"}


def test_error_statuses_share_the_envelope() -> None:
    for method, path, _ in spec.operations():
        statuses = spec.response_statuses(path, method)
        assert {"401", "403", "429", "500"} <= statuses, path
        if method == "POST":
            assert {"400", "404", "413"} <= statuses, path
        for status in statuses - {"200"}:
            assert spec.response_media_types(path, method, status) == {"application/json"}
            envelope = spec.validator_for_response(path, method, status)
            assert envelope.is_valid({"error": {"message": "m", "type": "t", "param": None, "code": None}})
            assert not envelope.is_valid({"message": "m"})
            entry = spec.load_spec()["paths"][path][method.lower()]["responses"][status]
            assert entry["$ref"].startswith("#/components/responses/")


def test_every_request_body_and_json_success_has_an_example() -> None:
    examples = list(_media_examples())
    for method, path, _ in spec.operations():
        if method == "POST":
            assert any(e[:3] == (method, path, "request") for e in examples), path
        if "application/json" in spec.response_media_types(path, method, 200):
            assert any(e[:4] == (method, path, "200", "application/json") for e in examples), path


def test_every_example_validates() -> None:
    checked = 0
    for method, path, status, media, value in _media_examples():
        if status == "request":
            found = list(spec.validator_for_request(path, method, media).iter_errors(value))
        else:
            found = list(spec.validator_for_response(path, method, status, media).iter_errors(value))
        assert found == [], f"{method} {path} {status} {media}: {[e.message for e in found]}"
        checked += 1
        if media == "text/event-stream" and value["data"] != "[DONE]":
            name = "ChatCompletionChunk" if path == "/chat/completions" else "ResponseStreamEvent"
            assert spec.validate(json.loads(value["data"]), name, requirement="x") == []
    assert checked >= 40


def test_request_examples_use_reference_models() -> None:
    reference_models = set(MODELS.values())
    for _, path, status, _, value in _media_examples():
        if status == "request":
            assert value["model"] in reference_models, path


def test_no_schema_closes_its_objects() -> None:
    """D6 and D6a: requests ignore unknown fields and responses may carry extra ones."""
    closed = [
        p for p, node in _walk(spec.load_spec()) if isinstance(node, dict) and node.get("additionalProperties") is False
    ]
    assert closed == []
