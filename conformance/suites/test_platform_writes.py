"""Write scenarios of the management API (D51, D55, D57, D58): tokens of the run, redemption.

Every test here needs ``--allow-writes`` (feature ``platform.writes``); each object is named
after the run and deleted by the test, and whatever is left by the ``run_objects`` fixture.
"""

# The session fixtures are imported from platform_support; test arguments name them (F811).
# ruff: noqa: F811

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from conformance.checks.platform import (
    check_channel_lifecycle,
    check_failed_call_free,
    check_quota_adds_up,
    check_redemption,
    check_relay_refused,
    data_of,
    items_of,
)
from conformance.config import Settings
from conformance.platform_client import PlatformClient, RunObjects
from conformance.suites.platform_channel import channel_body, relay_through, run_upstream  # noqa: F401 - fixture
from conformance.suites.platform_support import (  # noqa: F401 - fixtures
    platform_admin,
    platform_user,
    relay_call,
    run_objects,
)

if TYPE_CHECKING:
    from conformance.recorder import VerdictRecorder
    from conformance.transport import Transport
    from conformance.upstream.server import Upstream

MakeToken = Callable[..., tuple[int, str]]
_WRITES = ("platform", "platform.writes")


@pytest.fixture
def make_token(platform_user: PlatformClient, run_objects: RunObjects, transport: Transport) -> Any:
    """Create tokens of the run: ``make_token(suffix, **fields) -> (id, "sk-" + key)``; deleted after."""
    made: list[int] = []

    def make(suffix: str, **fields: Any) -> tuple[int, str]:
        name = run_objects.name(suffix)
        body = {"name": name, "remain_quota": 0, "unlimited_quota": True, "expired_time": -1, **fields}
        created = platform_user.call("POST", "/api/token/", json=body)
        found = platform_user.find("/api/token/", name)
        assert found is not None and isinstance(found.get("id"), int), (
            f"the token {name!r} was not created: HTTP {created.status}")
        token_id = int(found["id"])
        made.append(token_id)
        run_objects.created["token"].add(token_id)
        key = data_of(platform_user.call("POST", f"/api/token/{token_id}/key"))
        assert isinstance(key, dict) and isinstance(key.get("key"), str), "the token's key cannot be read"
        full = key["key"] if key["key"].startswith("sk-") else "sk-" + key["key"]
        transport.redactor.add(full)
        platform_user.redactor.add(full)
        return token_id, full

    yield make
    for token_id in made:
        platform_user.call("DELETE", f"/api/token/{token_id}")


def _used(client: PlatformClient, token_id: int) -> int:
    data = client.data("GET", f"/api/token/{token_id}")
    used = data.get("used_quota") if isinstance(data, dict) else None
    assert isinstance(used, int), f"token {token_id} has no used_quota"
    return used


@pytest.mark.feature(*_WRITES)
@pytest.mark.requirements("platform.quota.adds-up")
def test_platform_quota_adds_up(platform_user: PlatformClient, make_token: MakeToken, transport: Transport,
                                settings: Settings, verdict: VerdictRecorder) -> None:
    """The quota the logs of a token's calls record is the change of its used quota."""
    token_id, key = make_token("quota")
    before = _used(platform_user, token_id)
    calls = [relay_call(transport, settings.models.get("chat", ""), key=key)[1] for _ in range(2)]
    ids = {c.request_id for c in calls if c is not None and c.request_id}
    if len(ids) != 2:
        return  # not served with usage and a request id: the chat suites report why
    logs = items_of(data_of(platform_user.call("GET", "/api/log/token", key=key)))
    verdict.check(check_quota_adds_up(logs, ids, before, _used(platform_user, token_id)))


@pytest.mark.feature(*_WRITES)
@pytest.mark.requirements("platform.logs.failed-call")
def test_platform_failed_call_free(platform_user: PlatformClient, make_token: MakeToken, transport: Transport,
                                   verdict: VerdictRecorder, run_objects: RunObjects) -> None:
    """A relay call that fails (an unknown model) leaves the token's used quota unchanged."""
    token_id, key = make_token("failed")
    before = _used(platform_user, token_id)
    ex, _ = relay_call(transport, f"nxc-{run_objects.run_id}-no-such-model", key=key)
    if ex.status is None or ex.status < 400:
        return  # the unknown model was served: errors.unknown-model-rejected reports it
    verdict.check(check_failed_call_free(before, _used(platform_user, token_id)), exchange=ex)


def _served_then_refused(make: Callable[[], str], change: Callable[[], None], transport: Transport,
                         settings: Settings, verdict: VerdictRecorder, requirement: str,
                         statuses: tuple[int, ...] = (401,), model: str | None = None) -> None:
    key = make()
    control, served = relay_call(transport, settings.models.get("chat", ""), key=key)
    if control.status != 200 or served is None:
        return  # a fresh token was not served with usage: the chat and auth suites report why
    change()
    ex, _ = relay_call(transport, model or settings.models.get("chat", ""), key=key)
    verdict.check(check_relay_refused(ex, statuses, requirement=requirement), exchange=ex)


@pytest.mark.feature(*_WRITES)
@pytest.mark.requirements("platform.token.disable")
def test_platform_token_disable(platform_user: PlatformClient, make_token: MakeToken, transport: Transport,
                                settings: Settings, verdict: VerdictRecorder) -> None:
    """A token disabled through the management API gets 401 on its next relay call."""
    made: dict[str, int] = {}

    def make() -> str:
        made["id"], key = make_token("disable")
        return key

    def disable() -> None:
        platform_user.call("PUT", "/api/token/?status_only=true", json={"id": made["id"], "status": 2})

    _served_then_refused(make, disable, transport, settings, verdict, "platform.token.disable")


@pytest.mark.feature(*_WRITES)
@pytest.mark.requirements("platform.token.expire")
def test_platform_token_expire(platform_user: PlatformClient, make_token: MakeToken, transport: Transport,
                               settings: Settings, verdict: VerdictRecorder) -> None:
    """A token whose expired_time is set to the past gets 401 on its next relay call."""
    made: dict[str, int] = {}

    def make() -> str:
        made["id"], key = make_token("expire")
        return key

    def expire() -> None:
        current = platform_user.data("GET", f"/api/token/{made['id']}")
        assert isinstance(current, dict)
        body = {k: current[k] for k in ("name", "remain_quota", "unlimited_quota") if k in current}
        platform_user.call("PUT", "/api/token/", json={**body, "id": made["id"], "expired_time": int(time.time()) - 60})

    _served_then_refused(make, expire, transport, settings, verdict, "platform.token.expire")


@pytest.mark.feature(*_WRITES)
@pytest.mark.requirements("platform.token.exhaust")
def test_platform_token_exhaust(make_token: MakeToken, transport: Transport, settings: Settings,
                                verdict: VerdictRecorder) -> None:
    """A token with a quota of 1 is served once, then refused (401, 403 or 429)."""
    _served_then_refused(lambda: make_token("exhaust", remain_quota=1, unlimited_quota=False)[1], lambda: None,
                         transport, settings, verdict, "platform.token.exhaust", (401, 403, 429))


@pytest.mark.feature(*_WRITES)
@pytest.mark.requirements("platform.token.model-limits")
def test_platform_token_model_limits(make_token: MakeToken, transport: Transport, settings: Settings,
                                     verdict: VerdictRecorder, run_objects: RunObjects) -> None:
    """A token limited to another model gets 403 on the chat model."""
    _, key = make_token("limits", model_limits_enabled=True, model_limits=f"nxc-{run_objects.run_id}-only")
    ex, _ = relay_call(transport, settings.models.get("chat", ""), key=key)
    verdict.check(check_relay_refused(ex, (403,), requirement="platform.token.model-limits"), exchange=ex)


@pytest.mark.feature(*_WRITES)
@pytest.mark.requirements("platform.token.delete")
def test_platform_token_delete(platform_user: PlatformClient, make_token: MakeToken, transport: Transport,
                               settings: Settings, verdict: VerdictRecorder) -> None:
    """A deleted token gets 401 on its next relay call."""
    made: dict[str, int] = {}

    def make() -> str:
        made["id"], key = make_token("delete")
        return key

    def delete() -> None:
        platform_user.call("DELETE", f"/api/token/{made['id']}")

    _served_then_refused(make, delete, transport, settings, verdict, "platform.token.delete")


@pytest.mark.feature("platform.admin", "platform.writes")
@pytest.mark.requirements("platform.redemption.once")
def test_platform_redemption_once(platform_user: PlatformClient, platform_admin: PlatformClient | None,
                                  run_objects: RunObjects, verdict: VerdictRecorder) -> None:
    """An admin's code raises the user's quota by exactly its amount once; a second try fails."""
    assert platform_admin is not None
    name, amount = f"nxc-{run_objects.run_id}"[:20], 1234
    keys = platform_admin.data("POST", "/api/redemption/", json={"name": name, "count": 1, "quota": amount})
    assert isinstance(keys, list) and keys and isinstance(keys[0], str), "the admin could not create a code"
    platform_user.redactor.add(keys[0])
    try:
        before = platform_user.data("GET", "/api/user/self")["quota"]
        first = platform_user.call("POST", "/api/user/topup", json={"key": keys[0]})
        after = platform_user.data("GET", "/api/user/self")["quota"]
        second = platform_user.call("POST", "/api/user/topup", json={"key": keys[0]})
        verdict.check(check_redemption(first, second, amount, before, after), exchange=second)
    finally:
        code = platform_admin.find("/api/redemption/", name)
        if code is not None:
            platform_admin.call("DELETE", f"/api/redemption/{code['id']}")


@pytest.mark.feature("platform.admin", "platform.writes")
@pytest.mark.requirements("platform.channel.lifecycle")
def test_platform_channel_lifecycle(platform_admin: PlatformClient | None, run_objects: RunObjects,
                                    settings: Settings, transport: Transport, run_upstream: Upstream | None,
                                    verdict: VerdictRecorder) -> None:
    """An admin creates a channel to the run's scripted upstream serving only the run's model,
    lists and tests it, relays one call through it, and deletes it (D59, D103)."""
    assert platform_admin is not None and settings.base_url is not None
    name = run_objects.name("channel")
    upstream = run_upstream if not settings.platform.channel_base_url else None
    channel = channel_body(run_objects, settings, upstream)
    created = platform_admin.call("POST", "/api/channel/", json={"mode": "single", "channel": channel})
    found = platform_admin.find("/api/channel/", name)
    assert found is not None and isinstance(found.get("id"), int), (
        f"the channel {name!r} was not created: HTTP {created.status}")
    run_objects.created["channel"].add(int(found["id"]))
    tested = platform_admin.call("GET", f"/api/channel/test/{found['id']}")
    relayed = relay_through(transport, run_objects, upstream) if upstream is not None else None
    deleted = platform_admin.call("DELETE", f"/api/channel/{found['id']}")
    after = platform_admin.find("/api/channel/", name)
    verdict.check(check_channel_lifecycle(True, tested, deleted, after is not None, relayed), exchange=deleted)
