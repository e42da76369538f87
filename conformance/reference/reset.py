"""A response that is no response: the reference closes the connection without answering.

Owns `ConnectionReset`, the "answer" of transport faults such as ``errors.malformed-json@reset``
(a gateway that drops the connection on every malformed JSON body). Under uvicorn the ASGI
``receive`` callable is bound to the request cycle that holds the socket's transport; aborting
it closes the connection before any status line, and yielding once lets uvicorn see the
disconnect (so it neither writes a 500 nor logs an error). Under an in-process ASGI client
(no socket) the abort is an exception, which such a client also surfaces as "no answer".
"""

from __future__ import annotations

import asyncio

from starlette.responses import Response
from starlette.types import Receive, Scope, Send


class ConnectionReset(Response):
    """Abort the connection instead of answering (a transport fault of the reference)."""

    def __init__(self) -> None:
        super().__init__(b"", status_code=599)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cycle = getattr(receive, "__self__", None)
        transport = getattr(cycle, "transport", None)
        if transport is None or not hasattr(transport, "abort"):
            raise ConnectionResetError("the reference resets this connection (fault)")
        transport.abort()
        await asyncio.sleep(0)   # connection_lost runs: uvicorn marks the cycle disconnected
