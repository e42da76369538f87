"""What a chat answer says, decided once for both deliveries (plain JSON and SSE stream).

Owns the content decisions of the chat engine: the reply text of every choice (``n`` variants),
stop sequences, the ``max_tokens`` / ``max_completion_tokens`` budget and the finish reason it
implies, tool calls with schema-valid arguments, ``response_format`` JSON content, and token
usage. The plan depends only on the request minus its delivery fields, which is what makes a
stream's joined content, finish reason and usage equal the plain answer's (SPEC-DECISIONS §13).
Faults that change what is said for both deliveries are applied here; the renderers
(``chat.py``, ``chat_stream.py``) apply the delivery faults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from conformance.reference.engines import textgen
from conformance.reference.engines.calls import ChoiceFaults, ToolSpec, chat_tools, select_calls
from conformance.reference.engines.schemagen import Unsatisfiable, arguments_for, instance_for
from conformance.reference.faultset import FaultSet

SYSTEM_FINGERPRINT = "fp_nexhina_ref"

#: Tokens a message costs beyond its text (role and separators), as real tokenizers charge.
PER_MESSAGE_TOKENS = 1


@dataclass(frozen=True)
class ToolCallPlan:
    """One tool call of a choice."""

    id: str
    name: str
    arguments: str
    parameters: Any = None


@dataclass(frozen=True)
class ChoicePlan:
    """One choice: text content or tool calls, its finish reason and its completion tokens."""

    index: int
    content: str | None
    tool_calls: tuple[ToolCallPlan, ...]
    finish_reason: str
    completion_tokens: int


@dataclass(frozen=True)
class ChatPlan:
    """The whole answer: identity, choices and prompt tokens."""

    id: str
    created: int
    model: str
    digest: str
    choices: tuple[ChoicePlan, ...]
    prompt_tokens: int

    def usage(self, choices: tuple[ChoicePlan, ...] | None = None) -> dict[str, Any]:
        """The usage object for ``choices`` (all of them by default); total = prompt + completion."""
        completion = sum(c.completion_tokens for c in (self.choices if choices is None else choices))
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        }


def build_plan(body: dict[str, Any], faults: FaultSet) -> ChatPlan:
    """Decide the answer to a (schema-valid) chat request."""
    digest = textgen.digest(body)
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    requested = body.get("n")
    n = requested if isinstance(requested, int) and requested >= 1 else 1
    calls = select_calls(
        chat_tools(body),
        body.get("tool_choice"),
        after_tool_result=bool(messages) and messages[-1].get("role") == "tool",
        parallel=body.get("parallel_tool_calls") is not False,
        faults=ChoiceFaults(
            ignore_required=faults.on("chat.tools.choice-required"),
            ignore_none=faults.on("chat.tools.choice-none"),
            wrong_named=faults.on("chat.tools.choice-named"),
        ),
    )
    choices = tuple(
        _tool_choice_plan(digest, i, calls) if calls else _text_choice_plan(body, messages, i, faults)
        for i in range(n)
    )
    return ChatPlan(
        id=f"chatcmpl-{digest[:24]}",
        created=textgen.created_from(digest),
        model=str(body.get("model", "")),
        digest=digest,
        choices=choices,
        prompt_tokens=sum(
            textgen.count_tokens(textgen.content_text(m.get("content"))) + PER_MESSAGE_TOKENS for m in messages
        ),
    )


def tool_call_id(digest: str, choice: int, call: int) -> str:
    """The id of call ``call`` of choice ``choice``: distinct within and across choices."""
    return f"call_{textgen.sub_digest(digest, choice)[:16]}_{call}"


def _tool_choice_plan(digest: str, index: int, calls: list[ToolSpec]) -> ChoicePlan:
    planned = tuple(
        ToolCallPlan(
            id=tool_call_id(digest, index, k),
            name=tool.name,
            arguments=json.dumps(arguments_for(tool.parameters)),
            parameters=tool.parameters,
        )
        for k, tool in enumerate(calls)
    )
    tokens = sum(textgen.count_tokens(c.name) + textgen.count_tokens(c.arguments) for c in planned)
    return ChoicePlan(index, None, planned, "tool_calls", tokens)


def _source(messages: list[dict[str, Any]]) -> tuple[str, str]:
    """(role, text) of the last message that carries text: what the answer responds to."""
    for message in reversed(messages):
        text = textgen.content_text(message.get("content"))
        if text.strip():
            return str(message.get("role", "user")), text
    return "user", ""


def token_budget(body: dict[str, Any]) -> int | None:
    """The completion budget: the smaller of max_completion_tokens and max_tokens when given."""
    limits = [v for v in (body.get("max_completion_tokens"), body.get("max_tokens")) if isinstance(v, int)]
    return min(limits) if limits else None


def _text_choice_plan(body: dict[str, Any], messages: list[dict[str, Any]], index: int, faults: FaultSet) -> ChoicePlan:
    role, source = _source(messages)
    budget = token_budget(body)
    fmt = body.get("response_format")
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "json_object":
        text, cut = _json_object_text(source, budget, faults), False
    elif kind == "json_schema" and isinstance(fmt, dict):
        text, cut = _json_schema_text(fmt, index, faults), False
    else:
        lead = "Tool result received" if role == "tool" else "Reference reply"
        text, cut = textgen.reply_text(source, variant=index, lead=lead), False
    if not faults.on("chat.stop"):
        text, _ = textgen.cut_at_stop(text, textgen.stop_sequences(body.get("stop")))
    if budget is not None and kind not in ("json_object", "json_schema"):
        text, cut = textgen.cut_tokens(text, budget)
    finish = "length" if cut and not faults.on("chat.max-tokens-length") else "stop"
    return ChoicePlan(index, text, (), finish, textgen.count_tokens(text))


def _json_object_text(source: str, budget: int | None, faults: FaultSet) -> str:
    """A JSON object echoing the caller's words, shrunk to fit the token budget (never cut mid-JSON)."""
    words = source.split()[:8] or ["nothing"]
    text = "{}"
    for count in range(len(words), -1, -1):
        candidate = json.dumps({"reply": " ".join(words[:count])})
        if budget is None or textgen.count_tokens(candidate) <= budget:
            text = candidate
            break
    if faults.on("chat.response-format.json-object"):
        return f"```json\n{text}\n```"
    return text


def _json_schema_text(fmt: dict[str, Any], index: int, faults: FaultSet) -> str:
    """JSON content valid against ``response_format.json_schema.schema`` (schema-driven generator)."""
    spec = fmt.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    try:
        value = instance_for(schema, variant=index) if isinstance(schema, dict) else {}
    except Unsatisfiable:
        value = {}
    text = json.dumps(value)
    if faults.on("chat.response-format.json-schema"):
        return _violating(schema, text)
    return text


def _violating(schema: Any, text: str) -> str:
    """Content that breaks ``schema``: its required properties dropped, else JSON cut short."""
    if isinstance(schema, dict) and schema.get("required"):
        return "{}"
    return text[:-1] if len(text) > 1 else "{"
