"""Deterministic engines of the reference gateway, one module per API area.

Contract (the app in ``conformance.reference.app`` does HTTP, auth, body parsing, schema
validation and the model check before calling an engine):

- Each module exposes pure functions that take the already-parsed request and a
  ``FaultSet`` and return a JSON-able ``dict`` (answered as application/json, 200), a
  ``BinaryResult`` (bytes + content type), or a ``StreamResult`` (raw SSE bytes + content
  type). Semantic errors the schema cannot express raise ``ApiError``.
- Each module exposes ``FAULTS: dict[str, str]``: fault name -> what it does. A fault name is
  the requirement id it breaks, optionally with ``@variant``.
- The same input always gives the same output (no randomness, no wall clock except where an
  injected clock is passed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class BinaryResult:
    """A non-JSON body: audio, plain text, subtitles, an image or a video file."""

    body: bytes
    content_type: str
    status: int = 200


@dataclass(frozen=True)
class StreamResult:
    """A streamed answer: raw bytes to write as they come (already SSE-framed)."""

    chunks: Iterator[bytes] | AsyncIterator[bytes]
    content_type: str = "text/event-stream"
