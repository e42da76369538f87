"""The black-box key-echo check: an error answer never repeats a presented API key in full.

Pure: judges one exchange against the key that was presented. A masked form that keeps a
few characters (``sk-abc***xyz``) is fine; only the whole key is a leak.
"""

from __future__ import annotations

from conformance.checks._judged import judges
from conformance.model import Exchange, Violation


@judges("auth.key-not-echoed")
def check_key_not_echoed(exchange: Exchange, key: str) -> list[Violation]:
    """An error answer (4xx/5xx) contains ``key`` neither in its body nor in a header."""
    if exchange.status is None or exchange.status < 400:
        return []
    where = [f"header {name}" for name, value in exchange.response_headers.items() if key in value]
    if key.encode() in exchange.body:
        where.append("body")
    return [Violation("auth.key-not-echoed", "the presented key masked or absent", "the key in full", w)
            for w in where]
