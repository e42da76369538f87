"""Scenarios for streamed chat completions (SPEC-DECISIONS §7–13; catalogue chat.stream.*).

Every stream is judged the same way: status and Content-Type, framing (a stream that did not end
by itself stops the judging there), [DONE], then the chunk invariants. Each scenario adds what
its request is about: the usage chunk, n = 2, tool-call deltas, stream ≡ non-stream. Shapes,
framing, order and internal consistency only; the text of an answer is never graded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest

from conformance.checks import chat_stream as cs
from conformance.checks import chat_stream_equivalence as ce
from conformance.checks import chat_stream_tools as ct
from conformance.checks import chat_stream_usage as cu
from conformance.checks.errors import SERVED_IDS, check_served
from conformance.checks.sse_framing import (
    check_chat_framing,
    check_done_sentinel,
    check_nothing_after_done,
    check_stream_answer,
)
from conformance.config import Settings
from conformance.model import Exchange
from conformance.suites.samples import TIME_TOOL, WEATHER_TOOL

if TYPE_CHECKING:
    from conformance.recorder import VerdictRecorder
    from conformance.transport import Transport

FRAMING_IDS = (
    "chat.stream.content-type",
    "chat.stream.framing",
    "chat.stream.done-sentinel",
    "chat.stream.nothing-after-done",
)
CHUNK_IDS = (
    "chat.stream.chunk-schema",
    "chat.stream.chunk-object",
    "chat.stream.consistent-id",
    "chat.stream.role-first",
    "chat.stream.role-not-repeated",
    "chat.stream.single-finish",
    "chat.stream.finish-last",
    "chat.stream.finish-reason-enum",
)
STREAM_IDS = FRAMING_IDS + CHUNK_IDS
USAGE_IDS = ("chat.stream.usage-chunk", "chat.stream.usage-total", "chat.stream.usage-absent-elsewhere")
TOOL_IDS = (
    "chat.stream.tool-call-index",
    "chat.stream.tool-call-header-once",
    "chat.stream.tool-call-type-once",
    "chat.stream.tool-call-arguments",
    "chat.stream.tool-call-distinct",
    "chat.stream.tool-call-finish-reason",
)

#: Tool calls need room: cut by max_tokens, their arguments cannot be judged (the checks then
#: skip them), so tool-call streams get at least this many tokens. Still a cheap request.
TOOL_MAX_TOKENS = 64

TOOLS = [WEATHER_TOOL, TIME_TOOL]
TOOL_PROMPT = "Use the tools: what is the weather in Paris and the local time in Tokyo?"


def _body(models: Mapping[str, str], settings: Settings, content: str = "Say hello.", *,
          stream: bool = True, **extra: Any) -> dict[str, Any]:
    """A one-message chat request within the run's max_tokens budget."""
    body: dict[str, Any] = {
        "model": models["chat"],
        "messages": [{"role": "user", "content": content}],
        "max_tokens": settings.budgets.max_tokens,
        "stream": stream,
    }
    body.update(extra)
    return body


def _tool_body(models: Mapping[str, str], settings: Settings, *, stream: bool, **extra: Any) -> dict[str, Any]:
    return _body(models, settings, TOOL_PROMPT, stream=stream, tools=TOOLS,
                 max_tokens=max(settings.budgets.max_tokens, TOOL_MAX_TOKENS), **extra)


def judge_stream(verdict: VerdictRecorder, ex: Exchange) -> bool:
    """Apply the checks every chat stream must pass; True when its chunks can be judged further.

    May report every id of :data:`STREAM_IDS`.
    """
    if not verdict.check(check_stream_answer(ex, requirement="chat.stream.content-type"), exchange=ex):
        return False
    verdict.check(check_chat_framing(ex), exchange=ex)
    if ex.sse is None or ex.outcome != "complete":
        return False  # a cut stream: its missing end is the framing failure, not a chunk fault
    sse = ex.sse
    verdict.check(check_done_sentinel(sse), exchange=ex)
    verdict.check(check_nothing_after_done(sse), exchange=ex)
    verdict.check(cs.check_chunk_schema(sse), exchange=ex)
    verdict.check(cs.check_chunk_object(sse), exchange=ex)
    verdict.check(cs.check_consistent_id(sse), exchange=ex)
    verdict.check(cs.check_roles(sse), exchange=ex)
    verdict.check(cs.check_finish(sse), exchange=ex)
    return True


def _plain_answer(verdict: VerdictRecorder, ex: Exchange, requirement: str) -> dict[str, Any] | None:
    """The decoded non-streamed answer of a comparison request, or None when it was not served."""
    if not verdict.check(check_served(ex, requirement=requirement), exchange=ex):
        return None
    try:
        body = ex.json()
    except ValueError:
        body = None
    return body if isinstance(body, dict) else None


@pytest.mark.feature("chat.streaming")
@pytest.mark.requirements(*STREAM_IDS, "chat.stream.no-usage-unrequested")
def test_chat_stream_basic(transport: Transport, models: Mapping[str, str], settings: Settings,
                           verdict: VerdictRecorder) -> None:
    """A plain stream: framing, one [DONE] last, chunk invariants, no usage chunk unasked."""
    ex = transport.stream("POST", "/chat/completions", json=_body(models, settings))
    if judge_stream(verdict, ex) and ex.sse is not None:
        verdict.check(cu.check_no_usage_unrequested(ex.sse), exchange=ex)


@pytest.mark.feature("chat.streaming")
@pytest.mark.requirements(*STREAM_IDS, *USAGE_IDS)
def test_chat_stream_include_usage(transport: Transport, models: Mapping[str, str], settings: Settings,
                                   verdict: VerdictRecorder) -> None:
    """include_usage: one usage chunk with choices [] after every finish, before [DONE]; totals add up."""
    body = _body(models, settings, stream_options={"include_usage": True})
    ex = transport.stream("POST", "/chat/completions", json=body)
    if judge_stream(verdict, ex) and ex.sse is not None:
        verdict.check(cu.check_usage_chunk(ex.sse), exchange=ex)


@pytest.mark.feature("chat.streaming", "chat.n")
@pytest.mark.requirements(*STREAM_IDS, "chat.stream.n-choices")
def test_chat_stream_n_choices(transport: Transport, models: Mapping[str, str], settings: Settings,
                               verdict: VerdictRecorder) -> None:
    """n = 2 streams choices 0 and 1, each with its role first and its own finish chunk."""
    ex = transport.stream("POST", "/chat/completions", json=_body(models, settings, n=2))
    if judge_stream(verdict, ex) and ex.sse is not None:
        verdict.check(cs.check_n_choices(ex.sse, n=2), exchange=ex)


@pytest.mark.feature("chat.streaming")
@pytest.mark.requirements("chat.stream.options-without-stream")
@pytest.mark.parametrize("stream", [pytest.param(None, id="stream-absent"), pytest.param(False, id="stream-false")])
def test_chat_stream_options_without_stream(transport: Transport, models: Mapping[str, str],
                                            verdict: VerdictRecorder, stream: bool | None) -> None:
    """stream_options without stream true gets a plain 200 answer or a 400 envelope."""
    body: dict[str, Any] = {"model": models["chat"], "messages": [{"role": "user", "content": "Say OK."}],
                            "max_tokens": 1, "stream_options": {"include_usage": True}}
    if stream is not None:
        body["stream"] = stream
    ex = transport.request("POST", "/chat/completions", json=body)
    verdict.check(cu.check_options_without_stream(ex), exchange=ex)


TOOL_CHOICES = [
    # auto with two tools invites parallel calls; the finish_reason must then be "tool_calls".
    pytest.param("auto", ("tool_calls",), id="auto-parallel"),
    # A forced call may end with "stop": OpenAI itself answers so (as test_chat.py allows too).
    pytest.param("required", ("tool_calls", "stop"), id="required",
                 marks=pytest.mark.requirements("chat.tools.choice-required")),
]


@pytest.mark.feature("chat.streaming", "chat.tools")
@pytest.mark.requirements(*STREAM_IDS, *TOOL_IDS)
@pytest.mark.parametrize(("tool_choice", "finishes"), TOOL_CHOICES)
def test_chat_stream_tool_calls(transport: Transport, models: Mapping[str, str], settings: Settings,
                                verdict: VerdictRecorder, tool_choice: str, finishes: tuple[str, ...]) -> None:
    """Streamed tool calls: index on every delta, header once, JSON arguments valid, distinct, finish."""
    ex = transport.stream("POST", "/chat/completions",
                          json=_tool_body(models, settings, stream=True, tool_choice=tool_choice))
    if not judge_stream(verdict, ex) or ex.sse is None:
        return
    sse = ex.sse
    if tool_choice == "required":
        verdict.check(ct.check_tool_calls_present(sse, requirement="chat.tools.choice-required"), exchange=ex)
    verdict.check(ct.check_tool_call_index(sse), exchange=ex)
    verdict.check(ct.check_tool_call_headers(sse), exchange=ex)
    verdict.check(ct.check_tool_call_arguments(sse, tools=TOOLS), exchange=ex)
    verdict.check(ct.check_tool_call_finish_reason(sse, allowed=finishes), exchange=ex)


@pytest.mark.feature("chat.streaming", "determinism")
@pytest.mark.requirements(*STREAM_IDS, *USAGE_IDS, "chat.stream.equals-nonstream", *SERVED_IDS)
def test_chat_stream_equals_nonstream(transport: Transport, models: Mapping[str, str], settings: Settings,
                                      verdict: VerdictRecorder) -> None:
    """On a deterministic target the joined stream equals the plain answer: content, finish, usage."""
    streamed = transport.stream("POST", "/chat/completions",
                                json=_body(models, settings, stream_options={"include_usage": True}))
    if not judge_stream(verdict, streamed) or streamed.sse is None:
        return
    verdict.check(cu.check_usage_chunk(streamed.sse), exchange=streamed)
    plain = transport.request("POST", "/chat/completions", json=_body(models, settings, stream=False))
    answer = _plain_answer(verdict, plain, "chat.stream.equals-nonstream")
    if answer is not None:
        verdict.check(ce.check_stream_equals_nonstream(streamed.sse, answer), exchange=plain)


@pytest.mark.feature("chat.streaming", "chat.tools", "determinism")
# Of the tool-call ids only the header rules are judged here (the others are
# test_chat_stream_tool_calls' business): declare only what the checks below look at.
@pytest.mark.requirements(*STREAM_IDS, "chat.stream.tool-call-header-once", "chat.stream.tool-call-type-once",
                          "chat.stream.tool-call-distinct", "chat.stream.tool-call-equals-nonstream", *SERVED_IDS)
def test_chat_stream_tool_calls_equal_nonstream(transport: Transport, models: Mapping[str, str],
                                                settings: Settings, verdict: VerdictRecorder) -> None:
    """On a deterministic target the joined streamed tool calls equal message.tool_calls."""
    streamed = transport.stream("POST", "/chat/completions",
                                json=_tool_body(models, settings, stream=True, tool_choice="auto"))
    if not judge_stream(verdict, streamed) or streamed.sse is None:
        return
    verdict.check(ct.check_tool_call_headers(streamed.sse), exchange=streamed)
    plain = transport.request("POST", "/chat/completions",
                              json=_tool_body(models, settings, stream=False, tool_choice="auto"))
    answer = _plain_answer(verdict, plain, "chat.stream.tool-call-equals-nonstream")
    if answer is not None:
        verdict.check(ct.check_tool_calls_equal_nonstream(streamed.sse, answer), exchange=plain)
