"""conformance.spec as a validator factory: violations, pointers, unions, formats, lookups."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import spec
from conformance.errors import SpecError
from conformance.model import Violation


def _chunk(**overrides: Any) -> dict[str, Any]:
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1767225600,
        "model": "ref-chat",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": None}],
    }
    return {**chunk, **overrides}


SCORES = dict.fromkeys(
    "hate hate/threatening harassment harassment/threatening illicit illicit/violent self-harm "
    "self-harm/intent self-harm/instructions sexual sexual/minors violence violence/graphic".split(),
    0.0,
)


def test_valid_instance_gives_no_violation() -> None:
    assert spec.validate(_chunk(), "ChatCompletionChunk", requirement="chat.stream.chunk-schema") == []


def test_usage_chunk_and_null_usage_are_valid() -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    assert spec.validate(_chunk(choices=[], usage=usage), "ChatCompletionChunk", requirement="x") == []
    assert spec.validate(_chunk(usage=None), "ChatCompletionChunk", requirement="x") == []


def test_one_violation_per_error_sorted_with_pointers() -> None:
    broken = _chunk(choices=[{"index": "0", "delta": {}}, {"index": 1, "delta": {"role": "bot"}}])
    del broken["id"]
    found = spec.validate(broken, "ChatCompletionChunk", requirement="chat.stream.chunk-schema", where="event[3]")
    assert [v.where for v in found] == ["event[3]", "event[3]/choices/0/index", "event[3]/choices/1/delta/role"]
    assert all(v.requirement == "chat.stream.chunk-schema" for v in found)
    assert found[0].expected == "schema ChatCompletionChunk: 'id' is a required property"
    assert found[1] == Violation(
        requirement="chat.stream.chunk-schema",
        expected="schema ChatCompletionChunk: an integer",  # the rule, never the value seen
        actual="0",
        where="event[3]/choices/0/index",
    )


def test_pointer_without_prefix_and_root() -> None:
    found = spec.validate(_chunk(choices=[{"index": -1, "delta": {}}]), "ChatCompletionChunk", requirement="x")
    assert [v.where for v in found] == ["/choices/0/index"]
    assert [v.where for v in spec.validate([], "ChatCompletionChunk", requirement="x")] == ["/"]


def test_pointer_tokens_are_escaped() -> None:
    scores = {**SCORES, "hate/threatening": 2}
    result = {"flagged": False, "categories": dict.fromkeys(SCORES, False), "category_scores": scores}
    body = {"id": "modr-1", "model": "ref-moderation", "results": [result]}
    found = spec.validate(body, "ModerationResponse", requirement="moderation.schema")
    assert [v.where for v in found] == ["/results/0/category_scores/hate~1threatening"]
    assert found[0].actual == "2"


def test_sort_is_numeric_on_array_indexes() -> None:
    choices = [{"index": i, "delta": {}} for i in range(12)]
    choices[2]["index"] = -1
    choices[10]["index"] = -1
    found = spec.validate(_chunk(choices=choices), "ChatCompletionChunk", requirement="x")
    assert [v.where for v in found] == ["/choices/2/index", "/choices/10/index"]


def test_discriminated_union_reports_the_matching_branch() -> None:
    event = {"type": "response.output_text.delta", "item_id": "m", "output_index": 0, "content_index": 0, "delta": "x"}
    (found,) = spec.validate(event, "ResponseStreamEvent", requirement="responses.stream.event-schema")
    assert found.expected == "schema ResponseStreamEvent: 'sequence_number' is a required property"
    assert found.where == "/"


def test_deep_error_inside_a_union_branch() -> None:
    response = {"id": "r", "object": "response", "created_at": 1, "status": "done", "model": "m", "output": [
        {"type": "message", "id": "msg", "role": "assistant", "content": [{"type": "output_text"}]}
    ]}
    event = {"type": "response.completed", "sequence_number": 9, "response": response}
    found = spec.validate(event, "ResponseStreamEvent", requirement="x", where="event[9]")
    assert [v.where for v in found] == ["event[9]/response/output/0/content/0", "event[9]/response/status"]
    assert "'text' is a required property" in found[0].expected


def test_unknown_stream_event_types_are_tolerated_with_a_sequence_number() -> None:
    event = {"type": "response.reasoning_summary_text.delta", "sequence_number": 4, "delta": "..."}
    assert spec.validate(event, "ResponseStreamEvent", requirement="x") == []
    (found,) = spec.validate({"type": "response.reasoning.delta"}, "ResponseStreamEvent", requirement="x")
    assert "'sequence_number' is a required property" in found.expected


def test_nullable_reference_reports_the_object_branch() -> None:
    (found,) = spec.validate(
        _chunk(usage={"prompt_tokens": 1, "completion_tokens": 1}), "ChatCompletionChunk", requirement="x"
    )
    assert found.where == "/usage" and "'total_tokens' is a required property" in found.expected


def test_enum_error_inside_nullable_union() -> None:
    (found,) = spec.validate(
        _chunk(choices=[{"index": 0, "delta": {}, "finish_reason": "banana"}]), "ChatCompletionChunk", requirement="x"
    )
    assert found.where == "/choices/0/finish_reason" and "one of [" in found.expected
    assert "banana" not in found.expected and found.actual == "banana"


def test_long_values_are_truncated() -> None:
    (found,) = spec.validate({"results": "x" * 5000}, "RerankResponse", requirement="rerank.schema")
    assert found.actual.endswith("more chars>") and len(found.actual) < 300
    assert len(found.expected) < 400


@pytest.mark.parametrize(
    ("name", "instance", "where"),
    [
        ("VideoData", {"url": "not a uri"}, "/url"),
        ("User", {"id": 1, "DeletedAt": "yesterday"}, "/DeletedAt"),
    ],
)
def test_formats_are_checked(name: str, instance: dict[str, Any], where: str) -> None:
    (found,) = spec.validate(instance, name, requirement="x")
    assert found.where == where and "a valid " in found.expected
    fixed = {**instance, "url": "https://cdn.example/v.mp4"} if name == "VideoData" else {**instance, "DeletedAt": None}
    assert spec.validate(fixed, name, requirement="x") == []


def test_conditional_video_fields() -> None:
    task = {"id": "v", "object": "video", "model": "ref-video", "progress": 100, "created_at": 1}
    assert spec.validate({**task, "status": "queued", "progress": 0}, "VideoGenerationResponse", requirement="x") == []
    completed = spec.validate({**task, "status": "completed"}, "VideoGenerationResponse", requirement="x")
    assert ["'data' is a required property" in v.expected for v in completed] == [True]
    failed = spec.validate({**task, "status": "failed", "error": None}, "VideoGenerationResponse", requirement="x")
    assert failed and all(v.where == "/error" for v in failed)


def test_response_schemas_allow_extra_fields() -> None:
    extra = _chunk(system_fingerprint=None, obfuscation="abc")
    assert spec.validate(extra, "ChatCompletionChunk", requirement="x") == []


def test_unknown_schema_name_raises() -> None:
    with pytest.raises(SpecError, match="NoSuchSchema"):
        spec.validator("NoSuchSchema")
    with pytest.raises(SpecError):
        spec.validate({}, "NoSuchSchema", requirement="x")


def test_validators_are_cached() -> None:
    assert spec.validator("ChatCompletionChunk") is spec.validator("ChatCompletionChunk")
    assert spec.validator_for_request("/rerank", "POST") is spec.validator_for_request("/rerank", "POST")
    assert spec.load_spec() is spec.load_spec()


def test_request_lookups() -> None:
    assert spec.request_schema("/models", "GET") is None
    assert spec.request_schema("/chat/completions", "post") == {"$ref": "#/components/schemas/ChatCompletionRequest"}
    assert spec.request_schema("/audio/transcriptions", "POST") is None
    assert spec.request_schema("/audio/transcriptions", "POST", "multipart/form-data") is not None
    with pytest.raises(SpecError):
        spec.request_schema("/nope", "POST")
    with pytest.raises(SpecError):
        spec.validator_for_request("/models", "GET")


def test_response_lookups() -> None:
    assert spec.response_statuses("/models/{model}", "GET") >= {"200", "404"}
    assert spec.response_media_types("/models", "get", 418) == frozenset()
    with pytest.raises(SpecError):
        spec.validator_for_response("/audio/speech", "POST", 200, "application/json")
    sse = spec.validator_for_response("/chat/completions", "POST", 200, "text/event-stream")
    assert sse.is_valid({"data": "[DONE]"}) and not sse.is_valid({"event": "message"})


def test_multipart_request_validator() -> None:
    check = spec.validator_for_request("/audio/transcriptions", "POST", "multipart/form-data")
    assert check.is_valid({"file": "RIFF", "model": "ref-whisper", "response_format": "srt", "temperature": 0.5})
    assert not check.is_valid({"model": "ref-whisper"})
    assert not check.is_valid({"file": "RIFF", "model": "ref-whisper", "response_format": "mp3"})


def test_expected_states_the_rule_never_the_value() -> None:
    """Vectors that are lists of lists: the rule is "a number", whatever each element holds."""
    body = {"object": "list", "model": "m", "usage": {"prompt_tokens": 1, "total_tokens": 1},
            "data": [{"object": "embedding", "index": 0, "embedding": [[0.1, 0.2], [0.3, 0.4]]}]}
    found = spec.validate(body, "EmbeddingResponse", requirement="embeddings.schema")
    assert {v.expected for v in found} == {"schema EmbeddingResponse: a number"}
    assert [v.actual for v in found] == ["[0.1, 0.2]", "[0.3, 0.4]"]

