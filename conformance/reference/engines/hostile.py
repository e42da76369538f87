"""Hostile transport behaviour for chat completions: the faults a robust client must survive.

Streams that never end, stall or drop mid-body; a truncated JSON body and a 50 MB body. They
apply to plain chat requests only (no tools, response_format, stop, n or stream_options), so the
suites' other chat scenarios keep judging what they judge. (An HTML 502 page is the transport
tests' business: a 502 on every plain chat request would fail every scenario that sends one.)
The async generators sleep with ``asyncio.sleep``, so a client that gives up (or a server that
stops) cancels them at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

from conformance.reference.engines import BinaryResult, StreamResult
from conformance.reference.faultset import FaultSet

FAULTS: dict[str, str] = {
    "chat.stream.framing@never-ends": "a plain chat stream sends a chunk every 0.2 s and never ends",
    "chat.stream.framing@stall": "a plain chat stream goes silent after its first two events, connection open",
    "chat.stream.framing@drop": "a plain chat stream drops the connection after its first two events",
    "chat.response.schema@truncated-json": "a plain chat answer is cut in the middle of its JSON",
    "chat.response.schema@oversize": "a plain chat answer is a 50 MB JSON body",
}

_DRIP_SECONDS = 0.2
_OVERSIZE_BYTES = 50 * 1024 * 1024
_PLAIN_ONLY = ("tools", "response_format", "stop", "n", "stream_options")


def applies(body: dict[str, Any], faults: FaultSet) -> bool:
    """Whether a hostile fault is on and the request is a plain chat request."""
    return any(faults.on(name) for name in FAULTS) and not any(key in body for key in _PLAIN_ONLY)


def hostile_stream(frames: list[bytes], faults: FaultSet) -> StreamResult | None:
    """The stream fault applied to the frames of a clean stream, or None when none is on."""
    if faults.on("chat.stream.framing@never-ends"):
        return StreamResult(_forever(frames[:2], frames[2]), "text/event-stream")
    if faults.on("chat.stream.framing@stall"):
        return StreamResult(_then(frames[:2], _stall()), "text/event-stream")
    if faults.on("chat.stream.framing@drop"):
        return StreamResult(_then(frames[:2], _drop()), "text/event-stream")
    return None


def hostile_answer(payload: bytes, faults: FaultSet) -> BinaryResult | StreamResult | None:
    """The plain-answer fault applied to a clean JSON body, or None when none is on."""
    if faults.on("chat.response.schema@truncated-json"):
        return BinaryResult(payload[: len(payload) // 2], "application/json")
    if faults.on("chat.response.schema@oversize"):
        return StreamResult(_oversize(payload), "application/json")
    return None


async def _forever(first: Iterable[bytes], repeat: bytes) -> AsyncIterator[bytes]:
    for frame in first:
        yield frame
    while True:
        await asyncio.sleep(_DRIP_SECONDS)
        yield repeat


async def _then(first: Iterable[bytes], tail: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    for frame in first:
        yield frame
    async for frame in tail:
        yield frame


async def _stall() -> AsyncIterator[bytes]:
    await asyncio.sleep(3600)
    yield b""


async def _drop() -> AsyncIterator[bytes]:
    # An exception mid-body makes the server abort the connection without the final chunk.
    raise ConnectionAbortedError("the reference drops this stream on purpose")
    yield b""  # pragma: no cover - makes this an async generator


async def _oversize(payload: bytes) -> AsyncIterator[bytes]:
    yield payload[:-1] + b',"padding":"'
    block = b"x" * (1024 * 1024)
    for _ in range(_OVERSIZE_BYTES // len(block)):
        yield block
        await asyncio.sleep(0)
    yield b'"}'
