"""The management API as a client: requests as one user, the run's objects and their cleanup.

Owns ``PlatformClient`` (requests to the site root with a dashboard access token, through a
``Transport`` of its own built from the run's settings, so bounds and redaction hold, and
counted in the run's ``Ledger`` when given one: budget and "requests sent" include them),
``RunObjects`` (the run id and what the run created) and ``delete_run_objects`` (used at the
end of a run and by ``nexhina-conformance cleanup --run-id``). Judges nothing.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from typing import TYPE_CHECKING, Any

from conformance.config import Settings
from conformance.model import Exchange
from conformance.transport import Transport

if TYPE_CHECKING:
    from conformance.ledger import Ledger
    from conformance.transport import Redactor

#: Every object the run creates starts with this prefix and the run id (D55).
PREFIX = "nexhina-conformance-"
#: Redemption names are 20 characters at most: codes are named ``nxc-<run id>``.
SHORT_PREFIX = "nxc-"
_PAGE_MAX = 100
#: Object kinds that the run may create, in deletion order.
KINDS = ("token", "redemption", "channel")


def data_of(exchange: Exchange) -> Any:
    """The ``data`` member of a management envelope (None when absent or not JSON)."""
    try:
        body = exchange.json()
    except ValueError:
        return None
    return body.get("data") if isinstance(body, dict) else None


def items_of(data: Any) -> list[Any]:
    """The items of a PageInfo or of a plain list (anything else: none)."""
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        return list(data["items"])
    return list(data) if isinstance(data, list) else []


def platform_root(settings: Settings) -> str:
    """The management API's root: ``[platform] base_url``, else the relay base without ``/v1`` (D50)."""
    if settings.platform.base_url:
        return settings.platform.base_url.rstrip("/")
    assert settings.base_url is not None
    return settings.base_url.rstrip("/").removesuffix("/v1")


class PlatformClient:
    """Requests to the management API as one user (an access token)."""

    def __init__(self, settings: Settings, access_token: str, *, user_id: int | None = None,
                 ledger: Ledger | None = None) -> None:
        """``ledger``: the run's (its budget, per-operation counts and deadline); default one of its own (D102)."""
        root = platform_root(settings)
        self.transport = Transport(dataclasses.replace(settings, base_url=root, api_key=access_token), ledger=ledger)
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


def upstream_channel(name: str, models: list[str], mapping: dict[str, str], key: str,
                     public_url: str) -> dict[str, Any]:
    """The ``channel`` of new-api's ``POST /api/channel/`` routing ``models`` to an OpenAI-compatible
    upstream at ``public_url`` with ``key``, each model mapped (``mapping``) onto the upstream's."""
    # new-api's channel base URL is the provider's site root: it appends /v1/... itself.
    return {"name": name, "type": 1, "models": ",".join(models), "group": "default", "key": key,
            "base_url": public_url.rstrip("/").removesuffix("/v1"), "model_mapping": json.dumps(mapping)}


def new_run_id() -> str:
    """A short run id: UTC time and 4 random hex digits (fits redemption names of 20 chars)."""
    return time.strftime("%m%d%H%M", time.gmtime()) + secrets.token_hex(2)


def delete_run_objects(user: PlatformClient | None, admin: PlatformClient | None,
                       run_id: str) -> tuple[list[str], list[str]]:
    """Delete everything named after ``run_id``: (deleted, could not be deleted), as ``kind:id``.

    Without ``user`` no token is looked for (the run's channel is an admin's object alone).
    """
    deleted: list[str] = []
    left: list[str] = []
    plans: list[tuple[str, PlatformClient | None, str]] = [
        ("token", user, "/api/token/"), ("redemption", admin, "/api/redemption/"), ("channel", admin, "/api/channel/")]
    for kind, client, path in plans:
        if client is None:
            continue
        for item in items_of(client.data("GET", f"{path}?p=1&page_size={_PAGE_MAX}")):
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and name.startswith((PREFIX + run_id, SHORT_PREFIX + run_id)):
                answer = client.call("DELETE", f"{path}{item.get('id')}")
                (left if _failed(answer) else deleted).append(f"{kind}:{item.get('id')}")
    return deleted, left


def _failed(exchange: Exchange) -> bool:
    try:
        body = exchange.json()
    except ValueError:
        return True
    return not (isinstance(body, dict) and body.get("success") is True)


