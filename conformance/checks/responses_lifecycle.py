"""The Responses stream item lifecycle walker and its two checks (SPEC-DECISIONS §15).

This module owns ``responses.stream.item-lifecycle`` (items go added, (part added, text deltas,
text done, part done)*, done, all before ``response.completed``) and
``responses.stream.consistent-indexes`` (``item_id`` and ``content_index`` agree with their item
and part): one walk over the events, keeping the first violation per (output_index, requirement).
The event vocabulary comes from ``responses_stream``. Data in, violations out; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.checks._common import is_int
from conformance.checks._judged import judges
from conformance.checks.responses_stream import ITEM_EVENTS, Event, stream_events
from conformance.checks.sse_framing import at, quote
from conformance.model import SSEEvent, SSETranscript, Violation, truncate


@dataclass
class _Item:
    """What the lifecycle walker knows of one output item (keyed by output_index)."""

    item_id: object
    done: bool = False
    open_part: int | None = None
    part_type: object = None
    text_done: bool = False
    arguments_done: bool = False


@dataclass
class _Walker:
    """Walks the events once, keeping the first violation per (output_index, requirement)."""

    items: dict[int, _Item] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    _reported: set[tuple[int, str]] = field(default_factory=set)

    def report(self, index: int, requirement: str, expected: str, event: SSEEvent, pointer: str = "") -> None:
        if (index, requirement) not in self._reported:
            self._reported.add((index, requirement))
            self.violations.append(Violation(requirement, expected, quote(event), at(event, pointer)))

    def lifecycle(self, index: int, expected: str, event: SSEEvent) -> None:
        self.report(index, "responses.stream.item-lifecycle", expected, event)

    def walk(self, events: list[Event]) -> list[Violation]:
        for event, data in events:
            kind = data.get("type")
            if kind == "response.completed":
                for index, item in sorted(self.items.items()):
                    if not item.done:
                        self.lifecycle(index, f"output_item.done for output_index {index} before response.completed",
                                       event)
            elif kind == "response.output_item.added":
                self._added(event, data)
            elif kind in ITEM_EVENTS and is_int(data.get("output_index")):
                self._item_event(event, data, str(kind))
        return self.violations

    def _added(self, event: SSEEvent, data: Mapping[str, Any]) -> None:
        index = data.get("output_index")
        if not is_int(index):
            return  # the event schema reports it
        if index in self.items:
            self.lifecycle(index, f"one output_item.added for output_index {index}", event)
            return
        item = data.get("item")
        self.items[index] = _Item(item.get("id") if isinstance(item, dict) else None)

    def _item_event(self, event: SSEEvent, data: Mapping[str, Any], kind: str) -> None:
        index: int = data["output_index"]
        item = self.items.get(index)
        if item is None:
            self.lifecycle(index, f"output_item.added for output_index {index} before {kind}", event)
            return
        if item.done:
            self.lifecycle(index, f"nothing for output_index {index} after its output_item.done", event)
            return
        raw = data.get("item") if kind == "response.output_item.done" else None
        item_id = raw.get("id") if isinstance(raw, dict) else data.get("item_id")
        if item_id is not None and item.item_id is not None and item_id != item.item_id:
            pointer = "/item/id" if kind == "response.output_item.done" else "/item_id"
            self.report(index, "responses.stream.consistent-indexes",
                        f"item_id {truncate(item.item_id)} of output_index {index}", event, pointer)
        if item.item_id is None:
            item.item_id = item_id
        self._step(index, item, event, data, kind)

    def _step(self, index: int, item: _Item, event: SSEEvent, data: Mapping[str, Any], kind: str) -> None:
        if kind == "response.content_part.added":
            if item.open_part is not None:
                self.lifecycle(index, "content_part.done before the next content_part.added", event)
            part = data.get("part")
            content_index = data.get("content_index")
            item.open_part = content_index if is_int(content_index) else -1
            item.part_type = part.get("type") if isinstance(part, dict) else None
            item.text_done = False
        elif kind in ("response.output_text.delta", "response.output_text.done", "response.content_part.done"):
            self._in_part(index, item, event, data, kind)
        elif kind == "response.function_call_arguments.delta" and item.arguments_done:
            self.lifecycle(index, "no arguments delta after function_call_arguments.done", event)
        elif kind == "response.function_call_arguments.done":
            item.arguments_done = True
        elif kind == "response.output_item.done":
            if item.open_part is not None:
                self.lifecycle(index, "content_part.done before output_item.done", event)
            item.done = True

    def _in_part(self, index: int, item: _Item, event: SSEEvent, data: Mapping[str, Any], kind: str) -> None:
        if item.open_part is None:
            self.lifecycle(index, f"content_part.added before {kind}", event)
            return
        content_index = data.get("content_index")
        if is_int(content_index) and item.open_part >= 0 and content_index != item.open_part:
            self.report(index, "responses.stream.consistent-indexes",
                        f"content_index {item.open_part} of the open part", event, "/content_index")
        if kind == "response.output_text.delta" and item.text_done:
            self.lifecycle(index, "no text delta after output_text.done", event)
        elif kind == "response.output_text.done":
            if item.text_done:
                self.lifecycle(index, "one output_text.done per content part", event)
            item.text_done = True
        elif kind == "response.content_part.done":
            if item.part_type == "output_text" and not item.text_done:
                self.lifecycle(index, "output_text.done before content_part.done", event)
            item.open_part = None


@judges("responses.stream.item-lifecycle")
def check_item_lifecycle(sse: SSETranscript) -> list[Violation]:
    """Items go added, (part added, text deltas, text done, part done)*, done (``responses.stream.item-lifecycle``).

    Every item must be done before ``response.completed``; an incomplete or failed response may
    leave items open. One violation per output_index.
    """
    return [v for v in _Walker().walk(stream_events(sse)) if v.requirement == "responses.stream.item-lifecycle"]


@judges("responses.stream.consistent-indexes")
def check_consistent_indexes(sse: SSETranscript) -> list[Violation]:
    """item_id and content_index agree with their item and part (``responses.stream.consistent-indexes``)."""
    return [v for v in _Walker().walk(stream_events(sse)) if v.requirement == "responses.stream.consistent-indexes"]
