"""How a violation and an exchange read in a failure message, a report and an attachment.

Every FAIL and WARN renders the same way: requirement id and level, expected before actual,
where, the redacted exchange summary and a curl line to reproduce.
"""

from __future__ import annotations

from conformance.model import Exchange, Requirement, Violation, truncate

_BODY_LIMIT = 2000


def exchange_summary(exchange: Exchange) -> str:
    """One line: method, URL, status, content type and how the response ended."""
    status = exchange.status if exchange.status is not None else "no response"
    extra = ""
    if exchange.sse is not None:
        extra = f", {len(exchange.sse.events)} SSE events"
    ctype = exchange.content_type or "no content type"
    return (
        f"{exchange.method} {exchange.url} -> {status} {ctype}{extra}, "
        f"outcome {exchange.outcome}, {exchange.elapsed:.2f}s"
    )


def _body_text(data: bytes | None, limit: int) -> str:
    if not data:
        return "<EMPTY>"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return f"<BINARY {len(data)} bytes: {data[:32].hex()}...>"
    return text if len(text) <= limit else text[:limit] + f"...<{len(text) - limit} more chars>"


def render_exchange(exchange: Exchange, *, limit: int = _BODY_LIMIT) -> str:
    """The redacted request and response as text, for attachments and reports."""
    lines = [f"> {exchange.method} {exchange.url}"]
    lines += [f"> {name}: {value}" for name, value in exchange.request_headers.items()]
    if exchange.request_body:
        lines += [">", _body_text(exchange.request_body, limit)]
    lines.append("")
    lines.append(f"< status {exchange.status}  ({exchange.outcome}, {exchange.elapsed:.3f}s)")
    lines += [f"< {name}: {value}" for name, value in exchange.response_headers.items()]
    lines.append("<")
    raw = exchange.sse.raw if exchange.sse is not None and exchange.sse.raw else exchange.body
    lines.append(_body_text(raw, limit * 4 if exchange.sse is not None else limit))
    if exchange.sse is not None and exchange.sse.diagnostics:
        lines.append("")
        lines += [
            f"! {d.kind}" + (f" at event[{d.event_index}]" if d.event_index is not None else "") + f": {d.detail}"
            for d in exchange.sse.diagnostics
        ]
    return "\n".join(lines)


def violation_text(requirement: Requirement, violation: Violation, exchange: Exchange | None) -> str:
    """The failure block of one violation, ready to paste into a ticket."""
    tag = "FAIL" if requirement.level.value == "MUST" else "WARN"
    lines = [
        f"{tag} {requirement.id} [{requirement.level.value}] {requirement.text}",
        f"  where:    {violation.where or '-'}",
        f"  expected: {violation.expected}",
        f"  actual:   {truncate(violation.actual, 300)}",
        f"  spec:     {', '.join(requirement.ref)}",
    ]
    if exchange is not None:
        lines.append(f"  exchange: {exchange_summary(exchange)}")
        lines.append("  reproduce:")
        lines.append(f"    {exchange.curl()}")
    return "\n".join(lines)
