"""What suites and the property runner may use of the transport: the `SuiteTransport` protocol and `DEFAULT`.

Suites type their ``transport`` fixture with `SuiteTransport` (the concrete `Transport` satisfies
it), so they depend on no private name and a test double needs no subclass.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeAlias, TypeVar

from conformance.ledger import Ledger
from conformance.model import Exchange
from conformance.transport.watch import StreamWatch

T = TypeVar("T")


class UseSettingsKey(enum.Enum):
    """Sentinel type: "use the configured API key" (``None`` means "send no Authorization")."""

    DEFAULT = "DEFAULT"


#: Send the configured API key (the default of every ``key`` argument).
DEFAULT = UseSettingsKey.DEFAULT
#: A ``key`` argument: `DEFAULT`, ``None`` (no Authorization) or the key to send.
KeyChoice: TypeAlias = "str | None | UseSettingsKey"


class SuiteTransport(Protocol):
    """The transport as suites see it: send, stream, fetch, run at once; bounded and recorded."""

    scripted: bool

    @property
    def base_url(self) -> str:
        """The target's base URL, without a trailing slash."""

    @property
    def sent(self) -> int:
        """How many requests were sent so far (retries included)."""

    @property
    def ledger(self) -> Ledger:
        """The run's shared budget, per-operation counts and breakers."""

    @property
    def history(self) -> tuple[Exchange, ...]:
        """The most recent exchanges, oldest first (already redacted)."""

    def request(
        self, method: str, path: str, *, json: Any = None, content: bytes | str | None = None,
        data: Mapping[str, Any] | None = None, files: Any = None, headers: Mapping[str, str] | None = None,
        key: KeyChoice = DEFAULT, retry_429: bool = True, scripted: bool | None = None,
    ) -> Exchange:
        """Send one request to ``base_url + path`` and record the whole response."""

    def stream(
        self, method: str, path: str, *, json: Any = None, headers: Mapping[str, str] | None = None,
        key: KeyChoice = DEFAULT, retry_429: bool = True, scripted: bool | None = None,
        watch: StreamWatch | None = None,
    ) -> Exchange:
        """Like `request`, with the stream bounds; an SSE body is read as it arrives (``watch``:
        each event's arrival time, and an early hang-up)."""

    def fetch(self, url: str) -> Exchange:
        """GET an absolute URL (credentials only under ``base_url``)."""

    def concurrently(self, *sends: Callable[[], T]) -> list[T]:
        """Run independent sends at once; results in order."""
