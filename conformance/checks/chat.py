"""Checks for non-streamed chat completions (SPEC-DECISIONS §2, §12, catalogue chat.*).

Owns the chat.response.*, chat.max-tokens-length, chat.n-choices, chat.stop, chat.tools.* and
chat.response-format.* requirements of a non-streamed answer. Only shapes and internal
consistency are judged, never the quality of an answer. Imports conformance.model and
conformance.spec; jsonschema is used directly only for the schemas the test itself supplied
(tool parameters, response_format json_schema), which are not part of our spec.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from typing import Any

from jsonschema import Draft202012Validator

from conformance import spec
from conformance.checks._common import is_int, schema_violations
from conformance.checks._judged import judges
from conformance.model import Findings, Violation, truncate

FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})

# Schema errors at these pointers are reported by the dedicated checks below under their own
# ids, so one fault in a server shows up under one requirement, not two.
_OWNED = (
    re.compile(r"^/object$"),
    re.compile(r"^/choices/\d+/index$"),
    re.compile(r"^/choices/\d+/message/role$"),
    re.compile(r"^/choices/\d+/finish_reason$"),
    re.compile(r"^/choices/\d+/message/tool_calls(/|$)"),
    re.compile(r"^/usage/total_tokens$"),
)


#: Ids :func:`check_chat_invariants` judges besides the usage arithmetic.
_INVARIANT_IDS = (
    "chat.response.object",
    "chat.response.choice-indexes",
    "chat.response.assistant-role",
    "chat.response.finish-reason",
)


def _choices(body: Any) -> list[tuple[int, dict[str, Any]]]:
    """(position, choice) for every choice that is an object."""
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(choices, list):
        return []
    return [(i, c) for i, c in enumerate(choices) if isinstance(c, dict)]


def _message(choice: dict[str, Any]) -> dict[str, Any]:
    message = choice.get("message")
    return message if isinstance(message, dict) else {}


def _tool_calls(choice: dict[str, Any]) -> list[Any]:
    calls = _message(choice).get("tool_calls")
    return calls if isinstance(calls, list) else []


def _function(value: Any) -> dict[str, Any]:
    """The ``function`` object of a tool call or a named tool_choice ({} when malformed)."""
    function = value.get("function") if isinstance(value, dict) else None
    return function if isinstance(function, dict) else {}


@judges("chat.response.schema")
def check_chat_response_schema(body: Any) -> list[Violation]:
    """The answer validates against ChatCompletionResponse (minus what dedicated checks own)."""
    return schema_violations(body, "ChatCompletionResponse", "chat.response.schema", _OWNED)


@judges("chat.response.optional-null")
def check_chat_optional_nulls(body: Any) -> list[Violation]:
    """Optional members of a chat answer are omitted rather than sent as ``null`` (SHOULD, D66)."""
    return [
        Violation(
            "chat.response.optional-null",
            expected="an optional member omitted, not null",
            actual="null",
            where=pointer,
        )
        for pointer in spec.optional_nulls(body, "ChatCompletionResponse")
    ]


@judges(*_INVARIANT_IDS, "chat.response.usage-total")
def check_chat_invariants(body: Any) -> list[Violation]:
    """object, choice indexes 0..n-1, role assistant, finish_reason enum, usage arithmetic."""
    if not isinstance(body, dict):
        return Findings()  # not an object: the schema check reports it, nothing here is judged
    found: list[Violation] = []
    if body.get("object") != "chat.completion":
        found.append(Violation("chat.response.object", '"chat.completion"', truncate(body.get("object")), "/object"))
    choices = _choices(body)
    indexes: list[Any] = [c.get("index") for _, c in choices]
    if sorted(i for i in indexes if is_int(i)) != list(range(len(choices))) or not all(map(is_int, indexes)):
        found.append(
            Violation("chat.response.choice-indexes", f"indexes 0..{len(choices) - 1}, each once",
                      truncate(indexes), "/choices")
        )
    for pos, choice in choices:
        role = _message(choice).get("role")
        if role != "assistant":
            found.append(Violation("chat.response.assistant-role", '"assistant"', truncate(role),
                                   f"/choices/{pos}/message/role"))
        reason = choice.get("finish_reason")
        if reason not in FINISH_REASONS:
            found.append(Violation("chat.response.finish-reason", f"one of {sorted(FINISH_REASONS)}",
                                   truncate(reason), f"/choices/{pos}/finish_reason"))
    return Findings(found, judged=_INVARIANT_IDS) + check_usage_total(body.get("usage"))


@judges(param="requirement")
def check_usage_total(usage: Any, *, requirement: str = "chat.response.usage-total") -> list[Violation]:
    """total_tokens = prompt_tokens + completion_tokens (usage absent: nothing to judge)."""
    if usage is None:
        return Findings()  # usage absent: nothing judged
    values: list[Any] = [usage.get(f) for f in ("prompt_tokens", "completion_tokens", "total_tokens")] \
        if isinstance(usage, dict) else []
    if len(values) == 3 and all(is_int(v) for v in values) and values[0] + values[1] == values[2]:
        return []
    return [Violation(requirement, "total_tokens = prompt_tokens + completion_tokens", truncate(usage), "/usage")]


@judges("chat.max-tokens-length")
def check_finish_reason_length(body: Any) -> list[Violation]:
    """An answer cut by max_tokens reports finish_reason "length" on every choice."""
    return [
        Violation("chat.max-tokens-length", '"length"', truncate(c.get("finish_reason")),
                  f"/choices/{pos}/finish_reason")
        for pos, c in _choices(body)
        if c.get("finish_reason") != "length"
    ]


@judges("chat.n-choices")
def check_choice_count(body: Any, expected: int) -> list[Violation]:
    """A request with n = ``expected`` gets that many choices."""
    choices = body.get("choices") if isinstance(body, dict) else None
    count = len(choices) if isinstance(choices, list) else None
    if count == expected:
        return []
    return [Violation("chat.n-choices", f"{expected} choices", truncate(count), "/choices")]


@judges("chat.stop")
def check_stop_absent(body: Any, stops: Sequence[str]) -> list[Violation]:
    """No choice's content contains any requested stop sequence."""
    found = []
    for pos, choice in _choices(body):
        content = _message(choice).get("content")
        if not isinstance(content, str):
            continue
        for stop in stops:
            if stop and stop in content:
                found.append(Violation("chat.stop", f"content without the stop sequence {stop!r}",
                                       truncate(content), f"/choices/{pos}/message/content"))
    return found


@judges("chat.tools.call-shape")
def check_tool_call_shape(body: Any) -> list[Violation]:
    """Every tool call is a ToolCall (string id, type function, string name and arguments)."""
    found = []
    for pos, choice in _choices(body):
        for k, call in enumerate(_tool_calls(choice)):
            found += spec.validate(call, "ToolCall", requirement="chat.tools.call-shape",
                                   where=f"/choices/{pos}/message/tool_calls/{k}")
    return found


@judges("chat.tools.arguments-valid")
def check_tool_arguments(body: Any, tools: Sequence[dict[str, Any]]) -> list[Violation]:
    """Each call names a declared tool and its arguments parse and validate against its schema.

    A choice cut by max_tokens (finish_reason "length") is not judged.
    """
    params = {
        t["function"]["name"]: t["function"].get("parameters", {"type": "object"})
        for t in tools
        if isinstance(t.get("function"), dict)
    }
    found = []
    for pos, choice in _choices(body):
        if choice.get("finish_reason") == "length":
            continue  # arguments cut by max_tokens may legitimately be incomplete
        for k, call in enumerate(_tool_calls(choice)):
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict):
                continue  # reported by check_tool_call_shape
            where = f"/choices/{pos}/message/tool_calls/{k}/function"
            found += _arguments_violations(function, params, where)
    return found


def _arguments_violations(function: dict[str, Any], params: dict[str, Any], where: str) -> list[Violation]:
    name, raw = function.get("name"), function.get("arguments")
    if name not in params:
        return [Violation("chat.tools.arguments-valid", f"a declared tool name {sorted(params)}", truncate(name),
                          f"{where}/name")]
    arguments = _parse_json(raw)
    if not isinstance(arguments, dict):
        return [Violation("chat.tools.arguments-valid", "arguments: a JSON object as a string", truncate(raw),
                          f"{where}/arguments")]
    # The tool's parameters schema is the test's own input, not part of our spec: validating
    # against it here is the one place a check may build a validator itself.
    errors = sorted(Draft202012Validator(params[name]).iter_errors(arguments), key=lambda e: list(e.path))
    return [
        Violation("chat.tools.arguments-valid", f"arguments valid against {name}'s parameters: {spec.rule_at(e)}",
                  truncate(arguments), f"{where}/arguments")
        for e in errors
    ]


@judges()
def check_tool_choice(body: Any, choice: str | dict[str, Any]) -> list[Violation]:
    """tool_choice "required" -> a call; "none" -> no call; named -> a call of that function.

    A choice cut by max_tokens (finish_reason "length") with neither text nor a call is not
    judged (a reasoning model may spend the whole budget before answering); one that answered
    in text instead of calling is.
    """
    if choice == "none":
        judged = {"chat.tools.choice-none"}
    elif choice == "required":
        judged = {"chat.tools.choice-required"}
    else:
        judged = {"chat.tools.choice-named"} if isinstance(choice, dict) else set()
    found = []
    for pos, c in _choices(body):
        calls = _tool_calls(c)
        if choice != "none" and c.get("finish_reason") == "length" and not calls and not _message(c).get("content"):
            continue
        where = f"/choices/{pos}/message/tool_calls"
        if choice == "none" and calls:
            found.append(Violation("chat.tools.choice-none", "no tool call", truncate(calls), where))
        elif choice == "required" and not calls:
            found.append(Violation("chat.tools.choice-required", "at least one tool call",
                                   truncate(_message(c)), f"/choices/{pos}/message"))
        elif isinstance(choice, dict):
            name = _function(choice).get("name")
            names = [_function(call).get("name") for call in calls]
            if name not in names:
                found.append(Violation("chat.tools.choice-named", f"a call of {name!r}", truncate(names), where))
    return Findings(found, judged=judged)


@judges("chat.tools.finish-reason")
def check_tool_finish_reason(body: Any, *, allowed: Collection[str] = ("tool_calls",)) -> list[Violation]:
    """A choice carrying tool calls has finish_reason "tool_calls".

    Args:
        allowed: the accepted reasons. A forced tool_choice (required or named) also allows
            "stop": OpenAI itself answers a forced call with "stop", so a gateway relaying it
            is conformant in practice.
    """
    return [
        Violation("chat.tools.finish-reason", " or ".join(f'"{a}"' for a in sorted(allowed)),
                  truncate(c.get("finish_reason")), f"/choices/{pos}/finish_reason")
        for pos, c in _choices(body)
        if _tool_calls(c) and c.get("finish_reason") not in allowed
    ]


@judges("chat.tools.distinct-ids")
def check_tool_call_ids_distinct(body: Any) -> list[Violation]:
    """Parallel tool calls of one message have distinct ids."""
    found = []
    for pos, c in _choices(body):
        ids = [call.get("id") for call in _tool_calls(c) if isinstance(call, dict)]
        if len(ids) != len(set(map(str, ids))):
            found.append(Violation("chat.tools.distinct-ids", "distinct tool call ids", truncate(ids),
                                   f"/choices/{pos}/message/tool_calls"))
    return found


_NOT_JSON = object()


def _parse_json(text: Any) -> Any:
    """The parsed JSON text, or ``_NOT_JSON`` (JSON ``null`` is a valid document)."""
    if not isinstance(text, str):
        return _NOT_JSON
    try:
        return json.loads(text)
    except ValueError:
        return _NOT_JSON


@judges()
def check_json_content(body: Any, *, schema: dict[str, Any] | None = None) -> list[Violation]:
    """Content parses as JSON (json_object) and validates against ``schema`` (json_schema).

    A choice cut by max_tokens (finish_reason "length") is not judged: its JSON may be
    legitimately incomplete.
    """
    requirement = "chat.response-format.json-object" if schema is None else "chat.response-format.json-schema"
    found = []
    for pos, c in _choices(body):
        if c.get("finish_reason") == "length":
            continue
        where = f"/choices/{pos}/message/content"
        content = _message(c).get("content")
        parsed = _parse_json(content)
        if parsed is _NOT_JSON:
            found.append(Violation(requirement, "content that parses as JSON", truncate(content), where))
            continue
        if schema is not None:
            # The schema is the test's own input (response_format.json_schema.schema).
            for e in sorted(Draft202012Validator(schema).iter_errors(parsed), key=lambda e: list(e.path)):
                found.append(Violation(requirement, f"content valid against the given schema: {spec.rule_at(e)}",
                                       truncate(parsed), where))
    return Findings(found, judged={requirement})
