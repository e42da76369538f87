"""Pure checks of the usage a chat stream reports (SPEC-DECISIONS §11).

This module owns: with ``stream_options.include_usage`` true, exactly one usage chunk
(``choices: []``) last before [DONE], usage nowhere else, and its total adding up; no usage chunk
when it was not asked for; ``stream_options`` without ``stream`` answered as a plain completion
or a 400 envelope; and ``stream_usage``, the usage a stream reported (used by the equivalence
check). Data in, violations out; no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from conformance.checks._common import is_int
from conformance.checks._judged import judges
from conformance.checks.sse_framing import at, done_or_end, json_events, quote
from conformance.model import Exchange, SSEEvent, SSETranscript, Violation, truncate


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


def stream_usage(sse: SSETranscript) -> dict[str, Any] | None:
    """The usage object of the stream's usage chunk (the last usage-only chunk), if any."""
    found = [chunk["usage"] for _, chunk in json_events(sse) if _usage_only(chunk)]
    return found[-1] if found and isinstance(found[-1], dict) else None
