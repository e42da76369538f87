"""How a violation and an exchange read in a failure message, a report and an attachment.

Every FAIL and WARN renders the same way: requirement id and level, expected before actual,
where, the redacted exchange summary and a curl line to reproduce.

Binary-safe (D31): this is where exchanges become text, so a binary body (an upload, audio, an
image) is shown as ``<binary N bytes, content-type, sha256 prefix>`` and any control character
as an escape; nothing raw reaches a terminal, junit.xml, an Allure attachment or a report.
A decision reference ``D8`` reads ``D8 (DECISIONS.md#d8)``: DECISIONS.md ships with the package
and is copied into every report directory.
"""

from __future__ import annotations

import re

from conformance.model import (
    Exchange,
    Requirement,
    Violation,
    binary_placeholder,
    form_parts,
    is_binary,
    printable,
    text_head,
    truncate,
)

_BODY_LIMIT = 2000


def exchange_summary(exchange: Exchange) -> str:
    """One line: method, URL, status, content type and how the response ended."""
    status = exchange.status if exchange.status is not None else "no response"
    extra = ""
    if exchange.sse is not None:
        extra = f", {len(exchange.sse.events)} SSE events"
    ctype = exchange.content_type or "no content type"
    return (
        f"{exchange.method} {printable(exchange.url)} -> {status} {ctype}{extra}, "
        f"outcome {exchange.outcome}, {exchange.elapsed:.2f}s"
    )


_DECISION = re.compile(r"D\d+")


def spec_ref(ref: str) -> str:
    """A catalogue reference as a reader can follow it: ``D8`` -> ``D8 (DECISIONS.md#d8)``."""
    return f"{ref} (DECISIONS.md#{ref.lower()})" if _DECISION.fullmatch(ref) else ref


def _body_text(data: bytes | None, limit: int, content_type: str = "") -> str:
    if not data:
        return "<EMPTY>"
    if is_binary(data, content_type):
        return binary_placeholder(data, content_type)
    return text_head(data, limit)


def _request_body(exchange: Exchange, limit: int) -> str:
    """The request body; a multipart form one line per part, each file as its placeholder."""
    body = exchange.request_body or b""
    parts = form_parts(body, exchange.request_content_type)
    if parts is None:
        return _body_text(body, limit, exchange.request_content_type)
    lines = [f"<multipart/form-data, {len(parts)} parts>"]
    for part in parts:
        shown = _body_text(part.data, 200, part.content_type if part.filename is not None else "")
        if part.filename is not None and not shown.startswith("<binary"):
            shown = binary_placeholder(part.data, part.content_type)   # a file is a file, even text
        label = f"{part.name}" + (f" (file {printable(part.filename)})" if part.filename is not None else "")
        lines.append(f"  {label}: {shown}")
    return "\n".join(lines)


def render_exchange(exchange: Exchange, *, limit: int = _BODY_LIMIT) -> str:
    """The redacted request and response as text, for attachments and reports."""
    lines = [f"> {exchange.method} {printable(exchange.url)}"]
    lines += [f"> {printable(name)}: {printable(value)}" for name, value in exchange.request_headers.items()]
    if exchange.request_body:
        lines += [">", _request_body(exchange, limit)]
    lines.append("")
    lines.append(f"< status {exchange.status}  ({exchange.outcome}, {exchange.elapsed:.3f}s)")
    lines += [f"< {printable(name)}: {printable(value)}" for name, value in exchange.response_headers.items()]
    lines.append("<")
    sse = exchange.sse is not None
    raw = exchange.sse.raw if exchange.sse is not None and exchange.sse.raw else exchange.body
    lines.append(_body_text(raw, limit * 4 if sse else limit, "" if sse else exchange.content_type))
    if exchange.sse is not None and exchange.sse.diagnostics:
        lines.append("")
        lines += [
            f"! {d.kind}" + (f" at event[{d.event_index}]" if d.event_index is not None else "")
            + f": {printable(d.detail)}"
            for d in exchange.sse.diagnostics
        ]
    return "\n".join(lines)


def violation_text(requirement: Requirement, violation: Violation, exchange: Exchange | None) -> str:
    """The failure block of one violation, ready to paste into a ticket."""
    tag = "FAIL" if requirement.level.value == "MUST" else "WARN"
    lines = [
        f"{tag} {requirement.id} [{requirement.level.value}] {requirement.text}",
        f"  where:    {printable(violation.where or '-')}",
        f"  expected: {printable(violation.expected)}",
        f"  actual:   {printable(truncate(violation.actual, 300))}",
        f"  spec:     {', '.join(spec_ref(r) for r in requirement.ref)}",
    ]
    if exchange is not None:
        lines.append(f"  exchange: {exchange_summary(exchange)}")
        lines.append("  reproduce:")
        lines.append(f"    {exchange.curl()}")
    return "\n".join(lines)
