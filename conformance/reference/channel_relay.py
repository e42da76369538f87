"""The reference's store channels as real routes: a model a channel serves is relayed to it.

Owns ``ChannelRouter``: a relay request whose model one of the store's enabled channels
lists (``models``, comma-separated) is forwarded to that channel's ``base_url`` (a site
root: ``/v1`` is appended, as new-api does) with the channel's key and its
``model_mapping`` (JSON text, client model -> upstream model), through a ``Relay`` of its
own per channel (same faults, same error mapping). ``test`` is the admin's channel test: one
small chat sent through the channel. Requests for no channel go to the default relay
(``serve --upstream``) when it handles them. Every outbound client is closed by ``aclose``,
on the app's shutdown (D103).
"""

from __future__ import annotations

import json
import time
from typing import Any

from conformance.reference.api_error import ApiError
from conformance.reference.faultset import FaultSet
from conformance.reference.platform_store import Channel, PlatformStore
from conformance.reference.relay import RELAYED_PATHS, Relay, forward_or_passthrough

#: The fault that keeps store channels out of routing (listed and tested, never serving).
UNROUTED = "platform.channel.lifecycle@unrouted"
#: Channel status "enabled" (new-api common/constants.go).
CHANNEL_ENABLED = 1


def channel_models(channel: Channel) -> list[str]:
    """The client model names a channel serves, in its order."""
    return [m.strip() for m in channel.models.split(",") if m.strip()]


def model_mapping(channel: Channel) -> dict[str, str]:
    """The channel's model mapping (an unreadable or absent mapping maps nothing)."""
    try:
        mapping = json.loads(channel.model_mapping or "{}")
    except ValueError:
        return {}
    if not isinstance(mapping, dict):
        return {}
    return {str(k): str(v) for k, v in mapping.items() if isinstance(v, str)}


class ChannelRouter:
    """Relays to the store's channels that have an upstream (``base_url``)."""

    def __init__(self, store: PlatformStore, timeout: float, *, default: Relay | None = None) -> None:
        self._store = store
        self._default = default
        self._timeout = timeout
        self._relays: dict[tuple[str, str, str], Relay] = {}

    def route(self, path: str, body: dict[str, Any], faults: FaultSet) -> Relay | None:
        """The relay of the enabled channel serving ``body``'s model, else the default relay if it
        handles the request, else None (the reference answers itself)."""
        model = body.get("model")
        if path not in RELAYED_PATHS or not isinstance(model, str) or faults.on(UNROUTED):
            return self._default if self._default is not None and self._default.handles(path, body) else None
        with self._store.lock:
            channel = next((c for c in self._store.channels.values()
                            if c.status == CHANNEL_ENABLED and c.base_url and model in channel_models(c)), None)
        if channel is not None:
            return self._relay(channel)
        return self._default if self._default is not None and self._default.handles(path, body) else None

    def _relay(self, channel: Channel) -> Relay:
        assert channel.base_url is not None
        identity = (channel.base_url, channel.key, channel.model_mapping or "")
        found = self._relays.get(identity)
        if found is None:
            base = channel.base_url.rstrip("/").removesuffix("/v1") + "/v1"
            found = Relay(base, channel.key, self._timeout, models=model_mapping(channel))
            self._relays[identity] = found
        return found

    async def test(self, channel: Channel, faults: FaultSet) -> tuple[bool, float, str]:
        """Send one small chat through ``channel``: (succeeded, seconds, message)."""
        models = channel_models(channel)
        if not channel.base_url or not models:
            return True, 0.0, ""   # a channel without an upstream has nothing to call
        body = {"model": models[0], "messages": [{"role": "user", "content": "Channel test."}], "max_tokens": 1}
        started = time.monotonic()
        try:
            answer = await forward_or_passthrough(self._relay(channel), "/chat/completions", body, "", faults)
        except ApiError as error:
            return False, time.monotonic() - started, error.message
        return answer.status_code == 200, time.monotonic() - started, ""

    async def aclose(self) -> None:
        """Close every outbound client: the channels' and the default relay's (on shutdown)."""
        for relay in self._relays.values():
            await relay.aclose()
        self._relays.clear()
        if self._default is not None:
            await self._default.aclose()
