"""Server-sent-event framing on the reference side (what the reference writes, never reads).

Owns the byte layout of the reference's streams: a chat event is ``data: <json>\\n\\n``, the chat
terminator ``data: [DONE]\\n\\n``, a Responses event ``event: <type>\\ndata: <json>\\n\\n``. JSON is
compact and ASCII-only so a stream never depends on the reader's UTF-8 handling. Deliberately
independent of ``conformance.sse`` (the suite's reader): a shared bug would pass on both sides.
"""

from __future__ import annotations

import json
from typing import Any

DONE = b"data: [DONE]\n\n"
EVENT_STREAM = "text/event-stream"


def dumps(obj: Any) -> str:
    """Compact JSON text of ``obj`` (one line: JSON escapes every newline inside strings)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True)


def data_event(obj: Any) -> bytes:
    """One chat event: a single ``data:`` line carrying ``obj`` as JSON, then a blank line."""
    return f"data: {dumps(obj)}\n\n".encode("ascii")


def typed_event(obj: dict[str, Any], *, event: str | None = None) -> bytes:
    """One Responses event: ``event: <type>`` (``obj["type"]`` unless overridden) and its data."""
    name = obj.get("type") if event is None else event
    return f"event: {name}\ndata: {dumps(obj)}\n\n".encode("ascii")


def glued(*frames: bytes) -> bytes:
    """Frames joined by a single newline instead of a blank line (a deliberate framing fault).

    Each frame's trailing blank line is reduced to one newline, so a reader sees ONE event whose
    data is several JSON texts separated by a newline: not one JSON object.
    """
    stripped = [f[:-1] if f.endswith(b"\n\n") else f for f in frames]
    return b"".join(stripped) + b"\n"
