"""Pure checks of streamed chat completion chunks (SPEC-DECISIONS §9–11, §13).

This module owns the invariants of the chunks of one chat stream: the chunk schema and object;
identical id, created and model; per choice index the role first (and not repeated), exactly one
finish_reason from the enum in its last chunk; both choices of an ``n: 2`` stream; the
``include_usage`` usage chunk; ``stream_options`` without ``stream``; stream ≡ non-stream on a
deterministic target. Streamed tool-call deltas are checked by the sibling module
``chat_stream_tools`` (split off to keep both modules small).

Only events before the first ``[DONE]`` are judged here: what follows [DONE] is reported by
``sse_framing.check_nothing_after_done`` alone. Data in, violations out; no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from conformance import spec
from conformance.checks._common import is_int
from conformance.checks._judged import judges
from conformance.checks.sse_framing import at, done_or_end, json_events, quote
from conformance.model import Exchange, SSEEvent, SSETranscript, Violation, truncate

FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})

ChoiceEntry = tuple[SSEEvent, int, dict[str, Any]]
"""One appearance of a choice in a chunk: the event, the position in ``choices``, the choice."""


def choices_by_index(sse: SSETranscript) -> dict[int, list[ChoiceEntry]]:
    """Every appearance of every choice, grouped by ``choices[].index``, in stream order.

    Choices without an integer index are left out (the chunk schema reports them).
    """
    grouped: dict[int, list[ChoiceEntry]] = {}
    for event, chunk in json_events(sse):
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            continue
        for position, choice in enumerate(choices):
            if isinstance(choice, dict) and is_int(choice.get("index")):
                grouped.setdefault(choice["index"], []).append((event, position, choice))
    return grouped


def _delta(choice: Mapping[str, Any]) -> Mapping[str, Any]:
    delta = choice.get("delta")
    return delta if isinstance(delta, dict) else {}


def _carries_nothing(choice: Mapping[str, Any]) -> bool:
    """A choice entry with an empty delta (every member null or "") and no logprobs."""
    return all(value in (None, "") for value in _delta(choice).values()) and choice.get("logprobs") is None


def finish_reasons(sse: SSETranscript) -> dict[int, object]:
    """The first non-null finish_reason of each choice index (absent when a choice has none)."""
    out: dict[int, object] = {}
    for index, entries in choices_by_index(sse).items():
        for _, _, choice in entries:
            if choice.get("finish_reason") is not None:
                out[index] = choice["finish_reason"]
                break
    return out


def _for_schema(chunk: dict[str, Any]) -> dict[str, Any]:
    """A copy of the chunk with the fields other checks own set to valid placeholders.

    object, finish_reason and a tool-call delta's index have their own requirements
    (chunk-object, finish-reason-enum, tool-call-index): a wrong value there is reported once, by
    its own check, not a second time as a schema error.
    """
    copy = {**chunk, "object": "chat.completion.chunk"}
    choices = chunk.get("choices")
    if isinstance(choices, list):
        copy["choices"] = [_choice_for_schema(c) if isinstance(c, dict) else c for c in choices]
    return copy


def _choice_for_schema(choice: dict[str, Any]) -> dict[str, Any]:
    copy = dict(choice)
    if choice.get("finish_reason") is not None and choice["finish_reason"] not in FINISH_REASONS:
        copy["finish_reason"] = "stop"
    delta = choice.get("delta")
    calls = delta.get("tool_calls") if isinstance(delta, dict) else None
    if isinstance(delta, dict) and isinstance(calls, list):
        copy["delta"] = {
            **delta,
            "tool_calls": [
                {**c, "index": 0} if isinstance(c, dict) and not is_int(c.get("index")) else c for c in calls
            ],
        }
    return copy


@judges("chat.stream.chunk-schema")
def check_chunk_schema(sse: SSETranscript) -> list[Violation]:
    """Every chunk validates against ChatCompletionChunk (``chat.stream.chunk-schema``)."""
    out: list[Violation] = []
    for event, chunk in json_events(sse):
        out += spec.validate(_for_schema(chunk), "ChatCompletionChunk", requirement="chat.stream.chunk-schema",
                             where=at(event))
    return out


@judges("chat.stream.chunk-object")
def check_chunk_object(sse: SSETranscript) -> list[Violation]:
    """Every chunk has object ``chat.completion.chunk`` (``chat.stream.chunk-object``)."""
    return [
        Violation("chat.stream.chunk-object", 'object "chat.completion.chunk"', quote(event), at(event, "/object"))
        for event, chunk in json_events(sse)
        if chunk.get("object") != "chat.completion.chunk"
    ]


@judges("chat.stream.consistent-id")
def check_consistent_id(sse: SSETranscript) -> list[Violation]:
    """id, created and model are identical in every chunk (``chat.stream.consistent-id``).

    Reports the first chunk that differs from the first chunk, once per field.
    """
    chunks = json_events(sse)
    if not chunks:
        return []
    first_event, first = chunks[0]
    out: list[Violation] = []
    for field in ("id", "created", "model"):
        for event, chunk in chunks[1:]:
            if chunk.get(field) != first.get(field):
                out.append(
                    Violation(
                        "chat.stream.consistent-id",
                        expected=f"{field} {truncate(first.get(field))} as in event[{first_event.index}]",
                        actual=f"{field} {truncate(chunk.get(field))}: {quote(event)}",
                        where=at(event, f"/{field}"),
                    )
                )
                break
    return out


@judges("chat.stream.role-first", "chat.stream.role-not-repeated")
def check_roles(sse: SSETranscript) -> list[Violation]:
    """The first chunk of each choice carries role assistant, later ones no role.

    Emits ``chat.stream.role-first`` (MUST) and ``chat.stream.role-not-repeated`` (SHOULD, once
    per choice). A ``role`` of null or "" counts as absent.
    """
    out: list[Violation] = []
    for index, entries in sorted(choices_by_index(sse).items()):
        event, position, choice = entries[0]
        role = _delta(choice).get("role")
        if role != "assistant":
            out.append(
                Violation(
                    "chat.stream.role-first",
                    expected=f'delta.role "assistant" in the first chunk of choice {index}',
                    actual=f"role {truncate(role)}: {quote(event)}",
                    where=at(event, f"/choices/{position}/delta/role"),
                )
            )
        for event, position, choice in entries[1:]:
            if _delta(choice).get("role") not in (None, ""):
                out.append(
                    Violation(
                        "chat.stream.role-not-repeated",
                        expected=f"no delta.role after the first chunk of choice {index}",
                        actual=quote(event),
                        where=at(event, f"/choices/{position}/delta/role"),
                    )
                )
                break
    return out


@judges("chat.stream.finish-last", "chat.stream.finish-reason-enum", "chat.stream.single-finish")
def check_finish(sse: SSETranscript) -> list[Violation]:
    """Per choice index exactly one finish_reason, from the enum, in the choice's last chunk.

    Emits ``chat.stream.single-finish`` (none, or a second one), ``chat.stream.finish-last`` (a
    chunk of the same choice with content after its finish chunk; a second finish chunk is
    single-finish's, an entry that carries nothing is not content) and
    ``chat.stream.finish-reason-enum``.
    """
    out: list[Violation] = []
    for index, entries in sorted(choices_by_index(sse).items()):
        finishing = [k for k, (_, _, choice) in enumerate(entries) if choice.get("finish_reason") is not None]
        if not finishing:
            event, _, _ = entries[-1]
            out.append(
                Violation(
                    "chat.stream.single-finish",
                    expected=f"one chunk of choice {index} with a finish_reason",
                    actual=f"choice {index} never finished; its last chunk: {quote(event)}",
                    where=at(event),
                )
            )
            continue
        for k in finishing:
            event, position, choice = entries[k]
            if choice["finish_reason"] not in FINISH_REASONS:
                out.append(
                    Violation(
                        "chat.stream.finish-reason-enum",
                        expected="finish_reason in " + ", ".join(sorted(FINISH_REASONS)),
                        actual=truncate(choice["finish_reason"]),
                        where=at(event, f"/choices/{position}/finish_reason"),
                    )
                )
        for k in finishing[1:]:
            event, position, _ = entries[k]
            out.append(
                Violation(
                    "chat.stream.single-finish",
                    expected=f"exactly one finish_reason for choice {index}",
                    actual=f"another finish chunk: {quote(event)}",
                    where=at(event, f"/choices/{position}/finish_reason"),
                )
            )
        for event, position, choice in entries[finishing[0] + 1 :]:
            # An entry that carries nothing ({"index": 0, "delta": {}}) is no content after the
            # finish; where it sits (the usage chunk) is usage-chunk's to judge (D26).
            if choice.get("finish_reason") is None and not _carries_nothing(choice):
                out.append(
                    Violation(
                        "chat.stream.finish-last",
                        expected=f"nothing for choice {index} after its finish chunk",
                        actual=quote(event),
                        where=at(event, f"/choices/{position}"),
                    )
                )
                break
    return out


@judges("chat.stream.n-choices")
def check_n_choices(sse: SSETranscript, *, n: int) -> list[Violation]:
    """A stream for ``n`` choices carries choice indexes 0..n-1 and no other (``chat.stream.n-choices``).

    Whether each streamed choice is complete (its finish chunk) is judged by ``check_finish``.
    """
    grouped = choices_by_index(sse)
    out = [
        Violation(
            "chat.stream.n-choices",
            expected=f"choices 0..{n - 1} streamed (n = {n})",
            actual=f"no chunk for choice {index}; indexes seen: {sorted(grouped)}",
            where=done_or_end(sse),
        )
        for index in range(n)
        if index not in grouped
    ]
    for index, entries in sorted(grouped.items()):
        if not 0 <= index < n:
            event, position, _ = entries[0]
            out.append(
                Violation(
                    "chat.stream.n-choices",
                    expected=f"choice indexes 0..{n - 1}",
                    actual=f"index {index}: {quote(event)}",
                    where=at(event, f"/choices/{position}/index"),
                )
            )
    return out


def _usage_only(chunk: Mapping[str, Any]) -> bool:
    return chunk.get("choices") == [] and chunk.get("usage") is not None


@judges("chat.stream.usage-chunk", "chat.stream.usage-absent-elsewhere", "chat.stream.usage-total")
def check_usage_chunk(sse: SSETranscript) -> list[Violation]:
    """With include_usage true: one usage chunk, last before [DONE], and usage nowhere else.

    The usage chunk is the last chunk with ``choices: []`` and a usage (or, failing that, the
    last chunk carrying a usage at all). Emits ``chat.stream.usage-chunk`` (missing, choices not
    empty, not after every chunk with choices, a second usage-only chunk),
    ``chat.stream.usage-total`` and ``chat.stream.usage-absent-elsewhere``.
    """
    chunks = json_events(sse)
    carrying = [k for k, (_, chunk) in enumerate(chunks) if chunk.get("usage") is not None]
    if not carrying:
        return [
            Violation(
                "chat.stream.usage-chunk",
                expected="one chunk with choices [] and a usage object before [DONE]",
                actual=f"none of the {len(chunks)} chunks carries usage",
                where=done_or_end(sse),
            )
        ]
    usage_only = [k for k in carrying if _usage_only(chunks[k][1])]
    chosen = usage_only[-1] if usage_only else carrying[-1]
    event, chunk = chunks[chosen]
    out: list[Violation] = []
    if chunk.get("choices") != []:
        out.append(
            Violation("chat.stream.usage-chunk", "choices [] in the usage chunk", quote(event), at(event, "/choices"))
        )
    later = [k for k, (_, c) in enumerate(chunks) if k > chosen and isinstance(c.get("choices"), list) and c["choices"]]
    if later:
        late_event = chunks[later[0]][0]
        out.append(
            Violation(
                "chat.stream.usage-chunk",
                expected=f"the usage chunk (event[{event.index}]) after every chunk with choices",
                actual=quote(late_event),
                where=at(late_event),
            )
        )
    for k in carrying:
        if k == chosen:
            continue
        other, other_chunk = chunks[k]
        if _usage_only(other_chunk):
            out.append(Violation("chat.stream.usage-chunk", "exactly one usage chunk", quote(other), at(other)))
        else:
            out.append(
                Violation(
                    "chat.stream.usage-absent-elsewhere",
                    expected=f"usage absent or null outside the usage chunk (event[{event.index}])",
                    actual=quote(other),
                    where=at(other, "/usage"),
                )
            )
    return out + _usage_total(event, chunk.get("usage"))


def _usage_total(event: SSEEvent, usage: object) -> list[Violation]:
    if not isinstance(usage, dict):
        return [Violation("chat.stream.usage-chunk", "a usage object", truncate(usage), at(event, "/usage"))]
    prompt, completion, total = (usage.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens"))
    if not all(is_int(v) for v in (prompt, completion, total)):
        return []  # a missing or non-integer count is a schema violation, reported by check_chunk_schema
    if total == prompt + completion:  # type: ignore[operator]
        return []
    return [
        Violation(
            "chat.stream.usage-total",
            expected="total_tokens = prompt_tokens + completion_tokens",
            actual=f"total_tokens {total} != {prompt} + {completion}",
            where=at(event, "/usage/total_tokens"),
        )
    ]


@judges("chat.stream.no-usage-unrequested")
def check_no_usage_unrequested(sse: SSETranscript) -> list[Violation]:
    """Without include_usage no usage-only chunk (``chat.stream.no-usage-unrequested``, SHOULD).

    Usage on chunks that carry choices is tolerated here: SPEC-DECISIONS §11 rules it out only
    when the usage chunk was asked for.
    """
    for event, chunk in json_events(sse):
        if _usage_only(chunk):
            return [
                Violation(
                    "chat.stream.no-usage-unrequested",
                    expected="no usage chunk without stream_options.include_usage",
                    actual=quote(event),
                    where=at(event),
                )
            ]
    return []


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@judges("chat.stream.options-without-stream")
def check_options_without_stream(exchange: Exchange) -> list[Violation]:
    """stream_options without stream true: a plain 200 completion, or a 400 error envelope.

    Requirement ``chat.stream.options-without-stream``. The envelope is checked only as far as a
    client needs to read it (error.message non-empty, error.type a string); its finer rules are
    the error suite's.
    """
    requirement = "chat.stream.options-without-stream"
    text = truncate(exchange.body.decode("utf-8", "replace"))
    body = _json_object(exchange.body) if exchange.content_type == "application/json" else None
    if exchange.status == 200:
        if body is not None and "choices" in body:
            return []
        return [
            Violation(
                requirement,
                expected="a plain JSON chat completion (application/json with choices)",
                actual=f"200 {exchange.content_type or 'no Content-Type'}: {text}",
                where="body",
            )
        ]
    if exchange.status == 400:
        error = body.get("error") if body is not None else None
        if (
            isinstance(error, dict)
            and isinstance(error.get("message"), str)
            and error["message"]
            and isinstance(error.get("type"), str)
        ):
            return []
        return [
            Violation(
                requirement,
                expected='a 400 error envelope {"error": {"message", "type", ...}} as application/json',
                actual=f"400 {exchange.content_type or 'no Content-Type'}: {text}",
                where="body",
            )
        ]
    return [Violation(requirement, "status 200 or 400", f"status {exchange.status}: {text}", "status")]


def joined_content(sse: SSETranscript) -> dict[int, str]:
    """The delta.content strings of each choice joined in stream order."""
    return {
        index: "".join(c for _, _, choice in entries if isinstance(c := _delta(choice).get("content"), str))
        for index, entries in choices_by_index(sse).items()
    }


def stream_usage(sse: SSETranscript) -> dict[str, Any] | None:
    """The usage object of the stream's usage chunk (the last usage-only chunk), if any."""
    found = [chunk["usage"] for _, chunk in json_events(sse) if _usage_only(chunk)]
    return found[-1] if found and isinstance(found[-1], dict) else None


@judges("chat.stream.equals-nonstream")
def check_stream_equals_nonstream(sse: SSETranscript, response: Mapping[str, Any]) -> list[Violation]:
    """Joined content, finish_reason and usage equal the non-streamed answer to the same request.

    Requirement ``chat.stream.equals-nonstream``; only meaningful on a deterministic target. A
    null non-streamed content equals an empty joined content; usage is compared on the three
    totals, and only when both sides carry one (a missing usage chunk is reported elsewhere).
    """
    requirement = "chat.stream.equals-nonstream"
    content, finishes = joined_content(sse), finish_reasons(sse)
    out: list[Violation] = []
    plain_choices = response.get("choices")
    plain = [c for c in plain_choices if isinstance(c, dict)] if isinstance(plain_choices, list) else []
    for position, choice in enumerate(plain):
        index = choice.get("index")
        message = choice.get("message")
        expected_text = (message.get("content") if isinstance(message, dict) else None) or ""
        streamed_text = content.get(index, "") if is_int(index) else ""
        if streamed_text != expected_text:
            out.append(
                Violation(
                    requirement,
                    expected=f"joined deltas of choice {index} = non-streamed content {truncate(expected_text)}",
                    actual=f"streamed {truncate(streamed_text)}",
                    where=f"/choices/{position}/message/content",
                )
            )
        streamed_finish = finishes.get(index) if is_int(index) else None
        # A missing or out-of-enum finish_reason on either side is reported by its own check
        # (check_finish, chat.response.finish-reason), not again here.
        plain_finish = choice.get("finish_reason")
        if streamed_finish in FINISH_REASONS and plain_finish in FINISH_REASONS and streamed_finish != plain_finish:
            out.append(
                Violation(
                    requirement,
                    expected=f"finish_reason {truncate(choice.get('finish_reason'))} as non-streamed",
                    actual=f"streamed {truncate(streamed_finish)}",
                    where=f"/choices/{position}/finish_reason",
                )
            )
    out += _compare_usage(stream_usage(sse), response.get("usage"), requirement)
    return out


def _adds_up(usage: Mapping[str, Any]) -> bool:
    prompt, completion, total = (usage.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens"))
    return is_int(prompt) and is_int(completion) and total == prompt + completion


def _compare_usage(streamed: object, plain: object, requirement: str) -> list[Violation]:
    if not isinstance(streamed, dict) or not isinstance(plain, dict):
        return []
    keys: tuple[str, ...] = ("prompt_tokens", "completion_tokens", "total_tokens")
    if not (_adds_up(streamed) and _adds_up(plain)):
        keys = keys[:2]  # a total that does not add up is reported by the usage-total checks
    mine = {k: streamed.get(k) for k in keys}
    theirs = {k: plain.get(k) for k in keys}
    if mine == theirs:
        return []
    return [Violation(requirement, f"usage {truncate(theirs)} as non-streamed", f"streamed {truncate(mine)}", "/usage")]
