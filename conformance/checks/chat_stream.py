"""Pure checks of streamed chat completion chunks (SPEC-DECISIONS §9–11, §13).

This module owns the invariants of the chunks of one chat stream: the chunk schema and object;
identical id, created and model; per choice index the role first (and not repeated), exactly one
finish_reason from the enum in its last chunk; both choices of an ``n: 2`` stream; and the
per-choice readers (``choices_by_index``, ``finish_reasons``, ``delta``) its siblings build on.
The siblings: ``chat_stream_usage`` (the ``include_usage`` usage chunk, ``stream_options``
without ``stream``), ``chat_stream_equivalence`` (stream ≡ non-stream) and
``chat_stream_tools`` (streamed tool-call deltas); they import from here, never the reverse.

Only events before the first ``[DONE]`` are judged here: what follows [DONE] is reported by
``sse_framing.check_nothing_after_done`` alone. Data in, violations out; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance import spec
from conformance.checks._common import is_int
from conformance.checks._judged import judges
from conformance.checks.sse_framing import at, done_or_end, json_events, quote
from conformance.model import SSEEvent, SSETranscript, Violation, truncate

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


def delta(choice: Mapping[str, Any]) -> Mapping[str, Any]:
    """The choice's ``delta`` object, or an empty mapping when it is missing or not an object."""
    delta = choice.get("delta")
    return delta if isinstance(delta, dict) else {}


def _carries_nothing(choice: Mapping[str, Any]) -> bool:
    """A choice entry with an empty delta (every member null or "") and no logprobs."""
    return all(value in (None, "") for value in delta(choice).values()) and choice.get("logprobs") is None


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
        role = delta(choice).get("role")
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
            if delta(choice).get("role") not in (None, ""):
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
