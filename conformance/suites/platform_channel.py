"""The run's channel: an admin-created route to the run's scripted upstream (D59, D103).

Owns what the channel test needs besides its check: the channel body (named after the run,
serving only ``nxc-<run id>-chat``, mapped onto the scripted upstream's chat model, with the
upstream's channel key) and one relayed call through it with a run-unique marker, so that
the upstream's records show whether the gateway really routed the run's model through the
channel. Without a scripted upstream the channel points at ``[platform] channel_base_url``
or the target itself (nothing is relayed through it then). Judges nothing. Also the ``run_upstream`` fixture.
This channel is the lifecycle test's own, not the relay lane's channel (D119): that one is
``conformance.plugin.run_channel``'s, created before collection and deleted at the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from conformance.platform_client import RunObjects, upstream_channel
from conformance.upstream.app import UPSTREAM_MODELS

if TYPE_CHECKING:
    from conformance.config import Settings
    from conformance.model import Exchange
    from conformance.transport import Transport
    from conformance.upstream.server import Upstream


@pytest.fixture(scope="session")
def run_upstream(_nexhina_target: Any) -> Upstream | None:
    """The run's scripted upstream, or None without ``[upstream]`` (the target session's)."""
    found: Upstream | None = getattr(_nexhina_target, "upstream", None)
    return found


def run_model(objects: RunObjects) -> str:
    """The only model the run's channel serves: unique to the run, so no real traffic reaches it."""
    return f"nxc-{objects.run_id}-chat"


def channel_body(objects: RunObjects, settings: Settings, upstream: Upstream | None) -> dict[str, Any]:
    """The ``channel`` of ``POST /api/channel/`` for this run."""
    model = run_model(objects)
    body: dict[str, Any] = {"name": objects.name("channel"), "type": 1, "models": model, "group": "default"}
    if settings.platform.channel_base_url or upstream is None or settings.upstream is None:
        body.update(key=f"nxc-{objects.run_id}-upstream-key",
                    base_url=settings.platform.channel_base_url or settings.base_url)
        return body
    return upstream_channel(body["name"], [model], {model: UPSTREAM_MODELS["chat"]}, settings.upstream.key,
                            settings.upstream.public_url or upstream.url)


def relay_through(transport: Transport, objects: RunObjects, upstream: Upstream) -> tuple[Exchange, int]:
    """One chat with the run's model and a fresh marker: the answer and how many requests
    carrying that marker reached the scripted upstream (whatever their key: the relay lane
    judges the key)."""
    marker = str(upstream.markers("answer"))
    body = {"model": run_model(objects), "messages": [{"role": "user", "content": f"Say hi. {marker}"}],
            "max_tokens": 8}
    exchange = transport.request("POST", "/chat/completions", json=body, retry_429=False)
    return exchange, len(upstream.records.for_marker(marker))
