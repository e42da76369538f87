"""Unit tests of conformance.checks.properties on canned data (no network, no Schemathesis)."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.checks import properties as p
from conformance.model import Exchange, Violation

CHAT = "/chat/completions"
MESSAGES = [{"role": "user", "content": "Say OK."}]


def chat(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "m", "messages": MESSAGES}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not _DROP}


_DROP = object()


# --------------------------------------------------------------------------- invalid bodies


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        pytest.param(CHAT, chat(), None, id="valid"),
        pytest.param(CHAT, chat(x_unknown_field={"a": 1}), None, id="unknown-field-is-valid"),
        pytest.param(CHAT, chat(messages=_DROP), p.MISSING, id="missing-messages"),
        pytest.param(CHAT, chat(temperature="warm"), p.WRONG_TYPE, id="temperature-string"),
        pytest.param(CHAT, chat(temperature=5), p.OUT_OF_RANGE, id="temperature-5"),
        pytest.param(CHAT, chat(max_tokens=0), p.OUT_OF_RANGE, id="max-tokens-0"),
        pytest.param(CHAT, chat(messages=[]), p.OUT_OF_RANGE, id="messages-empty"),
        pytest.param(CHAT, chat(messages=[{"role": "wizard", "content": "x"}]), p.UNKNOWN_ENUM,
                     id="role-wizard"),
        pytest.param(CHAT, chat(messages=[{"role": "user", "content": 5}]), p.WRONG_TYPE,
                     id="user-content-number"),
        pytest.param(CHAT, chat(messages=[{"role": "user"}]), p.MISSING, id="user-without-content"),
        pytest.param("/embeddings", {"model": "m", "input": 42}, p.WRONG_TYPE, id="embeddings-input-number"),
        pytest.param("/embeddings", {"model": "m", "input": []}, p.OUT_OF_RANGE, id="embeddings-input-empty"),
        pytest.param("/embeddings", {"model": "m", "input": "x", "encoding_format": "hex"}, p.UNKNOWN_ENUM,
                     id="embeddings-encoding-hex"),
        pytest.param("/rerank", {"model": "m", "query": "q", "documents": ["d"], "top_n": 0}, p.OUT_OF_RANGE,
                     id="rerank-top-n-0"),
        pytest.param(CHAT, ["not", "an", "object"], p.WRONG_TYPE, id="body-array"),
    ],
)
def test_invalid_body_requirement(path: str, body: Any, expected: str | None) -> None:
    assert p.invalid_body_requirement(path, "POST", body) == expected


def test_absent_body_is_malformed_json() -> None:
    assert p.invalid_body_requirement(CHAT, "POST", None, absent=True) == p.MALFORMED


# --------------------------------------------------------------------------- findings

POSITIVE_CHAT = p.CaseFacts("createChatCompletion", p.POSITIVE)
NEGATIVE_CHAT = p.CaseFacts("createChatCompletion", p.NEGATIVE, invalid_requirement=p.WRONG_TYPE)


def facts(code: str, status: int = 200, **extra: Any) -> p.FailureFacts:
    message = f"first line of {code}\nmore"
    return p.FailureFacts(code=code, title=f"title {code}", message=message, status=status, **extra)


def ids_where(found: list[Violation]) -> list[tuple[str, str | None]]:
    return [(v.requirement, v.where) for v in found]


CT = ("errors.documented-content-type", "header Content-Type")
HEADER = "Response header does not conform to the schema"
SSE = "text/event-stream"
WRONG_METHOD = p.CaseFacts("listModels", p.WRONG_METHOD)
LIST_MODELS = p.CaseFacts("listModels", p.POSITIVE)


@pytest.mark.parametrize(
    ("failure", "case", "expected"),
    [
        pytest.param(facts("ST101", 500), POSITIVE_CHAT, [("errors.no-server-error", "status")],
                     id="5xx-positive"),
        pytest.param(facts("ST101", 502), NEGATIVE_CHAT, [("errors.no-5xx-for-client-error", "status")],
                     id="5xx-negative"),
        pytest.param(facts("ST101", 500), WRONG_METHOD, [("errors.no-5xx-for-client-error", "status")],
                     id="5xx-probe"),
        pytest.param(facts("ST103", 418), POSITIVE_CHAT, [("errors.documented-status", "status")],
                     id="undocumented-status"),
        pytest.param(facts("ST104"), POSITIVE_CHAT, [CT], id="missing-content-type"),
        pytest.param(facts("ST105"), POSITIVE_CHAT, [CT], id="undocumented-content-type"),
        pytest.param(facts("ST108", instance_path=("choices", 0, "finish_reason"), instance="end_turn"),
                     POSITIVE_CHAT, [("chat.response.schema", "/choices/0/finish_reason")], id="json-schema"),
        pytest.param(facts("ST108", instance_path=("data", 2, "created")), LIST_MODELS,
                     [(p.MODEL_SHAPE, "/data/2/created")], id="listed-model-shape"),
        pytest.param(facts("ST108", instance_path=("object",)), LIST_MODELS,
                     [("models.list.object", "/object")], id="list-object"),
        pytest.param(facts("ST108", instance_path=("data",)), LIST_MODELS,
                     [("models.list.shape", "/data")], id="list-shape"),
        pytest.param(facts("ST108", instance_path=("object",)), POSITIVE_CHAT,
                     [("chat.response.object", "/object")], id="chat-object"),
        pytest.param(facts("ST109", media_type="application/json"), p.CaseFacts("createRerank", p.POSITIVE),
                     [("rerank.schema", "/")], id="malformed-json"),
        pytest.param(facts("ST108", media_type=SSE, instance_path=("created",), event_index=3),
                     POSITIVE_CHAT, [("chat.stream.chunk-schema", "event[3]/created")], id="sse-event"),
        pytest.param(facts("ST108", media_type=SSE, event_index=0), p.CaseFacts("createResponse", p.POSITIVE),
                     [("responses.stream.event-schema", "event[0]")], id="responses-sse-event"),
        pytest.param(facts("ST108", 400), NEGATIVE_CHAT, [], id="error-schema-left-to-envelope-check"),
        pytest.param(facts("ST108"), p.CaseFacts("createSpeech", p.POSITIVE), [], id="no-shape-id"),
        # Retry-After is judged by the rate-limit suite, which provokes the 429 (D25).
        pytest.param(facts("ST108", 429, header=HEADER), POSITIVE_CHAT, [], id="retry-after-header"),
        pytest.param(facts("ST108"), p.CaseFacts("retrieveVideo", p.POSITIVE), [], id="unserved-operation"),
        pytest.param(facts("ST108", 200, header=HEADER), POSITIVE_CHAT, [], id="other-header"),
        pytest.param(facts("ST201", 200), NEGATIVE_CHAT, [(p.WRONG_TYPE, "status")], id="negative-accepted"),
        pytest.param(facts("ST201", 200), p.CaseFacts("createChatCompletion", p.NEGATIVE), [],
                     id="negative-unconfirmed"),
        pytest.param(facts("ST201", 200), p.CaseFacts("createTranscription", p.NEGATIVE, p.WRONG_TYPE, True),
                     [], id="negative-multipart"),
        pytest.param(facts("ST202", 400), POSITIVE_CHAT, [], id="positive-rejected-unmapped"),
        pytest.param(facts("ST203", 200), p.CaseFacts("listModels", p.MISSING_AUTH),
                     [("auth.missing-key", "status")], id="missing-auth-served"),
        pytest.param(facts("ST204", 404, reason="wrong_status"), WRONG_METHOD,
                     [("errors.wrong-method-405", "status")], id="wrong-method-404"),
        pytest.param(facts("ST204", 200, reason="wrong_status"), WRONG_METHOD,
                     [("errors.wrong-method", "status")], id="wrong-method-200"),
        pytest.param(facts("ST204", 405, reason="missing_allow_header"), WRONG_METHOD, [],
                     id="405-without-allow-unmapped"),
        pytest.param(facts("ST999"), POSITIVE_CHAT, [], id="unknown-code"),
    ],
)
def test_failure_to_violations(
    failure: p.FailureFacts, case: p.CaseFacts, expected: list[tuple[str, str]]
) -> None:
    assert ids_where(p.failure_to_violations(failure, case)) == expected


def test_negative_422_says_it_is_a_deviation() -> None:
    (found,) = p.failure_to_violations(facts("ST201", 422), NEGATIVE_CHAT)
    assert found.requirement == p.WRONG_TYPE
    assert found.expected == "HTTP 400 (422 is a deviation)"
    assert found.actual.startswith("HTTP 422")


def test_ready_made_violations_pass_through() -> None:
    ready = Violation("errors.envelope-shape", "an envelope", "{}", "/error")
    assert p.failure_to_violations(facts("ST901", 400, violations=(ready,)), POSITIVE_CHAT) == [ready]


def test_schema_violation_carries_the_offending_value() -> None:
    (found,) = p.failure_to_violations(
        facts("ST108", instance_path=("created",), instance="yesterday"), POSITIVE_CHAT
    )
    assert found.actual == "yesterday"
    assert found.expected.startswith("title ST108: first line of ST108")


def test_every_reported_id_is_declared_shape_ids_first() -> None:
    for op in ("createChatCompletion", "createResponse", "listModels", "createSpeech"):
        declared = set(p.operation_ids(op))
        assert declared >= set(p.COMMON_IDS)
    assert p.operation_ids("createChatCompletion")[:3] == (
        "chat.response.schema", "chat.stream.chunk-schema", "chat.stream.content-type")
    assert p.operation_ids("listModels")[:2] == ("models.list.shape", p.MODEL_SHAPE)
    assert p.operation_ids("createSpeech") == p.COMMON_IDS


def test_operation_ids_are_what_the_operation_can_judge() -> None:
    assert not set(p.operation_ids("listModels", body="none")) & p.JSON_BODY_IDS
    assert not set(p.operation_ids("createTranscription", body="multipart")) & p.JSON_BODY_IDS
    assert p.UNKNOWN_ENUM not in p.operation_ids("createRerank", has_enum=False)
    video = p.operation_ids("retrieveVideo", body="none")
    assert "video.retrieve-shape" not in video and "auth.unknown-key" not in video


@pytest.mark.parametrize(
    ("case", "status", "expected"),
    [
        pytest.param(POSITIVE_CHAT, 200, {"errors.no-server-error", "chat.response.schema"}, id="served"),
        pytest.param(NEGATIVE_CHAT, 400, {"errors.no-5xx-for-client-error", "errors.envelope-shape",
                                          p.WRONG_TYPE}, id="refused-negative"),
        pytest.param(p.CaseFacts("retrieveVideo", p.POSITIVE), 200, {"errors.no-server-error"}, id="unserved"),
    ],
)
def test_judged_by_case(case: p.CaseFacts, status: int, expected: set[str]) -> None:
    judged = p.judged_by_case(case, Exchange("POST", "http://t/v1/x", {}, None, status))
    assert expected <= judged
    assert "video.retrieve-shape" not in judged
    assert p.judged_by_case(case, Exchange("POST", "http://t/v1/x", {}, None, None)) == frozenset()


def sse_exchange(status: int, content_type: str | None) -> Exchange:
    headers = {"Content-Type": content_type} if content_type else {}
    return Exchange(method="POST", url="http://127.0.0.1:1/v1/chat/completions", request_headers={},
                    request_body=None, status=status, response_headers=headers, body=b"{}")


@pytest.mark.parametrize(
    ("op", "status", "content_type", "expected"),
    [
        pytest.param("createChatCompletion", 200, "text/event-stream; charset=utf-8", [], id="stream"),
        pytest.param("createChatCompletion", 200, "application/json",
                     [("chat.stream.content-type", "header Content-Type")], id="chat-json"),
        pytest.param("createResponse", 200, None,
                     [("responses.stream.content-type", "header Content-Type")], id="responses-absent"),
        pytest.param("createChatCompletion", 400, "application/json", [], id="error-not-judged"),
        pytest.param("createEmbedding", 200, "application/json", [], id="not-a-streaming-operation"),
    ],
)
def test_check_stream_answered_as_stream(
    op: str, status: int, content_type: str | None, expected: list[tuple[str, str]]
) -> None:
    assert ids_where(p.check_stream_answered_as_stream(sse_exchange(status, content_type), op)) == expected


# --------------------------------------------------------------------------- sampling


def keys(*specs: tuple[str, str]) -> list[p.CaseKey]:
    return [p.CaseKey(index=i, group=g, family=f, detail=str(i)) for i, (g, f) in enumerate(specs)]


def test_select_keeps_every_probe_and_meets_the_quota() -> None:
    sample = keys(("probe", "m"), ("negative", "a"), ("negative", "a"), ("negative", "b"), ("probe", "c"),
                  ("positive", "x"), ("positive", "x"))
    chosen = p.select_cases(sample, positive=1, negative=2)
    assert {0, 4} <= chosen
    assert len([i for i in chosen if sample[i].group == "negative"]) == 2
    assert len([i for i in chosen if sample[i].group == "positive"]) == 1


def test_select_takes_one_case_per_family_before_a_second() -> None:
    sample = keys(*[("negative", family) for family in "aaabc"])
    assert p.select_cases(sample, positive=0, negative=3) == frozenset({0, 3, 4})
    assert p.select_cases(sample, positive=0, negative=4) == frozenset({0, 1, 3, 4})


def test_select_with_a_large_quota_takes_everything() -> None:
    sample = keys(("negative", "a"), ("positive", "b"))
    assert p.select_cases(sample, positive=10, negative=10) == frozenset({0, 1})
