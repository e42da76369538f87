"""Authentication on every operation: missing, malformed, unknown and special-state keys (D3).

Every request here is the operation's minimal valid request with only the credential
changed, so the credential is the one thing the server can object to. 429s are never
retried here (``retry_429=False``): an exhausted key may legitimately answer 429.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pytest

from conformance.checks.errors import (
    CLIENT_ERROR_IDS,
    SERVED_IDS,
    check_client_error,
    check_exhausted_key_code,
    check_no_error_in_2xx,
    check_no_server_error,
    check_served,
    check_status,
    check_unknown_key_code,
)
from conformance.errors import ConfigError
from conformance.suites.operations import (
    OPERATIONS,
    UNROUTED_STATUSES,
    Operation,
    minimal_request,
    operation,
    unrouted,
)

if TYPE_CHECKING:
    from conformance.config import Settings
    from conformance.recorder import VerdictRecorder
    from conformance.transport import Transport

#: A well-formed key no target has issued.
UNKNOWN_KEY = "sk-nexhina-conformance-unknown-0000000000000000"

#: Stands in for the target's key in malformed headers when the run has none configured.
_NO_KEY = "sk-nexhina-conformance-placeholder"

#: Malformed Authorization values, built around the real key where that makes the test
#: sharper: a server that ignores the scheme or splits on whitespace would accept them.
#: (``Bearer `` with a trailing space cannot be sent: HTTP clients refuse the value.)
_MALFORMED: dict[str, str] = {
    "empty": "",
    "basic-scheme": "Basic {key}",
    "bearer-without-key": "Bearer",
    "key-with-whitespace": "Bearer {key} extra",
}


def _per_operation(*features: str) -> list[object]:
    """One param per operation, gated by ``features`` plus the operation's own feature."""
    return [
        pytest.param(op, id=op.operation_id, marks=pytest.mark.feature(*features, op.feature))
        for op in OPERATIONS
    ]


def _configured_key(settings: Settings, name: str, feature: str) -> str:
    """A key from ``[keys]``; declaring the feature without the key is a configuration error."""
    value: str | None = getattr(settings.keys, name)
    if not value:
        raise ConfigError(f"the target declares feature {feature!r} but [keys] {name} is not set")
    return value


@pytest.mark.requirements("auth.valid-key", *SERVED_IDS)
@pytest.mark.parametrize("op", _per_operation("auth"))
def test_valid_key(
    op: Operation,
    transport: Transport,
    models: Mapping[str, str],
    settings: Settings,
    verdict: VerdictRecorder,
) -> None:
    """The control: the target's key is accepted on every operation."""
    ex = minimal_request(op, models, settings).send(transport)
    if op.operation_id == "retrieveVideo":
        # Looking up a task nobody created proves the key was accepted without paying for a
        # video: any answer but 401/403 (and 5xx) shows the credential passed. The task
        # lifecycle itself belongs to the video suite.
        accepted = [s for s in range(200, 500) if s not in (401, 403)]
        found = check_status(ex, accepted, requirement="auth.valid-key")
        verdict.check(found + check_no_server_error(ex) + check_no_error_in_2xx(ex), exchange=ex)
        return
    if ex.status in UNROUTED_STATUSES:
        # Not routed (D27): the key was not refused; the operation's own suite reports the route.
        verdict.check(check_no_server_error(ex) + check_no_error_in_2xx(ex), exchange=ex)
        return
    verdict.check(check_served(ex, requirement="auth.valid-key"), exchange=ex)


@pytest.mark.requirements("auth.missing-key", "auth.unknown-key", "auth.unknown-key-code", *CLIENT_ERROR_IDS)
@pytest.mark.parametrize("op", _per_operation("auth"))
def test_missing_or_unknown_key(
    op: Operation,
    transport: Transport,
    models: Mapping[str, str],
    settings: Settings,
    verdict: VerdictRecorder,
) -> None:
    """No Authorization header -> 401 with the envelope; a well-formed unknown key -> 401 with
    the envelope (SHOULD: code invalid_api_key). The two requests go out together."""
    spec = minimal_request(op, models, settings)
    missing, unknown = transport.concurrently(
        lambda: spec.send(transport, key=None, retry_429=False),
        lambda: spec.send(transport, key=UNKNOWN_KEY, retry_429=False),
    )
    if unrouted(op, missing, transport, models, settings):
        return
    verdict.check(check_client_error(missing, (401,), requirement="auth.missing-key"), exchange=missing)
    if unrouted(op, unknown, transport, models, settings):
        return
    verdict.check(check_client_error(unknown, (401,), requirement="auth.unknown-key"), exchange=unknown)
    verdict.check(check_unknown_key_code(unknown), exchange=unknown)


@pytest.mark.requirements("auth.malformed-header", *CLIENT_ERROR_IDS)
@pytest.mark.parametrize("op", _per_operation("auth"))
def test_malformed_header(
    op: Operation,
    transport: Transport,
    models: Mapping[str, str],
    settings: Settings,
    verdict: VerdictRecorder,
) -> None:
    """Each empty or malformed Authorization header (`_MALFORMED`) -> 401 with the envelope.

    The variants are independent: they go out together (``budgets.concurrency`` at once) and
    each answer is judged on its own.
    """
    spec = minimal_request(op, models, settings)
    values = [template.format(key=settings.api_key or _NO_KEY) for template in _MALFORMED.values()]
    answers = transport.concurrently(*(
        (lambda value=value: spec.send(transport, headers={"Authorization": value}, retry_429=False))
        for value in values
    ))
    for ex in answers:
        if unrouted(op, ex, transport, models, settings):
            return
        verdict.check(check_client_error(ex, (401,), requirement="auth.malformed-header"), exchange=ex)


def _revoked_key_params() -> list[object]:
    """One case per (key state answered 401, operation), gated by that state's feature."""
    return [
        pytest.param(
            state,
            op,
            id=f"{state}-{op.operation_id}",
            marks=[
                pytest.mark.feature(f"auth.{state}-key", op.feature),
                pytest.mark.requirements(f"auth.{state}-key", *CLIENT_ERROR_IDS),
            ],
        )
        for state in ("disabled", "expired")
        for op in OPERATIONS
    ]


@pytest.mark.parametrize(("state", "op"), _revoked_key_params())
def test_revoked_key(
    state: str,
    op: Operation,
    transport: Transport,
    models: Mapping[str, str],
    settings: Settings,
    verdict: VerdictRecorder,
) -> None:
    """A disabled or an expired key -> 401 with the envelope."""
    requirement = f"auth.{state}-key"
    key = _configured_key(settings, state, requirement)
    ex = minimal_request(op, models, settings).send(transport, key=key, retry_429=False)
    if unrouted(op, ex, transport, models, settings):
        return
    verdict.check(check_client_error(ex, (401,), requirement=requirement), exchange=ex)


@pytest.mark.requirements("auth.exhausted-key", "auth.exhausted-key-code", *CLIENT_ERROR_IDS)
@pytest.mark.parametrize("op", _per_operation("auth.exhausted-key"))
def test_exhausted_key(
    op: Operation,
    transport: Transport,
    models: Mapping[str, str],
    settings: Settings,
    verdict: VerdictRecorder,
) -> None:
    """A key with no quota left -> 401, 403 or 429 (SHOULD: code insufficient_quota on 403/429)."""
    key = _configured_key(settings, "exhausted", "auth.exhausted-key")
    ex = minimal_request(op, models, settings).send(transport, key=key, retry_429=False)
    if unrouted(op, ex, transport, models, settings):
        return
    verdict.check(check_client_error(ex, (401, 403, 429), requirement="auth.exhausted-key"), exchange=ex)
    verdict.check(check_exhausted_key_code(ex), exchange=ex)


def _operation_serving(model: str, models: Mapping[str, str]) -> Operation:
    """The operation whose configured model is ``model`` (chat when none is)."""
    for op in OPERATIONS:
        if op.takes_model and op.capability is not None and models.get(op.capability) == model:
            return op
    return operation("createChatCompletion")


@pytest.mark.requirements("auth.model-restricted", *CLIENT_ERROR_IDS)
@pytest.mark.feature("auth.model-restricted-key")
def test_model_restricted_key(
    transport: Transport, models: Mapping[str, str], settings: Settings, verdict: VerdictRecorder
) -> None:
    """A key used with a model it may not use -> 403 with the envelope."""
    key = _configured_key(settings, "model_restricted", "auth.model-restricted-key")
    model = settings.keys.model_restricted_model
    if not model:
        raise ConfigError(
            "the target declares feature 'auth.model-restricted-key' "
            "but [keys] model_restricted_model is not set"
        )
    op = _operation_serving(model, models)
    request = minimal_request(op, models, settings).with_body({"model": model})
    ex = request.send(transport, key=key, retry_429=False)
    verdict.check(check_client_error(ex, (403,), requirement="auth.model-restricted"), exchange=ex)
