"""What the platform suites share: the session fixtures, the run's relay calls, log polling.

The fixtures the ``test_platform*`` modules import: the management clients
(``conformance.platform_client``), the run's objects (deleted at the end, also after a
failure or Ctrl-C) and two relay calls whose logs the scenarios look for. Nothing here
judges: the checks do.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.checks.platform import RelayCall
from conformance.config import Settings
from conformance.model import Exchange
from conformance.platform_client import (
    PlatformClient,
    RunObjects,
    data_of,
    delete_run_objects,
    items_of,
    new_run_id,
)
from conformance.transport import Transport

#: How long a log may take to appear after its call (D54), and the poll interval.
LOG_DELAY_SECONDS = 5.0
LOG_POLL_SECONDS = 0.25


def relay_call(transport: Transport, model: str, *, key: str | None = None) -> tuple[Exchange, RelayCall | None]:
    """One small non-streamed chat call; the RelayCall is None when it was not served with usage."""
    body = {"model": model, "messages": [{"role": "user", "content": "Say OK."}], "max_tokens": 8}
    # A run's own key answered 429 is a verdict (an exhausted token), not a reason to wait and retry.
    exchange = (transport.request("POST", "/chat/completions", json=body, key=key, retry_429=False)
                if key is not None else transport.request("POST", "/chat/completions", json=body))
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
                settings: Settings, pytestconfig: pytest.Config) -> Iterator[RunObjects]:
    """The run's id; at the end (also after a failure or Ctrl-C) everything named after it is deleted.

    The run id and what could not be deleted reach the run's summary and platform-run.json.
    """
    from conformance.plugin_keys import PLATFORM_RUN

    objects = RunObjects(new_run_id())
    try:
        yield objects
    finally:
        deleted: list[str] = []
        left: list[str] = []
        if settings.allow_writes:
            deleted, left = delete_run_objects(platform_user, platform_admin, objects.run_id)
        pytestconfig.stash[PLATFORM_RUN] = {"run_id": objects.run_id, "deleted_at_end": deleted, "leftovers": left}


@pytest.fixture(scope="session")
def run_calls(transport: Transport, settings: Settings) -> list[tuple[Exchange, RelayCall | None]]:
    """Two relay calls of this run with the relay key, whose logs the platform tests look for."""
    model = settings.models.get("chat", "")
    return [relay_call(transport, model) for _ in range(2)]
