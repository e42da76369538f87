"""The stream scripts of the scripted upstream: what a streamed answer sends, when, and how it ends.

Owns ``STREAM_SCRIPTS`` (the ``stream-*`` scripts), ``plan`` (the steps of one streamed
answer: frames, pauses, a stall, a dropped connection) and ``StreamTraces`` (when the
upstream sent each frame and when and how each stream ended, read by the relay stream
suite). The content, tool calls and usage numbers are known in advance, so a gateway that
invents a finish, usage or ``[DONE]`` shows. ``plan`` is pure; ``StreamTraces`` is thread-safe.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from conformance.upstream.scripts import CHAT_USAGE, RESPONSES_USAGE, Script, answer_id

#: Seconds between two frames of the ``stream-slow`` script (one chunk per 300 ms after the first
#: content chunk: content, content, finish, [DONE] over 0.9 s, within the shortest stream bound;
#: a relaying gateway's first content still arrives 0.6 s before the last chunk is sent, some
#: twenty times the delay measured on the reference).
SLOW_GAP: Final[float] = 0.3
#: Frames of the ``stream-long`` script (one per ``SLOW_GAP``): outlives any cancellation bound.
LONG_FRAMES: Final[int] = 24
#: Seconds the ``stream-stall`` script pauses beyond the slow delay (the stall outlasts any relay bound).
STALL_EXTRA: Final[float] = 2.0
#: The malformed frame of ``stream-malformed`` (not JSON).
MALFORMED: Final[bytes] = b'data: {"id": "broken", "choices": [\n\n'
#: The pieces of the streamed chat content (the client's joined content must equal them).
PIECES: Final[tuple[str, ...]] = ("Scripted ", "streamed ", "answer ", "to ")
#: The pieces of the streamed tool-call arguments.
ARGUMENT_PIECES: Final[tuple[str, ...]] = ('{"city":', '"Paris",', '"unit":"celsius"}')

STREAM_SCRIPTS: Final[Mapping[str, Script]] = {s.name: s for s in (
    Script("stream-clean", stream="clean"),
    Script("stream-tools", tools=True, stream="clean"),
    Script("stream-cut", stream="cut"),
    Script("stream-malformed", stream="malformed"),
    Script("stream-drop", stream="drop"),
    Script("stream-stall", stream="stall"),
    Script("stream-slow", stream="slow"),
    Script("stream-long", stream="long"),
)}


@dataclass(frozen=True)
class Step:
    """One step of a streamed answer: send ``frame`` after ``pause`` seconds; ``drop`` aborts
    the connection instead (no terminating chunk)."""

    frame: bytes = b""
    pause: float = 0.0
    drop: bool = False


def _frame(event: Mapping[str, Any], name: str | None = None) -> bytes:
    head = f"event: {name}\n".encode() if name else b""
    return head + b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"


def chat_events(script: Script, body: Mapping[str, Any], marker: str,
                pieces: tuple[str, ...] = PIECES) -> list[dict[str, Any]]:
    """The JSON chunks of a complete streamed chat answer of ``script`` (finish and usage included);
    the content is ``pieces`` then the marker."""
    base = {"id": answer_id("chatcmpl-nxc", marker), "object": "chat.completion.chunk", "created": 1_767_225_601,
            "model": str(body.get("model", "")), "system_fingerprint": "fp_nxc_upstream"}
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    if script.tools:
        deltas[0] = {"role": "assistant", "content": None, "tool_calls": [{
            "index": 0, "id": answer_id("call", marker), "type": "function",
            "function": {"name": "get_weather", "arguments": ""}}]}
        deltas += [{"tool_calls": [{"index": 0, "function": {"arguments": p}}]} for p in ARGUMENT_PIECES]
    else:
        deltas += [{"content": p} for p in (*pieces, f"{marker}.")]
    events = [{**base, "choices": [{"index": 0, "delta": d, "logprobs": None, "finish_reason": None}]}
              for d in deltas]
    finish = "tool_calls" if script.tools else "stop"
    events.append({**base, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": finish}]})
    options = body.get("stream_options")
    if isinstance(options, Mapping) and options.get("include_usage"):
        events.append({**base, "choices": [], "usage": json.loads(json.dumps(CHAT_USAGE))})
    return events


def responses_events(body: Mapping[str, Any], marker: str) -> list[tuple[str, dict[str, Any]]]:
    """The (event name, JSON) pairs of a complete Responses stream ending in ``response.completed``."""
    rid, mid = answer_id("resp_nxc", marker), answer_id("msg_nxc", marker)
    text = "".join((*PIECES, f"{marker}."))
    shell = {"id": rid, "object": "response", "created_at": 1_767_225_601, "model": str(body.get("model", "")),
             "output": []}
    item = {"type": "message", "id": mid, "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}
    pairs: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": {**shell, "status": "in_progress"}}),
        ("response.in_progress", {"response": {**shell, "status": "in_progress"}}),
        ("response.output_item.added", {"output_index": 0, "item": {**item, "status": "in_progress", "content": []}}),
        *(("response.output_text.delta", {"output_index": 0, "item_id": mid, "content_index": 0, "delta": p})
          for p in (*PIECES, f"{marker}.")),
        ("response.output_text.done", {"output_index": 0, "item_id": mid, "content_index": 0, "text": text}),
        ("response.output_item.done", {"output_index": 0, "item": item}),
        ("response.completed", {"response": {**shell, "status": "completed", "output": [item],
                                             "usage": json.loads(json.dumps(RESPONSES_USAGE))}}),
    ]
    return [(name, {"type": name, "sequence_number": n, **data}) for n, (name, data) in enumerate(pairs)]


def plan(script: Script, operation: str, body: Mapping[str, Any], marker: str, stall: float) -> list[Step]:
    """The steps of the streamed answer of ``script`` (the stall script pauses ``stall + STALL_EXTRA`` s)."""
    if operation == "responses":
        frames = [_frame(data, name) for name, data in responses_events(body, marker)]
        return [Step(f) for f in (frames[:5] if script.stream == "cut" else frames)]
    frames = [_frame(e) for e in chat_events(script, body, marker)]
    done = b"data: [DONE]\n\n"
    kind = script.stream or "clean"
    if kind == "cut":
        return [Step(f) for f in frames[:3]]
    if kind == "malformed":
        return [Step(f) for f in (*frames[:2], MALFORMED, *frames[2:], done)]
    if kind == "drop":
        return [*(Step(f) for f in frames[:3]), Step(drop=True)]
    if kind == "stall":
        return [*(Step(f) for f in frames[:2]), *(Step(f, stall + STALL_EXTRA if i == 0 else 0.0)
                                                  for i, f in enumerate((*frames[2:], done)))]
    if kind == "slow":
        slow = [_frame(e) for e in chat_events(script, body, marker, ("".join(PIECES),))]
        return [Step(f, 0.0 if i < 2 else SLOW_GAP) for i, f in enumerate((*slow, done))]
    if kind == "long":
        filler = [_frame({**chat_events(script, body, marker)[1], "choices": [
            {"index": 0, "delta": {"content": "."}, "logprobs": None, "finish_reason": None}]})] * LONG_FRAMES
        return [Step(f, 0.0 if i == 0 else SLOW_GAP) for i, f in enumerate((frames[0], *filler, *frames[1:], done))]
    return [Step(f) for f in (*frames, done)]


@dataclass
class StreamTrace:
    """What the upstream did with one streamed answer (``time.monotonic()`` times).

    ``sent``: when each frame was handed to the server; ``ended``: when the stream stopped;
    ``how``: ``complete`` (every step done), ``dropped`` (scripted drop) or ``closed`` (the
    gateway closed the connection first).
    """

    marker: str
    started: float
    sent: list[float] = field(default_factory=list)
    ended: float | None = None
    how: str | None = None


class StreamTraces:
    """Every stream trace of one upstream, by marker (the upstream's loop writes, tests read)."""

    def __init__(self) -> None:
        self._traces: dict[str, StreamTrace] = {}
        self._lock = threading.Lock()

    def start(self, marker: str) -> StreamTrace:
        """A new trace for ``marker`` (a second stream of the same marker replaces it)."""
        trace = StreamTrace(marker, time.monotonic())
        with self._lock:
            self._traces[marker] = trace
        return trace

    def sent(self, trace: StreamTrace) -> None:
        """Note that one more frame was sent."""
        with self._lock:
            trace.sent.append(time.monotonic())

    def end(self, trace: StreamTrace, how: str) -> None:
        """Note the end of the stream (the first end noted wins)."""
        with self._lock:
            if trace.ended is None:
                trace.ended, trace.how = time.monotonic(), how

    def get(self, marker: str) -> StreamTrace | None:
        """A copy of the trace of ``marker``, or None when no stream of it started."""
        with self._lock:
            found = self._traces.get(marker)
            return None if found is None else StreamTrace(found.marker, found.started, list(found.sent),
                                                          found.ended, found.how)
