"""The reference app's ASGI lifespan: what runs when its server stops.

Owns ``closing_lifespan``: on shutdown it awaits the close of the gateway's outbound HTTP
clients (the relay's and its store channels'), in the server's own event loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any


def closing_lifespan(close: Callable[[], Awaitable[None]]) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """A Starlette lifespan that calls ``close`` on shutdown (also when startup is cut short)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await close()

    return lifespan
