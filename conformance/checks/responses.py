"""Checks for non-streamed Responses API answers (SPEC-DECISIONS §14, catalogue responses.*).

Owns responses.schema, .object, .status-enum, .output-text-parts, .output-text-joined,
.usage-total and .function-call. Streamed events belong to checks/responses_stream.py.
Imports conformance.model and conformance.spec only.
"""

from __future__ import annotations

import json
import re
from typing import Any

from conformance import spec
from conformance.checks._common import is_int, schema_violations
from conformance.checks._judged import judges
from conformance.model import Findings, Violation, truncate

STATUSES = frozenset({"completed", "incomplete", "failed", "in_progress", "queued", "cancelled"})

# Pointers the dedicated checks below report under their own ids.
_OWNED = (
    re.compile(r"^/object$"),
    re.compile(r"^/status$"),
    re.compile(r"^/output/\d+/content(/|$)"),
    re.compile(r"^/output_text$"),
    re.compile(r"^/usage/total_tokens$"),
)


def _items(body: Any, kind: str) -> list[tuple[int, dict[str, Any]]]:
    """(position, item) of the output items of type ``kind``."""
    output = body.get("output") if isinstance(body, dict) else None
    if not isinstance(output, list):
        return []
    return [(i, item) for i, item in enumerate(output) if isinstance(item, dict) and item.get("type") == kind]


@judges("responses.schema")
def check_response_schema(body: Any) -> list[Violation]:
    """The answer validates against ResponseObject (minus what dedicated checks own).

    Errors inside a function_call item belong to responses.function-call.
    """
    calls = tuple(re.compile(rf"^/output/{pos}(/|$)") for pos, _ in _items(body, "function_call"))
    return schema_violations(body, "ResponseObject", "responses.schema", _OWNED + calls)


@judges("responses.object", "responses.status-enum", "responses.output-text-parts", "responses.output-text-joined",
        "responses.usage-total")
def check_response_invariants(body: Any) -> list[Violation]:
    """object "response", status enum, output_text parts, joined output_text, usage arithmetic."""
    if not isinstance(body, dict):
        return Findings()  # not an object: the schema check reports it, nothing here is judged
    found: list[Violation] = []
    if body.get("object") != "response":
        found.append(Violation("responses.object", '"response"', truncate(body.get("object")), "/object"))
    if body.get("status") not in STATUSES:
        found.append(Violation("responses.status-enum", f"one of {sorted(STATUSES)}", truncate(body.get("status")),
                               "/status"))
    found += _part_violations(body)
    found += _joined_violations(body)
    found += _usage_violations(body.get("usage"))
    return found


def _part_violations(body: Any) -> list[Violation]:
    found = []
    for pos, item in _items(body, "message"):
        content = item.get("content")
        if not isinstance(content, list):
            found.append(Violation("responses.output-text-parts", "content: a list of output_text parts",
                                   truncate(content), f"/output/{pos}/content"))
            continue
        for k, part in enumerate(content):
            where = f"/output/{pos}/content/{k}"
            kind = part.get("type") if isinstance(part, dict) else None
            # A refusal part is the documented sibling of output_text; it carries no text.
            if kind == "refusal" and isinstance(part, dict) and isinstance(part.get("refusal"), str):
                continue
            if kind != "output_text" or not isinstance(part, dict) or not isinstance(part.get("text"), str):
                found.append(Violation("responses.output-text-parts",
                                       'a part {"type": "output_text", "text": <string>}', truncate(part), where))
    return found


def message_text(body: Any) -> str:
    """The joined text of every output_text part of every output message, in order."""
    texts = []
    for _, item in _items(body, "message"):
        content = item.get("content")
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and part.get("type") == "output_text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
    return "".join(texts)


def _joined_violations(body: dict[str, Any]) -> list[Violation]:
    given = body.get("output_text")
    # With malformed parts (reported as output-text-parts) the joined text is undefined.
    if given is None or _part_violations(body):
        return []
    joined = message_text(body)
    if given == joined:
        return []
    return [Violation("responses.output-text-joined", f"the joined message text {truncate(joined, 80)}",
                      truncate(given), "/output_text")]


def _usage_violations(usage: Any) -> list[Violation]:
    if usage is None:
        return []
    values: list[Any] = [usage.get(f) for f in ("input_tokens", "output_tokens", "total_tokens")] \
        if isinstance(usage, dict) else []
    if len(values) == 3 and all(is_int(v) for v in values) and values[0] + values[1] == values[2]:
        return []
    return [Violation("responses.usage-total", "total_tokens = input_tokens + output_tokens", truncate(usage),
                      "/usage")]


def function_calls(body: Any) -> list[dict[str, Any]]:
    """The function_call output items, in order."""
    return [item for _, item in _items(body, "function_call")]


@judges("responses.function-call")
def check_function_calls(body: Any, *, expect_call: bool) -> list[Violation]:
    """Every function_call item has call_id, name and JSON arguments; one exists if expected.

    Args:
        expect_call: the request forced a call (tool_choice "required"). An answer cut short
            (status "incomplete") is not required to carry one.
    """
    found: list[Violation] = []
    calls = _items(body, "function_call")
    status = body.get("status") if isinstance(body, dict) else None
    if expect_call and not calls and status != "incomplete":
        found.append(Violation("responses.function-call", "a function_call output item (tool_choice required)",
                               truncate(body.get("output") if isinstance(body, dict) else body), "/output"))
    for pos, item in calls:
        where = f"/output/{pos}"
        found += spec.validate(item, "ResponseFunctionToolCall", requirement="responses.function-call", where=where)
        arguments = item.get("arguments")
        if isinstance(arguments, str) and status != "incomplete" and not _parses(arguments):
            found.append(Violation("responses.function-call", "arguments that parse as JSON", truncate(arguments),
                                   f"{where}/arguments"))
    return found


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
