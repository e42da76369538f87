"""Pure check that a chat stream says what the non-streamed answer says (SPEC-DECISIONS §13).

This module owns ``chat.stream.equals-nonstream``: on a deterministic target the joined
``delta.content`` of each choice, its finish_reason and the usage equal the non-streamed answer
to the same request. Data in, violations out; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.checks._common import is_int
from conformance.checks._judged import judges
from conformance.checks.chat_stream import FINISH_REASONS, choices_by_index, delta, finish_reasons
from conformance.checks.chat_stream_usage import stream_usage
from conformance.model import SSETranscript, Violation, truncate


def joined_content(sse: SSETranscript) -> dict[int, str]:
    """The delta.content strings of each choice joined in stream order."""
    return {
        index: "".join(c for _, _, choice in entries if isinstance(c := delta(choice).get("content"), str))
        for index, entries in choices_by_index(sse).items()
    }


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
