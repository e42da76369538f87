"""Checks of the management API: envelope, paging, objects, usage accounting, isolation.

Owns the ``platform.*`` requirements (openapi/DECISIONS.md D50-D58). Pure: exchanges and
decoded bodies in, violations out; imports only conformance.model, conformance.spec and the
judges decorator. The suite (conformance/suites/test_platform*.py) does the requests.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conformance import spec
from conformance.checks._common import is_int
from conformance.checks._judged import judges
from conformance.model import Exchange, Findings, Violation, truncate

ENVELOPE = "platform.envelope"
SCHEMA = "platform.schema"
PAGING = "platform.paging"
_PAGE_FIELDS = ("page", "page_size", "total", "items")


@dataclass(frozen=True)
class RelayCall:
    """One relay call of the run: what the answer reported, to find in the logs."""

    request_id: str | None
    model: str
    prompt_tokens: int
    completion_tokens: int
    #: When the call was sent and answered (Unix seconds): the join window without a request id (D101).
    sent_at: float | None = None
    answered_at: float | None = None


def _body(exchange: Exchange) -> Any:
    try:
        return exchange.json()
    except ValueError:
        return None


@judges(ENVELOPE)
def check_success(exchange: Exchange) -> list[Violation]:
    """A management success: HTTP 200, a JSON object with ``success: true``, a string message."""
    body = _body(exchange)
    where = f"{exchange.method} {exchange.url}"
    if exchange.status != 200:
        return [Violation(ENVELOPE, "HTTP 200", str(exchange.status), where)]
    if not isinstance(body, dict):
        return [Violation(ENVELOPE, "a JSON object envelope", truncate(exchange.body.decode(errors="replace")), where)]
    found = []
    if body.get("success") is not True:
        found.append(Violation(ENVELOPE, "success: true", truncate(body.get("success")), where + " /success"))
    if not isinstance(body.get("message", ""), str):
        found.append(Violation(ENVELOPE, "message a string", truncate(body.get("message")), where + " /message"))
    return found


@judges(ENVELOPE)
def check_business_failure(exchange: Exchange) -> list[Violation]:
    """A business failure (e.g. an unknown id): HTTP 200, ``success: false``, a non-empty message."""
    body = _body(exchange)
    where = f"{exchange.method} {exchange.url}"
    found = []
    if exchange.status != 200:
        found.append(Violation(ENVELOPE, "HTTP 200 for a business failure", str(exchange.status), where))
    if not isinstance(body, dict) or body.get("success") is not False:
        shown = body.get("success") if isinstance(body, dict) else body
        found.append(Violation(ENVELOPE, "success: false", truncate(shown), where + " /success"))
    elif not isinstance(body.get("message"), str) or not body["message"]:
        found.append(Violation(ENVELOPE, "a non-empty message", truncate(body.get("message")), where + " /message"))
    return found


@judges(param="requirement")
def check_auth_refused(exchange: Exchange, *, requirement: str) -> list[Violation]:
    """An auth failure of the management API: 401 or 403 with ``success: false``."""
    body = _body(exchange)
    where = f"{exchange.method} {exchange.url}"
    if exchange.status not in (401, 403):
        return [Violation(requirement, "401 or 403", str(exchange.status), where)]
    if not isinstance(body, dict) or body.get("success") is not False:
        return [Violation(requirement, "success: false", truncate(body), where)]
    return []


def data_of(exchange: Exchange) -> Any:
    """The ``data`` member of an envelope (None when absent or not JSON)."""
    body = _body(exchange)
    return body.get("data") if isinstance(body, dict) else None


def items_of(data: Any) -> list[Any]:
    """The items of a PageInfo or of a plain list (anything else: none)."""
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        return list(data["items"])
    return list(data) if isinstance(data, list) else []


@judges(SCHEMA)
def check_objects(objects: Iterable[Any], schema: str, *, where: str) -> list[Violation]:
    """Every object validates against its platform schema (Token, Log, User, Channel, Redemption)."""
    found: list[Violation] = []
    for index, item in enumerate(objects):
        found += spec.validate(item, schema, requirement=SCHEMA, where=f"{where}[{index}]")
    return found


@judges(PAGING)
def check_page(data: Any, *, page: int, page_size: int, where: str) -> list[Violation]:
    """A PageInfo for page ``page`` of size ``page_size``: fields present, at most page_size items."""
    if not isinstance(data, dict):
        return [Violation(PAGING, "data a PageInfo object", truncate(data), where)]
    missing = [name for name in _PAGE_FIELDS if name not in data]
    if missing:
        return [Violation(PAGING, f"PageInfo with {', '.join(_PAGE_FIELDS)}", f"missing {missing}", where)]
    found = []
    if data["page"] != page:
        found.append(Violation(PAGING, f"page {page}", truncate(data["page"]), where + "/page"))
    if data["page_size"] != page_size:
        found.append(Violation(PAGING, f"page_size {page_size}", truncate(data["page_size"]), where + "/page_size"))
    items = data["items"]
    if not isinstance(items, list) or len(items) > page_size:
        found.append(Violation(PAGING, f"at most {page_size} items", truncate(items), where + "/items"))
    if not isinstance(data["total"], int) or isinstance(data["total"], bool) or data["total"] < 0:
        found.append(Violation(PAGING, "total a count", truncate(data["total"]), where + "/total"))
    return found


@judges(PAGING)
def check_pages_disjoint(first: Sequence[Any], second: Sequence[Any], total: int, *, where: str) -> list[Violation]:
    """Two consecutive pages of size 1 hold different items when total says there are two."""
    if total < 2:
        return [Violation(PAGING, "total >= 2 after this run's calls", str(total), where)]
    ids_1 = [i.get("id") for i in first if isinstance(i, dict)]
    ids_2 = [i.get("id") for i in second if isinstance(i, dict)]
    if len(ids_1) != 1 or len(ids_2) != 1 or ids_1 == ids_2:
        return [Violation(PAGING, "pages 1 and 2 of size 1 hold one different item each",
                          f"{ids_1} and {ids_2}", where)]
    return []


@judges("platform.token-usage")
def check_token_usage(exchange: Exchange, *, at_least: int) -> list[Violation]:
    """The relay key reads its usage: 200, ``data.total_used`` an integer >= ``at_least``."""
    rid = "platform.token-usage"
    where = f"{exchange.method} {exchange.url}"
    body = _body(exchange)
    if exchange.status != 200 or not isinstance(body, dict):
        return [Violation(rid, "200 with a JSON object", f"{exchange.status} {truncate(body)}", where)]
    data = body.get("data")
    used = data.get("total_used") if isinstance(data, dict) else None
    if not is_int(used):
        return [Violation(rid, "data.total_used an integer", truncate(data), where + " /data/total_used")]
    if used < at_least:
        return [Violation(rid, f"total_used >= {at_least} (this run's calls)", str(used), where)]
    return []


#: Log times are whole seconds: the join window opens this much before the call was sent (D101).
LOG_CLOCK_SLACK_SECONDS = 2.0
#: ... and closes this long after it was answered (the declared log delay, D54).
LOG_DELAY_SECONDS = 5.0


def _matches(log: Mapping[str, Any], call: RelayCall) -> bool:
    """The join of a log to a call (D101): the request id where the gateway exposes one, else
    a consume log of the call's model created within the call's time window (the logs read
    with one relay key are that token's logs, which joins on the token)."""
    if call.request_id:
        return bool(log.get("request_id") == call.request_id)
    if log.get("model_name") != call.model or log.get("type") != 2:
        return False
    if call.sent_at is None:
        return True
    created = log.get("created_at")
    if not isinstance(created, (int, float)) or isinstance(created, bool):
        return False
    until = (call.answered_at if call.answered_at is not None else call.sent_at) + LOG_DELAY_SECONDS
    return call.sent_at - LOG_CLOCK_SLACK_SECONDS <= created <= until


@judges("platform.logs.calls")
def check_logs_cover_calls(logs: Sequence[Any], calls: Sequence[RelayCall]) -> list[Violation]:
    """Each call has a consume log with its model and the prompt/completion tokens it answered."""
    rid = "platform.logs.calls"
    found = []
    records = [log for log in logs if isinstance(log, dict)]
    used: set[int] = set()   # without request ids one log may stand for one call only
    for call in calls:
        matching = [log for log in records if id(log) not in used and _matches(log, call)]
        what = f"the log of call {call.request_id or call.model}"
        if not matching:
            found.append(Violation(rid, what, "no such log", "/data"))
            continue
        wanted = {"model_name": call.model, "prompt_tokens": call.prompt_tokens,
                  "completion_tokens": call.completion_tokens}
        exact = [log for log in matching if all(log.get(k) == v for k, v in wanted.items())]
        if not exact:
            shown = {k: matching[0].get(k) for k in wanted}
            found.append(Violation(rid, f"{what} with {wanted}", truncate(shown), "/data"))
            continue
        used.add(id(exact[0]))
    return found


@judges("platform.quota.adds-up")
def check_quota_adds_up(logs: Sequence[Any], request_ids: Collection[str], before: int, after: int) -> list[Violation]:
    """The quota the logs of the run's calls record equals the change of the token's used quota.

    A call without its log is ``platform.logs.calls``'s deviation alone (D26): with a log
    missing the sum is not comparable, and this check judges nothing.
    """
    logged = {log.get("request_id") for log in logs if isinstance(log, dict)}
    if not set(request_ids) <= logged:
        return Findings()
    charged = sum(int(log.get("quota", 0)) for log in logs
                  if isinstance(log, dict) and log.get("request_id") in request_ids
                  and isinstance(log.get("quota"), int))
    if after - before != charged:
        return [Violation("platform.quota.adds-up", f"used_quota change {charged} (the logs' quota)",
                          f"{after - before} ({before} -> {after})", "/data/used_quota")]
    return []


@judges("platform.logs.failed-call")
def check_failed_call_free(before: int, after: int) -> list[Violation]:
    """A failed relay call leaves the token's used quota unchanged."""
    if before != after:
        return [Violation("platform.logs.failed-call", f"used_quota {before} after a failed call",
                          str(after), "/data/used_quota")]
    return []


@judges("platform.isolation")
def check_isolation(other_tokens: Sequence[Any], other_logs: Sequence[Any], own_token_ids: Collection[int],
                    run_request_ids: Collection[str], foreign_get: Exchange) -> list[Violation]:
    """The second user sees none of the first user's tokens or logs, and cannot GET them."""
    rid = "platform.isolation"
    found = []
    seen = sorted(str(t.get("id")) for t in other_tokens if isinstance(t, dict) and t.get("id") in own_token_ids)
    if seen:
        found.append(Violation(rid, "none of the first user's tokens listed", f"token ids {seen}", "/data/items"))
    leaked = sorted(str(x.get("request_id")) for x in other_logs
                    if isinstance(x, dict) and x.get("request_id") in run_request_ids)
    if leaked:
        found.append(Violation(rid, "none of the first user's logs listed", f"{len(leaked)} logs", "/data/items"))
    body = _body(foreign_get)
    if foreign_get.status == 200 and isinstance(body, dict) and body.get("success") is True:
        found.append(Violation(rid, "GET of another user's token refused", truncate(body.get("data")),
                               f"{foreign_get.method} {foreign_get.url}"))
    return found


@judges(param="requirement")
def check_relay_refused(exchange: Exchange, statuses: Collection[int], *, requirement: str) -> list[Violation]:
    """A relay call with a token in a refused state gets one of ``statuses``."""
    if exchange.status not in statuses:
        return [Violation(requirement, f"HTTP {' or '.join(map(str, sorted(statuses)))}", str(exchange.status),
                          f"{exchange.method} {exchange.url}")]
    return []


@judges("platform.redemption.once")
def check_redemption(first: Exchange, second: Exchange, amount: int, before: int, after: int) -> list[Violation]:
    """The first redemption adds exactly ``amount``; the second fails with ``success: false``."""
    rid = "platform.redemption.once"
    found = []
    body = _body(first)
    if not isinstance(body, dict) or body.get("success") is not True:
        found.append(Violation(rid, "the first redemption succeeds", truncate(body), "/success"))
    if after - before != amount:
        found.append(Violation(rid, f"quota +{amount}", f"{after - before:+d}", "/data/quota"))
    again = _body(second)
    if isinstance(again, dict) and again.get("success") is True:
        found.append(Violation(rid, "the second redemption fails", truncate(again), "/success"))
    return found


@judges("platform.channel.lifecycle")
def check_channel_lifecycle(listed: bool, tested: Exchange, deleted: Exchange, listed_after: bool,
                            relayed: tuple[Exchange, int] | None = None) -> list[Violation]:
    """The created channel is listed, its test succeeds, its deletion succeeds and it is gone;
    with ``relayed`` (a call with the run's model and how many times it reached the scripted
    upstream) the channel also routed it: at least one upstream request (D103). How the call
    was relayed (its key, how many times, its answer) is the relay lane's to judge."""
    rid = "platform.channel.lifecycle"
    found = []
    if not listed:
        found.append(Violation(rid, "the created channel listed", "not listed", "/api/channel/"))
    if relayed is not None:
        call, hits = relayed
        if hits < 1:
            found.append(Violation(rid, "the run's model routed through the channel to its upstream",
                                   f"{call.status}, no upstream request", f"{call.method} {call.url}"))
    for step, exchange in (("test", tested), ("delete", deleted)):
        body = _body(exchange)
        if exchange.status != 200 or not isinstance(body, dict) or body.get("success") is not True:
            found.append(Violation(rid, f"the channel {step} succeeds", f"{exchange.status} {truncate(body)}",
                                   f"{exchange.method} {exchange.url}"))
    if listed_after:
        found.append(Violation(rid, "the deleted channel no longer listed", "still listed", "/api/channel/"))
    return found
