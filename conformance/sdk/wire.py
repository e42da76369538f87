"""What the recorded bytes say, read the way the typical caller reads them, without the SDK.

Each function takes the decoded response (a JSON value, or the SSE events' JSON payloads)
and returns the same plain shape the matching caller in :mod:`conformance.sdk.callers`
returns, so the two can be compared field by field. Accumulation of streams follows the
wire contract: a tool call's ``id`` and ``function.name`` are the first ones sent, its
``arguments`` are the concatenation of every fragment.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterable, Mapping
from typing import Any

Read = dict[str, Any]


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _usage(usage: object, keys: tuple[str, ...]) -> list[Any] | None:
    if not isinstance(usage, Mapping):
        return None
    return [usage.get(key) for key in keys]


CHAT_USAGE = ("prompt_tokens", "completion_tokens", "total_tokens")
RESPONSES_USAGE = ("input_tokens", "output_tokens", "total_tokens")
EMBEDDINGS_USAGE = ("prompt_tokens", "total_tokens")


def chat(body: object) -> Read:
    """Choice 0's content, tool calls and finish reason, and the usage."""
    data = _map(body)
    choices = [_map(c) for c in _list(data.get("choices"))]
    # The first choice is the one with index 0 (the contract), wherever the list puts it.
    choice = next((c for c in choices if c.get("index") == 0), choices[0] if choices else {})
    message = _map(choice.get("message"))
    calls = [
        {
            "id": _map(c).get("id"),
            "name": _map(_map(c).get("function")).get("name"),
            "arguments": _map(_map(c).get("function")).get("arguments"),
        }
        for c in _list(message.get("tool_calls"))
    ]
    return {
        "content": message.get("content"),
        "tool_calls": calls,
        "finish_reason": choice.get("finish_reason"),
        "usage": _usage(data.get("usage"), CHAT_USAGE),
    }


def chat_stream(chunks: Iterable[object]) -> Read:
    """The chunks of the first choice accumulated as the wire contract means them."""
    content: str | None = None
    calls: dict[int, dict[str, Any]] = {}
    finish: object = None
    usage: object = None
    for chunk in chunks:
        data = _map(chunk)
        if data.get("usage") is not None:
            usage = data.get("usage")
        for choice in _list(data.get("choices")):
            choice = _map(choice)
            if choice.get("index", 0) != 0:
                continue
            delta = _map(choice.get("delta"))
            if isinstance(delta.get("content"), str):
                content = (content or "") + delta["content"]
            for call in _list(delta.get("tool_calls")):
                call = _map(call)
                slot = calls.setdefault(int(call.get("index", 0)), {"id": None, "name": None, "arguments": ""})
                function = _map(call.get("function"))
                if slot["id"] is None and call.get("id"):
                    slot["id"] = call["id"]
                if slot["name"] is None and function.get("name"):
                    slot["name"] = function["name"]
                if isinstance(function.get("arguments"), str):
                    slot["arguments"] += function["arguments"]
            if choice.get("finish_reason") is not None:
                finish = choice.get("finish_reason")
    return {
        "content": content,
        "tool_calls": [calls[i] for i in sorted(calls)],
        "finish_reason": finish,
        "usage": _usage(usage, CHAT_USAGE),
    }


def response(body: object) -> Read:
    """A Responses object: its output text, function calls, status and usage."""
    data = _map(body)
    text = ""
    calls = []
    for item in _list(data.get("output")):
        item = _map(item)
        if item.get("type") == "message":
            for part in _list(item.get("content")):
                part = _map(part)
                if part.get("type") == "output_text" and isinstance(part.get("text"), str):
                    text += part["text"]
        elif item.get("type") == "function_call":
            calls.append({"call_id": item.get("call_id"), "name": item.get("name"), "arguments": item.get("arguments")})
    return {
        "output_text": text,
        "function_calls": calls,
        "status": data.get("status"),
        "usage": _usage(data.get("usage"), RESPONSES_USAGE),
    }


def response_stream(events: Iterable[object]) -> Read | None:
    """The final response of a Responses stream (its ``response.completed``), if any.

    Its ``output_text`` is the text the deltas streamed (what a streaming UI showed), when
    the stream sent any: a final event that disagrees with its own deltas is caught here.
    """
    final: object = None
    streamed: str | None = None
    for event in events:
        data = _map(event)
        if data.get("type") == "response.completed":
            final = data.get("response")
        elif data.get("type") == "response.output_text.delta" and isinstance(data.get("delta"), str):
            streamed = (streamed or "") + data["delta"]
    if final is None:
        return None
    read = response(final)
    if streamed is not None:
        read["output_text"] = streamed
    return read


def decode_vector(value: object) -> list[float]:
    """An embedding as floats: a JSON array, or base64 of little-endian float32."""
    if isinstance(value, str):
        raw = base64.b64decode(value)
        return list(struct.unpack(f"<{len(raw) // 4}f", raw[: len(raw) // 4 * 4]))
    return [float(x) for x in _list(value)]


def embeddings(body: object) -> Read:
    """Every vector in the order of the inputs (by ``index``), and the usage."""
    data = _map(body)
    items = [_map(item) for item in _list(data.get("data"))]
    if all(isinstance(item.get("index"), int) for item in items):
        items.sort(key=lambda item: int(item["index"]))  # the contract: ``index`` is the input's position
    return {
        "vectors": [decode_vector(item.get("embedding")) for item in items],
        "usage": _usage(data.get("usage"), EMBEDDINGS_USAGE),
    }


def images(body: object) -> Read:
    """Each image's base64 data or URL."""
    return {"images": [_map(i).get("b64_json") or _map(i).get("url") for i in _list(_map(body).get("data"))]}


def moderations(body: object) -> Read:
    """Each result's flag and the categories it marks true."""
    results = []
    for result in _list(_map(body).get("results")):
        result = _map(result)
        categories = sorted(k for k, v in _map(result.get("categories")).items() if v is True)
        results.append({"flagged": result.get("flagged") is True, "categories": categories})
    return {"results": results}


def models_list(body: object) -> Read:
    """The listed model ids."""
    return {"ids": [_map(m).get("id") for m in _list(_map(body).get("data"))]}


def model(body: object) -> Read:
    """The retrieved model's id."""
    return {"id": _map(body).get("id")}


def transcription(body: bytes, content_type: str) -> Read:
    """The text of a transcription or translation (JSON ``text``, or the body as text)."""
    if content_type == "application/json":
        import json

        return {"text": _map(json.loads(body)).get("text")}
    return {"text": body.decode("utf-8", errors="replace")}


def error(body: object, status: int) -> Read:
    """What an error handler reads: the status and the envelope's message, type, code, param."""
    envelope = _map(_map(body).get("error"))
    return {
        "status": status,
        "message": envelope.get("message"),
        "type": envelope.get("type"),
        "code": None if envelope.get("code") is None else str(envelope.get("code")),
        "param": envelope.get("param"),
    }
