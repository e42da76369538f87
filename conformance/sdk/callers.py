"""The fixed "typical caller" per operation: the SDK call the test made, and what apps read.

Each caller gets an ``openai.OpenAI`` client (already bound to the recorded bytes) and the
parameters of the recorded request, repeats the call, and reads what applications read:
message content and tool calls, usage, embedding vectors, image data, a transcription's
text. Streams are accumulated with the SDK's own stream helpers. The shape returned matches
:mod:`conformance.sdk.wire`, so the two compare field by field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from conformance.sdk.wire import CHAT_USAGE, EMBEDDINGS_USAGE, RESPONSES_USAGE, Read, decode_vector

Params = Mapping[str, Any]
Caller = Callable[[Any, Params], Read]

# The parameters each call takes by name; everything else of the recorded body rides in
# ``extra_body`` so the SDK sends it without typing it (the reply is recorded anyway).
_NAMED: dict[str, tuple[str, ...]] = {
    "chat": ("model", "messages"),
    "responses": ("model", "input"),
    "embeddings": ("model", "input", "encoding_format"),
    "images": ("model", "prompt"),
    "speech": ("model", "input", "voice"),
    "moderations": ("model", "input"),
}


def _split(operation: str, params: Params) -> dict[str, Any]:
    named = _NAMED[operation]
    kwargs: dict[str, Any] = {k: params[k] for k in named if k in params}
    extra = {k: v for k, v in params.items() if k not in named and k != "stream"}
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


def _text(value: Any) -> Any:
    """Use a text field as text, the way an application does (a non-string raises here)."""
    return value if value is None else "" + value


def _count(value: Any) -> Any:
    """Use a token count as a number, the way billing code does (a non-number raises here)."""
    return value if value is None else 0 + value


def _usage(usage: Any, keys: tuple[str, ...]) -> list[Any] | None:
    return None if usage is None else [_count(getattr(usage, key, None)) for key in keys]


def _chat_read(completion: Any) -> Read:
    choice = completion.choices[0]
    message = choice.message
    calls = [
        {"id": _text(c.id), "name": _text(c.function.name), "arguments": _text(c.function.arguments)}
        for c in (message.tool_calls or [])
    ]
    return {
        "content": _text(message.content),
        "tool_calls": calls,
        "finish_reason": choice.finish_reason,
        "usage": _usage(completion.usage, CHAT_USAGE),
    }


def chat(client: Any, params: Params) -> Read:
    """``chat.completions.create``: content, tool calls, finish reason, usage."""
    return _chat_read(client.chat.completions.create(**_split("chat", params)))


def chat_stream(client: Any, params: Params) -> Read:
    """``chat.completions.stream`` consumed to the end, then ``get_final_completion()``."""
    with client.chat.completions.stream(**_split("chat", params)) as stream:
        for _event in stream:
            pass
        return _chat_read(stream.get_final_completion())


def _response_read(response: Any) -> Read:
    calls = [
        {"call_id": _text(item.call_id), "name": _text(item.name), "arguments": _text(item.arguments)}
        for item in (response.output or [])
        if getattr(item, "type", None) == "function_call"
    ]
    return {
        "output_text": response.output_text,
        "function_calls": calls,
        "status": response.status,
        "usage": _usage(response.usage, RESPONSES_USAGE),
    }


def responses(client: Any, params: Params) -> Read:
    """``responses.create``: ``output_text``, function calls, status, usage."""
    return _response_read(client.responses.create(**_split("responses", params)))


def responses_stream(client: Any, params: Params) -> Read:
    """``responses.stream`` consumed to the end, then ``get_final_response()``."""
    with client.responses.stream(**_split("responses", params)) as stream:
        for _event in stream:
            pass
        return _response_read(stream.get_final_response())


def embeddings(client: Any, params: Params) -> Read:
    """``embeddings.create``: every vector and the usage."""
    result = client.embeddings.create(**_split("embeddings", params))
    asked_base64 = params.get("encoding_format") == "base64"
    return {
        # Vectors in list order, as applications zip them with their inputs; an application
        # that asked for base64 decodes it itself, otherwise the SDK hands floats.
        "vectors": [
            decode_vector(item.embedding) if asked_base64 else [0.0 + x for x in item.embedding] for item in result.data
        ],
        "usage": _usage(result.usage, EMBEDDINGS_USAGE),
    }


def images(client: Any, params: Params) -> Read:
    """``images.generate``: each image's data, read from the field the request asked for."""
    result = client.images.generate(**_split("images", params))
    asked = params.get("response_format")
    if asked == "b64_json":
        return {"images": [_text(item.b64_json) for item in result.data]}
    if asked == "url":
        return {"images": [_text(item.url) for item in result.data]}
    return {"images": [_text(item.b64_json or item.url) for item in result.data]}


def speech(client: Any, params: Params) -> Read:
    """``audio.speech.create``: the audio bytes (compared by length and digest only)."""
    audio: bytes = client.audio.speech.create(**_split("speech", params)).content
    return audio_digest(audio)


def audio_digest(audio: bytes) -> Read:
    """Bytes as something a report may show: their length and SHA-256, never the bytes."""
    return {"audio": f"{len(audio)} bytes, sha256 {hashlib.sha256(audio).hexdigest()[:16]}"}


def _transcribe(method: Any, params: Params) -> Read:
    kwargs: dict[str, Any] = {"model": params.get("model"), "file": ("audio", params.get("file", b""))}
    if params.get("response_format"):
        kwargs["response_format"] = params["response_format"]
    result = method(**kwargs)
    return {"text": _text(result if isinstance(result, str) else result.text)}


def transcription(client: Any, params: Params) -> Read:
    """``audio.transcriptions.create``: the text."""
    return _transcribe(client.audio.transcriptions.create, params)


def translation(client: Any, params: Params) -> Read:
    """``audio.translations.create``: the text."""
    return _transcribe(client.audio.translations.create, params)


def moderations(client: Any, params: Params) -> Read:
    """``moderations.create``: each result's flag and true categories."""
    result = client.moderations.create(**_split("moderations", params))
    out = []
    for item in result.results:
        marked = item.categories.model_dump(by_alias=True) if item.categories is not None else {}
        # ``if result.flagged:`` is how applications read it, so a truthy string counts as flagged.
        out.append({"flagged": bool(item.flagged), "categories": sorted(k for k, v in marked.items() if v)})
    return {"results": out}


def models_list(client: Any, params: Params) -> Read:
    """``models.list``: the ids of the first page."""
    return {"ids": [_text(m.id) for m in client.models.list().data]}


def model(client: Any, params: Params) -> Read:
    """``models.retrieve``: the id."""
    return {"id": _text(client.models.retrieve(params["model"]).id)}


def error(exc: Any) -> Read:
    """What an error handler reads from an ``APIStatusError``: status, message, type, code, param."""
    body = exc.body if isinstance(exc.body, Mapping) else {}
    return {
        "status": exc.status_code,
        "message": body.get("message"),
        "type": exc.type,
        "code": exc.code,
        "param": exc.param,
    }
