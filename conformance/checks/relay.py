"""Checks of the relay lane: what the gateway sent upstream and what it answered the client.

Pure: each check takes the client's exchange and/or the scripted upstream's records as
plain data (bodies, headers, statuses) and returns violations; no I/O. The rewrites a
gateway may make on the way upstream (D41) are ``ALLOWED_REWRITES``.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from conformance.checks._judged import judges
from conformance.checks.errors import parse_retry_after
from conformance.model import Exchange, SSEEvent, Violation, truncate

#: The rewrites D41 allows, as the report lists them.
ALLOWED_REWRITES: tuple[str, ...] = (
    "model: the declared model mapping",
    "stream_options.include_usage added (to meter a stream)",
    "max_tokens sent as max_completion_tokens",
)
#: Statuses after which a gateway may retry (the attempt before a retry must have failed).
RETRYABLE = frozenset({408, 409, 429, 500, 502, 503, 504})


def _shown(value: Any) -> str:
    return truncate(json.dumps(value, ensure_ascii=False, sort_keys=True), 160)


def _rewritten(name: str, sent: Any, received: Mapping[str, Any]) -> bool:
    """Whether parameter ``name`` reached the upstream through an allowed rewrite."""
    if name == "max_tokens" and "max_tokens" not in received:
        return bool(received.get("max_completion_tokens") == sent)
    if name == "stream_options" and isinstance(sent, Mapping):
        got = received.get("stream_options")
        return isinstance(got, Mapping) and dict(got) == {**sent, "include_usage": True}
    return False


@judges(param="requirement")
def check_forwarded(sent: Mapping[str, Any], received: Any, *, requirement: str,
                    droppable: Collection[str] = ()) -> list[Violation]:
    """Every parameter the client sent reached the upstream with the same JSON value.

    Args:
        sent: the client's request body.
        received: the body the upstream received (decoded JSON).
        requirement: the forwarding requirement of the operation.
        droppable: unknown extra parameters: passed on unchanged or dropped, never altered.
    """
    if not isinstance(received, Mapping):
        return [Violation(requirement, "the upstream received a JSON object", _shown(received), "upstream body")]
    found = []
    for name, value in sent.items():
        if name == "model":
            continue                      # the declared model mapping (D41)
        if name in droppable and name not in received:
            continue
        if name in received and received[name] == value:
            continue
        if _rewritten(name, value, received):
            continue
        actual = _shown(received[name]) if name in received else "<absent>"
        found.append(Violation(requirement, f"{name} = {_shown(value)} upstream", actual, f"upstream body /{name}"))
    return found


@judges("relay.exactly-once")
def check_exactly_once(statuses: Sequence[int]) -> list[Violation]:
    """One upstream request per client request, or earlier attempts that all failed.

    Args:
        statuses: the upstream's answer to each request carrying the case's marker, in order.
    """
    if not statuses:
        return [Violation("relay.exactly-once", "the request reached the upstream", "no upstream request",
                          "upstream records")]
    early = [s for s in statuses[:-1] if s not in RETRYABLE]
    if early:
        return [Violation("relay.exactly-once", "one upstream request (retries only after a failure)",
                          f"{len(statuses)} upstream requests, answered {', '.join(map(str, statuses))}",
                          "upstream records")]
    return []


def _choices(answer: Mapping[str, Any]) -> Any:
    choices = answer.get("choices")
    if not isinstance(choices, list):
        return answer.get("output")
    keep = ("index", "finish_reason")
    shown = []
    for choice in choices:
        if not isinstance(choice, Mapping):
            shown.append(choice)
            continue
        message = choice.get("message")
        message = message if isinstance(message, Mapping) else {}
        shown.append({**{k: choice.get(k) for k in keep},
                      "content": message.get("content"), "tool_calls": message.get("tool_calls")})
    return shown


@judges(param="requirement")
def check_answer_relayed(upstream: Any, client: Any, *, requirement: str = "relay.answer.unchanged") -> list[Violation]:
    """The upstream's id, choices (content, tool calls, finish_reason) or output reach the client unchanged."""
    if not isinstance(upstream, Mapping):
        return []                         # nothing scripted to compare with
    if not isinstance(client, Mapping):
        return [Violation(requirement, "the upstream's answer", _shown(client), "/")]
    found = []
    if client.get("id") != upstream.get("id"):
        found.append(Violation(requirement, f"id {_shown(upstream.get('id'))}", _shown(client.get("id")), "/id"))
    if "data" in upstream:
        return found                      # embeddings: vectors may be re-encoded (encoding_format)
    want, got = _choices(upstream), _choices(client)
    if want != got:
        where = "/choices" if "choices" in upstream else "/output"
        found.append(Violation(requirement, _shown(want), _shown(got), where))
    return found


@judges(param="requirement")
def check_body_relayed(upstream: Any, client: Any, *, requirement: str) -> list[Violation]:
    """The upstream's whole JSON answer reaches the client unchanged but for ``model`` (D43);
    ``usage`` is left to :func:`check_usage_exact` (its own requirement)."""
    if not isinstance(upstream, Mapping):
        return [Violation(requirement, "the upstream's answer", "no upstream record", "upstream records")]
    if not isinstance(client, Mapping):
        return [Violation(requirement, "the upstream's answer", _shown(client), "/")]
    found = []
    for key in sorted(set(upstream) | set(client)):
        if key not in ("model", "usage") and upstream.get(key, "<absent>") != client.get(key, "<absent>"):
            found.append(Violation(requirement, _shown(upstream.get(key, "<absent>")),
                                   _shown(client.get(key, "<absent>")), f"/{key}"))
    return found


def _contents(answer: Any) -> list[Any]:
    choices = _choices(answer) if isinstance(answer, Mapping) else None
    if not isinstance(choices, list):
        return []
    return [c.get("content") if isinstance(c, Mapping) and "content" in c else c for c in choices]


@judges("relay.concurrency")
def check_own_answer(upstream: Any, client: Any) -> list[Violation]:
    """The client got the content the upstream answered to its own request, not another's."""
    if not isinstance(upstream, Mapping):
        return [Violation("relay.concurrency", "the upstream's answer to this request", "no upstream record",
                          "upstream records")]
    want, got = _contents(upstream), _contents(client)
    if want != got:
        return [Violation("relay.concurrency", _shown(want), _shown(got), "/choices")]
    return []


def stream_text(events: Sequence[SSEEvent]) -> str:
    """The content of choice 0 a chat stream carried, its deltas joined."""
    parts = []
    for event in events:
        try:
            data = json.loads(event.data)
        except ValueError:
            continue
        choices = data.get("choices") if isinstance(data, Mapping) else None
        for choice in choices if isinstance(choices, list) else []:
            delta = choice.get("delta") if isinstance(choice, Mapping) else None
            if isinstance(delta, Mapping) and choice.get("index") == 0 and isinstance(delta.get("content"), str):
                parts.append(delta["content"])
    return "".join(parts)


@judges("relay.concurrency")
def check_own_stream(upstream: Sequence[SSEEvent], client: Sequence[SSEEvent] | None) -> list[Violation]:
    """A streamed client got the content the upstream streamed for its own request."""
    want = stream_text(upstream)
    got = stream_text(client or ())
    if not want:
        return [Violation("relay.concurrency", "the upstream's stream for this request", "no upstream stream",
                          "upstream records")]
    if want != got:
        return [Violation("relay.concurrency", _shown(want), _shown(got), "stream content")]
    return []


def _missing(expected: Mapping[str, Any], actual: Any, path: str) -> list[tuple[str, Any, Any]]:
    if not isinstance(actual, Mapping):
        return [(path or "/", dict(expected), actual)]
    out: list[tuple[str, Any, Any]] = []
    for key, value in expected.items():
        here = f"{path}/{key}"
        if isinstance(value, Mapping):
            out += _missing(value, actual.get(key), here)
        elif actual.get(key) != value:
            out.append((here, value, actual.get(key, "<absent>")))
    return out


@judges("relay.usage.exact")
def check_usage_exact(upstream: Any, client: Any) -> list[Violation]:
    """When the upstream reported usage, the client's usage equals it field by field (details too)."""
    usage = upstream.get("usage") if isinstance(upstream, Mapping) else None
    if not isinstance(usage, Mapping):
        return []                         # computed usage is allowed (D43)
    got = client.get("usage") if isinstance(client, Mapping) else None
    return [Violation("relay.usage.exact", f"{_shown(want)} (the upstream's)", _shown(actual), f"/usage{where}")
            for where, want, actual in _missing(usage, got, "")]


@judges("relay.key.client-key")
def check_client_key_not_forwarded(headers: Mapping[str, str], body: bytes, client_key: str) -> list[Violation]:
    """The client's API key appears in no upstream header and not in the upstream body."""
    found = [Violation("relay.key.client-key", "the channel key only", f"the client's key in header {name}",
                       f"upstream header {name}")
             for name, value in headers.items() if client_key in value]
    if client_key.encode() in body:
        found.append(Violation("relay.key.client-key", "no client key", "the client's key in the body",
                               "upstream body"))
    return found


@judges("relay.key.channel-key")
def check_channel_key_absent(exchange: Exchange, channel_key: str) -> list[Violation]:
    """The answer to the client (body and headers) does not contain the channel key."""
    where = [f"header {n}" for n, v in exchange.response_headers.items() if channel_key in v]
    if channel_key.encode() in exchange.body:
        where.append("body")
    return [Violation("relay.key.channel-key", "no channel key", "the channel key (not shown)", w) for w in where]


@judges("relay.errors.client-error")
def check_client_error_relayed(exchange: Exchange, upstream_message: str) -> list[Violation]:
    """An upstream 400 reaches the client as 400 with the upstream's message. The message is
    read from ``error.message``, or from ``error`` or the body itself when the envelope is broken:
    the envelope is the ``errors.envelope-*`` requirements' (one deviation, one FAIL)."""
    req = "relay.errors.client-error"
    if exchange.status != 400:
        return [Violation(req, "HTTP 400", f"HTTP {exchange.status}", "status")]
    body = _json(exchange)
    error = body.get("error") if isinstance(body, Mapping) else None
    message = error.get("message") if isinstance(error, Mapping) else error
    if not isinstance(message, str):
        message = exchange.body.decode("utf-8", errors="replace")
    if upstream_message not in message:
        return [Violation(req, f"a message containing {upstream_message!r}", _shown(message), "/error/message")]
    return []


@judges("relay.errors.channel-auth")
def check_channel_auth(exchange: Exchange) -> list[Violation]:
    """A refused channel key is never answered 401 to a client whose key is valid."""
    if exchange.status == 401:
        return [Violation("relay.errors.channel-auth", "not HTTP 401 (the client's key is valid)", "HTTP 401",
                          "status")]
    return []


@judges("relay.errors.rate-limit")
def check_rate_limit_relayed(exchange: Exchange, upstream_retry_after: float) -> list[Violation]:
    """429 with a Retry-After no shorter than the upstream's, or a successful retry (2xx)."""
    req = "relay.errors.rate-limit"
    if exchange.status is not None and 200 <= exchange.status < 300:
        return []
    if exchange.status != 429:
        return [Violation(req, "HTTP 429 (or a successful retry)", f"HTTP {exchange.status}", "status")]
    header = exchange.header("retry-after")
    wait = parse_retry_after(header) if header is not None else None
    if wait is None or wait < upstream_retry_after:
        return [Violation(req, f"Retry-After >= {upstream_retry_after:g}", header or "<absent>",
                          "header Retry-After")]
    return []


@judges("relay.errors.server-error")
def check_server_error_relayed(exchange: Exchange) -> list[Violation]:
    """An upstream 5xx gives a 5xx, or a successful retry; never 200 with an error (its envelope:
    errors.envelope-*)."""
    req = "relay.errors.server-error"
    body = _json(exchange)
    if exchange.status is not None and 200 <= exchange.status < 300:
        if isinstance(body, Mapping) and "error" in body:
            return [Violation(req, "a 5xx (or a successful retry)", f"HTTP {exchange.status} carrying an error",
                              "status")]
        return []
    if exchange.status is None or exchange.status < 500:
        return [Violation(req, "HTTP 5xx", f"HTTP {exchange.status}", "status")]
    return []          # its envelope: errors.envelope-*


@judges("relay.errors.timeout")
def check_timeout_relayed(exchange: Exchange, timeout: float, slack: float) -> list[Violation]:
    """A slow upstream gives 502/504 within ``timeout`` (+ ``slack``); its envelope is errors.envelope-*'s."""
    req = "relay.errors.timeout"
    if exchange.status not in (502, 504):
        return [Violation(req, "HTTP 502 or 504", f"HTTP {exchange.status} (outcome {exchange.outcome})", "status")]
    found = []         # its envelope: errors.envelope-*
    if exchange.elapsed > timeout + slack:
        found.append(Violation(req, f"an answer within {timeout + slack:g} s", f"{exchange.elapsed:.2f} s",
                               "elapsed"))
    return found


def _json(exchange: Exchange) -> Any:
    try:
        return exchange.json()
    except ValueError:
        return None
