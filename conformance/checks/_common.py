"""Small helpers every check module shares, so each rule is written once.

This module owns: the integer test JSON Schema uses (``is_int``: a bool is not an integer), the
JSON-pointer spelling of a path (``pointer``, escaping through the ``jsonpointer`` library), and
re-exports the SSE reader's ``[DONE]`` test and strict JSON parser so that the framing checks and
the reader share one idea of what a sentinel and valid JSON are.

Pure: it imports only the standard library, ``jsonpointer`` and ``conformance.sse``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeGuard

from jsonpointer import escape

from conformance.sse import is_done, loads_strict

__all__ = ["escape", "is_done", "is_int", "loads_strict", "pointer"]


def is_int(value: object) -> TypeGuard[int]:
    """True for a JSON integer (a Python ``int`` that is not a ``bool``)."""
    return isinstance(value, int) and not isinstance(value, bool)


def pointer(parts: Iterable[str | int]) -> str:
    """The JSON pointer (RFC 6901) of a path: ``("a/b", 0)`` -> ``/a~1b/0``; ``()`` -> ``""``."""
    return "".join("/" + escape(str(part)) for part in parts)
