"""Strict server-sent-events reader: tolerant in what it parses, strict in what it reports.

Parsing follows the WHATWG "event stream interpretation": lines end in CRLF, LF or CR (a CR
at the end of one chunk and an LF at the start of the next are ONE line end); ``field: value``
with one leading space removed from the value; a line without a colon is a field with an
empty value; lines starting with ``:`` are comments; ``data`` lines are joined with ``\\n``;
``event`` sets the type; ``id`` sets the last event id unless it contains NUL (it persists
across events, as ``lastEventId`` does in browsers); ``retry`` is kept only when it is all
ASCII digits; unknown fields are ignored; a blank line dispatches; a block without data lines
is not dispatched; a UTF-8 byte-order mark at the very start is stripped.

Deviations from that algorithm, so checks can judge what a browser would hide: an event left
unterminated at the end of the stream is still reported (and flagged); ``SSEEvent.event`` is
``None`` when no ``event`` line was given (a browser would say ``message``); ``SSEEvent.retry``
is the value given in that event's own block.

``SSEEvent.raw`` is the exact text of every line consumed since the previous dispatched event,
line ends included (comments and keep-alives before an event belong to it).

Diagnostic kinds (a stable vocabulary; checks decide what is a violation):

    invalid-utf8        a line held bytes that are not UTF-8 (decoded with U+FFFD and kept)
    unterminated-event  the stream ended inside an event (data lines and no blank line after
                        them); the event is still in ``events``
    non-json-data       an event's data is neither JSON nor ``[DONE]``
    multiple-done       a second (or later) ``[DONE]`` event
    data-after-done     a non-``[DONE]`` event after the first ``[DONE]``
    missing-done        the stream ended without any ``[DONE]`` (Responses streams may omit it)

This module imports nothing of ours but the model.
"""

from __future__ import annotations

import json
import re

from conformance.model import SSEDiagnostic, SSEEvent, SSETranscript

__all__ = ["DIAGNOSTIC_KINDS", "DONE", "SSEParser", "is_done", "loads_strict", "parse_sse"]

DONE = "[DONE]"
DIAGNOSTIC_KINDS = frozenset({
    "invalid-utf8", "unterminated-event", "non-json-data", "multiple-done", "data-after-done",
    "missing-done",
})
_BOM = "\ufeff"
_LINE_END = re.compile(rb"\r\n|\r|\n")


def _reject_constant(name: str) -> object:
    # json.loads accepts NaN/Infinity, which are not JSON: no client could parse them.
    raise ValueError(f"{name} is not JSON")


def loads_strict(text: str) -> object:
    """``json.loads`` that rejects NaN and Infinity (not JSON: no client could parse them).

    Raises:
        ValueError: the text is not JSON.
    """
    return json.loads(text, parse_constant=_reject_constant)


def _is_json(text: str) -> bool:
    try:
        loads_strict(text)
    except ValueError:
        return False
    return True


def is_done(data: str) -> bool:
    """True for the ``[DONE]`` sentinel (surrounding whitespace tolerated, as SDKs do)."""
    return data.strip() == DONE


class SSEParser:
    """Incremental SSE reader: `feed` bytes as they arrive, `close` at the end of the stream.

    Feeding the same bytes in any split gives the same transcript.
    """

    def __init__(self) -> None:
        self._pending = bytearray()    # bytes not yet ending in a complete line
        self._raw = bytearray()
        self._offset = 0               # byte offset of the start of `_pending` in the stream
        self._line_no = 0
        self._started = False          # first line seen (for the BOM)
        self._events: list[SSEEvent] = []
        self._diagnostics: list[SSEDiagnostic] = []
        self._data: list[str] = []
        self._event_type: str | None = None
        self._retry: int | None = None
        self._last_id: str | None = None
        self._block_raw: list[str] = []
        self._done_seen = False
        self._transcript: SSETranscript | None = None

    def feed(self, data: bytes) -> list[SSEEvent]:
        """Consume a chunk of the stream and return the events it completed."""
        if self._transcript is not None:
            raise RuntimeError("SSEParser.feed() after close()")
        self._raw += data
        # Only the new bytes (and a CR kept from the previous chunk) can hold a line end:
        # rescanning the whole pending line would be quadratic on a long line fed in pieces.
        scan_from = max(0, len(self._pending) - 1)
        self._pending += data
        before = len(self._events)
        start = 0
        for match in _LINE_END.finditer(self._pending, scan_from):
            # A CR as the very last byte may be the first half of a CRLF split across chunks:
            # keep it until the next chunk (or close) says which line end it is.
            if match.group() == b"\r" and match.end() == len(self._pending):
                break
            self._line(bytes(self._pending[start:match.start()]), match.group(), self._offset + start)
            start = match.end()
        self._offset += start
        del self._pending[:start]
        return self._events[before:]

    def close(self) -> SSETranscript:
        """End of stream: flush a last unterminated line/event and return the transcript."""
        if self._transcript is not None:
            return self._transcript
        if self._pending:
            line, end = (self._pending[:-1], b"\r") if self._pending.endswith(b"\r") else (self._pending, b"")
            self._line(bytes(line), end, self._offset)
            self._pending.clear()
        if self._data:
            index = len(self._events)
            self._diagnostics.append(SSEDiagnostic(
                "unterminated-event", "the stream ended inside an event (no blank line after its data)",
                index))
            self._dispatch()
        if not self._done_seen:
            self._diagnostics.append(SSEDiagnostic(
                "missing-done", f"the stream ended after {len(self._events)} events without data: [DONE]"))
        self._transcript = SSETranscript(tuple(self._events), tuple(self._diagnostics), bytes(self._raw))
        return self._transcript

    # ------------------------------------------------------------------ internals

    def _line(self, raw_line: bytes, ending: bytes, offset: int) -> None:
        self._line_no += 1
        try:
            text = raw_line.decode("utf-8")
        except UnicodeDecodeError as exc:
            text = raw_line.decode("utf-8", errors="replace")
            self._diagnostics.append(SSEDiagnostic(
                "invalid-utf8",
                f"line {self._line_no} (byte {offset + exc.start}): {raw_line[exc.start:exc.end]!r}",
                len(self._events)))
        if not self._started:
            self._started = True
            text = text.removeprefix(_BOM)
        self._block_raw.append(text + ending.decode("ascii"))
        if text == "":
            self._dispatch()
        elif not text.startswith(":"):
            name, colon, value = text.partition(":")
            self._field(name, value[1:] if colon and value.startswith(" ") else value)

    def _field(self, name: str, value: str) -> None:
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event_type = value
        elif name == "id":
            if "\x00" not in value:
                self._last_id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self._retry = int(value)
        # any other field is ignored, as the algorithm says

    def _dispatch(self) -> None:
        if self._data:
            event = SSEEvent(
                index=len(self._events), data="\n".join(self._data), event=self._event_type,
                id=self._last_id, retry=self._retry, raw="".join(self._block_raw))
            self._events.append(event)
            self._diagnose(event)
            self._block_raw = []
        self._data = []
        self._event_type = None
        self._retry = None

    def _diagnose(self, event: SSEEvent) -> None:
        where = event.index
        if is_done(event.data):
            if self._done_seen:
                self._diagnostics.append(SSEDiagnostic("multiple-done", "a second data: [DONE]", where))
            self._done_seen = True
            return
        if self._done_seen:
            self._diagnostics.append(SSEDiagnostic(
                "data-after-done", f"event after data: [DONE]: {event.data[:80]!r}", where))
        if not _is_json(event.data):
            self._diagnostics.append(SSEDiagnostic(
                "non-json-data", f"data is neither JSON nor [DONE]: {event.data[:80]!r}", where))


def parse_sse(data: bytes) -> SSETranscript:
    """Parse a whole stream at once (same result as feeding it in any split)."""
    parser = SSEParser()
    parser.feed(data)
    return parser.close()
