"""Where the reference's relay meets its platform store: token admission and accounting.

Owns ``RelayAccounting``: a relay key that is a token of the ``PlatformStore`` is refused
at once by that token's state (disabled, expired, exhausted: 401/401/429) and by its model
limits (403); a served call with a usage block writes the consume Log and charges the
token (D52); a call that fails after admission is charged nothing (new-api refunds its
pre-charge). The ``platform.*`` faults of the relay side are applied here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.reference.api_error import ApiError
from conformance.reference.faultset import FaultSet
from conformance.reference.platform_store import (
    TOKEN_DISABLED,
    TOKEN_EXHAUSTED,
    TOKEN_EXPIRED,
    PlatformStore,
    Token,
)

#: The fault that leaves streamed calls out of the logs (they are charged all the same).
_NO_STREAM_LOG = "platform.logs.calls@stream"
#: What the faulted reference charges a failed call (``platform.logs.failed-call``).
FAILED_CALL_CHARGE = 7


def usage_tokens(result: Mapping[str, Any]) -> tuple[int, int] | None:
    """(prompt, completion) tokens of an answer's usage block (chat, responses, embeddings)."""
    usage = result.get("usage")
    if not isinstance(usage, Mapping):
        return None
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens", 0))
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return prompt, completion


class RelayAccounting:
    """The relay's view of the platform store."""

    def __init__(self, store: PlatformStore) -> None:
        self.store = store

    def known(self, key: str) -> bool:
        """Whether ``key`` is a token of the store."""
        return self.store.token_by_key(key) is not None

    def admit(self, key: str, faults: FaultSet) -> Token | None:
        """The store token of ``key`` if it may be served now (None for keys outside the store).

        Raises:
            ApiError: the token is disabled or expired (401) or has no quota left (429).
        """
        token = self.store.token_by_key(key)
        if token is None:
            return None
        state = token.state(self.store.now())
        if state == TOKEN_DISABLED and not faults.on("platform.token.disable"):
            raise ApiError(401, "This API key has been disabled.", code="api_key_disabled")
        if state == TOKEN_EXPIRED and not faults.on("platform.token.expire"):
            raise ApiError(401, "This API key has expired.", code="api_key_expired")
        if state == TOKEN_EXHAUSTED and not faults.on("platform.token.exhaust"):
            raise ApiError(429, "You exceeded your current quota, please check your plan and billing details.",
                           "insufficient_quota", code="insufficient_quota")
        return token

    def check_model(self, token: object, model: object, faults: FaultSet) -> None:
        """Refuse (403) a model outside the token's model limits."""
        if not isinstance(token, Token) or not isinstance(model, str) or faults.on("platform.token.model-limits"):
            return
        if not token.allows(model):
            raise ApiError(403, f"This API key is not allowed to use the model {model!r}.", "permission_error",
                           param="model", code="model_not_allowed")

    def served(self, token: object, model: str, result: Mapping[str, Any], request_id: str,
               faults: FaultSet, *, stream: bool = False) -> None:
        """Log and charge one served call (relayed or not, streamed or not) whose answer reported usage."""
        tokens = usage_tokens(result)
        if not isinstance(token, Token) or tokens is None:
            return
        prompt, completion = tokens
        shown = completion + 1 if faults.on("platform.logs.calls@tokens") else None
        self.store.charge(token, model, prompt, completion, request_id,
                          log=not faults.on("platform.logs.calls") and not (stream and faults.on(_NO_STREAM_LOG)),
                          charge_token=not faults.on("platform.quota.adds-up"), completion_shown=shown,
                          stream=stream)

    def failed(self, token: object, faults: FaultSet) -> None:
        """A call that failed after admission: charged nothing (unless faulted)."""
        if isinstance(token, Token) and faults.on("platform.logs.failed-call"):
            with self.store.lock:
                token.used_quota += FAILED_CALL_CHARGE
