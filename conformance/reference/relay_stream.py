"""Relay mode of the reference, streamed: the upstream's events passed on as they arrive.

Owns ``relay_events`` (one streamed answer, event by event) and ``STREAM_FAULTS`` (the
``relay.stream.*`` faults, joined into ``relay.FAULTS``). The relay never buffers, never
completes a stream the upstream did not complete (D47): when the upstream stream ends
early, sends a chunk that is not JSON, drops its connection or stalls for twice
``timeout`` seconds between two events (D48), the client gets one error event (``data: {"error": ...}``)
and the end of the stream, without a finish, usage or ``[DONE]`` the upstream never sent.
A client that hangs up ends the relay, which closes its upstream connection at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import httpx

from conformance.reference.faultset import FaultSet

STREAM_FAULTS: Final[dict[str, str]] = {
    "relay.stream.content": "streamed tool calls: the closing piece of the arguments is dropped",
    "relay.stream.usage": "streamed chat: the usage chunk is recomputed (counts + 1)",
    "relay.stream.no-invented-completion":
        "an upstream chat stream that ends early is completed with finish_reason stop, usage and [DONE]",
    "relay.stream.mid-stream-failure":
        "a malformed upstream chunk is skipped and a dropped upstream connection ends the stream with [DONE]",
    "relay.stream.incremental": "the whole upstream stream is buffered before the first byte reaches the client",
    "relay.stream.cancellation": "after the client hangs up, the upstream stream is still read to its end",
    "relay.stream.stall": "a stalled upstream stream is waited for without bound",
    "relay.stream.responses": "a Responses stream that ends early is completed with response.completed",
}
#: The events that end a Responses stream.
RESPONSES_TERMINAL: Final[frozenset[str]] = frozenset({"response.completed", "response.failed",
                                                       "response.incomplete", "error"})
_DONE: Final[bytes] = b"data: [DONE]\n\n"
_INVENTED_USAGE: Final[dict[str, int]] = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}


def error_event(message: str, code: str) -> bytes:
    """The mid-stream error event of D47 (OpenAI's convention: an error object in a data line)."""
    payload = {"error": {"message": message, "type": "upstream_error", "param": None, "code": code}}
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


class _State:
    """What the relay saw of one upstream stream so far."""

    def __init__(self, responses: bool) -> None:
        self.responses = responses
        self.done = False
        self.last_chunk: dict[str, Any] | None = None
        self.last_sequence = -1


async def relay_events(response: httpx.Response, *, responses: bool, model: str, timeout: float,
                       faults: FaultSet, on_abandon: Callable[[asyncio.Task[None]], None]) -> AsyncIterator[bytes]:
    """The client's stream of one upstream streamed ``response`` (closed when this ends).

    A pump task reads the upstream into a queue; this generator relays the queue. When it
    ends (the stream is over, failed, or the client hung up) the pump is cancelled and the
    upstream closed. ``model``: the client's model name (put back into each chunk);
    ``timeout``: the declared timeout (twice it is the longest pause between two upstream
    events, D48); ``on_abandon``: gets the pump the ``relay.stream.cancellation`` fault
    leaves running after the client hung up.
    """
    state = _State(responses)
    queue: asyncio.Queue[bytes | Exception | None] = asyncio.Queue()
    pump = asyncio.get_running_loop().create_task(_pump(response, queue))
    buffered: list[bytes] = []
    buffering = faults.on("relay.stream.incremental")
    abandoned = False
    try:
        async for out in _events(queue, state, model, timeout, faults):
            if buffering:
                buffered.append(out)
            else:
                yield out
        for out in buffered:
            yield out
    except (GeneratorExit, asyncio.CancelledError):
        abandoned = faults.on("relay.stream.cancellation")
        raise
    finally:
        if abandoned:
            on_abandon(pump)
        else:
            pump.cancel()
            await response.aclose()


async def _pump(response: httpx.Response, queue: asyncio.Queue[bytes | Exception | None]) -> None:
    """Read the upstream into ``queue``: its chunks, then None (the end) or the error that broke it."""
    try:
        async for chunk in response.aiter_raw():
            queue.put_nowait(chunk)
        queue.put_nowait(None)
    except httpx.HTTPError as exc:
        queue.put_nowait(exc)
    finally:
        await response.aclose()


async def _events(queue: asyncio.Queue[bytes | Exception | None], state: _State, model: str, timeout: float,
                  faults: FaultSet) -> AsyncIterator[bytes]:
    pending = b""
    wait = None if faults.on("relay.stream.stall") else 2 * timeout
    while True:
        try:
            chunk = await asyncio.wait_for(queue.get(), wait)
        except TimeoutError:
            yield error_event(f"The upstream stream stalled for more than {2 * timeout:g} s.", "upstream_timeout")
            return
        if chunk is None:
            break
        if isinstance(chunk, Exception):
            if faults.on("relay.stream.mid-stream-failure"):
                yield _DONE
            else:
                yield error_event("The upstream connection broke mid-stream.", "upstream_stream_broken")
            return
        pending += chunk.replace(b"\r\n", b"\n")
        while b"\n\n" in pending:
            block, pending = pending.split(b"\n\n", 1)
            out = _relay_block(block, state, model, faults)
            if out is None:
                yield error_event("The upstream sent a stream event that is not JSON.", "upstream_bad_event")
                return
            if out:
                yield out
    for out in _ending(state, faults):
        yield out


def _relay_block(block: bytes, state: _State, model: str, faults: FaultSet) -> bytes | None:
    """One upstream event as the client gets it; b"" to skip it, None when it is malformed."""
    lines = block.decode("utf-8", "replace").split("\n")
    data = "\n".join(line[5:].lstrip(" ") for line in lines if line.startswith("data:"))
    names = [line[6:].strip() for line in lines if line.startswith("event:")]
    if not data:
        return b""
    if data == "[DONE]":
        state.done = True
        return _DONE
    try:
        event = json.loads(data)
    except ValueError:
        return b"" if faults.on("relay.stream.mid-stream-failure") else None
    if not isinstance(event, dict):
        return None
    if state.responses:
        state.last_sequence = int(event.get("sequence_number", state.last_sequence))
        state.done = state.done or event.get("type") in RESPONSES_TERMINAL
        if isinstance(event.get("response"), dict) and "model" in event["response"]:
            event["response"] = {**event["response"], "model": model}
        head = f"event: {names[0]}\n" if names else ""
        return head.encode() + b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"
    event = _chat_chunk(event, model, faults)
    state.last_chunk = event
    return b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"


def _chat_chunk(event: dict[str, Any], model: str, faults: FaultSet) -> dict[str, Any]:
    event = {**event, "model": model} if "model" in event else event
    usage = event.get("usage")
    if faults.on("relay.stream.usage") and isinstance(usage, dict):
        event["usage"] = {k: v + 1 for k, v in usage.items() if isinstance(v, int)}
    choices = event.get("choices")
    if faults.on("relay.stream.content") and isinstance(choices, list) and choices and isinstance(choices[0], dict):
        delta = choices[0].get("delta")
        calls = delta.get("tool_calls") if isinstance(delta, dict) else None
        if isinstance(calls, list) and calls and _last_piece(calls):
            event["choices"] = [{**choices[0], "delta": {}}]
    return event


def _last_piece(calls: list[Any]) -> bool:
    """Whether a tool-call delta carries the closing piece of its arguments (the content fault drops it)."""
    function = calls[0].get("function") if isinstance(calls[0], dict) else None
    arguments = function.get("arguments") if isinstance(function, dict) else None
    return isinstance(arguments, str) and arguments.endswith("}")


def _ending(state: _State, faults: FaultSet) -> list[bytes]:
    """What follows the upstream's end: nothing after a complete stream, else the error event."""
    if state.done:
        return []
    if state.responses:
        if faults.on("relay.stream.responses"):
            event = {"type": "response.completed", "sequence_number": state.last_sequence + 1,
                     "response": {"object": "response", "status": "completed", "output": []}}
            return [b"event: response.completed\ndata: " + json.dumps(event).encode() + b"\n\n"]
    elif faults.on("relay.stream.no-invented-completion") and state.last_chunk is not None:
        base = {k: v for k, v in state.last_chunk.items() if k not in ("choices", "usage")}
        finish = {**base, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]}
        usage = {**base, "choices": [], "usage": _INVENTED_USAGE}
        return [b"data: " + json.dumps(e).encode() + b"\n\n" for e in (finish, usage)] + [_DONE]
    return [error_event("The upstream stream ended before it was complete.", "upstream_stream_incomplete")]
