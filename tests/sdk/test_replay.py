"""Unit tests of conformance.sdk.replay on canned exchanges, every operation plain and streamed.

Each operation has one exchange the SDK parses, one it rejects and one it parses
differently (where the SDK can do each: it hands speech bytes back untouched, so a 2xx
speech reply can only parse). The replay never opens a socket: a test fails if it tries.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from conformance.model import Exchange
from conformance.sdk.outcome import Outcome
from conformance.sdk.replay import replay
from conformance.sse import parse_sse

BASE = "http://gateway.test/v1"
JSON = {"content-type": "application/json"}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any socket the replay opens fails the test: the lane never touches the network."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the replay tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def exchange(
    path: str,
    request: dict[str, Any] | None,
    body: object,
    *,
    status: int = 200,
    ctype: str = "application/json",
    method: str = "POST",
) -> Exchange:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Exchange(
        method=method,
        url=BASE + path,
        request_headers=JSON if request is not None else {},
        request_body=json.dumps(request).encode() if request is not None else None,
        status=status,
        response_headers={"content-type": ctype},
        body=raw,
    )


def streamed(path: str, request: dict[str, Any], payloads: list[object], *, named: bool = False) -> Exchange:
    lines = []
    for p in payloads:
        data = p if isinstance(p, str) else json.dumps(p)
        kind = f"event: {p['type']}\n" if named and isinstance(p, dict) else ""
        lines.append(f"{kind}data: {data}\n\n")
    raw = "".join(lines).encode()
    return Exchange(
        method="POST",
        url=BASE + path,
        request_headers=JSON,
        request_body=json.dumps(request).encode(),
        status=200,
        response_headers={"content-type": "text/event-stream"},
        sse=parse_sse(raw),
    )


# --- chat ---------------------------------------------------------------------------------

CHAT_REQ = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}


def completion(**message: Any) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


def tool_stream(continuation: dict[str, Any]) -> list[object]:
    head = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_w", "arguments": ""}}
    return [
        chunk({"role": "assistant", "tool_calls": [head]}),
        chunk({"tool_calls": [{"index": 0, **continuation, "function": {"arguments": '{"a":1}'}}]}),
        chunk({}, "tool_calls"),
        "[DONE]",
    ]


def test_chat_parses_with_an_optional_null_field() -> None:
    impact = replay(exchange("/chat/completions", CHAT_REQ, completion(content="hi", tool_calls=None)))
    assert impact.outcome is Outcome.PARSES
    assert impact.text() == "openai-python 3.51.0: parsed without error"


def test_chat_rejects_a_body_that_is_not_json() -> None:
    impact = replay(exchange("/chat/completions", CHAT_REQ, b"<html>oops</html>"))
    assert impact.outcome is Outcome.RAISES


def test_chat_choices_out_of_index_order_parse_differently() -> None:
    body = completion(content="first")
    second = {"index": 1, "message": {"role": "assistant", "content": "second"}, "finish_reason": "stop"}
    body["choices"] = [second, body["choices"][0]]
    impact = replay(exchange("/chat/completions", {**CHAT_REQ, "n": 2}, body))
    assert impact.outcome is Outcome.PARSES_DIFFERENTLY
    assert 'content: the wire says "first", the client read "second"' in impact.text()


def test_chat_stream_parses() -> None:
    payloads = [chunk({"role": "assistant", "content": "he"}), chunk({"content": "llo"}, "stop"), "[DONE]"]
    impact = replay(streamed("/chat/completions", {**CHAT_REQ, "stream": True}, payloads))
    assert impact.outcome is Outcome.PARSES


def test_chat_stream_repeated_type_parses() -> None:
    impact = replay(streamed("/chat/completions", {**CHAT_REQ, "stream": True}, tool_stream({"type": "function"})))
    assert impact.outcome is Outcome.PARSES


def test_chat_stream_repeated_id_parses_differently() -> None:
    impact = replay(streamed("/chat/completions", {**CHAT_REQ, "stream": True}, tool_stream({"id": "call_1"})))
    assert impact.outcome is Outcome.PARSES_DIFFERENTLY
    assert "tool_calls[0].id" in impact.text() and "call_1call_1" in impact.text()


def test_chat_stream_rejects_a_chunk_that_is_not_json() -> None:
    payloads = [chunk({"role": "assistant", "content": "he"}), "{not json", "[DONE]"]
    impact = replay(streamed("/chat/completions", {**CHAT_REQ, "stream": True}, payloads))
    assert impact.outcome is Outcome.RAISES


def test_chat_error_status_raises_the_status_error() -> None:
    envelope = {"error": {"message": "bad", "type": "invalid_request_error", "param": "max_tokens", "code": None}}
    impact = replay(exchange("/chat/completions", CHAT_REQ, envelope, status=400))
    assert impact.outcome is Outcome.RAISES
    assert impact.text() == "openai-python 3.51.0: raises BadRequestError: Error code: 400 - bad"


# --- responses ----------------------------------------------------------------------------

RESP_REQ = {"model": "m", "input": "hi", "max_output_tokens": 16}
MESSAGE_ITEM = {
    "type": "message",
    "id": "msg_1",
    "role": "assistant",
    "status": "completed",
    "content": [{"type": "output_text", "text": "hello", "annotations": []}],
}


def response_object(status: str = "completed", output: list[Any] | None = None) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1,
        "model": "m",
        "status": status,
        "output": [MESSAGE_ITEM] if output is None else output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
    }


def response_events(final: dict[str, Any] | None) -> list[object]:
    item = {**MESSAGE_ITEM, "status": "in_progress", "content": []}
    part = {"type": "output_text", "text": "", "annotations": []}
    where = {"item_id": "msg_1", "output_index": 0}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": response_object("in_progress", [])},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.content_part.added", **where, "content_index": 0, "part": part},
        {"type": "response.output_text.delta", **where, "content_index": 0, "delta": "hello", "logprobs": []},
        {"type": "response.output_text.done", **where, "content_index": 0, "text": "hello", "logprobs": []},
        {"type": "response.content_part.done", **where, "content_index": 0, "part": {**part, "text": "hello"}},
        {"type": "response.output_item.done", "output_index": 0, "item": MESSAGE_ITEM},
    ]
    if final is not None:
        events.append({"type": "response.completed", "response": final})
    return [{**e, "sequence_number": i} for i, e in enumerate(events)]


def test_responses_parses() -> None:
    assert replay(exchange("/responses", RESP_REQ, response_object())).outcome is Outcome.PARSES


def test_responses_rejects_null_output() -> None:
    impact = replay(exchange("/responses", RESP_REQ, {**response_object(), "output": None}))
    assert impact.outcome is Outcome.RAISES


def test_responses_parses_differently_when_a_usage_count_is_not_a_number() -> None:
    body = response_object()
    body["usage"]["input_tokens"] = "one"
    impact = replay(exchange("/responses", RESP_REQ, body))
    assert impact.outcome is Outcome.RAISES  # billing code adding the counts breaks
    assert "TypeError" in impact.text()


def test_responses_stream_parses() -> None:
    impact = replay(
        streamed("/responses", {**RESP_REQ, "stream": True}, response_events(response_object()), named=True)
    )
    assert impact.outcome is Outcome.PARSES, impact.text()


def test_responses_stream_without_completed_event_raises() -> None:
    impact = replay(streamed("/responses", {**RESP_REQ, "stream": True}, response_events(None), named=True))
    assert impact.outcome is Outcome.RAISES
    assert "response.completed" in impact.text()


def test_responses_stream_whose_final_text_differs_parses_differently() -> None:
    final = response_object(
        output=[{**MESSAGE_ITEM, "content": [{"type": "output_text", "text": "bye", "annotations": []}]}]
    )
    impact = replay(streamed("/responses", {**RESP_REQ, "stream": True}, response_events(final), named=True))
    assert impact.outcome is Outcome.PARSES_DIFFERENTLY, impact.text()
    assert "output_text" in impact.text()


def test_the_strict_pass_is_reported_beside_the_lenient_one() -> None:
    impact = replay(exchange("/chat/completions", CHAT_REQ, {**completion(content="hi"), "created": "yesterday"}))
    assert impact.outcome is Outcome.PARSES
    assert impact.strict is not None and impact.strict.outcome is Outcome.RAISES
    assert "parsed without error (strict validation: raises APIResponseValidationError" in impact.text()


# --- embeddings ---------------------------------------------------------------------------

EMB_REQ = {"model": "e", "input": ["a", "b"]}


def vectors(*items: tuple[int, list[float]]) -> dict[str, Any]:
    data = [{"object": "embedding", "index": i, "embedding": v} for i, v in items]
    return {"object": "list", "model": "e", "data": data, "usage": {"prompt_tokens": 2, "total_tokens": 2}}


def test_embeddings_parse() -> None:
    impact = replay(exchange("/embeddings", EMB_REQ, vectors((0, [1.0, 2.0]), (1, [0.5, 0.25]))))
    assert impact.outcome is Outcome.PARSES


def test_embeddings_of_strings_raise_for_a_caller_that_asked_floats() -> None:
    body = vectors((0, ["x"]), (1, [0.5]))  # type: ignore[list-item]
    assert replay(exchange("/embeddings", {**EMB_REQ, "encoding_format": "float"}, body)).outcome is Outcome.RAISES


def test_embeddings_with_nan_read_as_nan_parse() -> None:
    """NaN never equals itself: a client that read the wire's NaN as NaN read what the wire says."""
    import base64
    import struct

    packed = base64.b64encode(struct.pack("<2f", float("nan"), 0.5)).decode()
    body = vectors((0, packed), (1, packed))  # type: ignore[arg-type]
    impact = replay(exchange("/embeddings", {**EMB_REQ, "encoding_format": "base64"}, body))
    assert impact.outcome is Outcome.PARSES, impact.text()


def test_embeddings_out_of_index_order_parse_differently() -> None:
    impact = replay(exchange("/embeddings", EMB_REQ, vectors((1, [0.5, 0.25]), (0, [1.0, 2.0]))))
    assert impact.outcome is Outcome.PARSES_DIFFERENTLY
    assert "vectors[0]" in impact.text()


# --- images -------------------------------------------------------------------------------

IMG_REQ = {"model": "i", "prompt": "a cat", "response_format": "b64_json"}


def test_images_parse() -> None:
    assert replay(exchange("/images/generations", IMG_REQ, {"created": 1, "data": [{"b64_json": "aGk="}]})).outcome is (
        Outcome.PARSES
    )


def test_images_with_null_data_raise() -> None:
    assert replay(exchange("/images/generations", IMG_REQ, {"created": 1, "data": None})).outcome is Outcome.RAISES


def test_images_in_a_field_not_asked_for_parse_differently() -> None:
    body = {"created": 1, "data": [{"url": "https://img.example/1.png"}]}
    impact = replay(exchange("/images/generations", IMG_REQ, body))
    assert impact.outcome is Outcome.PARSES_DIFFERENTLY
    assert "the client read null" in impact.text()


# --- speech (bytes handed back untouched: a 2xx always parses) -----------------------------

SPEECH_REQ = {"model": "s", "input": "hi", "voice": "alloy"}


def test_speech_parses_and_never_shows_the_bytes() -> None:
    impact = replay(exchange("/audio/speech", SPEECH_REQ, b"\x00\xffID3 binary", ctype="audio/mpeg"))
    assert impact.outcome is Outcome.PARSES
    assert "\\x00" not in impact.text() and "ID3" not in impact.text()


def test_speech_error_status_raises_the_status_error() -> None:
    envelope = {"error": {"message": "no such voice", "type": "invalid_request_error", "param": "voice", "code": None}}
    impact = replay(exchange("/audio/speech", SPEECH_REQ, envelope, status=400))
    assert impact.outcome is Outcome.RAISES and "BadRequestError" in impact.text()


# --- transcription and translation (multipart requests) ----------------------------------

BOUNDARY = "b0undary"


def multipart(path: str, fields: dict[str, str], body: object, ctype: str) -> Exchange:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n".encode()
        + b"RIFF\x00\x01"
        + b"\r\n"
    )
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Exchange(
        method="POST",
        url=BASE + path,
        request_headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
        request_body=b"".join(parts) + f"--{BOUNDARY}--\r\n".encode(),
        status=200,
        response_headers={"content-type": ctype},
        body=raw,
    )


@pytest.mark.parametrize("path", ["/audio/transcriptions", "/audio/translations"])
def test_transcription_parses(path: str) -> None:
    impact = replay(multipart(path, {"model": "w"}, {"text": "hello"}, "application/json"))
    assert impact.outcome is Outcome.PARSES, impact.text()


@pytest.mark.parametrize("path", ["/audio/transcriptions", "/audio/translations"])
def test_transcription_without_text_raises(path: str) -> None:
    impact = replay(multipart(path, {"model": "w"}, {"text": 5}, "application/json"))
    assert impact.outcome is Outcome.RAISES


@pytest.mark.parametrize("path", ["/audio/transcriptions", "/audio/translations"])
def test_transcription_json_under_a_text_format_parses_differently(path: str) -> None:
    impact = replay(multipart(path, {"model": "w", "response_format": "text"}, {"text": "hello"}, "application/json"))
    assert impact.outcome is Outcome.PARSES_DIFFERENTLY, impact.text()


# --- moderations --------------------------------------------------------------------------

MOD_REQ = {"model": "mod", "input": "x"}


def moderation(flagged: object, **categories: object) -> dict[str, Any]:
    result = {"flagged": flagged, "categories": categories, "category_scores": dict.fromkeys(categories, 0.5)}
    return {"id": "modr-1", "model": "mod", "results": [result]}


def test_moderations_parse() -> None:
    assert replay(exchange("/moderations", MOD_REQ, moderation(True, violence=True))).outcome is Outcome.PARSES


def test_moderations_that_are_not_json_raise() -> None:
    assert replay(exchange("/moderations", MOD_REQ, b"<html>busy</html>")).outcome is Outcome.RAISES


def test_moderations_flag_as_a_string_parses_differently() -> None:
    impact = replay(exchange("/moderations", MOD_REQ, moderation("false", violence=False)))
    assert impact.outcome is Outcome.PARSES_DIFFERENTLY
    assert "flagged" in impact.text()


# --- models (the SDK hands decoded values through: every divergence raises) ----------------


def test_models_list_parses() -> None:
    body = {"object": "list", "data": [{"id": "a", "object": "model", "created": 1, "owned_by": "x"}]}
    assert replay(exchange("/models", None, body, method="GET")).outcome is Outcome.PARSES


def test_models_list_with_null_data_raises() -> None:
    assert replay(exchange("/models", None, {"object": "list", "data": None}, method="GET")).outcome is Outcome.RAISES


def test_model_retrieve_parses_and_a_numeric_id_raises() -> None:
    good = {"id": "a", "object": "model", "created": 1, "owned_by": "x"}
    assert replay(exchange("/models/a", None, good, method="GET")).outcome is Outcome.PARSES
    assert replay(exchange("/models/a", None, {**good, "id": 5}, method="GET")).outcome is Outcome.RAISES


# --- not covered --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "request_body"),
    [
        ("/rerank", {"model": "r", "query": "q", "documents": ["a"]}),
        ("/video/generations", {"model": "v", "prompt": "p"}),
        ("/chat/completions", {"messages": []}),  # no model: a request the SDK would not send
    ],
)
def test_operations_and_requests_the_sdk_has_no_call_for_are_not_covered(
    path: str, request_body: dict[str, Any]
) -> None:
    impact = replay(exchange(path, request_body, {"ok": True}))
    assert impact.outcome is Outcome.NOT_COVERED
    assert impact.strict is None


def test_a_body_sent_as_text_plain_is_not_covered() -> None:
    ex = Exchange("POST", BASE + "/chat/completions", {"content-type": "text/plain"}, b"{}", 200, JSON, b"{}")
    assert replay(ex).outcome is Outcome.NOT_COVERED
