"""The relay lane, part 1: what a gateway forwards to the scripted upstream and answers back.

Every request carries a run-unique marker (``nxc-<run>-<script>.<n>``) in the content any
gateway must forward; the marker selects the upstream's script and finds the upstream's
records of that request. Needs ``[upstream]`` and the ``[models] relay_*`` models (D40), which
the run's own channel supplies when they are not declared (D115).
Requests sent to make the upstream fail are scripted failures, not target failures.
"""

# The notes fixture is imported from relay_support; test arguments name it (F811).
# ruff: noqa: F811

from __future__ import annotations

import concurrent.futures
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest

from conformance.checks.errors import ENVELOPE_IDS, check_error_envelope
from conformance.checks.relay import (
    check_answer_relayed,
    check_body_relayed,
    check_channel_auth,
    check_channel_key_absent,
    check_client_error_relayed,
    check_client_key_not_forwarded,
    check_exactly_once,
    check_forwarded,
    check_own_answer,
    check_own_stream,
    check_rate_limit_relayed,
    check_server_error_relayed,
    check_timeout_relayed,
    check_usage_exact,
)
from conformance.model import Exchange
from conformance.relay_notes import computed_usage, rewrites_made
from conformance.sse import parse_sse
from conformance.suites.relay_support import relay_notes  # noqa: F401 - fixture
from conformance.upstream.records import UpstreamRecord
from conformance.upstream.scripts import RETRY_AFTER, SCRIPTS, error_message

if TYPE_CHECKING:
    from conformance.config import Settings
    from conformance.recorder import VerdictRecorder
    from conformance.transport import Transport
    from conformance.upstream.server import Upstream

#: Seconds a gateway may take beyond its declared timeout to answer a slow upstream (D45).
TIMEOUT_SLACK = 0.5
#: Relayed requests in flight at once in the concurrency test.
CONCURRENT = 6
#: An unknown extra parameter: passed on unchanged or dropped, never altered.
EXTRA = "nxc_extra"
_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
_TOOL: dict[str, Any] = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city.", "parameters": _PARAMETERS}}


@pytest.fixture(scope="session")
def upstream(scripted_upstream: Upstream | None) -> Upstream:
    """The run's scripted upstream (the relay features cannot be declared without it)."""
    found = scripted_upstream
    if found is None:
        raise RuntimeError("the relay lane needs [upstream] in the target file")
    return found


def _model(settings: Settings, capability: str) -> str:
    return settings.models[f"relay_{capability}"]


def _chat(settings: Settings, marker: str, **extra: Any) -> dict[str, Any]:
    return {"model": _model(settings, "chat"), "messages": [{"role": "user", "content": f"Say hi. {marker}"}],
            "max_tokens": settings.budgets.max_tokens, **extra}


def _judge_envelope(verdict: VerdictRecorder, ex: Exchange) -> None:
    """A relayed error answer carries the error envelope: judged under the envelope's own ids."""
    if ex.status is not None and ex.status >= 400:
        verdict.check(check_error_envelope(ex), exchange=ex)


def _send(transport: Transport, path: str, body: Mapping[str, Any], *, scripted: bool = False) -> Exchange:
    """POST ``body``; ``scripted``: the upstream was scripted to fail (the breakers ignore it)."""
    return transport.request("POST", path, json=dict(body), retry_429=False, scripted=scripted)


def _records(upstream: Upstream, marker: object) -> tuple[UpstreamRecord, ...]:
    return upstream.records.for_marker(str(marker))


def _last_answer(records: tuple[UpstreamRecord, ...]) -> Any:
    return records[-1].answer_json() if records else None


def _client_json(ex: Exchange) -> Any:
    try:
        return ex.json()
    except ValueError:
        return None


def _full_chat(settings: Settings, marker: str) -> dict[str, Any]:
    """A chat request carrying every documented parameter (D41 lists the rewrites allowed)."""
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "developer", "content": "Answer in English."},
        {"role": "user", "content": [{"type": "text", "text": "Earlier question."}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_nxc_1", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]},
        {"role": "tool", "tool_call_id": "call_nxc_1", "content": "{\"temp\": 3}"},
        {"role": "user", "content": [{"type": "text", "text": f"And now? {marker}"}]},
    ]
    return {
        "model": _model(settings, "chat"), "messages": messages, "temperature": 0.25, "top_p": 0.75,
        "max_tokens": settings.budgets.max_tokens, "stop": ["\n\n", "END"], "n": 1, "seed": 4242,
        "tools": [_TOOL], "tool_choice": "auto", "parallel_tool_calls": False,
        "response_format": {"type": "text"}, "user": "nxc-user-7", "logprobs": False,
    }


@pytest.mark.feature("relay")
@pytest.mark.requirements("relay.forwarding.chat", "relay.exactly-once", "relay.key.client-key",
                          "relay.answer.unchanged", "relay.usage.exact", "relay.key.channel-key")
def test_relay_chat(transport: Transport, settings: Settings, upstream: Upstream, verdict: VerdictRecorder,
                    relay_notes: list[str]) -> None:
    """A chat request with every documented parameter: forwarded unchanged, once, with the
    channel key; the upstream's answer and exact usage reach the client."""
    marker = upstream.markers("answer")
    body = _full_chat(settings, str(marker))
    ex = _send(transport, "/chat/completions", body)
    records = _records(upstream, marker)
    verdict.check(check_exactly_once([r.status for r in records]), exchange=ex)
    assert settings.api_key is not None
    for record in records:
        verdict.check(check_client_key_not_forwarded(record.headers, record.body, settings.api_key), exchange=ex)
    if records:
        verdict.check(check_forwarded(body, records[-1].json(), requirement="relay.forwarding.chat"), exchange=ex)
        relay_notes.extend(f"chat: {n}" for n in rewrites_made(body, records[-1].json()))  # D104
    verdict.check(check_answer_relayed(_last_answer(records), _client_json(ex)), exchange=ex)
    verdict.check(check_usage_exact(_last_answer(records), _client_json(ex)), exchange=ex)
    assert settings.upstream is not None
    verdict.check(check_channel_key_absent(ex, settings.upstream.key), exchange=ex)


@pytest.mark.feature("relay")
@pytest.mark.requirements("relay.forwarding.chat")
def test_relay_unknown_parameter(transport: Transport, settings: Settings, upstream: Upstream,
                                 verdict: VerdictRecorder) -> None:
    """An unknown top-level parameter is passed on unchanged or dropped, never altered. A gateway
    that refuses it never relays it: that refusal is ``errors.unknown-field-ignored``'s (one
    deviation, one FAIL), and nothing is judged here then."""
    marker = upstream.markers("answer")
    body = _chat(settings, str(marker), **{EXTRA: {"kept": [1, 2]}})
    ex = _send(transport, "/chat/completions", body)
    records = _records(upstream, marker)
    if records:
        verdict.check(check_forwarded(body, records[-1].json(), requirement="relay.forwarding.chat",
                                      droppable=(EXTRA,)), exchange=ex)


@pytest.mark.feature("relay")
@pytest.mark.requirements("relay.answer.unchanged", "relay.forwarding.chat")
def test_relay_chat_tool_calls(transport: Transport, settings: Settings, upstream: Upstream,
                               verdict: VerdictRecorder, relay_notes: list[str]) -> None:
    """A tool-call answer: tool calls and finish_reason reach the client unchanged;
    max_completion_tokens and a named tool_choice are forwarded."""
    marker = upstream.markers("tools")
    body = _chat(settings, str(marker), tools=[_TOOL],
                 tool_choice={"type": "function", "function": {"name": "get_weather"}})
    body["max_completion_tokens"] = body.pop("max_tokens")
    ex = _send(transport, "/chat/completions", body)
    records = _records(upstream, marker)
    if records:
        verdict.check(check_forwarded(body, records[-1].json(), requirement="relay.forwarding.chat"), exchange=ex)
        relay_notes.extend(f"chat: {n}" for n in rewrites_made(body, records[-1].json()))  # D104
    verdict.check(check_answer_relayed(_last_answer(records), _client_json(ex)), exchange=ex)


@pytest.mark.feature("relay")
@pytest.mark.requirements("relay.answer.unchanged")
def test_relay_chat_without_usage(transport: Transport, settings: Settings, upstream: Upstream,
                                  verdict: VerdictRecorder, relay_notes: list[str]) -> None:
    """An upstream answer without usage still reaches the client unchanged (usage may be computed)."""
    marker = upstream.markers("no-usage")
    ex = _send(transport, "/chat/completions", _chat(settings, str(marker)))
    verdict.check(check_answer_relayed(_last_answer(_records(upstream, marker)), _client_json(ex)), exchange=ex)
    if computed_usage(_last_answer(_records(upstream, marker)), _client_json(ex)):  # D104
        relay_notes.append("chat: usage computed by the gateway (the upstream reported none)")


@pytest.mark.feature("relay.responses")
@pytest.mark.requirements("relay.forwarding.responses", "relay.answer.unchanged", "relay.usage.exact")
def test_relay_responses(transport: Transport, settings: Settings, upstream: Upstream,
                         verdict: VerdictRecorder, relay_notes: list[str]) -> None:
    """A Responses request: input, instructions, tools, max_output_tokens and temperature forwarded."""
    marker = upstream.markers("answer")
    body = {"model": _model(settings, "responses"), "input": f"Say hi. {marker}", "instructions": "Be terse.",
            "tools": [{"type": "function", "name": "get_weather", "parameters": _PARAMETERS}],
            "max_output_tokens": max(16, settings.budgets.max_tokens), "temperature": 0.5}
    ex = _send(transport, "/responses", body)
    records = _records(upstream, marker)
    if records:
        verdict.check(check_forwarded(body, records[-1].json(), requirement="relay.forwarding.responses"),
                      exchange=ex)
        relay_notes.extend(f"responses: {n}" for n in rewrites_made(body, records[-1].json()))  # D104
    verdict.check(check_answer_relayed(_last_answer(records), _client_json(ex)), exchange=ex)
    verdict.check(check_usage_exact(_last_answer(records), _client_json(ex)), exchange=ex)


EMBEDDING_INPUTS = [
    pytest.param("string", id="string"),
    pytest.param("strings", id="strings"),
]


@pytest.mark.feature("relay.embeddings")
@pytest.mark.requirements("relay.forwarding.embeddings", "relay.usage.exact")
@pytest.mark.parametrize("form", EMBEDDING_INPUTS)
def test_relay_embeddings(transport: Transport, settings: Settings, upstream: Upstream, verdict: VerdictRecorder,
                          form: str, relay_notes: list[str]) -> None:
    """An embeddings request: the input, dimensions and encoding_format forwarded; usage exact."""
    marker = upstream.markers("answer")
    text = f"The quick brown fox. {marker}"
    value: Any = text if form == "string" else ["A lazy dog.", text]
    body = {"model": _model(settings, "embeddings"), "input": value, "dimensions": 8, "encoding_format": "float"}
    ex = _send(transport, "/embeddings", body)
    records = _records(upstream, marker)
    if records:
        verdict.check(check_forwarded(body, records[-1].json(), requirement="relay.forwarding.embeddings"),
                      exchange=ex)
        relay_notes.extend(f"embeddings: {n}" for n in rewrites_made(body, records[-1].json()))  # D104
    verdict.check(check_usage_exact(_last_answer(records), _client_json(ex)), exchange=ex)


@pytest.mark.feature("relay")
@pytest.mark.requirements("relay.errors.client-error", *ENVELOPE_IDS)
def test_relay_upstream_400(transport: Transport, settings: Settings, upstream: Upstream,
                            verdict: VerdictRecorder) -> None:
    """An upstream 400 reaches the client as 400 with the upstream's message, in the envelope."""
    marker = upstream.markers("error-400")
    ex = _send(transport, "/chat/completions", _chat(settings, str(marker)), scripted=True)
    verdict.check(check_client_error_relayed(ex, error_message(SCRIPTS["error-400"], str(marker))), exchange=ex)
    _judge_envelope(verdict, ex)


@pytest.mark.feature("relay")
@pytest.mark.requirements("relay.errors.channel-auth", "relay.key.channel-key")
@pytest.mark.parametrize("script", ["error-401", "error-403"])
def test_relay_upstream_channel_refused(transport: Transport, settings: Settings, upstream: Upstream,
                                        verdict: VerdictRecorder, script: str) -> None:
    """An upstream 401/403 is never answered 401 to a valid key, and never names the channel key."""
    marker = upstream.markers(script)
    ex = _send(transport, "/chat/completions", _chat(settings, str(marker)), scripted=True)
    verdict.check(check_channel_auth(ex), exchange=ex)
    assert settings.upstream is not None
    verdict.check(check_channel_key_absent(ex, settings.upstream.key), exchange=ex)


@pytest.mark.feature("relay")
@pytest.mark.requirements("relay.errors.rate-limit")
def test_relay_upstream_429(transport: Transport, settings: Settings, upstream: Upstream,
                            verdict: VerdictRecorder) -> None:
    """An upstream 429 gives 429 with a Retry-After no shorter than the upstream's (or a good retry)."""
    marker = upstream.markers("error-429")
    ex = _send(transport, "/chat/completions", _chat(settings, str(marker)), scripted=True)
    verdict.check(check_rate_limit_relayed(ex, float(RETRY_AFTER)), exchange=ex)


@pytest.mark.feature("relay")
@pytest.mark.requirements("relay.errors.server-error", *ENVELOPE_IDS)
@pytest.mark.parametrize("script", ["error-500", "error-503"])
def test_relay_upstream_5xx(transport: Transport, settings: Settings, upstream: Upstream,
                            verdict: VerdictRecorder, script: str) -> None:
    """An upstream 500/503 gives a 5xx with the envelope (or a good retry), never a 200."""
    marker = upstream.markers(script)
    ex = _send(transport, "/chat/completions", _chat(settings, str(marker)), scripted=True)
    verdict.check(check_server_error_relayed(ex), exchange=ex)
    _judge_envelope(verdict, ex)


@pytest.mark.feature("relay")
@pytest.mark.requirements("relay.errors.timeout", *ENVELOPE_IDS)
def test_relay_upstream_slow(transport: Transport, settings: Settings, upstream: Upstream,
                             verdict: VerdictRecorder) -> None:
    """An upstream slower than the gateway's declared timeout gives 502/504 within that timeout."""
    assert settings.upstream is not None
    marker = upstream.markers("slow")
    ex = _send(transport, "/chat/completions", _chat(settings, str(marker)), scripted=True)
    verdict.check(check_timeout_relayed(ex, settings.upstream.gateway_timeout, TIMEOUT_SLACK), exchange=ex)
    _judge_envelope(verdict, ex)


@pytest.mark.feature("relay")
@pytest.mark.requirements("relay.concurrency")
def test_relay_concurrency(transport: Transport, settings: Settings, upstream: Upstream,
                           verdict: VerdictRecorder) -> None:
    """Requests in flight together, plain and streamed, each get their own upstream answer."""
    markers = [str(upstream.markers("answer")) for _ in range(CONCURRENT)]

    def send(index: int) -> Exchange:
        body = _chat(settings, markers[index])
        if index % 2:
            # Not scripted: the upstream answers normally, so a failure here is the gateway's.
            return transport.stream("POST", "/chat/completions", json={**body, "stream": True}, retry_429=False)
        return _send(transport, "/chat/completions", body)

    with concurrent.futures.ThreadPoolExecutor(CONCURRENT) as pool:
        exchanges = list(pool.map(send, range(CONCURRENT)))
    for index, (marker, ex) in enumerate(zip(markers, exchanges, strict=True)):
        records = _records(upstream, marker)
        if index % 2:
            sent = parse_sse(records[-1].answer).events if records else ()
            verdict.check(check_own_stream(sent, ex.sse.events if ex.sse else None), exchange=ex)
        else:
            verdict.check(check_own_answer(_last_answer(records), _client_json(ex)), exchange=ex)


@pytest.mark.feature("relay.moderation")
@pytest.mark.requirements("relay.forwarding.moderation")
def test_relay_moderation(transport: Transport, settings: Settings, upstream: Upstream,
                          verdict: VerdictRecorder) -> None:
    """A moderation request with a list input: every item forwarded, the answer relayed unchanged."""
    marker = upstream.markers("answer")
    body = {"model": _model(settings, "moderation"), "input": ["A kind sentence.", f"Another one. {marker}"]}
    ex = _send(transport, "/moderations", body)
    records = _records(upstream, marker)
    if records:
        verdict.check(check_forwarded(body, records[-1].json(), requirement="relay.forwarding.moderation"),
                      exchange=ex)
    verdict.check(check_body_relayed(_last_answer(records), _client_json(ex),
                                     requirement="relay.forwarding.moderation"), exchange=ex)


@pytest.mark.feature("relay.rerank")
@pytest.mark.requirements("relay.forwarding.rerank", "relay.usage.exact")
def test_relay_rerank(transport: Transport, settings: Settings, upstream: Upstream, verdict: VerdictRecorder) -> None:
    """A rerank request: query, documents, top_n and return_documents forwarded; the answer relayed."""
    marker = upstream.markers("answer")
    body = {"model": _model(settings, "rerank"), "query": f"Which is a cat? {marker}",
            "documents": ["a dog", "a cat", "a bird"], "top_n": 2, "return_documents": True}
    ex = _send(transport, "/rerank", body)
    records = _records(upstream, marker)
    if records:
        verdict.check(check_forwarded(body, records[-1].json(), requirement="relay.forwarding.rerank"), exchange=ex)
    verdict.check(check_body_relayed(_last_answer(records), _client_json(ex), requirement="relay.forwarding.rerank"),
                  exchange=ex)
    verdict.check(check_usage_exact(_last_answer(records), _client_json(ex)), exchange=ex)
