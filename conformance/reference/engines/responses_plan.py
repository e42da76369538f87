"""What a Responses answer says, decided once for both deliveries (plain JSON and typed SSE).

Owns the reading of ``input`` (a string, or a list of items: messages with ``input_text`` parts,
``function_call`` echoes, ``function_call_output`` results), the decision between a message
echoing the caller's words and ``function_call`` items with schema-valid arguments, the
``max_output_tokens`` cut that makes a response ``incomplete``, token usage, and the builders of
output items and of the full ``response`` object that both renderers share.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from conformance.reference.engines import textgen
from conformance.reference.engines.calls import responses_tools, select_calls
from conformance.reference.engines.schemagen import arguments_for


@dataclass(frozen=True)
class ItemPlan:
    """One output item: a message (``text``) or a function call (``name``, ``arguments``)."""

    kind: str
    id: str
    text: str = ""
    call_id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass(frozen=True)
class ResponsePlan:
    """What the response says, shared by the plain and the streamed delivery."""

    id: str
    created_at: int
    model: str
    items: tuple[ItemPlan, ...]
    incomplete: bool
    input_tokens: int
    output_tokens: int
    echo: dict[str, Any]


def input_items(value: Any) -> list[dict[str, Any]]:
    """The input as a list of items (a plain string is one user message)."""
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []


def _item_text(item: dict[str, Any]) -> str:
    if item.get("type") == "function_call_output":
        return textgen.content_text(item.get("output"))
    if item.get("type") == "function_call":
        return str(item.get("arguments", ""))
    return textgen.content_text(item.get("content"))


def build_plan(body: dict[str, Any], items: list[dict[str, Any]]) -> ResponsePlan:
    """Decide the response to a request whose input is ``items``."""
    digest = textgen.digest(body)
    after_result = bool(items) and items[-1].get("type") == "function_call_output"
    calls = select_calls(responses_tools(body), body.get("tool_choice"), after_tool_result=after_result,
                         parallel=body.get("parallel_tool_calls") is not False)
    incomplete = False
    if calls:
        planned = tuple(
            ItemPlan("function_call", f"fc_{textgen.sub_digest(digest, 'fc', k)[:24]}",
                     call_id=f"call_{textgen.sub_digest(digest, 'call', k)[:24]}", name=tool.name,
                     arguments=json.dumps(arguments_for(tool.parameters)))
            for k, tool in enumerate(calls)
        )
        output_tokens = sum(textgen.count_tokens(c.name) + textgen.count_tokens(c.arguments) for c in planned)
    else:
        text, incomplete = _message_text(body, items, after_result)
        planned = (ItemPlan("message", f"msg_{textgen.sub_digest(digest, 'msg')[:24]}", text=text),)
        output_tokens = textgen.count_tokens(text)
    instructions = body.get("instructions")
    prompt = [instructions if isinstance(instructions, str) else "", *(_item_text(i) for i in items)]
    return ResponsePlan(
        id=f"resp_{digest[:24]}",
        created_at=textgen.created_from(digest),
        model=str(body.get("model", "")),
        items=planned,
        incomplete=incomplete,
        input_tokens=sum(textgen.count_tokens(p) + 1 for p in prompt if p),
        output_tokens=output_tokens,
        echo=_echo(body),
    )


def _message_text(body: dict[str, Any], items: list[dict[str, Any]], after_result: bool) -> tuple[str, bool]:
    """(text, cut) of the message answer: the reply, cut at max_output_tokens when given."""
    source = next((t for t in (_item_text(i) for i in reversed(items)) if t.strip()), "")
    lead = "Function result received" if after_result else "Reference reply"
    text = textgen.reply_text(source, lead=lead)
    budget = body.get("max_output_tokens")
    if isinstance(budget, int):
        return textgen.cut_tokens(text, budget)
    return text, False


def _echo(body: dict[str, Any]) -> dict[str, Any]:
    """Request settings a response object reports back (only plainly typed ones)."""
    instructions = body.get("instructions")
    budget = body.get("max_output_tokens")
    return {
        "instructions": instructions if isinstance(instructions, str) else None,
        "max_output_tokens": budget if isinstance(budget, int) else None,
        "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
        "previous_response_id": None,
        "temperature": _number(body.get("temperature"), 1.0),
        "top_p": _number(body.get("top_p"), 1.0),
    }


def _number(value: Any, default: float) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def output_item(item: ItemPlan, *, incomplete: bool = False, text: str | None = None) -> dict[str, Any]:
    """The finished output item of a plan item (``text`` overrides a message's text)."""
    if item.kind == "function_call":
        return {"type": "function_call", "id": item.id, "call_id": item.call_id, "name": item.name,
                "arguments": item.arguments, "status": "completed"}
    return {
        "type": "message",
        "id": item.id,
        "status": "incomplete" if incomplete else "completed",
        "role": "assistant",
        "content": [text_part(item.text if text is None else text)],
    }


def text_part(text: str) -> dict[str, Any]:
    """An ``output_text`` content part."""
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def response_object(plan: ResponsePlan, *, output: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The full response of a plan (status completed or incomplete), ``output`` overridable."""
    items = [output_item(i, incomplete=plan.incomplete) for i in plan.items] if output is None else output
    joined = "".join(
        p["text"] for i in items if i.get("type") == "message" for p in i["content"] if p.get("type") == "output_text"
    )
    return {
        "id": plan.id,
        "object": "response",
        "created_at": plan.created_at,
        "status": "incomplete" if plan.incomplete else "completed",
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if plan.incomplete else None,
        "model": plan.model,
        "output": items,
        "output_text": joined,
        "usage": usage(plan),
        **plan.echo,
    }


def usage(plan: ResponsePlan) -> dict[str, Any]:
    """The usage object: total = input + output."""
    return {
        "input_tokens": plan.input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": plan.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": plan.input_tokens + plan.output_tokens,
    }
