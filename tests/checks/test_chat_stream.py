"""Unit tests of conformance.checks.chat_stream and chat_stream_tools on canned chat streams."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from conformance.checks import chat_stream as cs
from conformance.checks import chat_stream_equivalence as ce
from conformance.checks import chat_stream_tools as ct
from conformance.checks import chat_stream_usage as cu
from conformance.model import Exchange, SSEEvent, SSETranscript, Violation

Payload = dict[str, Any] | str


def transcript(*payloads: Payload) -> SSETranscript:
    return SSETranscript(
        events=tuple(
            SSEEvent(index=i, data=p if isinstance(p, str) else json.dumps(p)) for i, p in enumerate(payloads)
        )
    )


def chunk(*choices: dict[str, Any], **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "ref-chat",
        "choices": list(choices),
    }
    base.update(fields)
    return base


def choice(index: int = 0, finish: str | None = None, **delta: Any) -> dict[str, Any]:
    return {"index": index, "delta": delta, "finish_reason": finish}


def usage(prompt: int = 5, completion: int = 3, total: int = 8) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}


START = chunk(choice(role="assistant", content=""))
HEL = chunk(choice(content="Hel"))
LO = chunk(choice(content="lo"))
STOP = chunk(choice(finish="stop"))
USAGE = chunk(usage=usage())
GOOD = (START, HEL, LO, STOP, "[DONE]")
GOOD_USAGE = (START, HEL, LO, STOP, USAGE, "[DONE]")
N2 = (
    chunk(choice(0, role="assistant", content="")),
    chunk(choice(1, role="assistant", content="")),
    chunk(choice(0, content="a"), choice(1, content="b")),
    chunk(choice(0, finish="stop")),
    chunk(choice(1, finish="length")),
    "[DONE]",
)

WEATHER = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    },
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}},
]


def call(index: int, *, id: str | None = None, name: str | None = None, args: str | None = None,
         **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"index": index, **extra}
    if id is not None:
        entry["id"] = id
        entry["type"] = "function"
    fn: dict[str, Any] = {}
    if name is not None:
        fn["name"] = name
    if args is not None:
        fn["arguments"] = args
    if fn:
        entry["function"] = fn
    return entry


def tools_chunk(*calls: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return chunk(choice(index, tool_calls=list(calls)))


TOOL_START = chunk(choice(role="assistant", content=None))
TOOLS_DONE = chunk(choice(finish="tool_calls"))
TOOL_GOOD = (
    TOOL_START,
    tools_chunk(call(0, id="call_a", name="get_weather", args="")),
    tools_chunk(call(0, args='{"ci')),
    tools_chunk(call(0, args='ty": "Paris"}')),
    tools_chunk(call(1, id="call_b", name="get_time", args="{}")),
    TOOLS_DONE,
    "[DONE]",
)


def found(violations: list[Violation]) -> list[tuple[str, str | None]]:
    return [(v.requirement, v.where) for v in violations]


Case = tuple[str, Callable[[SSETranscript], list[Violation]], tuple[Payload, ...], list[tuple[str, str | None]]]
CASES: list[Case] = [
    ("object ok", cs.check_chunk_object, GOOD, []),
    ("object wrong", cs.check_chunk_object, (START, chunk(choice(content="x"), object="chat.completion"), STOP),
     [("chat.stream.chunk-object", "event[1]/object")]),
    ("consistent ok", cs.check_consistent_id, GOOD_USAGE, []),
    ("id drifts", cs.check_consistent_id, (START, chunk(choice(content="x"), id="other"), STOP),
     [("chat.stream.consistent-id", "event[1]/id")]),
    ("created and model drift", cs.check_consistent_id,
     (START, chunk(choice(content="x"), created=1), chunk(choice(finish="stop"), model="m2")),
     [("chat.stream.consistent-id", "event[1]/created"), ("chat.stream.consistent-id", "event[2]/model")]),
    ("roles ok", cs.check_roles, GOOD, []),
    ("roles n=2 ok", cs.check_roles, N2, []),
    ("role missing first", cs.check_roles, (HEL, LO, STOP),
     [("chat.stream.role-first", "event[0]/choices/0/delta/role")]),
    ("role wrong first", cs.check_roles, (chunk(choice(role="user")), STOP),
     [("chat.stream.role-first", "event[0]/choices/0/delta/role")]),
    ("role repeated", cs.check_roles, (START, chunk(choice(role="assistant", content="x")), STOP),
     [("chat.stream.role-not-repeated", "event[1]/choices/0/delta/role")]),
    ("role null later ok", cs.check_roles, (START, chunk(choice(role=None, content="x")), STOP), []),
    ("finish ok", cs.check_finish, GOOD, []),
    ("finish n=2 ok", cs.check_finish, N2, []),
    ("finish with content in the same chunk ok", cs.check_finish,
     (START, chunk(choice(content="hi", finish="stop")), "[DONE]"), []),
    ("finish missing", cs.check_finish, (START, HEL, "[DONE]"), [("chat.stream.single-finish", "event[1]")]),
    ("finish twice", cs.check_finish, (START, STOP, STOP, "[DONE]"),
     [("chat.stream.single-finish", "event[2]/choices/0/finish_reason")]),
    ("content after finish", cs.check_finish, (START, STOP, HEL, "[DONE]"),
     [("chat.stream.finish-last", "event[2]/choices/0")]),
    ("finish not in enum", cs.check_finish, (START, chunk(choice(finish="eos")), "[DONE]"),
     [("chat.stream.finish-reason-enum", "event[1]/choices/0/finish_reason")]),
    ("finish after done ignored", cs.check_finish, (START, STOP, "[DONE]", HEL), []),
    ("usage ok", cu.check_usage_chunk, GOOD_USAGE, []),
    ("usage null elsewhere ok", cu.check_usage_chunk,
     (chunk(choice(role="assistant", content=""), usage=None), chunk(choice(finish="stop"), usage=None), USAGE,
      "[DONE]"),
     []),
    ("usage missing", cu.check_usage_chunk, GOOD, [("chat.stream.usage-chunk", "event[4]")]),
    ("usage chunk with choices", cu.check_usage_chunk,
     (START, HEL, chunk(choice(finish="stop"), usage=usage()), "[DONE]"),
     [("chat.stream.usage-chunk", "event[2]/choices")]),
    ("usage before finish", cu.check_usage_chunk, (START, HEL, USAGE, STOP, "[DONE]"),
     [("chat.stream.usage-chunk", "event[3]")]),
    ("usage twice", cu.check_usage_chunk, (START, STOP, USAGE, USAGE, "[DONE]"),
     [("chat.stream.usage-chunk", "event[2]")]),
    ("usage on a content chunk too", cu.check_usage_chunk,
     (START, chunk(choice(content="x"), usage=usage()), STOP, USAGE, "[DONE]"),
     [("chat.stream.usage-absent-elsewhere", "event[1]/usage")]),
    ("usage total wrong", cu.check_usage_chunk, (START, STOP, chunk(usage=usage(total=9)), "[DONE]"),
     [("chat.stream.usage-total", "event[2]/usage/total_tokens")]),
    ("usage not an object", cu.check_usage_chunk, (START, STOP, chunk(usage=7), "[DONE]"),
     [("chat.stream.usage-chunk", "event[2]/usage")]),
    ("usage counts missing is schema's", cu.check_usage_chunk,
     (START, STOP, chunk(usage={"total_tokens": 1}), "[DONE]"), []),
    ("no usage unrequested ok", cu.check_no_usage_unrequested, GOOD, []),
    ("usage on a choice chunk tolerated unrequested", cu.check_no_usage_unrequested,
     (START, chunk(choice(finish="stop"), usage=usage()), "[DONE]"), []),
    ("usage chunk unrequested", cu.check_no_usage_unrequested, GOOD_USAGE,
     [("chat.stream.no-usage-unrequested", "event[4]")]),
    ("tool index ok", ct.check_tool_call_index, TOOL_GOOD, []),
    ("tool index missing", ct.check_tool_call_index,
     (TOOL_START, tools_chunk({"id": "c", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}),
      TOOLS_DONE), [("chat.stream.tool-call-index", "event[1]/choices/0/delta/tool_calls/0")]),
    ("tool headers ok", ct.check_tool_call_headers, TOOL_GOOD, []),
    ("tool later nulls ok", ct.check_tool_call_headers,
     (TOOL_START, tools_chunk(call(0, id="call_a", name="get_weather", args="")),
      tools_chunk({"index": 0, "id": None, "type": None, "function": {"name": None, "arguments": "{}"}}),
      TOOLS_DONE), []),
    ("tool header missing name", ct.check_tool_call_headers,
     (TOOL_START, tools_chunk(call(0, id="call_a", args="{}")), TOOLS_DONE),
     [("chat.stream.tool-call-header-once", "event[1]/choices/0/delta/tool_calls/0")]),
    ("tool name repeated", ct.check_tool_call_headers,
     (TOOL_START, tools_chunk(call(0, id="call_a", name="get_weather", args="")),
      tools_chunk(call(0, name="get_weather", args="{}")), tools_chunk(call(0, name="get_weather", args="")),
      TOOLS_DONE),
     [("chat.stream.tool-call-header-once", "event[2]/choices/0/delta/tool_calls/0")]),
    ("tool type repeated is a SHOULD", ct.check_tool_call_headers,
     (TOOL_START, tools_chunk(call(0, id="call_a", name="get_weather", args="")),
      tools_chunk({"index": 0, "type": "function", "function": {"arguments": "{}"}}), TOOLS_DONE),
     [("chat.stream.tool-call-type-once", "event[2]/choices/0/delta/tool_calls/0/type")]),
    ("tool id and type repeated", ct.check_tool_call_headers,
     (TOOL_START, tools_chunk(call(0, id="call_a", name="get_weather", args="")),
      tools_chunk({"index": 0, "id": "call_a", "type": "function", "function": {"arguments": "{}"}}), TOOLS_DONE),
     [("chat.stream.tool-call-header-once", "event[2]/choices/0/delta/tool_calls/0"),
      ("chat.stream.tool-call-type-once", "event[2]/choices/0/delta/tool_calls/0/type")]),
    ("tool calls share an index", ct.check_tool_call_headers,
     (TOOL_START, tools_chunk(call(0, id="call_a", name="get_weather", args='{"city":"P"}')),
      tools_chunk(call(0, id="call_b", name="get_time", args="{}")), TOOLS_DONE),
     [("chat.stream.tool-call-distinct", "event[2]/choices/0/delta/tool_calls/0/index")]),
    ("tool ids shared", ct.check_tool_call_headers,
     (TOOL_START, tools_chunk(call(0, id="call_a", name="get_weather", args='{"city":"P"}')),
      tools_chunk(call(1, id="call_a", name="get_time", args="{}")), TOOLS_DONE),
     [("chat.stream.tool-call-distinct", "event[2]/choices/0/delta/tool_calls/0/id")]),
    ("tool args ok", lambda s: ct.check_tool_call_arguments(s, tools=WEATHER), TOOL_GOOD, []),
    ("tool args not json", lambda s: ct.check_tool_call_arguments(s, tools=WEATHER),
     (TOOL_START, tools_chunk(call(0, id="call_a", name="get_weather", args='{"city": ')), TOOLS_DONE),
     [("chat.stream.tool-call-arguments", "event[1]/choices/0/delta/tool_calls/0/function/arguments")]),
    ("tool args invalid", lambda s: ct.check_tool_call_arguments(s, tools=WEATHER),
     (TOOL_START, tools_chunk(call(0, id="call_a", name="get_weather", args='{"town": "P"}')), TOOLS_DONE),
     [("chat.stream.tool-call-arguments", "event[1]/choices/0/delta/tool_calls/0/function/arguments")]),
    ("tool args non-string fragment", lambda s: ct.check_tool_call_arguments(s, tools=WEATHER),
     (TOOL_START, tools_chunk({"index": 0, "id": "c", "type": "function",
                               "function": {"name": "get_weather", "arguments": {"city": "P"}}}), TOOLS_DONE),
     [("chat.stream.tool-call-arguments", "event[1]/choices/0/delta/tool_calls/0/function/arguments")]),
    ("tool unknown", lambda s: ct.check_tool_call_arguments(s, tools=WEATHER),
     (TOOL_START, tools_chunk(call(0, id="call_a", name="launch", args="{}")), TOOLS_DONE),
     [("chat.stream.tool-call-arguments", "event[1]/choices/0/delta/tool_calls/0/function/name")]),
    ("tool args cut by length not judged", lambda s: ct.check_tool_call_arguments(s, tools=WEATHER),
     (TOOL_START, tools_chunk(call(0, id="call_a", name="get_weather", args='{"ci')), chunk(choice(finish="length"))),
     []),
    ("tool finish ok", ct.check_tool_call_finish_reason, TOOL_GOOD, []),
    ("tool finish length tolerated", ct.check_tool_call_finish_reason,
     (TOOL_START, tools_chunk(call(0, id="call_a", name="get_weather", args='{"ci')),
      chunk(choice(finish="length"))), []),
    ("tool finish stop", ct.check_tool_call_finish_reason,
     (TOOL_START, tools_chunk(call(0, id="call_a", name="get_time", args="{}")), STOP, "[DONE]"),
     [("chat.stream.tool-call-finish-reason", "choice 0")]),
]


@pytest.mark.parametrize(("check", "payloads", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_chunk_checks(
    check: Callable[[SSETranscript], list[Violation]],
    payloads: tuple[Payload, ...],
    expected: list[tuple[str, str | None]],
) -> None:
    assert found(check(transcript(*payloads))) == expected


@pytest.mark.parametrize(("payloads", "n", "expected"), [
    (N2, 2, []),
    (GOOD, 2, [("chat.stream.n-choices", "event[4]")]),
    (N2, 1, [("chat.stream.n-choices", "event[1]/choices/0/index")]),
], ids=["both", "second missing", "unexpected index"])
def test_n_choices(payloads: tuple[Payload, ...], n: int, expected: list[tuple[str, str | None]]) -> None:
    assert found(cs.check_n_choices(transcript(*payloads), n=n)) == expected


def plain(content: str | None = "Hello", finish: str = "stop", tokens: tuple[int, int, int] = (5, 3, 8),
          tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    return {"id": "chatcmpl-2", "object": "chat.completion", "choices": [
        {"index": 0, "message": message, "finish_reason": finish}], "usage": usage(*tokens)}


@pytest.mark.parametrize(("response", "expected"), [
    (plain(), []),
    (plain(content="Help"), [("chat.stream.equals-nonstream", "/choices/0/message/content")]),
    (plain(finish="length"), [("chat.stream.equals-nonstream", "/choices/0/finish_reason")]),
    (plain(tokens=(5, 4, 9)), [("chat.stream.equals-nonstream", "/usage")]),
], ids=["equal", "content differs", "finish differs", "usage differs"])
def test_stream_equals_nonstream(response: dict[str, Any], expected: list[tuple[str, str | None]]) -> None:
    assert found(ce.check_stream_equals_nonstream(transcript(*GOOD_USAGE), response)) == expected


def test_null_content_equals_empty_stream() -> None:
    sse = transcript(chunk(choice(role="assistant")), chunk(choice(finish="stop")), "[DONE]")
    assert ce.check_stream_equals_nonstream(sse, plain(content=None)) == []


def nonstream_call(id: str, name: str, args: str) -> dict[str, Any]:
    return {"id": id, "type": "function", "function": {"name": name, "arguments": args}}


@pytest.mark.parametrize(("calls", "expected"), [
    ([nonstream_call("x1", "get_weather", '{"city":"Paris"}'), nonstream_call("x2", "get_time", "{}")], []),
    ([nonstream_call("x1", "get_weather", '{"city":"Rome"}'), nonstream_call("x2", "get_time", "{}")],
     [("chat.stream.tool-call-equals-nonstream", "/choices/0/message/tool_calls")]),
    ([nonstream_call("x1", "get_weather", '{"city":"Paris"}')],
     [("chat.stream.tool-call-equals-nonstream", "/choices/0/message/tool_calls")]),
], ids=["equal ignoring ids and whitespace", "arguments differ", "a call missing"])
def test_tool_calls_equal_nonstream(calls: list[dict[str, Any]], expected: list[tuple[str, str | None]]) -> None:
    response = plain(content=None, finish="tool_calls", tool_calls=calls)
    assert found(ct.check_tool_calls_equal_nonstream(transcript(*TOOL_GOOD), response)) == expected


def test_join_tool_calls() -> None:
    joined = ct.join_tool_calls(transcript(*TOOL_GOOD))
    assert joined == {0: [
        {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
        {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
    ]}


def exchange(status: int, body: object, content_type: str = "application/json") -> Exchange:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Exchange("POST", "http://127.0.0.1:1/v1/chat/completions", {}, b"{}", status,
                    {"content-type": content_type}, raw)


ENVELOPE = {"error": {"message": "stream_options needs stream", "type": "invalid_request_error", "param": None,
                      "code": None}}


@pytest.mark.parametrize(("ex", "expected"), [
    (exchange(200, plain()), []),
    (exchange(400, ENVELOPE), []),
    (exchange(400, {"error": {"message": "x", "type": "invalid_request_error"}}), []),
    (exchange(200, b"data: {}\n\n", "text/event-stream"), [("chat.stream.options-without-stream", "body")]),
    (exchange(200, {"error": {"message": "x", "type": "y"}}), [("chat.stream.options-without-stream", "body")]),
    (exchange(400, {"detail": "bad"}), [("chat.stream.options-without-stream", "body")]),
    (exchange(400, {"error": {"message": "", "type": "x"}}), [("chat.stream.options-without-stream", "body")]),
    (exchange(400, ENVELOPE, "text/plain"), [("chat.stream.options-without-stream", "body")]),
    (exchange(500, ENVELOPE), [("chat.stream.options-without-stream", "status")]),
    (exchange(422, {"detail": []}), [("chat.stream.options-without-stream", "status")]),
], ids=["plain 200", "400 envelope", "400 envelope without param and code", "200 streamed", "error in 200",
        "400 not an envelope", "400 empty message", "400 not json", "500", "422"])
def test_options_without_stream(ex: Exchange, expected: list[tuple[str, str | None]]) -> None:
    assert found(cu.check_options_without_stream(ex)) == expected


def test_chunk_schema_passes_good_chunks() -> None:
    assert cs.check_chunk_schema(transcript(*GOOD_USAGE)) == []


def test_chunk_schema_reports_with_event_prefix() -> None:
    broken = chunk(choice(content="x"))
    del broken["choices"][0]["index"]
    violations = cs.check_chunk_schema(transcript(START, broken, STOP, "[DONE]"))
    assert violations
    assert {v.requirement for v in violations} == {"chat.stream.chunk-schema"}
    assert all((v.where or "").startswith("event[1]") for v in violations)


def test_chunk_schema_leaves_object_and_finish_reason_to_their_checks() -> None:
    sse = transcript(START, chunk(choice(finish="eos"), object="chat.completion"), "[DONE]")
    assert cs.check_chunk_schema(sse) == []


def test_tool_finish_allows_stop_when_asked() -> None:
    sse = transcript(TOOL_START, tools_chunk(call(0, id="call_a", name="get_time", args="{}")), STOP, "[DONE]")
    assert ct.check_tool_call_finish_reason(sse, allowed=("tool_calls", "stop")) == []


@pytest.mark.parametrize(("payloads", "expected"), [
    (TOOL_GOOD, []),
    (GOOD, [("chat.tools.choice-required", "event[4]")]),
], ids=["called", "no call"])
def test_tool_calls_present(payloads: tuple[Payload, ...], expected: list[tuple[str, str | None]]) -> None:
    violations = ct.check_tool_calls_present(transcript(*payloads), requirement="chat.tools.choice-required")
    assert found(violations) == expected


def test_equals_nonstream_leaves_broken_stream_values_to_their_checks() -> None:
    no_finish = transcript(START, HEL, LO, USAGE, "[DONE]")
    bad_enum = transcript(START, HEL, LO, chunk(choice(finish="eos")), USAGE, "[DONE]")
    bad_total = transcript(*GOOD_USAGE[:4], chunk(usage=usage(total=99)), "[DONE]")
    for sse in (no_finish, bad_enum, bad_total):
        assert ce.check_stream_equals_nonstream(sse, plain()) == []


def test_tool_calls_equal_nonstream_leaves_unparsable_arguments_to_their_check() -> None:
    sse = transcript(TOOL_START, tools_chunk(call(0, id="call_a", name="get_time", args='{"city": "P"')), TOOLS_DONE)
    response = plain(content=None, finish="tool_calls",
                     tool_calls=[nonstream_call("x", "get_time", '{"city": "P"}')])
    assert ct.check_tool_calls_equal_nonstream(sse, response) == []
    other = plain(content=None, finish="tool_calls", tool_calls=[nonstream_call("x", "get_weather", "{}")])
    assert found(ct.check_tool_calls_equal_nonstream(sse, other)) == [
        ("chat.stream.tool-call-equals-nonstream", "/choices/0/message/tool_calls")]


def test_tool_finish_outside_enum_is_left_to_the_enum_check() -> None:
    sse = transcript(TOOL_START, tools_chunk(call(0, id="call_a", name="get_time", args="{}")),
                     chunk(choice(finish="end_turn")), "[DONE]")
    assert ct.check_tool_call_finish_reason(sse) == []


def test_chunk_schema_leaves_tool_call_index_to_its_check() -> None:
    sse = transcript(TOOL_START, tools_chunk({"function": {"arguments": ""}}), TOOLS_DONE, "[DONE]")
    assert cs.check_chunk_schema(sse) == []
    assert ct.check_tool_call_index(sse)


# A stream as OpenAI-style servers really send it: CRLF, keep-alive comments, null usage on every
# chunk, logprobs/refusal/system_fingerprint, n = 2 interleaved, content riding on the finish chunk.
REALISTIC = (
    b": keep-alive\r\n\r\n"
    + b"".join(
        b"data: " + json.dumps(c).encode() + b"\r\n\r\n"
        for c in (
            chunk({"index": 0, "delta": {"role": "assistant", "content": "", "refusal": None}, "logprobs": None,
                   "finish_reason": None}, usage=None, system_fingerprint="fp_1"),
            chunk({"index": 1, "delta": {"role": "assistant", "content": ""}, "logprobs": None,
                   "finish_reason": None}, usage=None, system_fingerprint="fp_1"),
            chunk(choice(0, content="Hi"), choice(1, content="Hello"), usage=None, system_fingerprint="fp_1"),
            chunk(choice(1, content="!", finish="stop"), usage=None, system_fingerprint="fp_1"),
            chunk(choice(0, finish="length"), usage=None, system_fingerprint="fp_1"),
            chunk(usage={**usage(5, 4, 9), "prompt_tokens_details": {"cached_tokens": 0}}, system_fingerprint="fp_1"),
        )
    )
    + b": ping\r\n\r\ndata: [DONE]\r\n\r\n"
)


def test_a_realistic_stream_passes_every_check() -> None:
    from conformance.checks.sse_framing import check_done_sentinel, check_nothing_after_done
    from conformance.sse import parse_sse

    sse = parse_sse(REALISTIC)
    violations = [
        *cs.check_chunk_schema(sse), *cs.check_chunk_object(sse), *cs.check_consistent_id(sse),
        *cs.check_roles(sse), *cs.check_finish(sse), *cs.check_n_choices(sse, n=2), *cu.check_usage_chunk(sse),
        *check_done_sentinel(sse), *check_nothing_after_done(sse),
        *ct.check_tool_call_index(sse), *ct.check_tool_call_headers(sse),
        *ct.check_tool_call_arguments(sse, tools=WEATHER), *ct.check_tool_call_finish_reason(sse),
    ]
    assert violations == []
    assert ce.joined_content(sse) == {0: "Hi", 1: "Hello!"}


def test_equals_nonstream_leaves_broken_plain_values_to_their_checks() -> None:
    sse = transcript(*GOOD_USAGE)
    # An out-of-enum plain finish_reason is chat.response.finish-reason's to report.
    assert ce.check_stream_equals_nonstream(sse, plain(finish="done")) == []
    # A plain total that does not add up is chat.response.usage-total's; the parts still compare.
    assert ce.check_stream_equals_nonstream(sse, plain(tokens=(5, 3, 99))) == []
    assert found(ce.check_stream_equals_nonstream(sse, plain(tokens=(6, 3, 99)))) == [
        ("chat.stream.equals-nonstream", "/usage")
    ]


def test_an_empty_choice_in_the_usage_chunk_is_usage_chunks_alone() -> None:
    """D26: [{"index": 0, "delta": {}}] in the usage chunk breaks usage-chunk, not finish-last."""
    empty_choice = chunk({"index": 0, "delta": {}}, usage=usage())
    sse = transcript(START, HEL, LO, STOP, empty_choice, "[DONE]")
    assert cs.check_finish(sse) == []
    assert "chat.stream.finish-last" in cs.check_finish(sse).judged
    assert [v.requirement for v in cu.check_usage_chunk(sse)] == ["chat.stream.usage-chunk"]
    # Content after the finish still is finish-last's, in the usage chunk or not.
    late = chunk(choice(content="!"), usage=usage())
    assert [v.requirement for v in cs.check_finish(transcript(START, HEL, STOP, late, "[DONE]"))] == [
        "chat.stream.finish-last"
    ]
