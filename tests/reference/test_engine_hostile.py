"""Hostile transport faults of the chat engine: never-ending, stalled, dropped, truncated, oversize."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from conformance.reference.engines import BinaryResult, StreamResult, chat, hostile
from conformance.reference.faultset import FaultSet

PLAIN = {"model": "ref-chat", "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 16}


def _faults(*names: str) -> FaultSet:
    return FaultSet(frozenset(names))


async def _take(chunks: AsyncIterator[bytes], n: int) -> list[bytes]:
    out = []
    async for chunk in chunks:
        out.append(chunk)
        if len(out) == n:
            break
    return out


def test_only_plain_requests_are_bent() -> None:
    on = _faults("chat.stream.framing@stall")
    assert hostile.applies(PLAIN, on)
    assert not hostile.applies({**PLAIN, "tools": []}, on)
    assert not hostile.applies(PLAIN, _faults())


def test_never_ending_stream_keeps_sending() -> None:
    result = chat.complete({**PLAIN, "stream": True}, _faults("chat.stream.framing@never-ends"))
    assert isinstance(result, StreamResult) and not isinstance(result.chunks, list)
    frames = asyncio.run(_take(result.chunks, 5))  # type: ignore[arg-type]
    assert len(frames) == 5 and all(f.startswith(b"data: {") for f in frames)


def test_dropped_stream_raises_after_two_events() -> None:
    result = chat.complete({**PLAIN, "stream": True}, _faults("chat.stream.framing@drop"))
    assert isinstance(result, StreamResult)
    with pytest.raises(ConnectionAbortedError):
        asyncio.run(_take(result.chunks, 10))  # type: ignore[arg-type]


def test_truncated_and_oversize_answers() -> None:
    truncated = chat.complete(PLAIN, _faults("chat.response.schema@truncated-json"))
    assert isinstance(truncated, BinaryResult) and truncated.status == 200
    with pytest.raises(ValueError):
        json.loads(truncated.body)
    oversize = chat.complete(PLAIN, _faults("chat.response.schema@oversize"))
    assert isinstance(oversize, StreamResult) and oversize.content_type == "application/json"
    first = asyncio.run(_take(oversize.chunks, 3))  # type: ignore[arg-type]
    assert first[0].startswith(b'{"id"') and len(first[1]) == 1024 * 1024


def test_clean_stream_is_untouched_when_a_plain_fault_is_on() -> None:
    result = chat.complete({**PLAIN, "stream": True}, _faults("chat.response.schema@truncated-json"))
    assert isinstance(result, StreamResult)
    frames = list(result.chunks)  # type: ignore[arg-type]
    assert frames[-1] == b"data: [DONE]\n\n"
