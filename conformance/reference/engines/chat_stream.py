"""The streamed delivery of a chat answer: ``chat.completion.chunk`` events over SSE.

Owns the exact stream layout of SPEC-DECISIONS §7-12 and the streaming faults. Per choice: a first
chunk with ``delta {role: "assistant", content: ""}`` (content null when the choice calls tools),
content deltas of a few tokens each (or, per tool call, a header delta with index, id, type,
name and empty arguments followed by argument fragments carrying only index and arguments), and
one chunk with an empty delta and the finish reason. Choices of ``n`` > 1 are interleaved
round-robin (allowed; real servers do it). With ``stream_options.include_usage`` one chunk with
``choices: []`` and the usage follows every finish chunk and every other chunk has ``usage: null``;
then ``data: [DONE]``.
"""

from __future__ import annotations

import json
from typing import Any

from conformance.reference.engines import StreamResult, sse_out, textgen
from conformance.reference.engines.chat_plan import SYSTEM_FINGERPRINT, ChatPlan, ChoicePlan, ToolCallPlan
from conformance.reference.engines.schemagen import arguments_for
from conformance.reference.faultset import FaultSet

FAULTS: dict[str, str] = {
    "chat.stream.content-type": "streams are sent with Content-Type application/json",
    "chat.stream.framing": "two extra empty chunks are joined by a single newline (one event, not JSON)",
    "chat.stream.done-sentinel": "the stream ends without data: [DONE]",
    "chat.stream.nothing-after-done": "an empty-delta chunk follows data: [DONE]",
    "chat.stream.chunk-schema": "every chunk's created is a string (only the schema breaks)",
    "chat.stream.chunk-object": 'every chunk has object "chat.completion"',
    "chat.stream.consistent-id": "the id changes after the first chunk",
    "chat.stream.role-first": "the first chunk of each choice carries no role",
    "chat.stream.role-not-repeated": "every chunk of a choice repeats role assistant",
    "chat.stream.single-finish": "the finish chunk of each choice is sent twice",
    "chat.stream.single-finish@cut-short": "no finish chunk at all, the stream still ends with [DONE]",
    "chat.stream.finish-last": "the last content delta of each choice comes after its finish chunk",
    "chat.stream.finish-reason-enum": 'a natural stop is streamed as finish_reason "end_turn"',
    "chat.stream.n-choices": "n is ignored in streams: only choice 0 is streamed",
    "chat.stream.usage-chunk": "the usage chunk comes before the finish chunks",
    "chat.stream.usage-chunk@with-choices": "no usage-only chunk: usage rides on the last finish chunk",
    "chat.stream.usage-chunk@empty-delta-choice": (
        'the usage chunk carries choices [{"index": 0, "delta": {}}] instead of [] (not content: D26)'
    ),
    "chat.stream.usage-total": "the usage chunk's total_tokens is prompt + completion + 1",
    "chat.stream.usage-absent-elsewhere": "every chunk carries the usage object, not only the usage chunk",
    "chat.stream.no-usage-unrequested": "a usage chunk is sent although include_usage was not requested",
    "chat.stream.tool-call-index": "each tool call gets an extra, empty arguments entry without index",
    "chat.stream.tool-call-header-once": "every tool-call fragment repeats id and function.name",
    "chat.stream.tool-call-type-once": 'every tool-call fragment repeats "type": "function"',
    "chat.stream.tool-call-arguments": "the joined argument fragments miss their last character (not JSON)",
    "chat.stream.tool-call-distinct": "parallel streamed tool calls share the first call's id",
    "chat.stream.tool-call-finish-reason": 'a stream with tool calls finishes with "function_call"',
    "chat.stream.tool-call-equals-nonstream": "streamed tool-call arguments differ from the plain answer (still valid)",
    "chat.stream.equals-nonstream": "the streamed text differs from the plain text (first letter's case swapped)",
}

_Step = tuple[dict[str, Any], str | None]


def render(plan: ChatPlan, body: dict[str, Any], faults: FaultSet) -> StreamResult:
    """The SSE stream of a plan, with the streaming faults applied."""
    choices = plan.choices[:1] if faults.on("chat.stream.n-choices") else plan.choices
    include_usage = _include_usage(body)
    per_choice = [[_chunk(plan, c.index, d, f) for d, f in _steps(c, faults)] for c in choices]
    chunks = _interleave(per_choice)
    if include_usage:
        for chunk in chunks:
            chunk["usage"] = None
    _add_usage(chunks, plan, choices, include_usage, faults)
    _identity_faults(chunks, faults)
    frames = [sse_out.data_event(c) for c in chunks]
    if faults.on("chat.stream.framing"):
        extra = _chunk(plan, choices[0].index, {}, None)
        frames.insert(1, sse_out.glued(sse_out.data_event(extra), sse_out.data_event(extra)))
    if not faults.on("chat.stream.done-sentinel"):
        frames.append(sse_out.DONE)
    if faults.on("chat.stream.nothing-after-done"):
        frames.append(sse_out.data_event(_chunk(plan, choices[0].index, {}, None)))
    content_type = "application/json" if faults.on("chat.stream.content-type") else sse_out.EVENT_STREAM
    return StreamResult(iter(frames), content_type)


def _include_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def _chunk(plan: ChatPlan, index: int, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": plan.id,
        "object": "chat.completion.chunk",
        "created": plan.created,
        "model": plan.model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def _steps(choice: ChoicePlan, faults: FaultSet) -> list[_Step]:
    """(delta, finish_reason) of every chunk of one choice, in order, with per-choice faults."""
    first: dict[str, Any] = {"role": "assistant", "content": None if choice.tool_calls else ""}
    if faults.on("chat.stream.role-first"):
        del first["role"]
    body: list[dict[str, Any]] = _tool_deltas(choice, faults) if choice.tool_calls else _text_deltas(choice, faults)
    if faults.on("chat.stream.role-not-repeated"):
        body = [{"role": "assistant", **d} for d in body]
    finish = _finish_reason(choice, faults)
    last: dict[str, Any] = {"role": "assistant"} if faults.on("chat.stream.role-not-repeated") else {}
    steps: list[_Step] = [(first, None), *((d, None) for d in body), (last, finish)]
    if faults.on("chat.stream.single-finish"):
        steps.append((dict(last), finish))
    if faults.on("chat.stream.single-finish@cut-short"):
        steps.pop()
    if faults.on("chat.stream.finish-last"):
        steps = _content_after_finish(steps)
    return steps


def _finish_reason(choice: ChoicePlan, faults: FaultSet) -> str:
    if choice.finish_reason == "stop" and faults.on("chat.stream.finish-reason-enum"):
        return "end_turn"
    if choice.tool_calls and faults.on("chat.stream.tool-call-finish-reason"):
        return "function_call"
    return choice.finish_reason


def _content_after_finish(steps: list[_Step]) -> list[_Step]:
    """Move the last delta after the finish chunk (or add an empty content delta after it)."""
    if len(steps) >= 3:
        return [*steps[:-2], steps[-1], steps[-2]]
    return [*steps, ({"content": ""}, None)]


def _text_deltas(choice: ChoicePlan, faults: FaultSet) -> list[dict[str, Any]]:
    text = choice.content or ""
    if faults.on("chat.stream.equals-nonstream"):
        text = textgen.flip_first_letter(text)
    return [{"content": piece} for piece in textgen.split_deltas(text)]


def _tool_deltas(choice: ChoicePlan, faults: FaultSet) -> list[dict[str, Any]]:
    deltas: list[dict[str, Any]] = []
    for k, call in enumerate(choice.tool_calls):
        call_id, arguments = _streamed_call(call, choice.tool_calls[0].id, faults)
        header = {"index": k, "id": call_id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        deltas.append({"tool_calls": [header]})
        if faults.on("chat.stream.tool-call-index"):
            # A stray entry without index carries nothing, so per-index joins stay intact.
            deltas.append({"tool_calls": [{"function": {"arguments": ""}}]})
        for fragment in textgen.split_fragments(arguments):
            entry: dict[str, Any] = {"index": k, "function": {"arguments": fragment}}
            if faults.on("chat.stream.tool-call-header-once"):
                entry = {**entry, "id": call_id, "function": {"name": call.name, "arguments": fragment}}
            if faults.on("chat.stream.tool-call-type-once"):
                entry = {**entry, "type": "function"}
            deltas.append({"tool_calls": [entry]})
    return deltas


def _streamed_call(call: ToolCallPlan, first_id: str, faults: FaultSet) -> tuple[str, str]:
    """(id, arguments) of a call as streamed, with the tool-call faults applied."""
    call_id = first_id if faults.on("chat.stream.tool-call-distinct") else call.id
    arguments = call.arguments
    if faults.on("chat.stream.tool-call-equals-nonstream"):
        arguments = _other_arguments(call)
    if faults.on("chat.stream.tool-call-arguments"):
        arguments = arguments[:-1]
    return call_id, arguments


def _other_arguments(call: ToolCallPlan) -> str:
    """Arguments that differ from the plain call's yet stay valid when the schema allows it.

    Free-form values change first (generator variant 1); failing that, an extra property is added
    where additional properties are allowed; a schema allowing neither gets cut JSON.
    """
    other = json.dumps(arguments_for(call.parameters, variant=1))
    if json.loads(other) != json.loads(call.arguments):
        return other
    params = call.parameters if isinstance(call.parameters, dict) else {}
    if params.get("additionalProperties", True) is True:
        return json.dumps({**json.loads(call.arguments), "streamed": True})
    return call.arguments[:-1]


def _interleave(per_choice: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Round-robin over the choices' chunk lists (each choice's own order is kept)."""
    out: list[dict[str, Any]] = []
    for position in range(max((len(c) for c in per_choice), default=0)):
        out.extend(chunks[position] for chunks in per_choice if position < len(chunks))
    return out


def _add_usage(
    chunks: list[dict[str, Any]], plan: ChatPlan, choices: tuple[ChoicePlan, ...], include: bool, faults: FaultSet
) -> None:
    """Place the usage chunk (or the usage faults) into ``chunks``."""
    usage = plan.usage(choices)
    if faults.on("chat.stream.usage-total"):
        usage = {**usage, "total_tokens": usage["total_tokens"] + 1}
    if faults.on("chat.stream.usage-absent-elsewhere"):
        for chunk in chunks:
            chunk["usage"] = dict(usage)
    if not (include or faults.on("chat.stream.no-usage-unrequested")):
        return
    finishes = [i for i, c in enumerate(chunks) if c["choices"][0]["finish_reason"] is not None]
    if faults.on("chat.stream.usage-chunk@with-choices") and finishes:
        chunks[finishes[-1]]["usage"] = usage
        return
    usage_chunk = {**_chunk(plan, 0, {}, None), "choices": [], "usage": usage}
    if faults.on("chat.stream.usage-chunk@empty-delta-choice"):
        usage_chunk["choices"] = [{"index": 0, "delta": {}}]
    position = finishes[0] if faults.on("chat.stream.usage-chunk") and finishes else len(chunks)
    chunks.insert(position, usage_chunk)


def _identity_faults(chunks: list[dict[str, Any]], faults: FaultSet) -> None:
    """id drift, created as a string and the wrong object, over every chunk."""
    for position, chunk in enumerate(chunks):
        if faults.on("chat.stream.consistent-id") and position > 0:
            chunk["id"] = f"{chunk['id']}-{position}"
        if faults.on("chat.stream.chunk-schema"):
            chunk["created"] = str(chunk["created"])
        if faults.on("chat.stream.chunk-object"):
            chunk["object"] = "chat.completion"
