"""conformance.sse: WHATWG parsing, the diagnostics vocabulary, and split invariance."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from conformance.model import SSETranscript
from conformance.sse import DIAGNOSTIC_KINDS, SSEParser, is_done, parse_sse

DONE = b"data: [DONE]\n\n"


@dataclass(frozen=True)
class Case:
    name: str
    stream: bytes
    data: tuple[str, ...]                       # data of every dispatched event, in order
    kinds: tuple[tuple[str, int | None], ...] = ()  # (diagnostic kind, event index), in order


CASES = [
    Case("basic", b'data: {"a":1}\n\n' + DONE, ('{"a":1}', "[DONE]")),
    Case("multi-line data joined with LF", b'data: {"a":\ndata: 1}\n\n' + DONE, ('{"a":\n1}', "[DONE]")),
    Case("comments and keep-alives", b": keep-alive\n\n: x\ndata: {}\n\n:\n" + DONE, ("{}", "[DONE]")),
    Case("CRLF", b"data: {}\r\n\r\ndata: [DONE]\r\n\r\n", ("{}", "[DONE]")),
    Case("CR only", b"data: {}\r\rdata: [DONE]\r\r", ("{}", "[DONE]")),
    Case("mixed line ends", b"data: [1,\r\ndata: 2,\rdata: 3]\n\r\n" + DONE, ("[1,\n2,\n3]", "[DONE]")),
    Case("BOM at start stripped", b"\xef\xbb\xbfdata: {}\n\n" + DONE, ("{}", "[DONE]")),
    Case("BOM later is not stripped", b"data: {}\n\n\xef\xbb\xbfdata: 2\n\n" + DONE, ("{}", "[DONE]")),
    Case("no space after colon, two spaces keep one", b"data:{}\n\ndata:  7\n\n" + DONE, ("{}", " 7", "[DONE]")),
    Case("field without colon is an empty value", b"data\n\n" + DONE, ("", "[DONE]"), (("non-json-data", 0),)),
    Case("unknown fields ignored", b"foo: bar\nevent: e\ndata: {}\nbaz\n\n" + DONE, ("{}", "[DONE]")),
    Case("block without data is not dispatched", b"event: ping\nid: 3\n\n" + DONE, ("[DONE]",)),
    Case("unterminated last event", b"data: {}\n\ndata: [DONE]", ("{}", "[DONE]"), (("unterminated-event", 1),)),
    Case("unterminated after line end", b"data: {}\n\ndata: [DONE]\n", ("{}", "[DONE]"),
         (("unterminated-event", 1),)),
    Case("trailing CR ends the last line", b"data: {}\r\rdata: [DONE]\r", ("{}", "[DONE]"),
         (("unterminated-event", 1),)),
    Case("non-JSON data", b"data: hello\n\ndata: NaN\n\n" + DONE, ("hello", "NaN", "[DONE]"),
         (("non-json-data", 0), ("non-json-data", 1))),
    Case("DONE twice", b"data: {}\n\n" + DONE + DONE, ("{}", "[DONE]", "[DONE]"), (("multiple-done", 2),)),
    Case("data after DONE", b"data: {}\n\n" + DONE + b"data: {}\n\n", ("{}", "[DONE]", "{}"),
         (("data-after-done", 2),)),
    Case("missing DONE", b'event: response.completed\ndata: {"type":"x"}\n\n', ('{"type":"x"}',),
         (("missing-done", None),)),
    Case("empty stream", b"", (), (("missing-done", None),)),
    Case("invalid UTF-8 is replaced and reported", b'data: {"a":"\xff"}\n\n' + DONE, ('{"a":"\ufffd"}', "[DONE]"),
         (("invalid-utf8", 0),)),
    Case("split UTF-8 sequence is fine", 'data: {"a":"é€😀"}\n\n'.encode() + DONE, ('{"a":"é€😀"}', "[DONE]")),
    Case("DONE with surrounding spaces", b"data: {}\n\ndata:  [DONE] \n\n", ("{}", " [DONE] ")),
]


def _kinds(transcript: SSETranscript) -> tuple[tuple[str, int | None], ...]:
    return tuple((d.kind, d.event_index) for d in transcript.diagnostics)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_parse(case: Case) -> None:
    transcript = parse_sse(case.stream)
    assert tuple(e.data for e in transcript.events) == case.data
    assert _kinds(transcript) == case.kinds
    assert [e.index for e in transcript.events] == list(range(len(case.data)))
    assert transcript.raw == case.stream
    assert {d.kind for d in transcript.diagnostics} <= DIAGNOSTIC_KINDS


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_two_way_split_gives_the_same_transcript(case: Case) -> None:
    whole = parse_sse(case.stream)
    for cut in range(len(case.stream) + 1):
        parser = SSEParser()
        seen = parser.feed(case.stream[:cut]) + parser.feed(case.stream[cut:])
        transcript = parser.close()
        assert transcript == whole, f"split at byte {cut}"
        # events handed out by feed() are a prefix of the transcript (close adds the unterminated one)
        assert tuple(seen) == whole.events[: len(seen)]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_byte_by_byte_gives_the_same_transcript(case: Case) -> None:
    parser = SSEParser()
    for i in range(len(case.stream)):
        parser.feed(case.stream[i:i + 1])
    assert parser.close() == parse_sse(case.stream)


def test_event_type_id_and_retry() -> None:
    stream = (b"event: response.created\nid: 7\nretry: 1500\ndata: {}\n\n"
              b"data: {}\n\n"
              b"id: a\x00b\nretry: 15x\ndata: {}\n\n"
              b"id\nevent:\ndata: {}\n\n" + DONE)
    events = parse_sse(stream).events
    assert (events[0].event, events[0].id, events[0].retry) == ("response.created", "7", 1500)
    # the last event id persists (as lastEventId does); event type and retry are per event
    assert (events[1].event, events[1].id, events[1].retry) == (None, "7", None)
    # an id with NUL is ignored; a retry that is not all digits is ignored
    assert (events[2].id, events[2].retry) == ("7", None)
    # `id` without value resets the id to empty; `event:` with no value is present but empty
    assert (events[3].id, events[3].event) == ("", "")


def test_raw_is_the_exact_text_of_the_event_lines() -> None:
    stream = b": hi\r\nevent: a\r\ndata: 1\rdata: 2\n\ndata: [DONE]\n\n"
    events = parse_sse(stream).events
    assert events[0].raw == ": hi\r\nevent: a\r\ndata: 1\rdata: 2\n\n"
    assert events[1].raw == "data: [DONE]\n\n"
    assert "".join(e.raw for e in events) == stream.decode()


def test_unterminated_event_raw_and_detail() -> None:
    transcript = parse_sse(b"data: {}\n\ndata: {\"x\"")
    assert transcript.events[1].raw == 'data: {"x"'
    kinds = [d.kind for d in transcript.diagnostics]
    assert kinds == ["unterminated-event", "non-json-data", "missing-done"]


def test_invalid_utf8_detail_names_line_and_byte() -> None:
    transcript = parse_sse(b"data: {}\n\ndata: \"\xc3\x28\"\n\n" + DONE)
    (diag,) = [d for d in transcript.diagnostics if d.kind == "invalid-utf8"]
    assert diag.event_index == 1 and "line 3" in diag.detail and "byte 17" in diag.detail


def test_json_helper_on_events() -> None:
    event = parse_sse(b'data: {"a": [1, 2]}\n\n').events[0]
    assert event.json() == {"a": [1, 2]}


def test_is_done() -> None:
    assert is_done("[DONE]") and is_done(" [DONE]\n") and not is_done("[done]") and not is_done('"[DONE]"')


def test_close_is_idempotent_and_feed_after_close_is_an_error() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: {}\n\n")[0].data == "{}"
    first = parser.close()
    assert parser.close() is first
    with pytest.raises(RuntimeError):
        parser.feed(b"data: {}\n\n")


def test_incremental_feed_dispatches_as_soon_as_the_blank_line_arrives() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: {}\n") == []
    assert [e.data for e in parser.feed(b"\ndata: [DO")] == ["{}"]
    assert [e.data for e in parser.feed(b"NE]\n\n")] == ["[DONE]"]
    assert parser.close().diagnostics == ()
