"""The script table of the scripted upstream: what it answers to a marked request.

Owns ``Script`` (status, usage, tool calls, error, Retry-After, delay, and the stream plan
slot part 2 fills), ``SCRIPTS`` (name -> script) and ``render`` (the answer of a script to
one request of one operation). The usage numbers are distinct and odd, so a gateway that
invents or recomputes usage shows. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

#: Usage the upstream reports per operation (distinct odd values; details included).
CHAT_USAGE: Final[Mapping[str, Any]] = {
    "prompt_tokens": 37, "completion_tokens": 23, "total_tokens": 60,
    "prompt_tokens_details": {"cached_tokens": 11}, "completion_tokens_details": {"reasoning_tokens": 7},
}
RESPONSES_USAGE: Final[Mapping[str, Any]] = {
    "input_tokens": 41, "output_tokens": 19, "total_tokens": 60,
    "input_tokens_details": {"cached_tokens": 13}, "output_tokens_details": {"reasoning_tokens": 5},
}
EMBEDDINGS_USAGE: Final[Mapping[str, Any]] = {"prompt_tokens": 29, "total_tokens": 29}
#: The Retry-After (seconds) of the ``error-429`` script.
RETRY_AFTER: Final[int] = 3
#: The provider error code of the ``error-400`` script.
PROVIDER_CODE: Final[str] = "nxc_upstream_invalid_value"


@dataclass(frozen=True)
class Script:
    """How the upstream answers one marked request.

    Attributes:
        name: the name a marker selects.
        status: the HTTP status of the answer.
        usage: whether a 200 answer reports usage.
        tools: whether a chat answer is a tool call.
        error_type, error_code: the error envelope fields of an error answer.
        retry_after: the Retry-After header (seconds) of the answer, if any.
        delay: seconds before the first byte (``slow``: the app's slow delay is used).
        stream: the stream plan (part 2 of the lane: cut, stall, ...); None = a clean stream.
    """

    name: str
    status: int = 200
    usage: bool = True
    tools: bool = False
    error_type: str = "invalid_request_error"
    error_code: str | None = None
    retry_after: int | None = None
    delay: bool = False
    stream: str | None = None


SCRIPTS: Final[Mapping[str, Script]] = {s.name: s for s in (
    Script("answer"),
    Script("no-usage", usage=False),
    Script("tools", tools=True),
    Script("error-400", 400, error_code=PROVIDER_CODE),
    Script("error-401", 401, error_type="authentication_error", error_code="invalid_api_key"),
    Script("error-403", 403, error_type="permission_error", error_code="access_denied"),
    Script("error-404", 404, error_code="model_not_found"),
    Script("error-429", 429, error_type="rate_limit_error", error_code="rate_limit_exceeded",
           retry_after=RETRY_AFTER),
    Script("error-500", 500, error_type="server_error"),
    Script("error-503", 503, error_type="server_error", error_code="overloaded"),
    Script("slow", delay=True),
)}


def error_message(script: Script, marker: str) -> str:
    """The upstream's error message for ``script`` (carries the marker: a relay must keep it)."""
    return f"nxc upstream {script.name} for {marker}: scripted failure"


def render(script: Script, operation: str, body: Mapping[str, Any], marker: str) -> dict[str, Any]:
    """The JSON answer of ``script`` to a request of ``operation`` (chat, responses, embeddings).

    Error scripts give the error envelope; the rest the operation's answer, whose content,
    ids and tool calls carry ``marker`` so that answers to concurrent requests differ.
    """
    if script.status >= 400:
        return {"error": {"message": error_message(script, marker), "type": script.error_type,
                          "param": None, "code": script.error_code}}
    if operation == "responses":
        return _responses(script, body, marker)
    if operation == "embeddings":
        return _embeddings(script, body)
    return _chat(script, body, marker)


def render_stream(script: Script, body: Mapping[str, Any], marker: str) -> list[bytes]:
    """The SSE events of a streamed chat answer of ``script`` (a clean stream: part 2 of the
    lane adds the faulted plans ``Script.stream`` names). The content carries ``marker``;
    usage comes last when the request asks for it (``stream_options.include_usage``)."""
    plain = _chat(script, body, marker)
    base = {k: plain[k] for k in ("id", "created", "model", "system_fingerprint")}
    base["object"] = "chat.completion.chunk"
    text = str(plain["choices"][0]["message"]["content"] or "")
    third = max(len(text) // 3, 1)
    pieces = [text[i:i + third] for i in range(0, len(text), third)]
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}, *({"content": p} for p in pieces)]
    events = [{**base, "choices": [{"index": 0, "delta": d, "logprobs": None, "finish_reason": None}]}
              for d in deltas]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]})
    options = body.get("stream_options")
    if script.usage and isinstance(options, Mapping) and options.get("include_usage"):
        events.append({**base, "choices": [], "usage": _copy(CHAT_USAGE)})
    frames = [b"data: " + json.dumps(e, separators=(",", ":")).encode() + b"\n\n" for e in events]
    return [*frames, b"data: [DONE]\n\n"]


def answer_id(prefix: str, marker: str) -> str:
    """A stable id derived from the marker (the client must see it unchanged)."""
    return f"{prefix}-{hashlib.sha256(marker.encode()).hexdigest()[:20]}"


def _chat(script: Script, body: Mapping[str, Any], marker: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": f"Scripted answer to {marker}.", "refusal": None}
    finish = "stop"
    if script.tools:
        message["content"] = None
        message["tool_calls"] = [{
            "id": answer_id("call", marker), "type": "function",
            "function": {"name": _tool_name(body), "arguments": '{"city":"Paris","unit":"celsius"}'},
        }]
        finish = "tool_calls"
    answer: dict[str, Any] = {
        "id": answer_id("chatcmpl-nxc", marker), "object": "chat.completion", "created": 1_767_225_601,
        "model": str(body.get("model", "")), "system_fingerprint": "fp_nxc_upstream",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
    }
    if script.usage:
        answer["usage"] = _copy(CHAT_USAGE)
    return answer


def _tool_name(body: Mapping[str, Any]) -> str:
    tools = body.get("tools")
    if isinstance(tools, list) and tools and isinstance(tools[0], dict):
        function = tools[0].get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            return str(function["name"])
    return "get_weather"


def _responses(script: Script, body: Mapping[str, Any], marker: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "id": answer_id("resp_nxc", marker), "object": "response", "created_at": 1_767_225_601,
        "status": "completed", "model": str(body.get("model", "")),
        "output": [{
            "type": "message", "id": answer_id("msg_nxc", marker), "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": f"Scripted answer to {marker}.", "annotations": []}],
        }],
    }
    if script.usage:
        answer["usage"] = _copy(RESPONSES_USAGE)
    return answer


def _embeddings(script: Script, body: Mapping[str, Any]) -> dict[str, Any]:
    value = body.get("input")
    items = value if isinstance(value, list) and value and not isinstance(value[0], int) else [value]
    asked = body.get("dimensions")
    dims = asked if isinstance(asked, int) else 8
    data = [{"object": "embedding", "index": i, "embedding": _vector(repr(item), dims)}
            for i, item in enumerate(items)]
    answer: dict[str, Any] = {"object": "list", "data": data, "model": str(body.get("model", ""))}
    if script.usage:
        answer["usage"] = _copy(EMBEDDINGS_USAGE)
    return answer


def _vector(seed: str, dims: int) -> list[float]:
    digest = hashlib.sha256(seed.encode()).digest()
    values = [(digest[i % len(digest)] - 127.5) / 128 for i in range(max(dims, 1))]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [round(v / norm, 6) for v in values]


def _copy(usage: Mapping[str, Any]) -> dict[str, Any]:
    return {k: dict(v) if isinstance(v, Mapping) else v for k, v in usage.items()}
