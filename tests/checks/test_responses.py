"""Unit tests of conformance.checks.responses on canned Responses answers."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.checks import responses as r
from conformance.model import Violation


def pairs(violations: list[Violation]) -> list[tuple[str, str | None]]:
    return [(v.requirement, v.where) for v in violations]


def message(*texts: str) -> dict[str, Any]:
    return {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": t, "annotations": []} for t in texts]}


def fcall(arguments: str = '{"city": "Paris"}', **over: Any) -> dict[str, Any]:
    item = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
            "arguments": arguments, "status": "completed"}
    item.update(over)
    return item


def response(*output: dict[str, Any], **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": "resp_1", "object": "response", "created_at": 1700000000, "status": "completed",
                            "model": "ref-chat", "output": list(output),
                            "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}}
    body.update(over)
    return body


def test_schema() -> None:
    assert r.check_response_schema(response(message("OK"))) == []
    assert r.check_response_schema(response(message("OK"), object="resp")) == []  # owned by the invariants
    assert pairs(r.check_response_schema(response(message("OK"), id=7))) == [("responses.schema", "/id")]
    # errors inside a function_call item belong to responses.function-call
    assert r.check_response_schema(response(fcall(call_id=None))) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (response(message("O", "K"), output_text="OK"), []),
        (response(message("OK"), {"type": "reasoning", "id": "rs_1", "summary": []}), []),
        (response(message("OK"), object="chat.completion"), [("responses.object", "/object")]),
        (response(message("OK"), status="done"), [("responses.status-enum", "/status")]),
        (response({**message("OK"), "content": "OK"}), [("responses.output-text-parts", "/output/0/content")]),
        (response({**message(), "content": [{"type": "text", "text": "OK"}]}),
         [("responses.output-text-parts", "/output/0/content/0")]),
        (response({**message(), "content": [{"type": "output_text", "text": None}]}),
         [("responses.output-text-parts", "/output/0/content/0")]),
        (response({**message(), "content": [{"type": "refusal", "refusal": "No."}]}), []),
        (response(message("O", "K"), output_text="O K"), [("responses.output-text-joined", "/output_text")]),
        (response(message("OK"), usage={"input_tokens": 3, "output_tokens": 2, "total_tokens": 4}),
         [("responses.usage-total", "/usage")]),
        (response(message("OK"), usage=None), []),
    ],
    ids=["ok", "other-item", "object", "status", "content-string", "part-type", "text-null", "refusal",
         "joined", "usage", "no-usage"],
)
def test_invariants(body: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert pairs(r.check_response_invariants(body)) == expected


def test_message_text_joins_in_order() -> None:
    assert r.message_text(response(message("a", "b"), fcall(), message("c"))) == "abc"


@pytest.mark.parametrize(
    ("body", "expect_call", "expected"),
    [
        (response(fcall()), True, []),
        (response(message("OK")), False, []),
        (response(message("OK")), True, [("responses.function-call", "/output")]),
        (response(message("OK"), status="incomplete"), True, []),
        (response(fcall(arguments="{'city'")), True, [("responses.function-call", "/output/0/arguments")]),
        (response(fcall(arguments="{'city'"), status="incomplete"), True, []),
        (response(fcall(call_id=None)), True, [("responses.function-call", "/output/0/call_id")]),
        (response(message("OK"), fcall(name=3)), True, [("responses.function-call", "/output/1/name")]),
    ],
    ids=["ok", "not-expected", "missing", "incomplete", "arguments", "arguments-cut", "call-id", "name"],
)
def test_function_calls(body: dict[str, Any], expect_call: bool, expected: list[tuple[str, str]]) -> None:
    assert pairs(r.check_function_calls(body, expect_call=expect_call)) == expected


def test_function_calls_list() -> None:
    assert r.function_calls(response(message("x"), fcall())) == [fcall()]
    assert r.function_calls("garbage") == []


def test_joined_not_judged_when_parts_are_malformed() -> None:
    body = response({**message(), "content": [{"type": "text", "text": "OK"}]}, output_text="OK")
    assert pairs(r.check_response_invariants(body)) == [("responses.output-text-parts", "/output/0/content/0")]
