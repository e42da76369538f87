"""Unit tests of the reference chat engine, plain (non-streamed) answers and request-level faults.

The engine is called directly with schema-valid bodies. Each plain fault is checked against a
small local judge of the plain-answer requirements: the clean answer breaks none, the faulted one
breaks exactly the fault's requirement.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from conformance.reference.api_error import ApiError
from conformance.reference.engines import StreamResult, chat
from conformance.reference.engines.textgen import count_tokens
from conformance.reference.faultset import NO_FAULTS, FaultSet

MODEL = "ref-chat"
BASE: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": "Say alpha beta gamma delta"}]}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "minLength": 2},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "unit", "days"],
            "additionalProperties": False,
        },
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
    },
}
TOOLS = [WEATHER, TIME]
TOOL_CONVERSATION = [
    {"role": "user", "content": "Weather in Paris?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "Sunny and 21 degrees"},
]
FINISH = {"stop", "length", "tool_calls", "content_filter", "function_call"}


def plain(body: dict[str, Any], *faults: str) -> dict[str, Any]:
    """The engine's plain answer (fails the test if it streamed)."""
    answer = chat.complete(body, FaultSet(frozenset(faults)))
    assert isinstance(answer, dict)
    return answer


def texts(answer: dict[str, Any]) -> list[str | None]:
    return [c["message"]["content"] for c in answer["choices"]]


def calls(answer: dict[str, Any], choice: int = 0) -> list[dict[str, Any]]:
    return list(answer["choices"][choice]["message"].get("tool_calls") or [])


def schema_of(name: str) -> dict[str, Any]:
    return next(t["function"]["parameters"] for t in TOOLS if t["function"]["name"] == name)


def test_same_body_same_answer() -> None:
    assert plain(BASE) == plain(json.loads(json.dumps(BASE)))


def test_shape_and_identity() -> None:
    answer = plain(BASE)
    assert answer["id"].startswith("chatcmpl-") and answer["object"] == "chat.completion"
    assert isinstance(answer["created"], int) and answer["created"] > 1_700_000_000
    assert answer["model"] == MODEL
    (choice,) = answer["choices"]
    assert choice["index"] == 0 and choice["message"]["role"] == "assistant" and choice["finish_reason"] == "stop"
    assert "alpha beta gamma delta" in choice["message"]["content"]


def test_usage_arithmetic_counts_prompt_and_completion() -> None:
    answer = plain(BASE)
    usage = answer["usage"]
    assert usage["completion_tokens"] == count_tokens(texts(answer)[0] or "")
    assert usage["prompt_tokens"] == count_tokens("Say alpha beta gamma delta") + 1
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_token_budget_cuts_with_length(field: str) -> None:
    answer = plain({**BASE, field: 4})
    assert answer["choices"][0]["finish_reason"] == "length"
    assert answer["usage"]["completion_tokens"] == 4 == count_tokens(texts(answer)[0] or "")
    assert plain(BASE)["choices"][0]["message"]["content"].startswith(texts(answer)[0] or "")


def test_budget_not_reached_finishes_with_stop() -> None:
    assert plain({**BASE, "max_tokens": 500})["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("stop", ["gamma", ["zzz", "beta"], [".", "gamma"]])
def test_stop_sequences_are_cut_before(stop: str | list[str]) -> None:
    content = texts(plain({**BASE, "stop": stop}))[0] or ""
    stops = [stop] if isinstance(stop, str) else stop
    assert content and not any(s in content for s in stops)
    assert texts(plain(BASE))[0].startswith(content)  # type: ignore[union-attr]


def test_n_choices_are_distinct_variants() -> None:
    answer = plain({**BASE, "n": 3, "seed": 7, "temperature": 0.5})
    assert [c["index"] for c in answer["choices"]] == [0, 1, 2]
    assert len(set(texts(answer))) == 3
    assert answer["usage"]["completion_tokens"] == sum(count_tokens(t or "") for t in texts(answer))


def test_auto_tools_are_called_in_parallel_with_valid_arguments() -> None:
    answer = plain({**BASE, "tools": TOOLS})
    choice = answer["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    made = calls(answer)
    assert [c["function"]["name"] for c in made] == ["get_weather", "get_time"]
    assert len({c["id"] for c in made}) == 2 and all(c["type"] == "function" for c in made)
    for call in made:
        Draft202012Validator(schema_of(call["function"]["name"])).validate(json.loads(call["function"]["arguments"]))


def test_tool_choice_variants() -> None:
    assert calls(plain({**BASE, "tools": TOOLS, "tool_choice": "none"})) == []
    assert len(calls(plain({**BASE, "tools": TOOLS, "tool_choice": "required"}))) == 2
    named = {"type": "function", "function": {"name": "get_time"}}
    assert [c["function"]["name"] for c in calls(plain({**BASE, "tools": TOOLS, "tool_choice": named}))] == ["get_time"]
    assert len(calls(plain({**BASE, "tools": TOOLS, "parallel_tool_calls": False}))) == 1


def test_tool_calls_have_distinct_ids_across_choices() -> None:
    answer = plain({**BASE, "tools": TOOLS, "n": 2})
    assert len({c["id"] for i in range(2) for c in calls(answer, i)}) == 4


def test_tool_result_conversation_is_answered_in_text() -> None:
    answer = plain({"model": MODEL, "messages": TOOL_CONVERSATION, "tools": TOOLS})
    assert calls(answer) == [] and answer["choices"][0]["finish_reason"] == "stop"
    assert "Sunny" in (texts(answer)[0] or "")


def test_json_object_content_parses_and_fits_the_budget() -> None:
    for budget in (None, 6, 2):
        body = {**BASE, "response_format": {"type": "json_object"}}
        answer = plain(body if budget is None else {**body, "max_tokens": budget})
        assert isinstance(json.loads(texts(answer)[0] or ""), dict)
        assert budget is None or answer["usage"]["completion_tokens"] <= budget


def test_json_schema_content_validates() -> None:
    schema = {
        "type": "object",
        "required": ["name", "age", "tags"],
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer", "minimum": 18},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        },
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": schema}}
    for content in texts(plain({**BASE, "response_format": fmt, "n": 2})):
        Draft202012Validator(schema).validate(json.loads(content or ""))


def test_stream_options_without_stream_is_a_plain_answer() -> None:
    answer = chat.complete({**BASE, "stream_options": {"include_usage": True}}, NO_FAULTS)
    assert isinstance(answer, dict) and answer == plain(BASE | {"stream_options": {"include_usage": True}})
    assert isinstance(chat.complete({**BASE, "stream": True}, NO_FAULTS), StreamResult)


def catalogue() -> tuple[set[str], set[str]]:
    """(every id, the MUST ids) of openapi/requirements.yaml."""
    path = Path(__file__).resolve().parents[2] / "openapi" / "requirements.yaml"
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))["requirements"]
    return {e["id"] for e in entries}, {e["id"] for e in entries if e["level"] == "MUST"}


def test_fault_catalogue_names_known_requirements() -> None:
    ids, musts = catalogue()
    assert all(name.split("@")[0] in ids for name in chat.FAULTS)
    covered = {name.split("@")[0] for name in chat.FAULTS}
    assert {i for i in musts if i.startswith("chat.")} <= covered
    assert all(text and not text.endswith(".") for text in chat.FAULTS.values())


# --- plain faults: each breaks exactly its requirement -------------------------------------------------------


def judge(answer: dict[str, Any], body: dict[str, Any]) -> set[str]:
    """Requirements a plain answer breaks, judged locally (a small mirror of the suite's rules)."""
    broken: set[str] = set()
    choices = answer.get("choices", [])
    if not isinstance(answer.get("id"), str) or not isinstance(answer.get("created"), int):
        broken.add("chat.response.schema")
    if answer.get("object") != "chat.completion":
        broken.add("chat.response.object")
    if sorted(c.get("index") for c in choices) != list(range(len(choices))):
        broken.add("chat.response.choice-indexes")
    if any(c["message"].get("role") != "assistant" for c in choices):
        broken.add("chat.response.assistant-role")
    if any("tool_calls" in c["message"] and c["message"]["tool_calls"] is None for c in choices):
        broken.add("chat.response.optional-null")
    if any(c.get("finish_reason") not in FINISH for c in choices):
        broken.add("chat.response.finish-reason")
    usage = answer["usage"]
    if usage["total_tokens"] != usage["prompt_tokens"] + usage["completion_tokens"]:
        broken.add("chat.response.usage-total")
    broken |= _judge_request_specific(answer, body)
    return broken


def _judge_request_specific(answer: dict[str, Any], body: dict[str, Any]) -> set[str]:
    broken: set[str] = set()
    choices = answer["choices"]
    if body.get("max_tokens") == 3 and any(c["finish_reason"] != "length" for c in choices):
        broken.add("chat.max-tokens-length")
    if "n" in body and len(choices) != body["n"]:
        broken.add("chat.n-choices")
    stops = body.get("stop") or []
    if any(s in (c["message"]["content"] or "") for c in choices for s in stops):
        broken.add("chat.stop")
    for choice in choices:
        broken |= _judge_tools(choice, body)
    kind = (body.get("response_format") or {}).get("type")
    for content in (c["message"]["content"] or "" for c in choices):
        broken |= _judge_json(content, kind, body)
    return broken


def _judge_tools(choice: dict[str, Any], body: dict[str, Any]) -> set[str]:
    broken: set[str] = set()
    made = choice["message"].get("tool_calls") or []
    wanted = body.get("tool_choice")
    if wanted == "required" and not made:
        broken.add("chat.tools.choice-required")
    if wanted == "none" and made:
        broken.add("chat.tools.choice-none")
    if isinstance(wanted, dict) and wanted["function"]["name"] not in [c["function"]["name"] for c in made]:
        broken.add("chat.tools.choice-named")
    if made and choice["finish_reason"] != "tool_calls":
        broken.add("chat.tools.finish-reason")
    if len({c["id"] for c in made}) != len(made):
        broken.add("chat.tools.distinct-ids")
    for call in made:
        if not (isinstance(call.get("id"), str) and call.get("type") == "function"):
            broken.add("chat.tools.call-shape")
        name, arguments = call["function"]["name"], call["function"]["arguments"]
        params = next((t["function"]["parameters"] for t in body.get("tools", []) if t["function"]["name"] == name), {})
        try:
            if not Draft202012Validator(params).is_valid(json.loads(arguments)):
                broken.add("chat.tools.arguments-valid")
        except ValueError:
            broken.add("chat.tools.arguments-valid")
    return broken


def _judge_json(content: str, kind: str | None, body: dict[str, Any]) -> set[str]:
    if kind not in ("json_object", "json_schema"):
        return set()
    requirement = f"chat.response-format.{kind.replace('_', '-')}"
    try:
        value = json.loads(content)
    except ValueError:
        return {requirement}
    schema = body["response_format"].get("json_schema", {}).get("schema", {"type": "object"})
    return set() if Draft202012Validator(schema).is_valid(value) else {requirement}


NAMED = {"type": "function", "function": {"name": "get_weather"}}
PERSON = {
    "type": "json_schema",
    "json_schema": {
        "name": "p",
        "schema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
    },
}
PLAIN_CASES: list[tuple[str, dict[str, Any]]] = [
    ("chat.response.schema", BASE),
    ("chat.response.optional-null", BASE),
    ("chat.response.object", BASE),
    ("chat.response.choice-indexes", BASE),
    ("chat.response.choice-indexes", {**BASE, "n": 2}),
    ("chat.response.assistant-role", BASE),
    ("chat.response.finish-reason", BASE),
    ("chat.response.usage-total", BASE),
    ("chat.max-tokens-length", {**BASE, "max_tokens": 3}),
    ("chat.n-choices", {**BASE, "n": 2}),
    ("chat.stop", {**BASE, "stop": ["gamma"]}),
    ("chat.tools.call-shape", {**BASE, "tools": TOOLS}),
    ("chat.tools.arguments-valid", {**BASE, "tools": TOOLS}),
    ("chat.tools.choice-required", {**BASE, "tools": TOOLS, "tool_choice": "required"}),
    ("chat.tools.choice-none", {**BASE, "tools": TOOLS, "tool_choice": "none"}),
    ("chat.tools.choice-named", {**BASE, "tools": TOOLS, "tool_choice": NAMED}),
    ("chat.tools.choice-named", {**BASE, "tools": [WEATHER], "tool_choice": NAMED}),
    ("chat.tools.finish-reason", {**BASE, "tools": TOOLS, "tool_choice": "required"}),
    ("chat.tools.distinct-ids", {**BASE, "tools": TOOLS}),
    ("chat.response-format.json-object", {**BASE, "response_format": {"type": "json_object"}}),
    ("chat.response-format.json-schema", {**BASE, "response_format": PERSON}),
]


@pytest.mark.parametrize(("fault", "body"), PLAIN_CASES, ids=[f"{f}-{i}" for i, (f, _) in enumerate(PLAIN_CASES)])
def test_plain_fault_breaks_only_its_requirement(fault: str, body: dict[str, Any]) -> None:
    assert judge(plain(body), body) == set()
    assert judge(plain(body, fault), body) == {fault}


@pytest.mark.parametrize(
    ("fault", "body", "status"),
    [
        ("chat.minimal-request", {**BASE, "temperature": 0.2, "max_tokens": 5}, 400),
        ("chat.minimal-request", BASE, 400),
        ("chat.tools.result-accepted", {"model": MODEL, "messages": TOOL_CONVERSATION, "tools": TOOLS}, 400),
        ("chat.stream.options-without-stream", {**BASE, "stream_options": {"include_usage": True}}, 500),
        ("chat.stream.options-without-stream", {**BASE, "stream": False, "stream_options": {}}, 500),
    ],
)
def test_request_fault_answers_an_error(fault: str, body: dict[str, Any], status: int) -> None:
    assert isinstance(chat.complete(body, NO_FAULTS), dict)
    with pytest.raises(ApiError) as caught:
        chat.complete(body, FaultSet(frozenset({fault})))
    assert caught.value.status == status and caught.value.message


@pytest.mark.parametrize(
    ("fault", "body"),
    [
        ("chat.minimal-request", {**BASE, "max_tokens": 5, "n": 1}),
        ("chat.tools.result-accepted", {**BASE, "tools": TOOLS}),
        ("chat.stream.options-without-stream", {**BASE, "stream": True, "stream_options": {"include_usage": True}}),
    ],
)
def test_request_fault_spares_other_requests(fault: str, body: dict[str, Any]) -> None:
    assert isinstance(chat.complete(body, FaultSet(frozenset({fault}))), (dict, StreamResult))


def test_finish_reason_fault_spares_length_and_tool_calls() -> None:
    bodies = ({**BASE, "max_tokens": 3}, {**BASE, "tools": TOOLS})
    faulted = [plain(body, "chat.response.finish-reason") for body in bodies]
    assert [a["choices"][0]["finish_reason"] for a in faulted] == ["length", "tool_calls"]
