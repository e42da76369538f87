"""Replay one recorded exchange through the SDK and say what its typical caller experienced.

The recorded status, headers and bytes are served to an ``openai.OpenAI`` client through an
``httpx2.MockTransport`` (the SDK's own HTTP client; ``max_retries=0``): no request ever leaves the process and nothing
is sent twice. The lenient pass (the SDK's default, what users run) decides the outcome; a
strict pass (``_strict_response_validation=True``) is reported beside it.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.parser import BytesParser
from typing import Any
from urllib.parse import urlsplit

import httpx2

from conformance.model import Exchange
from conformance.sdk import callers, wire
from conformance.sdk.outcome import ClientImpact, Outcome, PassResult, clip
from conformance.sdk.wire import Read

_BASE = "http://replay.invalid/v1"
_SHOW = 100


@dataclass(frozen=True)
class Operation:
    """An operation the SDK has a call for: the typical caller and the wire reading."""

    name: str
    caller: callers.Caller
    wire: Callable[[Exchange], Read | None]
    required: tuple[str, ...]  # request fields the SDK call cannot do without


def _json_body(exchange: Exchange) -> Any:
    return json.loads(exchange.body)


def _events(exchange: Exchange) -> list[Any]:
    if exchange.sse is None:
        raise ValueError("no event stream")
    out = []
    for event in exchange.sse.events:
        if event.data.strip() == "[DONE]":
            continue
        try:
            out.append(event.json())
        except ValueError:
            out.append(None)
    return out


def _text(exchange: Exchange) -> Read:
    return wire.transcription(exchange.body, exchange.content_type)


_OPERATIONS: dict[str, Operation] = {
    "chat": Operation("chat", callers.chat, lambda ex: wire.chat(_json_body(ex)), ("model", "messages")),
    "chat-stream": Operation(
        "chat-stream", callers.chat_stream, lambda ex: wire.chat_stream(_events(ex)), ("model", "messages")
    ),
    "responses": Operation("responses", callers.responses, lambda ex: wire.response(_json_body(ex)), ("model",)),
    "responses-stream": Operation(
        "responses-stream", callers.responses_stream, lambda ex: wire.response_stream(_events(ex)), ("model",)
    ),
    "embeddings": Operation(
        "embeddings", callers.embeddings, lambda ex: wire.embeddings(_json_body(ex)), ("model", "input")
    ),
    "images": Operation("images", callers.images, lambda ex: wire.images(_json_body(ex)), ("prompt",)),
    "speech": Operation(
        "speech", callers.speech, lambda ex: callers.audio_digest(ex.body), ("model", "input", "voice")
    ),
    "transcription": Operation("transcription", callers.transcription, _text, ("model", "file")),
    "translation": Operation("translation", callers.translation, _text, ("model", "file")),
    "moderations": Operation(
        "moderations", callers.moderations, lambda ex: wire.moderations(_json_body(ex)), ("input",)
    ),
    "models-list": Operation("models-list", callers.models_list, lambda ex: wire.models_list(_json_body(ex)), ()),
    "model": Operation("model", callers.model, lambda ex: wire.model(_json_body(ex)), ("model",)),
}

_JSON_PATHS = {
    "/chat/completions": "chat",
    "/responses": "responses",
    "/embeddings": "embeddings",
    "/images/generations": "images",
    "/audio/speech": "speech",
    "/moderations": "moderations",
}
_MULTIPART_PATHS = {"/audio/transcriptions": "transcription", "/audio/translations": "translation"}


def _request_type(exchange: Exchange) -> str:
    for name, value in exchange.request_headers.items():
        if name.lower() == "content-type":
            return value
    return ""


def _multipart_fields(exchange: Exchange) -> dict[str, Any] | None:
    ctype = _request_type(exchange)
    if not ctype.lower().startswith("multipart/form-data") or not exchange.request_body:
        return None
    message = BytesParser().parsebytes(f"Content-Type: {ctype}\r\n\r\n".encode() + exchange.request_body)
    if not message.is_multipart():
        return None
    fields: dict[str, Any] = {}
    for part in message.get_payload():
        if isinstance(part, str):
            continue
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        fields[name] = payload if name == "file" else payload.decode("utf-8", errors="replace")
    return fields


def classify(exchange: Exchange) -> tuple[Operation | None, dict[str, Any], str]:
    """The operation, the call's parameters, or (None, {}, why it is not covered)."""
    path = urlsplit(exchange.url).path.rstrip("/")
    method = exchange.method.upper()
    if method == "GET" and path.endswith("/models"):
        return _OPERATIONS["models-list"], {}, ""
    if method == "GET" and "/models/" in path:
        return _OPERATIONS["model"], {"model": path.rsplit("/models/", 1)[1]}, ""
    for suffix, name in _MULTIPART_PATHS.items():
        if path.endswith(suffix) and method == "POST":
            fields = _multipart_fields(exchange)
            if fields is None or not all(k in fields for k in _OPERATIONS[name].required):
                return None, {}, "a request the SDK would not send"
            return _OPERATIONS[name], fields, ""
    for suffix, name in _JSON_PATHS.items():
        if path.endswith(suffix) and method == "POST":
            return _json_operation(exchange, name)
    return None, {}, f"the SDK has no call for {method} {path.rsplit('/v1', 1)[-1] or path}"


def _json_operation(exchange: Exchange, name: str) -> tuple[Operation | None, dict[str, Any], str]:
    if "json" not in _request_type(exchange).lower():
        return None, {}, "a request the SDK would not send (not a JSON body)"
    try:
        params = json.loads(exchange.request_body or b"")
    except ValueError:
        return None, {}, "a request the SDK would not send (malformed JSON)"
    if not isinstance(params, dict) or not all(k in params for k in _OPERATIONS[name].required):
        return None, {}, "a request the SDK would not send (required parameters missing)"
    streamed = params.get("stream") is True or exchange.sse is not None
    if name in ("chat", "responses") and streamed:
        name = f"{name}-stream"
    if name.startswith("chat") and not isinstance(params.get("messages"), list):
        return None, {}, "a request the SDK would not send (messages is not a list)"
    return _OPERATIONS[name], params, ""


def _serve(exchange: Exchange) -> Callable[[httpx2.Request], httpx2.Response]:
    content = exchange.sse.raw if exchange.sse is not None and exchange.sse.raw else exchange.body
    headers = {
        k: v
        for k, v in exchange.response_headers.items()
        if k.lower() not in ("content-length", "content-encoding", "transfer-encoding", "connection")
    }

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(exchange.status or 0, headers=headers, content=content)

    return handler


def _client(exchange: Exchange, *, strict: bool) -> Any:
    import openai

    http = httpx2.Client(transport=httpx2.MockTransport(_serve(exchange)))
    return openai.OpenAI(
        api_key="replay",
        base_url=_BASE,
        max_retries=0,
        timeout=5.0,
        http_client=http,
        _strict_response_validation=strict,
    )


def _show(value: object) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= _SHOW else f"<{len(text)} chars, starting {text[:24]!r}>"


def _difference(wire_read: object, client_read: object, where: str = "") -> str | None:
    """The first place the two readings disagree, as ``where: wire X, client read Y``."""
    if isinstance(wire_read, Mapping) and isinstance(client_read, Mapping):
        for key in wire_read:
            found = _difference(wire_read[key], client_read.get(key), f"{where}.{key}" if where else str(key))
            if found:
                return found
        return None
    if isinstance(wire_read, list) and isinstance(client_read, list) and len(wire_read) == len(client_read):
        for i, (a, b) in enumerate(zip(wire_read, client_read, strict=True)):
            found = _difference(a, b, f"{where}[{i}]")
            if found:
                return found
        return None
    if wire_read == client_read or _same_number(wire_read, client_read) or _both_nan(wire_read, client_read):
        return None
    return f"{where or 'value'}: the wire says {_show(wire_read)}, the client read {_show(client_read)}"


def _cause(exc: BaseException) -> str:
    """Where a validation error points (its first location), without the offending value."""
    errors = getattr(exc.__cause__, "errors", None)
    if not callable(errors):
        return ""
    try:
        first = errors()[0]
    except (IndexError, TypeError, ValueError):
        return ""
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f" ({where}: {first.get('msg', '')})"


def _both_nan(wire_value: object, client_value: object) -> bool:
    """NaN read as NaN: the client read what the wire says (NaN never equals itself)."""
    return isinstance(wire_value, float) and isinstance(client_value, float) and \
        math.isnan(wire_value) and math.isnan(client_value)


def _same_number(wire_value: object, client_value: object) -> bool:
    """A number sent as a string that the client coerced to that number loses nothing."""
    if isinstance(wire_value, str) and isinstance(client_value, int | float) and not isinstance(client_value, bool):
        try:
            return float(wire_value) == float(client_value)
        except ValueError:
            return False
    return False


def _one_pass(exchange: Exchange, operation: Operation, params: Mapping[str, Any], *, strict: bool) -> PassResult:
    import openai

    client = _client(exchange, strict=strict)
    status = exchange.status or 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            read = operation.caller(client, params)
    except openai.APIStatusError as exc:
        if status < 400:
            return PassResult(Outcome.RAISES, clip(f"{type(exc).__name__}: {exc}"))
        wire_read = wire.error(_safe_json(exchange.body), status)
        found = _difference(wire_read, callers.error(exc))
        if found:
            return PassResult(Outcome.PARSES_DIFFERENTLY, clip(found))
        # An error status always raises: the caller's code takes its error path. Whether that is
        # right is the violation's to say; the impact says what the caller got.
        return PassResult(Outcome.RAISES, clip(f"{type(exc).__name__}: {exc}"))
    except Exception as exc:  # noqa: BLE001 - any exception is what the caller would see
        return PassResult(Outcome.RAISES, clip(f"{type(exc).__name__}: {exc}{_cause(exc)}"))
    finally:
        client.close()
    if status >= 400:
        return PassResult(Outcome.PARSES_DIFFERENTLY, f"status {status} returned a result instead of raising")
    try:
        carried = operation.wire(exchange)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        return PassResult(Outcome.PARSES_DIFFERENTLY, clip(f"the client read a result the wire does not carry ({exc})"))
    if carried is None:
        return PassResult(Outcome.PARSES_DIFFERENTLY, "the client read a result the wire does not carry")
    found = _difference(carried, read)
    return PassResult(Outcome.PARSES_DIFFERENTLY, clip(found)) if found else PassResult(Outcome.PARSES)


def _safe_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def sdk_version() -> str:
    """The installed SDK's version."""
    import openai

    return str(openai.__version__)


def replay(exchange: Exchange, *, strict_pass: bool = True) -> ClientImpact:
    """Replay ``exchange`` through the SDK: the lenient pass, and the strict one beside it."""
    version = sdk_version()
    if exchange.status is None:
        return ClientImpact(version, PassResult(Outcome.NOT_COVERED, "no response was recorded"))
    operation, params, why = classify(exchange)
    if operation is None:
        return ClientImpact(version, PassResult(Outcome.NOT_COVERED, why))
    lenient = _one_pass(exchange, operation, params, strict=False)
    strict = _one_pass(exchange, operation, params, strict=True) if strict_pass else None
    return ClientImpact(version, lenient, strict)


def client_impact_text(exchange: Exchange) -> str:
    """The one-line client impact of ``exchange`` for evidence; a replay bug never fails a test."""
    try:
        return replay(exchange).text()
    except Exception as exc:  # noqa: BLE001 - the lane reports, it must not turn a FAIL into an ERROR
        return f"client impact unknown (the replay itself failed: {type(exc).__name__})"
