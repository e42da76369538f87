"""Unit tests of conformance.checks.chat on canned non-streamed answers."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from conformance.checks import chat as c
from conformance.model import Violation

WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def pairs(violations: list[Violation]) -> list[tuple[str, str | None]]:
    return [(v.requirement, v.where) for v in violations]


def answer(*choices: dict[str, Any], usage: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000,
                            "model": "ref-chat", "choices": list(choices)}
    body["usage"] = usage if usage is not None else {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    return body


def choice(index: int = 0, content: str | None = "OK", finish: str = "stop", **message: Any) -> dict[str, Any]:
    return {"index": index, "message": {"role": "assistant", "content": content, **message},
            "finish_reason": finish, "logprobs": None}


def call(cid: str = "call_1", name: str = "get_weather", arguments: str = '{"city": "Paris"}') -> dict[str, Any]:
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": arguments}}


def tool_choice_answer(*calls: dict[str, Any], finish: str = "tool_calls") -> dict[str, Any]:
    return answer(choice(content=None, finish=finish, tool_calls=list(calls)))


def broken(path: list[Any], value: Any) -> dict[str, Any]:
    body = answer(choice(), choice(1))
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


def test_schema_passes_and_drops_owned_pointers() -> None:
    assert c.check_chat_response_schema(answer(choice())) == []
    # object and finish_reason are reported by the invariants, not by the schema check
    assert c.check_chat_response_schema(broken(["object"], "chat.completions")) == []
    assert pairs(c.check_chat_response_schema(broken(["created"], "now"))) == [("chat.response.schema", "/created")]


def test_a_missing_object_is_the_object_shoulds_not_the_schema_must() -> None:
    body = answer(choice())
    del body["object"]
    assert c.check_chat_response_schema(body) == []
    assert pairs(c.check_chat_invariants(body)) == [("chat.response.object", "/object")]
    del body["created"]             # any other missing member is still the schema's
    assert pairs(c.check_chat_response_schema(body)) == [("chat.response.schema", "/")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (answer(choice(), choice(1)), []),
        (broken(["object"], "chat.completions"), [("chat.response.object", "/object")]),
        (broken(["choices", 1, "index"], 0), [("chat.response.choice-indexes", "/choices")]),
        (broken(["choices", 0, "index"], "0"), [("chat.response.choice-indexes", "/choices")]),
        (broken(["choices", 1, "message", "role"], "user"),
         [("chat.response.assistant-role", "/choices/1/message/role")]),
        (broken(["choices", 0, "finish_reason"], "eos"), [("chat.response.finish-reason", "/choices/0/finish_reason")]),
        (broken(["choices", 0, "finish_reason"], None), [("chat.response.finish-reason", "/choices/0/finish_reason")]),
        (broken(["usage", "total_tokens"], 6), [("chat.response.usage-total", "/usage")]),
    ],
    ids=["ok", "object", "duplicate-index", "index-type", "role", "finish-enum", "finish-null", "usage"],
)
def test_invariants(body: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert pairs(c.check_chat_invariants(body)) == expected


def test_usage_absent_is_not_judged() -> None:
    body = answer(choice())
    del body["usage"]
    assert c.check_chat_invariants(body) == []


def test_finish_reason_length() -> None:
    assert c.check_finish_reason_length(answer(choice(finish="length"))) == []
    assert pairs(c.check_finish_reason_length(answer(choice(finish="stop")))) == [
        ("chat.max-tokens-length", "/choices/0/finish_reason")
    ]


def test_choice_count() -> None:
    assert c.check_choice_count(answer(choice(), choice(1)), 2) == []
    assert pairs(c.check_choice_count(answer(choice()), 2)) == [("chat.n-choices", "/choices")]


def test_stop_absent() -> None:
    assert c.check_stop_absent(answer(choice(content="alpha beta ")), ["gamma"]) == []
    assert c.check_stop_absent(answer(choice(content=None)), ["gamma"]) == []
    assert pairs(c.check_stop_absent(answer(choice(content="alpha beta gamma")), ["gamma"])) == [
        ("chat.stop", "/choices/0/message/content")
    ]


@pytest.mark.parametrize(
    ("calls", "expected"),
    [
        ([call()], []),
        ([{"type": "function", "function": {"name": "f", "arguments": "{}"}}],
         [("chat.tools.call-shape", "/choices/0/message/tool_calls/0")]),
        ([{**call(), "type": "tool"}], [("chat.tools.call-shape", "/choices/0/message/tool_calls/0/type")]),
        ([call(arguments={"city": "Paris"})],  # type: ignore[arg-type]
         [("chat.tools.call-shape", "/choices/0/message/tool_calls/0/function/arguments")]),
    ],
    ids=["ok", "no-id", "type", "arguments-object"],
)
def test_tool_call_shape(calls: list[dict[str, Any]], expected: list[tuple[str, str]]) -> None:
    assert pairs(c.check_tool_call_shape(tool_choice_answer(*calls))) == expected


@pytest.mark.parametrize(
    ("arguments", "name", "where"),
    [
        ('{"city": "Paris"}', "get_weather", None),
        ('{"city": ', "get_weather", "arguments"),
        ('["Paris"]', "get_weather", "arguments"),
        ('{"town": "Paris"}', "get_weather", "arguments"),
        ('{"city": 7}', "get_weather", "arguments"),
        ('{"city": "Paris"}', "get_time", "name"),
    ],
    ids=["ok", "not-json", "not-object", "missing-required", "wrong-type", "undeclared-tool"],
)
def test_tool_arguments(arguments: str, name: str, where: str | None) -> None:
    found = c.check_tool_arguments(tool_choice_answer(call(name=name, arguments=arguments)), [WEATHER])
    pointer = f"/choices/0/message/tool_calls/0/function/{where}"
    expected = [] if where is None else [("chat.tools.arguments-valid", pointer)]
    assert pairs(found) == expected


def test_tool_arguments_cut_by_length_are_not_judged() -> None:
    body = tool_choice_answer(call(arguments='{"ci'), finish="length")
    assert c.check_tool_arguments(body, [WEATHER]) == []


def test_tool_choice() -> None:
    named = {"type": "function", "function": {"name": "get_weather"}}
    with_call, without = tool_choice_answer(call()), answer(choice())
    assert c.check_tool_choice(with_call, "required") == []
    assert c.check_tool_choice(without, "none") == []
    assert c.check_tool_choice(with_call, named) == []
    assert pairs(c.check_tool_choice(without, "required")) == [("chat.tools.choice-required", "/choices/0/message")]
    assert pairs(c.check_tool_choice(with_call, "none")) == [
        ("chat.tools.choice-none", "/choices/0/message/tool_calls")]
    other = tool_choice_answer(call(name="get_time"))
    assert pairs(c.check_tool_choice(other, named)) == [("chat.tools.choice-named", "/choices/0/message/tool_calls")]
    assert c.check_tool_choice(answer(choice(content=None, finish="length")), "required") == []


def test_tool_finish_reason() -> None:
    assert c.check_tool_finish_reason(tool_choice_answer(call())) == []
    assert c.check_tool_finish_reason(answer(choice())) == []  # no calls: nothing to judge
    stopped = tool_choice_answer(call(), finish="stop")
    assert pairs(c.check_tool_finish_reason(stopped)) == [("chat.tools.finish-reason", "/choices/0/finish_reason")]
    assert c.check_tool_finish_reason(stopped, allowed=("tool_calls", "stop")) == []


def test_tool_call_ids_distinct() -> None:
    assert c.check_tool_call_ids_distinct(tool_choice_answer(call("a"), call("b"))) == []
    assert pairs(c.check_tool_call_ids_distinct(tool_choice_answer(call("a"), call("a")))) == [
        ("chat.tools.distinct-ids", "/choices/0/message/tool_calls")
    ]


SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}


@pytest.mark.parametrize(
    ("content", "finish", "schema", "expected"),
    [
        ('{"ok": true}', "stop", None, []),
        ("null", "stop", None, []),
        ("Sure! {", "stop", None, [("chat.response-format.json-object", "/choices/0/message/content")]),
        (None, "stop", None, [("chat.response-format.json-object", "/choices/0/message/content")]),
        ('{"ok": tr', "length", None, []),
        ('{"ok": true}', "stop", SCHEMA, []),
        ('{"ok": "yes"}', "stop", SCHEMA, [("chat.response-format.json-schema", "/choices/0/message/content")]),
        ("{", "stop", SCHEMA, [("chat.response-format.json-schema", "/choices/0/message/content")]),
    ],
    ids=["object", "null", "prose", "no-content", "cut-short", "schema-ok", "schema-invalid", "schema-not-json"],
)
def test_json_content(content: str | None, finish: str, schema: dict[str, Any] | None,
                      expected: list[tuple[str, str]]) -> None:
    body = answer(choice(content=content, finish=finish))
    assert pairs(c.check_json_content(body, schema=schema)) == expected


def test_checks_tolerate_garbage() -> None:
    for garbage in (None, "x", [], {"choices": "x"}, {"choices": [1, None]}):
        assert c.check_tool_call_shape(garbage) == []
        assert c.check_tool_choice(garbage, "required") == []
        assert c.check_stop_absent(garbage, ["x"]) == []
        assert c.check_json_content(copy.deepcopy(garbage)) == []
    assert c.check_chat_invariants("x") == []


def test_tool_choice_cut_short() -> None:
    # a reasoning model that spent its budget: nothing to judge; a text answer instead of a call: judged
    assert c.check_tool_choice(answer(choice(content="", finish="length")), "required") == []
    assert pairs(c.check_tool_choice(answer(choice(content="The weather", finish="length")), "required")) == [
        ("chat.tools.choice-required", "/choices/0/message")]


def _answer(**message: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "ref-chat",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def test_an_optional_null_member_passes_the_schema_and_is_reported_by_its_should() -> None:
    answer = _answer(content="OK", tool_calls=None)
    assert c.check_chat_response_schema(answer) == []
    found = c.check_chat_optional_nulls(answer)
    where = "/choices/0/message/tool_calls"
    assert [(v.requirement, v.where) for v in found] == [("chat.response.optional-null", where)]
    assert found.judged == {"chat.response.optional-null"}
    clean = c.check_chat_optional_nulls(_answer(content="OK"))
    assert clean == [] and clean.judged == {"chat.response.optional-null"}


def test_a_required_member_sent_as_null_still_fails_the_schema() -> None:
    answer = _answer(content="OK")
    answer["id"] = None
    assert [v.where for v in c.check_chat_response_schema(answer)] == ["/id"]
    assert c.check_chat_optional_nulls(answer) == []
