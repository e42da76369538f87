"""Metering of served answers: one request id per call, and the usage an answer reported.

Owns ``meter``: given the response the reference is about to send (a relayed answer or one
of its own engines, plain JSON or a stream), it stamps the request id header and hands the
answer's usage to a callback once known (at once for JSON, at the end of the stream for
SSE, read from the ``usage`` of a chat chunk or of a Responses ``response.completed``
event). The relay and the engines thus share one accounting path (one store, D100).
Pure bookkeeping around Starlette responses; it never changes a byte of the answer.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from typing import Any, Final

from starlette.responses import Response, StreamingResponse

#: The response header that carries the reference's request id (new-api's name).
REQUEST_ID_HEADER: Final[str] = "X-Oneapi-Request-Id"

#: Called once per answer that reported usage: (the answer or ``{"usage": ...}``, request id, streamed).
Record = Callable[[Mapping[str, Any], str, bool], None]


def stream_usage(lines: Iterable[str]) -> dict[str, Any] | None:
    """The last usage block reported by SSE ``data:`` lines (chat chunks or Responses events)."""
    found: dict[str, Any] | None = None
    for line in lines:
        if not line.startswith("data:"):
            continue
        try:
            event = json.loads(line[len("data:"):].strip())
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        usage = event.get("usage")
        inner = event.get("response")
        if not isinstance(usage, dict) and isinstance(inner, dict):
            usage = inner.get("usage")
        if isinstance(usage, dict):
            found = usage
    return found


def meter(response: Response, record: Record) -> Response:
    """``response`` with a fresh request id header; ``record`` gets its usage when known.

    Only 2xx answers are metered (errors are charged nothing, D52).
    """
    request_id = uuid.uuid4().hex
    response.headers[REQUEST_ID_HEADER] = request_id
    if not 200 <= response.status_code < 300:
        return response
    if isinstance(response, StreamingResponse):
        response.body_iterator = _tapped(response.body_iterator, request_id, record)
        return response
    try:
        payload = json.loads(bytes(response.body))
    except ValueError:
        return response
    if isinstance(payload, dict):
        record(payload, request_id, False)
    return response


async def _tapped(chunks: AsyncIterable[Any], request_id: str, record: Record) -> AsyncIterator[Any]:
    """The stream's chunks unchanged; at its end, the usage it reported goes to ``record``."""
    seen = bytearray()
    try:
        async for chunk in chunks:
            seen += chunk.encode() if isinstance(chunk, str) else bytes(chunk)
            yield chunk
    finally:
        usage = stream_usage(seen.decode(errors="replace").splitlines())
        if usage is not None:
            record({"usage": usage}, request_id, True)
