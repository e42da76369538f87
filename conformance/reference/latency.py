"""A fixed added latency in front of the reference gateway (``serve --latency-ms``).

Owns one ASGI wrapper: every HTTP request waits ``ms`` milliseconds (asynchronously, so
concurrent requests overlap) before the app answers, as a remote gateway would. Used by the
scale benchmark (``python -m conformance.bench_matrix``): a latency-bound run is not CPU-bound.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send


def with_latency(app: ASGIApp, ms: float) -> ASGIApp:
    """``app`` with ``ms`` milliseconds added before every HTTP answer (``ms <= 0``: ``app`` itself)."""
    if ms <= 0:
        return app

    async def delayed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await asyncio.sleep(ms / 1000.0)
        await app(scope, receive, send)

    return delayed
