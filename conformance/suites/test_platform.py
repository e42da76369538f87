"""Read-only scenarios of the management API (D50-D56): objects, envelope, paging, usage, logs.

Only GET requests go to management paths here; the relay calls are two small chat calls with
the run's relay key, whose logs the scenarios look for.
"""

# The session fixtures are imported from platform_support; test arguments name them (F811).
# ruff: noqa: F811

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from conformance.checks.platform import (
    RelayCall,
    check_auth_refused,
    check_business_failure,
    check_isolation,
    check_logs_cover_calls,
    check_objects,
    check_page,
    check_pages_disjoint,
    check_success,
    check_token_usage,
    data_of,
    items_of,
)
from conformance.config import Settings
from conformance.model import Exchange
from conformance.platform_client import PlatformClient
from conformance.suites.platform_support import (  # noqa: F401 - fixtures
    platform_admin,
    platform_user,
    poll_logs,
    run_calls,
)

if TYPE_CHECKING:
    from conformance.recorder import VerdictRecorder

#: An id no gateway has handed out yet.
_NO_SUCH_ID = 2_000_000_000
Calls = list[tuple[Exchange, RelayCall | None]]


def _served(calls: Calls) -> list[RelayCall]:
    return [call for _, call in calls if call is not None]


@pytest.mark.feature("platform")
@pytest.mark.requirements("platform.schema", "platform.envelope")
def test_platform_own_objects(platform_user: PlatformClient, run_calls: Calls, verdict: VerdictRecorder) -> None:
    """The user's own record, tokens and logs come in the envelope and match their schemas."""
    for path, schema, listed in (("/api/user/self", "User", False), ("/api/token/?p=1&page_size=10", "Token", True),
                                 ("/api/log/self?p=1&page_size=10", "Log", True)):
        ex = platform_user.call("GET", path)
        if not verdict.check(check_success(ex), exchange=ex):
            continue
        data = data_of(ex)
        objects = items_of(data) if listed else [data]
        verdict.check(check_objects(objects, schema, where=path), exchange=ex)


@pytest.mark.feature("platform.admin")
@pytest.mark.requirements("platform.schema", "platform.envelope")
def test_platform_admin_objects(platform_admin: PlatformClient | None, verdict: VerdictRecorder) -> None:
    """An admin lists channels and redemption codes, in the envelope and matching their schemas."""
    assert platform_admin is not None  # the feature needs admin_access_token
    for path, schema in (("/api/channel/?p=1&page_size=10", "Channel"), ("/api/redemption/?p=1&page_size=10",
                                                                          "Redemption")):
        ex = platform_admin.call("GET", path)
        if verdict.check(check_success(ex), exchange=ex):
            verdict.check(check_objects(items_of(data_of(ex)), schema, where=path), exchange=ex)


@pytest.mark.feature("platform")
@pytest.mark.requirements("platform.envelope")
def test_platform_business_failure(platform_user: PlatformClient, verdict: VerdictRecorder) -> None:
    """An unknown token id is a business failure: HTTP 200 with success false and a message."""
    ex = platform_user.call("GET", f"/api/token/{_NO_SUCH_ID}")
    verdict.check(check_business_failure(ex), exchange=ex)


@pytest.mark.feature("platform")
@pytest.mark.requirements("platform.paging")
def test_platform_paging(platform_user: PlatformClient, run_calls: Calls, verdict: VerdictRecorder) -> None:
    """Pages 1 and 2 of size 1 of the user's logs are PageInfos with one different item each."""
    first = platform_user.call("GET", "/api/log/self?p=1&page_size=1")
    second = platform_user.call("GET", "/api/log/self?p=2&page_size=1")
    ok = verdict.check(check_page(data_of(first), page=1, page_size=1, where="/api/log/self p=1"), exchange=first)
    ok = verdict.check(check_page(data_of(second), page=2, page_size=1, where="/api/log/self p=2"),
                       exchange=second) and ok
    total = data_of(first).get("total") if ok else None
    # Two different items need two logs: with the run's calls unlogged (platform.logs.calls'
    # deviation, D26) there is nothing to page through, and disjointness is not judged.
    if ok and len(_served(run_calls[:2])) == 2 and isinstance(total, int) and total >= 2:
        verdict.check(check_pages_disjoint(items_of(data_of(first)), items_of(data_of(second)), total,
                                           where="/api/log/self"), exchange=second)


@pytest.mark.feature("platform")
@pytest.mark.requirements("platform.token-usage")
def test_platform_token_usage(platform_user: PlatformClient, settings: Settings, run_calls: Calls,
                              verdict: VerdictRecorder) -> None:
    """The relay key reads its own usage, which counts at least this run's calls."""
    assert settings.api_key is not None
    ex = platform_user.call("GET", "/api/usage/token", key=settings.api_key)
    served = _served(run_calls)
    verdict.check(check_token_usage(ex, at_least=1 if served else 0), exchange=ex)


@pytest.mark.feature("platform")
@pytest.mark.requirements("platform.logs.calls")
def test_platform_logs_of_calls(platform_user: PlatformClient, settings: Settings, run_calls: Calls,
                                verdict: VerdictRecorder) -> None:
    """The relay key's logs hold this run's calls with the usage their answers reported."""
    assert settings.api_key is not None
    served = _served(run_calls)
    if not served:
        return  # the run's chat calls were not served with usage: the chat suites report why
    wanted = {call.request_id for call in served if call.request_id}
    without_id = sum(1 for call in served if not call.request_id)
    logs = poll_logs(platform_user, settings.api_key, wanted, consume_logs=without_id)
    verdict.check(check_logs_cover_calls(logs, served))


@pytest.mark.feature("platform.isolation")
@pytest.mark.requirements("platform.isolation")
def test_platform_isolation(platform_user: PlatformClient, settings: Settings, run_calls: Calls,
                            verdict: VerdictRecorder) -> None:
    """A second user lists none of the first user's tokens or logs and cannot read their token."""
    assert settings.platform.other_access_token is not None
    other = PlatformClient(settings, settings.platform.other_access_token, ledger=platform_user.transport.ledger)
    try:
        own = items_of(platform_user.data("GET", "/api/token/?p=1&page_size=100"))
        own_ids = {t["id"] for t in own if isinstance(t, dict) and isinstance(t.get("id"), int)}
        assert own_ids, "the first user has no token to hide"
        theirs = items_of(other.data("GET", "/api/token/?p=1&page_size=100"))
        their_logs = items_of(other.data("GET", "/api/log/self?p=1&page_size=100"))
        foreign = other.call("GET", f"/api/token/{min(own_ids)}")
        run_ids = {call.request_id for call in _served(run_calls) if call.request_id}
        verdict.check(check_isolation(theirs, their_logs, own_ids, run_ids, foreign), exchange=foreign)
    finally:
        other.close()


@pytest.mark.feature("platform")
@pytest.mark.requirements("platform.relay-key-refused")
def test_platform_relay_key_refused(platform_user: PlatformClient, settings: Settings,
                                    verdict: VerdictRecorder) -> None:
    """The relay key is not a management credential: 401 or 403 with success false."""
    assert settings.api_key is not None
    ex = platform_user.call("GET", "/api/user/self", key=settings.api_key)
    verdict.check(check_auth_refused(ex, requirement="platform.relay-key-refused"), exchange=ex)
