"""What the platform suites share: the session fixtures, the run's relay calls, log polling.

The fixtures the ``test_platform*`` modules import: the management clients
(``conformance.platform_client``), the run's objects (deleted at the end, also after a
failure or Ctrl-C) and two relay calls whose logs the scenarios look for. Nothing here
judges: the checks do.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.checks.platform import LOG_DELAY_SECONDS, RelayCall
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
from conformance.sse import parse_sse
from conformance.transport import Transport

#: The poll interval while waiting for logs (the delay they may take is the check's, D54).
LOG_POLL_SECONDS = 0.25


def relay_call(transport: Transport, model: str, *, key: str | None = None) -> tuple[Exchange, RelayCall | None]:
    """One small non-streamed chat call; the RelayCall is None when it was not served with usage."""
    body = {"model": model, "messages": [{"role": "user", "content": "Say OK."}], "max_tokens": 8}
    # A run's own key answered 429 is a verdict (an exhausted token), not a reason to wait and retry.
    sent_at = time.time()
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
                               prompt, completion, sent_at=sent_at, answered_at=time.time())


def streamed_call(transport: Transport, model: str) -> tuple[Exchange, RelayCall | None]:
    """One small streamed chat call asking for usage; the RelayCall from its last usage chunk (D100)."""
    body = {"model": model, "messages": [{"role": "user", "content": "Say OK."}], "max_tokens": 8,
            "stream": True, "stream_options": {"include_usage": True}}
    sent_at = time.time()
    exchange = transport.request("POST", "/chat/completions", json=body)
    if exchange.status != 200:
        return exchange, None
    usage: dict[str, Any] | None = None
    answered_model = model
    for event in parse_sse(exchange.body).events:
        try:
            data = json.loads(event.data)
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("usage"), dict):
            usage, answered_model = data["usage"], str(data.get("model", model))
    prompt = usage.get("prompt_tokens") if usage else None
    completion = usage.get("completion_tokens") if usage else None
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return exchange, None
    return exchange, RelayCall(exchange.header("x-oneapi-request-id"), answered_model, prompt, completion,
                               sent_at=sent_at, answered_at=time.time())


def poll_logs(client: PlatformClient, key: str, wanted: set[str], *, consume_logs: int = 0) -> list[Any]:
    """The logs of relay key ``key`` once every wanted request id is there (without request ids:
    at least ``consume_logs`` consume logs), or after the delay (D54, D101)."""
    deadline = time.monotonic() + LOG_DELAY_SECONDS
    while True:
        logs = items_of(data_of(client.call("GET", "/api/log/token", key=key)))
        records = [log for log in logs if isinstance(log, dict)]
        present = {log.get("request_id") for log in records}
        consumed = sum(1 for log in records if log.get("type") == 2)
        if (wanted <= present and consumed >= consume_logs) or time.monotonic() >= deadline:
            return logs
        time.sleep(LOG_POLL_SECONDS)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def platform_user(settings: Settings, transport: Transport) -> Iterator[PlatformClient]:
    """The management client of the target's user (``[platform] access_token``), in the run's ledger."""
    assert settings.platform.access_token is not None
    client = PlatformClient(settings, settings.platform.access_token, user_id=settings.platform.user_id,
                            ledger=transport.ledger)
    yield client
    client.close()


@pytest.fixture(scope="session")
def platform_admin(settings: Settings, transport: Transport) -> Iterator[PlatformClient | None]:
    """The admin's management client (in the run's ledger), or None without ``admin_access_token``."""
    token = settings.platform.admin_access_token
    if token is None:
        yield None
        return
    client = PlatformClient(settings, token, ledger=transport.ledger)
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
    """Two relay calls of this run with the relay key, and a streamed one when the target streams
    chat, whose logs the platform tests look for (a streamed call is logged too, D100)."""
    model = settings.models.get("chat", "")
    calls = [relay_call(transport, model) for _ in range(2)]
    if "chat.streaming" in settings.features:
        calls.append(streamed_call(transport, model))
    return calls
