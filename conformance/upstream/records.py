"""What the scripted upstream received: one ``UpstreamRecord`` per request, kept in order.

Owns ``UpstreamRecord`` (method, path, headers, body, arrival time, marker; for a multipart
request its ``UpstreamForm``: every text field and the uploaded file's bytes, filename and
content type) and ``RecordStore`` (thread-safe: the upstream's event loop writes, the suite's threads read).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.upstream.streams import StreamTraces


@dataclass(frozen=True)
class UpstreamFile:
    """The ``file`` part of a multipart request as the upstream received it."""

    filename: str
    content_type: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class UpstreamForm:
    """A multipart request's parts: the text fields in order (repeats kept) and the file."""

    fields: tuple[tuple[str, str], ...]
    file: UpstreamFile | None

    def field_map(self) -> dict[str, str]:
        """The text fields by name (the last value of a repeated field)."""
        return dict(self.fields)


@dataclass(frozen=True)
class UpstreamRecord:
    """One request as the upstream received it.

    ``headers`` keys are lower case (repeats joined with ``, ``); ``at`` is
    ``time.monotonic()`` at arrival; ``marker`` the marker text found in the body, or None;
    ``status`` and ``answer`` what the upstream answered (``answer`` empty for a stream);
    ``content_type`` the answer's media type; ``form`` the parts of a multipart request.
    """

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    at: float
    marker: str | None
    status: int = 200
    answer: bytes = field(default=b"", repr=False)
    content_type: str = ""
    form: UpstreamForm | None = None

    def answer_json(self) -> Any:
        """The upstream's answer decoded as JSON, or None."""
        try:
            return json.loads(self.answer)
        except ValueError:
            return None

    def json(self) -> Any:
        """The body decoded as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class RecordStore:
    """Every record of one upstream, in arrival order."""

    def __init__(self) -> None:
        self._records: list[UpstreamRecord] = []
        #: When the upstream sent each frame of a scripted stream, and how the stream ended.
        self.traces = StreamTraces()
        self._lock = threading.Lock()

    def add(self, record: UpstreamRecord) -> None:
        """Append one record."""
        with self._lock:
            self._records.append(record)

    def all(self) -> tuple[UpstreamRecord, ...]:
        """Every record so far."""
        with self._lock:
            return tuple(self._records)

    def for_marker(self, marker: str) -> tuple[UpstreamRecord, ...]:
        """The records whose body carried ``marker``, in arrival order."""
        with self._lock:
            return tuple(r for r in self._records if r.marker == marker)
