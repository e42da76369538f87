"""Body handling of the reference HTTP layer: limits, content types, parsing, schema
validation, the model check, engine results, and the faults of the errors area."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from reference_app_support import TEST_CONFIG, StubServer, assert_envelope

_MSG = [{"role": "user", "content": "hi"}]
_CHAT = {"model": "ref-chat", "messages": _MSG}
_AUDIO = {"file": ("a.wav", b"RIFF0000WAVE", "audio/wav")}


def _last_call(server: StubServer) -> tuple[str, object]:
    return server.engines.calls[-1]


# --------------------------------------------------------------------------- body limit


def test_body_at_the_limit_is_served(stub_server: StubServer) -> None:
    body = {**_CHAT, "pad": ""}
    size = len(json.dumps(body).encode())
    body["pad"] = "a" * (TEST_CONFIG.body_limit_bytes - size)
    assert len(json.dumps(body).encode()) == TEST_CONFIG.body_limit_bytes
    assert (
        stub_server.request(
            "POST", "/chat/completions", content=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        ).status_code
        == 200
    )


def test_body_over_the_limit_gets_413(stub_server: StubServer) -> None:
    body = {**_CHAT, "pad": "a" * TEST_CONFIG.body_limit_bytes}
    assert_envelope(stub_server.request("POST", "/chat/completions", json=body), 413, "request_too_large")


def test_chunked_body_over_the_limit_gets_413(stub_server: StubServer) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"model": "ref-chat", "pad": "'
        for _ in range(8):
            yield b"a" * 1024
        yield b'"}'

    response = stub_server.request(
        "POST", "/chat/completions", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_envelope(response, 413)


def test_fault_body_too_large_accepts_any_size(stub_server: StubServer) -> None:
    body = {**_CHAT, "pad": "a" * (TEST_CONFIG.body_limit_bytes * 4)}
    assert (
        stub_server.request("POST", "/chat/completions", json=body, faults="errors.body-too-large").status_code == 200
    )


# --------------------------------------------------------------------------- content type and parsing


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_non_json_content_type_gets_415(stub_server: StubServer, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = stub_server.request("POST", "/chat/completions", content=json.dumps(_CHAT).encode(), headers=headers)
    assert_envelope(response, 415, "unsupported_media_type")


def test_json_content_type_with_parameters_is_accepted(stub_server: StubServer) -> None:
    response = stub_server.request(
        "POST",
        "/chat/completions",
        content=json.dumps(_CHAT).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize("raw", [b"{", b"", b"{'a': 1}", b'{"model": NaN}', b"\xff\xfe"])
def test_malformed_json_gets_400(stub_server: StubServer, raw: bytes) -> None:
    response = stub_server.request(
        "POST", "/chat/completions", content=raw, headers={"Content-Type": "application/json"}
    )
    assert_envelope(response, 400, "invalid_json")


@pytest.mark.parametrize("raw", [b"[]", b"42", b'"text"', b"null"])
def test_non_object_body_gets_400(stub_server: StubServer, raw: bytes) -> None:
    response = stub_server.request(
        "POST", "/chat/completions", content=raw, headers={"Content-Type": "application/json"}
    )
    assert_envelope(response, 400, "invalid_type")


# --------------------------------------------------------------------------- schema validation


@pytest.mark.parametrize(
    ("path", "body", "param", "code"),
    [
        ("/chat/completions", {"model": "ref-chat"}, "messages", "missing_required_parameter"),
        ("/chat/completions", {"messages": _MSG}, "model", "missing_required_parameter"),
        ("/chat/completions", {**_CHAT, "temperature": "warm"}, "temperature", "invalid_type"),
        ("/chat/completions", {**_CHAT, "messages": "hi"}, "messages", "invalid_type"),
        ("/chat/completions", {**_CHAT, "temperature": 5}, "temperature", "invalid_value"),
        (
            "/chat/completions",
            {**_CHAT, "messages": [{"role": "wizard", "content": "x"}]},
            "messages[0].role",
            "invalid_value",
        ),
        ("/embeddings", {"model": "ref-embed", "input": {"text": "x"}}, "input", "invalid_type"),
        (
            "/embeddings",
            {"model": "ref-embed", "input": "x", "encoding_format": "hex"},
            "encoding_format",
            "invalid_value",
        ),
        ("/audio/speech", {"model": "ref-tts", "input": "x", "voice": "alloy", "speed": 10}, "speed", "invalid_value"),
        ("/rerank", {"model": "ref-rerank", "query": "", "documents": ["a"]}, "query", "invalid_value"),
    ],
)
def test_schema_violation_gets_400_naming_the_field(
    stub_server: StubServer, path: str, body: dict[str, object], param: str, code: str
) -> None:
    error = assert_envelope(stub_server.request("POST", path, json=body), 400, code)
    assert error["param"] == param


def test_unknown_top_level_field_is_ignored(stub_server: StubServer) -> None:
    response = stub_server.request("POST", "/chat/completions", json={**_CHAT, "x_unknown": {"a": 1}})
    assert response.status_code == 200
    assert _last_call(stub_server)[1]["x_unknown"] == {"a": 1}  # type: ignore[index]


@pytest.mark.parametrize(
    ("fault", "body", "status"),
    [
        ("errors.missing-required-field", {"model": "ref-chat"}, 422),
        ("errors.wrong-type", {**_CHAT, "temperature": "warm"}, 422),
        ("errors.out-of-range", {**_CHAT, "temperature": 5}, 422),
        ("errors.unknown-enum-value", {**_CHAT, "messages": [{"role": "wizard", "content": "x"}]}, 422),
    ],
)
def test_fault_validation_status(stub_server: StubServer, fault: str, body: dict[str, object], status: int) -> None:
    assert_envelope(stub_server.request("POST", "/chat/completions", json=body, faults=fault), status)
    # the other kinds of error keep their 400 under this fault
    other = {"model": "ref-chat"} if fault != "errors.missing-required-field" else {**_CHAT, "temperature": "warm"}
    assert stub_server.request("POST", "/chat/completions", json=other, faults=fault).status_code == 400
    # and the other operations keep their 400 for every kind (their suites grade those answers)
    embed = {"model": "ref-embed", "input": {"text": "x"}, "encoding_format": "hex", "dimensions": 0}
    assert stub_server.request("POST", "/embeddings", json=embed, faults=fault).status_code == 400
    assert stub_server.request("POST", "/embeddings", json={"model": "ref-embed"}, faults=fault).status_code == 400


@pytest.mark.parametrize(
    ("fault", "body"),
    [
        ("errors.missing-required-field@422", {"model": "ref-chat"}),
        ("errors.wrong-type@422", {**_CHAT, "temperature": "warm"}),
    ],
)
def test_fault_fastapi_style_422(stub_server: StubServer, fault: str, body: dict[str, object]) -> None:
    response = stub_server.request("POST", "/chat/completions", json=body, faults=fault)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"][0] == "body" and "error" not in response.json()


def test_fault_unknown_field_ignored(stub_server: StubServer) -> None:
    body = {**_CHAT, "x_unknown": 1}
    error = assert_envelope(
        stub_server.request("POST", "/chat/completions", json=body, faults="errors.unknown-field-ignored"),
        400,
        "unknown_parameter",
    )
    assert error["param"] == "x_unknown"
    assert (
        stub_server.request("POST", "/chat/completions", json=_CHAT, faults="errors.unknown-field-ignored").status_code
        == 200
    )


_SPEECH = {"model": "ref-tts", "input": "x", "voice": "alloy"}
_EMBED = {"model": "ref-embed", "input": "x"}


@pytest.mark.parametrize(
    ("fault", "path", "delegated", "kept"),
    [
        ("audio.speech.invalid-speed", "/audio/speech", {**_SPEECH, "speed": 10}, {**_SPEECH, "speed": "fast"}),
        ("audio.speech.empty-input", "/audio/speech", {**_SPEECH, "input": ""}, {**_SPEECH, "input": 42}),
        ("audio.speech.empty-input", "/audio/speech", {**_SPEECH, "input": ""}, {"model": "ref-tts", "voice": "alloy"}),
        ("embeddings.empty-input", "/embeddings", {**_EMBED, "input": []}, {**_EMBED, "input": {"text": "x"}}),
        ("embeddings.empty-input", "/embeddings", {**_EMBED, "input": ""}, {"model": "ref-embed"}),
        (
            "rerank.empty-input",
            "/rerank",
            {"model": "ref-rerank", "query": "", "documents": []},
            {"model": "ref-rerank", "query": "q", "documents": ["a"], "top_n": 0},
        ),
    ],
)
def test_engine_faults_get_only_the_input_they_judge(
    stub_server: StubServer, fault: str, path: str, delegated: dict[str, object], kept: dict[str, object]
) -> None:
    """Under an engine fault, the schema error it needs (empty input, bad speed) reaches the
    engine; every other schema error of the same field or body stays a 400 here."""
    assert stub_server.request("POST", path, json=delegated).status_code == 400
    assert stub_server.request("POST", path, json=delegated, faults=fault).status_code == 200
    assert_envelope(stub_server.request("POST", path, json=kept, faults=fault), 400)


def test_engine_faults_are_scoped_to_their_own_operation(stub_server: StubServer) -> None:
    """An empty-input fault of one operation leaves the same field of other operations validated."""
    assert_envelope(stub_server.request("POST", "/embeddings", json={**_EMBED, "input": ""},
                                        faults="audio.speech.empty-input"), 400)
    assert stub_server.request("POST", "/moderations", json={"input": []},
                               faults="embeddings.empty-input").status_code == 400


def test_malformed_json_faults(stub_server: StubServer) -> None:
    headers = {"Content-Type": "application/json"}
    assert_envelope(
        stub_server.request("POST", "/chat/completions", content=b"{", headers=headers, faults="errors.malformed-json"),
        422,
        "invalid_json",
    )
    assert_envelope(
        stub_server.request(
            "POST", "/chat/completions", content=b"{", headers=headers, faults="errors.no-5xx-for-client-error"
        ),
        500,
    )


def test_fault_wrong_content_type(stub_server: StubServer) -> None:
    response = stub_server.request(
        "POST",
        "/chat/completions",
        content=json.dumps(_CHAT).encode(),
        headers={"Content-Type": "text/plain"},
        faults="errors.wrong-content-type",
    )
    assert response.status_code == 200


def test_fault_no_server_error(stub_server: StubServer) -> None:
    body = {**_CHAT, "temperature": 1.5}
    assert stub_server.request("POST", "/chat/completions", json=body).status_code == 200
    assert_envelope(stub_server.request("POST", "/chat/completions", json=body, faults="errors.no-server-error"), 500)
    assert (
        stub_server.request("POST", "/chat/completions", json=_CHAT, faults="errors.no-server-error").status_code == 200
    )


# --------------------------------------------------------------------------- multipart


def test_transcription_coerces_and_passes_fields(stub_server: StubServer) -> None:
    response = stub_server.request(
        "POST", "/audio/transcriptions", data={"model": "ref-whisper", "temperature": "0.5"}, files=_AUDIO
    )
    assert response.status_code == 200, response.text
    name, payload = _last_call(stub_server)
    assert name == "transcribe"
    assert payload == {"fields": {"model": "ref-whisper", "temperature": "0.5"}, "filename": "a.wav", "size": 12}


def test_translation_runs_the_translate_task(stub_server: StubServer) -> None:
    response = stub_server.request("POST", "/audio/translations", data={"model": "ref-whisper"}, files=_AUDIO)
    assert response.status_code == 200
    assert _last_call(stub_server)[0] == "translate"


def test_multipart_wrong_type_and_enum_get_400(stub_server: StubServer) -> None:
    for data, param in (({"temperature": "warm"}, "temperature"), ({"response_format": "docx"}, "response_format")):
        response = stub_server.request(
            "POST", "/audio/transcriptions", data={"model": "ref-whisper", **data}, files=_AUDIO
        )
        assert assert_envelope(response, 400)["param"] == param


def test_multipart_without_file_is_left_to_the_engine(stub_server: StubServer) -> None:
    response = stub_server.request(
        "POST", "/audio/transcriptions", data={"model": "ref-whisper"}, files={"other": ("a.wav", b"x", "audio/wav")}
    )
    assert assert_envelope(response, 400)["param"] == "file"


def test_multipart_needs_multipart_content_type(stub_server: StubServer) -> None:
    response = stub_server.request("POST", "/audio/transcriptions", json={"model": "ref-whisper"})
    assert_envelope(response, 415, "unsupported_media_type")
    response = stub_server.request(
        "POST", "/audio/transcriptions", content=b"x", headers={"Content-Type": "multipart/form-data"}
    )
    assert_envelope(response, 400, "invalid_multipart")


def test_multipart_unknown_model_gets_404(stub_server: StubServer) -> None:
    response = stub_server.request("POST", "/audio/transcriptions", data={"model": "nope"}, files=_AUDIO)
    assert_envelope(response, 404, "model_not_found")


# --------------------------------------------------------------------------- model check


def test_unknown_model_gets_404_model_not_found(stub_server: StubServer) -> None:
    error = assert_envelope(
        stub_server.request("POST", "/chat/completions", json={**_CHAT, "model": "nope"}), 404, "model_not_found"
    )
    assert error["param"] == "model"


def test_model_of_another_capability_gets_404(stub_server: StubServer) -> None:
    response = stub_server.request("POST", "/chat/completions", json={**_CHAT, "model": "ref-embed"})
    assert_envelope(response, 404, "model_not_found")


def test_optional_model_defaults_to_the_served_one(stub_server: StubServer) -> None:
    assert stub_server.request("POST", "/moderations", json={"input": "hi"}).status_code == 200
    assert _last_call(stub_server) == ("moderate", {"input": "hi", "model": "ref-moderation"})


def test_unknown_model_faults(stub_server: StubServer) -> None:
    body = {**_CHAT, "model": "nope"}
    served = stub_server.request("POST", "/chat/completions", json=body, faults="errors.unknown-model-rejected")
    assert served.status_code == 200
    assert _last_call(stub_server)[1]["model"] == "ref-chat"  # type: ignore[index]
    in_200 = stub_server.request("POST", "/chat/completions", json=body, faults="errors.no-error-in-2xx")
    assert in_200.status_code == 200 and in_200.json()["error"]["code"] == "model_not_found"
    assert_envelope(
        stub_server.request("POST", "/chat/completions", json=body, faults="errors.unknown-model-404"),
        400,
        "model_not_found",
    )
    assert (
        assert_envelope(
            stub_server.request("POST", "/chat/completions", json=body, faults="errors.unknown-model-code"), 404
        )["code"]
        is None
    )


# --------------------------------------------------------------------------- engine results


def test_engine_api_error_becomes_the_envelope(stub_server: StubServer) -> None:
    response = stub_server.request("POST", "/chat/completions", json={**_CHAT, "trigger": "api-error"})
    assert_envelope(response, 409, "stub_conflict")


def test_engine_bug_becomes_a_500_envelope(stub_server: StubServer, caplog: pytest.LogCaptureFixture) -> None:
    response = stub_server.request("POST", "/chat/completions", json={**_CHAT, "trigger": "bug"})
    error = assert_envelope(response, 500)
    assert error["type"] == "server_error"
    assert "stub engine bug" in caplog.text  # logged: a 500 of the reference is a bug


def test_binary_and_stream_results(stub_server: StubServer) -> None:
    speech = stub_server.request("POST", "/audio/speech", json={"model": "ref-tts", "input": "x", "voice": "alloy"})
    assert speech.headers["content-type"] == "audio/mpeg" and speech.content.startswith(b"ID3")
    stream = stub_server.request("POST", "/chat/completions", json={**_CHAT, "stream": True})
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.content == b"data: {}\n\ndata: [DONE]\n\n"


def test_images_get_an_absolute_public_base(stub_server: StubServer) -> None:
    assert stub_server.request("POST", "/images/generations", json={"prompt": "a cat"}).status_code == 200
    assert _last_call(stub_server)[1]["public_base"] == stub_server.root  # type: ignore[index]


def test_video_get_passes_the_task_id(stub_server: StubServer) -> None:
    assert stub_server.request("GET", "/video/generations/task-1").status_code == 200
    assert_envelope(stub_server.request("GET", "/video/generations/nope"), 404)


# --------------------------------------------------------------------------- envelope faults


def test_envelope_faults_bend_400_answers_only(stub_server: StubServer) -> None:
    def bad(fault: str) -> object:
        return stub_server.request("POST", "/chat/completions", json={"model": "ref-chat"}, faults=fault)

    shape = bad("errors.envelope-shape")
    assert shape.status_code == 400 and isinstance(shape.json()["error"], str)  # type: ignore[attr-defined]
    text = bad("errors.envelope-content-type")
    assert text.headers["content-type"].startswith("text/plain")  # type: ignore[attr-defined]
    assert text.json()["error"]["code"] == "missing_required_parameter"  # type: ignore[attr-defined]
    fields = bad("errors.envelope-fields-present")
    assert set(fields.json()["error"]) == {"message", "type"}  # type: ignore[attr-defined]
    for fault in ("errors.envelope-shape", "errors.envelope-content-type", "errors.envelope-fields-present"):
        assert_envelope(stub_server.request("GET", "/nope", faults=fault), 404, "not_found")
        assert_envelope(stub_server.request("GET", "/models", key="sk-unknown", faults=fault), 401)


def test_fault_documented_content_type_on_models_only(stub_server: StubServer) -> None:
    fault = "errors.documented-content-type"
    for path in ("/models", "/models/ref-chat"):
        response = stub_server.request("GET", path, faults=fault)
        assert response.headers["content-type"].startswith("text/html") and response.json()
    chat = stub_server.request("POST", "/chat/completions", json=_CHAT, faults=fault)
    assert chat.headers["content-type"] == "application/json"
    assert_envelope(stub_server.request("GET", "/nope", faults=fault), 404)


def test_fault_wrong_method(stub_server: StubServer) -> None:
    response = stub_server.request("PUT", "/models", faults="errors.wrong-method")
    assert response.status_code == 200 and response.json() == {}
    assert_envelope(stub_server.request("PUT", "/models", faults="errors.wrong-method-405"), 404)
