"""Pure checks of streamed tool-call deltas in chat streams (SPEC-DECISIONS §12, §13).

This module owns the ``delta.tool_calls`` rules: an index on every entry; id, type and
function.name in the first delta of each index and only there; argument fragments joined per
index parse as JSON valid against the tool's parameters; distinct indexes and ids; finish_reason
``tool_calls``; and, on a deterministic target, the joined calls equal the non-streamed
``message.tool_calls``. Data in, violations out; no I/O.

A choice that finished with ``length`` was cut by max_tokens: its arguments cannot be complete,
so arguments and finish_reason are not judged for it (a conformant server must not fail).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator

from conformance import spec
from conformance.checks._common import is_int
from conformance.checks._judged import judges
from conformance.checks.chat_stream import FINISH_REASONS, finish_reasons
from conformance.checks.sse_framing import at, done_or_end, json_events
from conformance.model import SSEEvent, SSETranscript, Violation, truncate

ToolEntry = tuple[SSEEvent, str, dict[str, Any]]
"""One ``delta.tool_calls[]`` entry: its event, its JSON pointer inside the event, the entry."""


def _present(value: object) -> bool:
    # null and "" carry nothing: clients that concatenate header fields are not hurt by them.
    return value is not None and value != ""


def _function(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    fn = entry.get("function")
    return fn if isinstance(fn, dict) else {}


def tool_entries(sse: SSETranscript) -> list[tuple[int, ToolEntry]]:
    """Every ``delta.tool_calls[]`` entry of the stream with its choice index, in order."""
    out: list[tuple[int, ToolEntry]] = []
    for event, chunk in json_events(sse):
        choices = chunk.get("choices")
        for position, choice in enumerate(choices if isinstance(choices, list) else []):
            if not isinstance(choice, dict) or not is_int(choice.get("index")):
                continue
            delta = choice.get("delta")
            calls = delta.get("tool_calls") if isinstance(delta, dict) else None
            for j, entry in enumerate(calls if isinstance(calls, list) else []):
                if isinstance(entry, dict):
                    pointer = f"/choices/{position}/delta/tool_calls/{j}"
                    out.append((choice["index"], (event, pointer, entry)))
    return out


def tool_groups(sse: SSETranscript) -> dict[tuple[int, int], list[ToolEntry]]:
    """The entries grouped by (choice index, tool-call index); entries without an index are left out."""
    groups: dict[tuple[int, int], list[ToolEntry]] = {}
    for choice, (event, pointer, entry) in tool_entries(sse):
        if is_int(entry.get("index")):
            groups.setdefault((choice, entry["index"]), []).append((event, pointer, entry))
    return groups


@judges("chat.stream.tool-call-index")
def check_tool_call_index(sse: SSETranscript) -> list[Violation]:
    """Every streamed ``delta.tool_calls[]`` entry carries an integer index (``chat.stream.tool-call-index``)."""
    return [
        Violation("chat.stream.tool-call-index", "an integer index on every tool-call delta", truncate(entry),
                  at(event, pointer))
        for _, (event, pointer, entry) in tool_entries(sse)
        if not is_int(entry.get("index"))
    ]


@judges("chat.stream.tool-call-distinct", "chat.stream.tool-call-header-once", "chat.stream.tool-call-type-once")
def check_tool_call_headers(sse: SSETranscript) -> list[Violation]:
    """id, type and function.name in the first delta of each index only; distinct indexes and ids.

    Emits ``chat.stream.tool-call-header-once`` (a header field missing from the first delta, or
    id or function.name repeated later, once per index), ``chat.stream.tool-call-type-once`` (type
    repeated later, once per index; a SHOULD, D67) and ``chat.stream.tool-call-distinct`` (a
    different id at the same index, i.e. two calls sharing one index, or one id used by two indexes).
    """
    out: list[Violation] = []
    first_ids: dict[tuple[int, object], ToolEntry] = {}
    for (choice, index), entries in sorted(tool_groups(sse).items()):
        event, pointer, entry = entries[0]
        headers = {"id": entry.get("id"), "type": entry.get("type"), "function.name": _function(entry).get("name")}
        missing = [name for name, value in headers.items() if not _present(value)]
        if missing:
            out.append(
                Violation(
                    "chat.stream.tool-call-header-once",
                    expected=f"id, type and function.name in the first delta of tool call {index}",
                    actual=f"missing {', '.join(missing)}: {truncate(entry)}",
                    where=at(event, pointer),
                )
            )
        out += _later_headers(choice, index, entries)
        first_id = entry.get("id")
        if _present(first_id):
            twin = first_ids.setdefault((choice, first_id), (event, pointer, entry))
            if twin[2] is not entry:
                out.append(
                    Violation(
                        "chat.stream.tool-call-distinct",
                        expected="a distinct id for every parallel tool call",
                        actual=f"id {truncate(first_id)} at index {twin[2].get('index')} and {index}",
                        where=at(event, pointer + "/id"),
                    )
                )
    return out


def _later_headers(choice: int, index: int, entries: list[ToolEntry]) -> list[Violation]:
    first_id = entries[0][2].get("id")
    out: list[Violation] = []
    repeated_reported = False
    type_reported = False
    for event, pointer, entry in entries[1:]:
        later_id = entry.get("id")
        if _present(later_id) and _present(first_id) and later_id != first_id:
            out.append(
                Violation(
                    "chat.stream.tool-call-distinct",
                    expected=f"one call per index: index {index} of choice {choice} is {truncate(first_id)}",
                    actual=f"a second call {truncate(later_id)} at the same index: {truncate(entry)}",
                    where=at(event, pointer + "/index"),
                )
            )
            continue
        headers = (("id", later_id), ("function.name", _function(entry).get("name")))
        repeated = [name for name, value in headers if _present(value)]
        if repeated and not repeated_reported:
            repeated_reported = True
            out.append(
                Violation(
                    "chat.stream.tool-call-header-once",
                    expected=f"only index and function.arguments after the first delta of tool call {index}",
                    actual=f"{', '.join(repeated)} repeated: {truncate(entry)}",
                    where=at(event, pointer),
                )
            )
        if _present(entry.get("type")) and not type_reported:
            # D67: a repeated type breaks no accumulating client (the SDK keeps "function").
            type_reported = True
            out.append(
                Violation(
                    "chat.stream.tool-call-type-once",
                    expected=f"type only in the first delta of tool call {index}",
                    actual=f"type repeated: {truncate(entry)}",
                    where=at(event, pointer + "/type"),
                )
            )
    return out


def _tool_parameters(tools: Sequence[Mapping[str, Any]]) -> dict[str, object]:
    """name -> parameters schema (None when the tool has none), for the nested and the flat tool form."""
    out: dict[str, object] = {}
    for tool in tools:
        fn = tool.get("function") if isinstance(tool.get("function"), dict) else tool
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            out[fn["name"]] = fn.get("parameters")
    return out


def joined_arguments(entries: list[ToolEntry]) -> str | None:
    """The function.arguments fragments of one index joined, or None when a fragment is not a string."""
    parts: list[str] = []
    for _, _, entry in entries:
        fragment = _function(entry).get("arguments")
        if fragment is None:
            continue
        if not isinstance(fragment, str):
            return None
        parts.append(fragment)
    return "".join(parts)


@judges("chat.stream.tool-call-arguments")
def check_tool_call_arguments(sse: SSETranscript, *, tools: Sequence[Mapping[str, Any]]) -> list[Violation]:
    """Fragments joined per index parse as JSON valid against the called tool's parameters.

    Requirement ``chat.stream.tool-call-arguments``. ``tools`` is the request's own ``tools``
    list; validating against those user-supplied ``parameters`` is the one place a validator is
    built outside ``conformance.spec``: the schema is the test's input, not part of the spec.
    Choices that finished with ``length`` are skipped (cut by max_tokens).
    """
    requirement = "chat.stream.tool-call-arguments"
    schemas = _tool_parameters(tools)
    finishes = finish_reasons(sse)
    out: list[Violation] = []
    for (choice, index), entries in sorted(tool_groups(sse).items()):
        if finishes.get(choice) == "length":
            continue
        event, pointer, _ = entries[0]
        where = at(event, pointer + "/function/arguments")
        names = [n for _, _, e in entries if _present(n := _function(e).get("name"))]
        joined = joined_arguments(entries)
        if joined is None:
            out.append(Violation(requirement, "string argument fragments", f"tool call {index}: non-string", where))
            continue
        try:
            value = json.loads(joined)
        except ValueError:
            out.append(Violation(requirement, f"joined arguments of tool call {index} parse as JSON",
                                 truncate(joined), where))
            continue
        if not names:
            continue  # no function name at all: reported by check_tool_call_headers
        name = names[0]
        if name not in schemas:
            out.append(Violation(requirement, f"a call to a declared tool ({', '.join(sorted(schemas))})",
                                 f"a call to {truncate(name)}", at(event, pointer + "/function/name")))
            continue
        parameters = schemas[name]
        if isinstance(parameters, dict):
            errors = sorted(Draft202012Validator(parameters).iter_errors(value), key=lambda e: list(e.path))
            if errors:
                out.append(Violation(requirement, f"arguments valid against the parameters of {name}: "
                                     f"{spec.rule_at(errors[0])}", truncate(joined), where))
    return out


@judges("chat.stream.tool-call-finish-reason")
def check_tool_call_finish_reason(sse: SSETranscript, *, allowed: Sequence[str] = ("tool_calls",)) -> list[Violation]:
    """A choice that streamed tool calls finishes with ``tool_calls`` (``chat.stream.tool-call-finish-reason``).

    Args:
        sse: the transcript.
        allowed: the accepted finish reasons; a suite may add ``stop`` for a forced call, which
            OpenAI itself finishes so. ``length`` (cut by max_tokens) is always tolerated, and a
            missing finish_reason is single-finish's to report.
    """
    finishes = finish_reasons(sse)
    with_calls = sorted({choice for choice, _ in tool_entries(sse)})
    return [
        Violation(
            "chat.stream.tool-call-finish-reason",
            expected=" or ".join(f'"{reason}"' for reason in allowed)
            + f" as finish_reason of choice {choice}, which streamed tool calls",
            actual=f"finish_reason {truncate(finishes[choice])}",
            where=f"choice {choice}",
        )
        for choice in with_calls
        # length: cut by max_tokens; a value outside the enum is finish-reason-enum's to report.
        if choice in finishes and finishes[choice] in FINISH_REASONS - {"length"} and finishes[choice] not in allowed
    ]


@judges(param="requirement")
def check_tool_calls_present(sse: SSETranscript, *, requirement: str) -> list[Violation]:
    """Choice 0 streamed at least one tool call (for a request that forced one).

    Args:
        sse: the transcript.
        requirement: the id of the rule that forces the call, e.g. ``chat.tools.choice-required``.
    """
    if any(choice == 0 for choice, _ in tool_entries(sse)):
        return []
    return [Violation(requirement, "a streamed tool call in choice 0", "no delta.tool_calls in the stream",
                      done_or_end(sse))]


def join_tool_calls(sse: SSETranscript) -> dict[int, list[dict[str, Any]]]:
    """The streamed tool calls of each choice, assembled as ``message.tool_calls`` would read."""
    out: dict[int, list[dict[str, Any]]] = {}
    for (choice, _), entries in sorted(tool_groups(sse).items()):
        first = entries[0][2]
        out.setdefault(choice, []).append(
            {
                "id": first.get("id"),
                "type": first.get("type"),
                "function": {"name": _function(first).get("name"), "arguments": joined_arguments(entries)},
            }
        )
    return out


_UNPARSED = object()


def _comparable(call: object) -> tuple[object, object, object]:
    """type, name and parsed arguments of a call (``_UNPARSED`` when they are not JSON).

    Call ids are not compared: they identify one request's calls and may differ per request even
    on a deterministic target. Arguments are compared parsed, so whitespace does not matter.
    """
    if not isinstance(call, dict):
        return (None, None, _UNPARSED)
    fn = _function(call)
    try:
        arguments = json.loads(fn["arguments"]) if isinstance(fn.get("arguments"), str) else _UNPARSED
    except ValueError:
        arguments = _UNPARSED
    return (call.get("type"), fn.get("name"), arguments)


def _same_call(streamed: tuple[object, object, object], plain: tuple[object, object, object]) -> bool:
    # Streamed arguments that are not JSON are tool-call-arguments' to report: compare the rest.
    if streamed[2] is _UNPARSED:
        return streamed[:2] == plain[:2]
    return streamed == plain


def _summary(calls: list[Any]) -> list[object]:
    """name and arguments of each call, for a failure message."""
    return [[_function(c).get("name"), _function(c).get("arguments")] if isinstance(c, dict) else c for c in calls]


@judges("chat.stream.tool-call-equals-nonstream")
def check_tool_calls_equal_nonstream(sse: SSETranscript, response: Mapping[str, Any]) -> list[Violation]:
    """The joined streamed calls of choice 0 equal the non-streamed ``message.tool_calls``.

    Requirement ``chat.stream.tool-call-equals-nonstream`` (deterministic targets only); type,
    function name and arguments are compared in order, ids are not.
    """
    choices = response.get("choices")
    first = next((c for c in choices if isinstance(c, dict) and c.get("index") == 0), None) if isinstance(
        choices, list) else None
    message = first.get("message") if isinstance(first, dict) else None
    plain = message.get("tool_calls") if isinstance(message, dict) else None
    plain_calls = plain if isinstance(plain, list) else []
    streamed_calls = join_tool_calls(sse).get(0, [])
    if len(plain_calls) == len(streamed_calls) and all(
        _same_call(_comparable(s), _comparable(p)) for s, p in zip(streamed_calls, plain_calls, strict=True)
    ):
        return []
    return [
        Violation(
            "chat.stream.tool-call-equals-nonstream",
            expected=f"streamed tool calls equal to the non-streamed {truncate(_summary(plain_calls))}",
            actual=f"streamed {truncate(_summary(streamed_calls))}",
            where="/choices/0/message/tool_calls",
        )
    ]
