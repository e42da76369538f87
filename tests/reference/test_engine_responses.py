"""Unit tests of the reference Responses engine, plain and streamed (SPEC-DECISIONS §14-15), and its faults.

Streams are read by a tiny local parser (never conformance.sse) and judged by a local mirror of
the responses.* rules: the clean engine breaks none, each fault breaks its own requirement.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from conformance.reference.api_error import ApiError
from conformance.reference.engines import StreamResult, responses, responses_stream
from conformance.reference.engines.textgen import count_tokens
from conformance.reference.faultset import NO_FAULTS, FaultSet

BASE: dict[str, Any] = {"model": "ref-chat", "input": "Say alpha beta gamma delta"}
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
        "required": ["city", "unit"],
    },
}
ITEMS_INPUT = [
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]},
    {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city": "Paris"}'},
    {"type": "function_call_output", "call_id": "call_1", "output": "Sunny and 21 degrees"},
]
STATUSES = {"completed", "incomplete", "failed", "in_progress", "queued", "cancelled"}


def plain(body: dict[str, Any], *faults: str) -> dict[str, Any]:
    result = responses.create(body, FaultSet(frozenset(faults)))
    assert isinstance(result, dict)
    return result


def parse_sse(raw: bytes) -> list[tuple[str | None, str]]:
    """(event line, data) of every event: blocks split at blank lines, data lines joined with newlines."""
    text = raw.decode("utf-8")
    assert text.endswith("\n\n")
    events = []
    for block in text[:-2].split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            assert field in ("event", "data"), line
            if field == "event":
                name = value
            else:
                data.append(value)
        events.append((name, "\n".join(data)))
    return events


def stream(body: dict[str, Any], *faults: str) -> tuple[str, list[tuple[str | None, str]]]:
    result = responses.create({**body, "stream": True}, FaultSet(frozenset(faults)))
    assert isinstance(result, StreamResult)
    return result.content_type, parse_sse(b"".join(result.chunks))


def message_text(response: dict[str, Any]) -> str:
    return "".join(p["text"] for i in response["output"] if i["type"] == "message" for p in i["content"])


# --- plain ----------------------------------------------------------------------------------------------------


def test_plain_response_shape_and_determinism() -> None:
    answer = plain({**BASE, "instructions": "Be brief"})
    assert answer == plain({**BASE, "instructions": "Be brief"})
    assert answer["id"].startswith("resp_") and answer["object"] == "response" and answer["status"] == "completed"
    assert isinstance(answer["created_at"], int) and answer["instructions"] == "Be brief"
    (item,) = answer["output"]
    assert item["type"] == "message" and item["role"] == "assistant" and item["id"].startswith("msg_")
    assert item["content"][0]["type"] == "output_text" and item["content"][0]["annotations"] == []
    assert answer["output_text"] == message_text(answer) and "alpha beta gamma delta" in answer["output_text"]
    usage = answer["usage"]
    assert usage["output_tokens"] == count_tokens(answer["output_text"])
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_max_output_tokens_makes_an_incomplete_response() -> None:
    answer = plain({**BASE, "max_output_tokens": 4})
    assert answer["status"] == "incomplete" and answer["incomplete_details"] == {"reason": "max_output_tokens"}
    assert answer["usage"]["output_tokens"] == 4 and answer["output"][0]["status"] == "incomplete"
    assert plain({**BASE, "max_output_tokens": 500})["status"] == "completed"


def test_function_tools_are_called_with_valid_arguments() -> None:
    answer = plain({**BASE, "tools": [WEATHER]})
    (call,) = answer["output"]
    assert call["type"] == "function_call" and call["id"].startswith("fc_") and call["call_id"].startswith("call_")
    assert call["name"] == "get_weather" and call["status"] == "completed"
    Draft202012Validator(WEATHER["parameters"]).validate(json.loads(call["arguments"]))
    assert plain({**BASE, "tools": [WEATHER], "tool_choice": "none"})["output"][0]["type"] == "message"


def test_function_call_output_follow_up_is_answered_in_text() -> None:
    answer = plain({"model": "ref-chat", "input": ITEMS_INPUT, "tools": [WEATHER]})
    assert answer["output"][0]["type"] == "message" and "Sunny" in answer["output_text"]


def test_fault_catalogue_covers_every_responses_must() -> None:
    path = Path(__file__).resolve().parents[2] / "openapi" / "requirements.yaml"
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))["requirements"]
    ids = {e["id"] for e in entries}
    musts = {e["id"] for e in entries if e["level"] == "MUST" and e["id"].startswith("responses.")}
    names = {name.split("@")[0] for name in responses.FAULTS}
    assert names <= ids and musts <= names


def judge_plain(answer: dict[str, Any]) -> set[str]:
    broken = set()
    if not isinstance(answer.get("id"), str):
        broken.add("responses.schema")
    if answer["object"] != "response":
        broken.add("responses.object")
    if answer["status"] not in STATUSES:
        broken.add("responses.status-enum")
    messages = [i for i in answer["output"] if i["type"] == "message"]
    parts = [p for m in messages for p in m["content"]]
    if any(p.get("type") != "output_text" or not isinstance(p.get("text"), str) for p in parts):
        broken.add("responses.output-text-parts")
    elif answer["output_text"] != message_text(answer):
        broken.add("responses.output-text-joined")
    usage = answer["usage"]
    if usage["total_tokens"] != usage["input_tokens"] + usage["output_tokens"]:
        broken.add("responses.usage-total")
    for call in (i for i in answer["output"] if i["type"] == "function_call"):
        if not (isinstance(call.get("call_id"), str) and isinstance(call.get("name"), str)):
            broken.add("responses.function-call")
        json.loads(call["arguments"])
    return broken


PLAIN_CASES = [
    ("responses.schema", BASE),
    ("responses.object", BASE),
    ("responses.status-enum", BASE),
    ("responses.output-text-parts", BASE),
    ("responses.output-text-joined", BASE),
    ("responses.usage-total", {**BASE, "tools": [WEATHER]}),
    ("responses.function-call", {**BASE, "tools": [WEATHER]}),
]


@pytest.mark.parametrize(("fault", "body"), PLAIN_CASES, ids=[f for f, _ in PLAIN_CASES])
def test_plain_fault_breaks_only_its_requirement(fault: str, body: dict[str, Any]) -> None:
    assert judge_plain(plain(body)) == set()
    assert judge_plain(plain(body, fault)) == {fault}


@pytest.mark.parametrize(
    ("fault", "body"),
    [
        ("responses.instructions-accepted", {**BASE, "instructions": "Be brief"}),
        ("responses.function-call-output", {"model": "ref-chat", "input": ITEMS_INPUT}),
    ],
)
def test_request_fault_answers_400(fault: str, body: dict[str, Any]) -> None:
    assert isinstance(responses.create(body, NO_FAULTS), dict)
    assert isinstance(responses.create(BASE, FaultSet(frozenset({fault}))), dict)
    with pytest.raises(ApiError) as caught:
        responses.create(body, FaultSet(frozenset({fault})))
    assert caught.value.status == 400


# --- streamed -------------------------------------------------------------------------------------------------


def judge_stream(content_type: str, events: list[tuple[str | None, str]]) -> set[str]:
    broken = set() if content_type == "text/event-stream" else {"responses.stream.content-type"}
    parsed = []
    for name, data in events:
        try:
            value = json.loads(data)
        except ValueError:
            broken.add("responses.stream.framing")
            continue
        if name != value["type"]:
            broken.add("responses.stream.event-type-match")
        if value["type"] in ("response.created", "response.in_progress") and "response" not in value:
            broken.add("responses.stream.event-schema")
        parsed.append(value)
    numbers = [e["sequence_number"] for e in parsed]
    if any(b <= a for a, b in zip(numbers, numbers[1:], strict=False)):
        broken.add("responses.stream.sequence-number")
    elif numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        broken.add("responses.stream.sequence-contiguous")
    if parsed[0]["type"] != "response.created":
        broken.add("responses.stream.created-first")
    return broken | _judge_items(parsed) | _judge_terminal(parsed)


_ORDER = {
    "message": [
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta*",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
    ],
    "function_call": [
        "response.output_item.added",
        "response.function_call_arguments.delta*",
        "response.function_call_arguments.done",
        "response.output_item.done",
    ],
}


def _judge_items(parsed: list[dict[str, Any]]) -> set[str]:
    broken = set()
    added = {e["output_index"]: e["item"] for e in parsed if e["type"] == "response.output_item.added"}
    for index, item in added.items():
        own = [e for e in parsed if e.get("output_index") == index]
        kinds = [e["type"] for e in own]
        collapsed = [k for j, k in enumerate(kinds) if not (k.endswith(".delta") and j and kinds[j - 1] == k)]
        expected = [k.rstrip("*") for k in _ORDER[item["type"]]]
        if collapsed != expected:
            broken.add("responses.stream.item-lifecycle")
        if any(e.get("item_id", item["id"]) != item["id"] for e in own):
            broken.add("responses.stream.consistent-indexes")
        if item["type"] == "function_call":
            joined = "".join(e["delta"] for e in own if e["type"].endswith(".delta"))
            done = next(e["arguments"] for e in own if e["type"].endswith("arguments.done"))
            final = next(e["item"]["arguments"] for e in own if e["type"] == "response.output_item.done")
            if not joined == done == final:
                broken.add("responses.stream.function-call-arguments")
    return broken


def _judge_terminal(parsed: list[dict[str, Any]]) -> set[str]:
    broken = set()
    terminal = [e for e in parsed if e["type"] in ("response.completed", "response.incomplete", "response.failed")]
    if len(terminal) != 1 or parsed[-1] is not terminal[-1]:
        broken.add("responses.stream.single-terminal")
    if not terminal:
        return broken
    final = terminal[0]["response"]
    deltas = "".join(e["delta"] for e in parsed if e["type"] == "response.output_text.delta")
    if message_text(final) != deltas:
        broken.add("responses.stream.terminal-text")
    created = next((e for e in parsed if e["type"] == "response.created"), None)
    if created is None or created["response"]["id"] != final["id"]:
        broken.add("responses.stream.terminal-id")
    return broken


STREAM_BODIES = {
    "text": {**BASE, "instructions": "Be brief"},
    "cut": {**BASE, "max_output_tokens": 5},
    "call": {**BASE, "tools": [WEATHER, {**WEATHER, "name": "get_forecast"}]},
    "follow-up": {"model": "ref-chat", "input": ITEMS_INPUT, "tools": [WEATHER]},
}


@pytest.mark.parametrize("name", sorted(STREAM_BODIES))
def test_clean_stream_breaks_nothing_and_matches_the_plain_response(name: str) -> None:
    body = STREAM_BODIES[name]
    content_type, events = stream(body)
    assert judge_stream(content_type, events) == set()
    final = json.loads(events[-1][1])["response"]
    assert final == plain(body) and json.loads(events[0][1])["sequence_number"] == 0
    assert final["status"] == ("incomplete" if name == "cut" else "completed")
    assert events[-1][0] == ("response.incomplete" if name == "cut" else "response.completed")


def test_created_carries_an_in_progress_response() -> None:
    _, events = stream(BASE)
    created = json.loads(events[0][1])["response"]
    assert created["status"] == "in_progress" and created["output"] == []
    assert len([e for e in events if e[0] == "response.output_text.delta"]) >= 5


STREAM_CASES = [
    ("responses.stream.content-type", "text"),
    ("responses.stream.framing", "text"),
    ("responses.stream.event-type-match", "text"),
    ("responses.stream.event-type-match", "call"),
    ("responses.stream.event-schema", "text"),
    ("responses.stream.sequence-number", "text"),
    ("responses.stream.sequence-contiguous", "text"),
    ("responses.stream.created-first", "text"),
    ("responses.stream.item-lifecycle", "text"),
    ("responses.stream.item-lifecycle", "call"),
    ("responses.stream.consistent-indexes", "cut"),
    ("responses.stream.consistent-indexes", "call"),
    ("responses.stream.single-terminal", "cut"),
    ("responses.stream.terminal-text", "text"),
    ("responses.stream.terminal-id", "follow-up"),
    ("responses.stream.function-call-arguments", "call"),
]


@pytest.mark.parametrize(("fault", "name"), STREAM_CASES, ids=[f"{f}-{n}" for f, n in STREAM_CASES])
def test_stream_fault_breaks_only_its_requirement(fault: str, name: str) -> None:
    assert judge_stream(*stream(STREAM_BODIES[name], fault)) == {fault}


def test_every_stream_fault_is_exercised() -> None:
    assert {f for f, _ in STREAM_CASES} == set(responses_stream.FAULTS)
