"""The outermost ASGI layer of the reference server: simulated latency and hostile wire faults.

Owns ``HOSTILE_FAULTS`` (faults that break the whole exchange, not one requirement, so they
stay out of the requirement-named fault catalogue and the fault matrix) and `WireLayer`,
which wraps the reference app:

- Latency: every request waits ``latency_ms`` (or its operation's entry in
  ``operation_latency_ms``) before it is handled, without blocking other requests, as a
  remote gateway's round trip would.
- Hostile faults, switched on for the whole server (``serve --fault``) or per request by a
  ``/fault/<names>/v1`` base URL (the layer takes its own names out of that URL before the app
  sees it): a chat completion that never answers, every connection reset before an answer,
  every response an HTML 502 page. The streams that never end or stall are engine faults
  (``chat.stream.framing@never-ends``, ``@stall``).

Resetting a connection needs the server's transport: under uvicorn the ASGI ``send`` is a
bound method of the connection's request cycle, whose ``transport`` is aborted with
``SO_LINGER`` 0 (a TCP RST). Elsewhere the layer falls back to closing without an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import struct
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HOSTILE_FAULTS", "WireLayer"]

HOSTILE_FAULTS: dict[str, str] = {
    "hostile:chat-no-answer": "a non-streamed chat completion never answers (no status line, ever)",
    "hostile:reset": "every connection is reset (TCP RST) before any answer",
    "hostile:html-502": "every request is answered 502 with an HTML page, as a broken proxy does",
}
_FAULT_PREFIX = re.compile(r"^/fault/(?P<names>[^/]+)(?P<rest>/.*)$")
_HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"


class WireLayer:
    """Wraps an ASGI app with latency and the hostile faults (see the module docstring).

    Args:
        app: the reference app.
        faults: fault names on for every request (only the hostile ones matter here).
        latency_ms: the wait before every request is handled.
        operation_latency_ms: per path suffix (``"/chat/completions"``), a wait that replaces
            ``latency_ms`` for the requests of that operation.
    """

    def __init__(self, app: ASGIApp, *, faults: frozenset[str] = frozenset(), latency_ms: float = 0.0,
                 operation_latency_ms: Mapping[str, float] | None = None) -> None:
        self.app = app
        self.faults = frozenset(name for name in faults if name in HOSTILE_FAULTS)
        self.latency_ms = latency_ms
        self.operation_latency_ms = dict(operation_latency_ms or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope, faults = self._split(scope)
        wait = self._latency(scope["path"])
        if wait > 0:
            await asyncio.sleep(wait / 1000)
        if "hostile:reset" in faults:
            _reset(send)
            return
        if "hostile:html-502" in faults:
            await _html_502(send)
            return
        if "hostile:chat-no-answer" in faults and scope["path"].endswith("/chat/completions"):
            body, replay = await _read_all(receive)
            if scope["method"] == "POST" and not _streamed(body):
                await _never_answer(receive)
                return
            receive = replay
        await self.app(scope, receive, send)

    def _latency(self, path: str) -> float:
        for suffix, ms in self.operation_latency_ms.items():
            if path.endswith(suffix):
                return ms
        return self.latency_ms

    def _split(self, scope: Scope) -> tuple[Scope, frozenset[str]]:
        """The hostile faults of this request; the path without them (the app rejects unknown names)."""
        found = _FAULT_PREFIX.match(scope["path"])
        if not found:
            return scope, self.faults
        names = [n.strip() for n in found["names"].replace(",", "+").split("+") if n.strip()]
        hostile = frozenset(n for n in names if n in HOSTILE_FAULTS)
        if not hostile:
            return scope, self.faults
        rest = [n for n in names if n not in hostile]
        path = f"/fault/{'+'.join(rest)}{found['rest']}" if rest else found["rest"]
        changed = dict(scope, path=path, raw_path=path.encode("ascii", "replace"))
        return changed, self.faults | hostile


def _streamed(body: bytes) -> bool:
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        document = json.loads(body)
        return isinstance(document, dict) and document.get("stream") is True
    return False


async def _read_all(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a ``receive`` that replays it to the app."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return body, replay


async def _never_answer(receive: Receive) -> None:
    """Hold the request open, answering nothing, until the client goes away."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def _html_502(send: Send) -> None:
    await send({"type": "http.response.start", "status": 502,
                "headers": [(b"content-type", b"text/html; charset=utf-8"),
                            (b"content-length", str(len(_HTML_502)).encode())]})
    await send({"type": "http.response.body", "body": _HTML_502})


def _reset(send: Send) -> None:
    """Abort the connection under this request (a TCP RST where the server lets us)."""
    transport: Any = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        return      # not uvicorn: returning without an answer closes the exchange instead
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
