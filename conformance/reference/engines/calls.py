"""Which tools a deterministic answer calls, shared by the chat and Responses engines.

Owns the reading of ``tools`` (chat's nested ``{"type": "function", "function": {...}}`` and the
Responses API's flat ``{"type": "function", "name": ...}``) and of ``tool_choice``, and the
decision table: ``none`` -> no call; ``required`` -> call; a named choice -> call that function;
``auto`` or absent -> call, unless the conversation ends with a tool result (then answer it in
text). Several tools are called in parallel unless ``parallel_tool_calls`` is false. Lenient on
purpose: a ``tool_choice`` without tools, or naming an undeclared function, is never an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ToolSpec:
    """A callable function tool: its name and its parameters schema (None when not given)."""

    name: str
    parameters: Any = None


@dataclass(frozen=True)
class ChoiceFaults:
    """The tool_choice faults a caller switched on (chat only; Responses passes none)."""

    ignore_required: bool = False
    ignore_none: bool = False
    wrong_named: bool = False


NO_CHOICE_FAULTS = ChoiceFaults()


def chat_tools(body: dict[str, Any]) -> list[ToolSpec]:
    """The function tools of a chat request (``tools[].function``)."""
    specs = []
    for tool in body.get("tools") or []:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            specs.append(ToolSpec(function["name"], function.get("parameters")))
    return specs


def responses_tools(body: dict[str, Any]) -> list[ToolSpec]:
    """The function tools of a Responses request (flat ``{type: function, name, parameters}``)."""
    return [
        ToolSpec(tool["name"], tool.get("parameters"))
        for tool in body.get("tools") or []
        if isinstance(tool, dict) and tool.get("type") == "function" and isinstance(tool.get("name"), str)
    ]


def named_choice(choice: Any) -> str | None:
    """The function a named ``tool_choice`` forces (chat nests it under ``function``), else None."""
    if not isinstance(choice, dict) or choice.get("type") != "function":
        return None
    function = choice.get("function")
    name = function.get("name") if isinstance(function, dict) else choice.get("name")
    return name if isinstance(name, str) else None


def select_calls(
    tools: list[ToolSpec],
    choice: Any,
    *,
    after_tool_result: bool,
    parallel: bool,
    faults: ChoiceFaults = NO_CHOICE_FAULTS,
) -> list[ToolSpec]:
    """The tools the answer calls, in order (empty: answer in text).

    Args:
        tools: the declared function tools.
        choice: the request's ``tool_choice`` (absent = None).
        after_tool_result: the conversation ends with a tool result, which ``auto`` answers in text.
        parallel: False when ``parallel_tool_calls`` is false (then at most one call).
        faults: tool_choice faults to apply.
    """
    forced = named_choice(choice)
    if forced is not None:
        return _named(tools, forced, wrong=faults.wrong_named)
    if not tools:
        return []
    chosen = tools if parallel else tools[:1]
    if choice == "none":
        return chosen if faults.ignore_none else []
    if choice == "required":
        return [] if faults.ignore_required else chosen
    return [] if after_tool_result else chosen


def _named(tools: list[ToolSpec], name: str, *, wrong: bool) -> list[ToolSpec]:
    """[the tool called ``name``] (a parameterless stand-in when undeclared).

    With ``wrong``: another declared tool, or no call at all when ``name`` is the only one (calling
    an undeclared function would also break the arguments requirement).
    """
    if wrong:
        return [t for t in tools if t.name != name][:1]
    for tool in tools:
        if tool.name == name:
            return [tool]
    return [ToolSpec(name)]
