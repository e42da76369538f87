"""What the platform suites share: the management client, the run's id, its relay calls, cleanup.

Owns ``PlatformClient`` (requests to the site root with a dashboard access token, through
the run's one transport class, so budgets and redaction hold), ``RunObjects`` (everything
the run created, deleted at the end, also after a failure or Ctrl-C) and the session
fixtures the ``test_platform*`` modules import. Nothing here judges: the checks do.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from conformance.checks.platform import RelayCall, data_of, items_of
from conformance.config import Settings
from conformance.model import Exchange
from conformance.transport import Transport

if TYPE_CHECKING:
    from conformance.transport import Redactor

#: How long a log may take to appear after its call (D54), and the poll interval.
LOG_DELAY_SECONDS = 5.0
LOG_POLL_SECONDS = 0.25
#: Every object the run creates starts with this prefix and the run id (D55).
PREFIX = "nexhina-conformance-"
_PAGE_MAX = 100
#: Object kinds that the run may create, in deletion order.
KINDS = ("token", "redemption", "channel")


def platform_root(settings: Settings) -> str:
    """The management API's root: ``[platform] base_url``, else the relay base without ``/v1`` (D50)."""
    if settings.platform.base_url:
        return settings.platform.base_url.rstrip("/")
    assert settings.base_url is not None
    return settings.base_url.rstrip("/").removesuffix("/v1")


class PlatformClient:
    """Requests to the management API as one user (an access token)."""

    def __init__(self, settings: Settings, access_token: str, *, user_id: int | None = None) -> None:
        root = platform_root(settings)
        self.transport = Transport(dataclasses.replace(settings, base_url=root, api_key=access_token))
        self.headers = {"New-Api-User": str(user_id)} if user_id is not None else {}

    @property
    def redactor(self) -> Redactor:
        """The client's redactor (add the keys the run creates to it)."""
        return self.transport.redactor

    def call(self, method: str, path: str, *, json: Any = None, key: str | None = None) -> Exchange:
        """One management request; ``key`` replaces the access token (e.g. a relay key)."""
        if key is not None:
            return self.transport.request(method, path, json=json, key=key)
        return self.transport.request(method, path, json=json, headers=self.headers)

    def data(self, method: str, path: str, *, json: Any = None) -> Any:
        """The ``data`` of a management answer (None when it failed)."""
        return data_of(self.call(method, path, json=json))

    def find(self, path: str, name: str) -> dict[str, Any] | None:
        """The newest listed object named ``name`` on the first page of ``path`` (size 100)."""
        for item in items_of(self.data("GET", f"{path}?p=1&page_size={_PAGE_MAX}")):
            if isinstance(item, dict) and item.get("name") == name:
                return item
        return None

    def close(self) -> None:
        """Close the client's transport."""
        self.transport.close()


@dataclasses.dataclass
class RunObjects:
    """The run's id and every object it created (kind -> ids), for deletion at the end."""

    run_id: str
    created: dict[str, set[int]] = dataclasses.field(default_factory=lambda: {k: set() for k in KINDS})

    def name(self, suffix: str) -> str:
        """The name of one object of this run, e.g. ``nexhina-conformance-<run id>-disable``."""
        return f"{PREFIX}{self.run_id}-{suffix}"


def new_run_id() -> str:
    """A short run id: UTC time and 4 random hex digits (fits redemption names of 20 chars)."""
    return time.strftime("%m%d%H%M", time.gmtime()) + secrets.token_hex(2)


def delete_run_objects(user: PlatformClient, admin: PlatformClient | None, run_id: str) -> list[str]:
    """Delete everything named after ``run_id``; return what could not be deleted (kind:id)."""
    left: list[str] = []
    plans = [("token", user, "/api/token/"), ("redemption", admin, "/api/redemption/"),
             ("channel", admin, "/api/channel/")]
    for kind, client, path in plans:
        if client is None:
            continue
        for item in items_of(client.data("GET", f"{path}?p=1&page_size={_PAGE_MAX}")):
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and run_id in name and (name.startswith(PREFIX) or name.startswith("nxc-")):
                answer = client.call("DELETE", f"{path}{item.get('id')}")
                if data_of(answer) is None and _failed(answer):
                    left.append(f"{kind}:{item.get('id')}")
    return left


def _failed(exchange: Exchange) -> bool:
    try:
        body = exchange.json()
    except ValueError:
        return True
    return not (isinstance(body, dict) and body.get("success") is True)


def relay_call(transport: Transport, model: str, *, key: str | None = None) -> tuple[Exchange, RelayCall | None]:
    """One small non-streamed chat call; the RelayCall is None when it was not served with usage."""
    body = {"model": model, "messages": [{"role": "user", "content": "Say OK."}], "max_tokens": 8}
    exchange = (transport.request("POST", "/chat/completions", json=body, key=key) if key is not None
                else transport.request("POST", "/chat/completions", json=body))
    try:
        answer = exchange.json()
    except ValueError:
        return exchange, None
    usage = answer.get("usage") if isinstance(answer, dict) else None
    if exchange.status != 200 or not isinstance(usage, dict):
        return exchange, None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return exchange, None
    return exchange, RelayCall(exchange.header("x-oneapi-request-id"), str(answer.get("model", model)),
                               prompt, completion)


def poll_logs(client: PlatformClient, key: str, wanted: set[str]) -> list[Any]:
    """The logs of relay key ``key`` once every wanted request id is there, or after the delay (D54)."""
    deadline = time.monotonic() + LOG_DELAY_SECONDS
    while True:
        logs = items_of(data_of(client.call("GET", "/api/log/token", key=key)))
        present = {log.get("request_id") for log in logs if isinstance(log, dict)}
        if wanted <= present or time.monotonic() >= deadline:
            return logs
        time.sleep(LOG_POLL_SECONDS)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def platform_user(settings: Settings) -> Iterator[PlatformClient]:
    """The management client of the target's user (``[platform] access_token``)."""
    assert settings.platform.access_token is not None
    client = PlatformClient(settings, settings.platform.access_token, user_id=settings.platform.user_id)
    yield client
    client.close()


@pytest.fixture(scope="session")
def platform_admin(settings: Settings) -> Iterator[PlatformClient | None]:
    """The admin's management client, or None without ``admin_access_token``."""
    token = settings.platform.admin_access_token
    if token is None:
        yield None
        return
    client = PlatformClient(settings, token)
    yield client
    client.close()


@pytest.fixture(scope="session")
def run_objects(platform_user: PlatformClient, platform_admin: PlatformClient | None,
                settings: Settings) -> Iterator[RunObjects]:
    """The run's id; at the end (also after a failure or Ctrl-C) everything named after it is deleted."""
    objects = RunObjects(new_run_id())
    try:
        yield objects
    finally:
        if settings.allow_writes:
            delete_run_objects(platform_user, platform_admin, objects.run_id)


@pytest.fixture(scope="session")
def run_calls(transport: Transport, settings: Settings) -> list[tuple[Exchange, RelayCall | None]]:
    """Two relay calls of this run with the relay key, whose logs the platform tests look for."""
    model = settings.models.get("chat", "")
    return [relay_call(transport, model) for _ in range(2)]
