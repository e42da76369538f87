"""Small helpers every check module shares, so each rule is written once.

This module owns: the integer test JSON Schema uses (``is_int``: a bool is not an integer), the
JSON-pointer spelling of a path (``pointer``: ``spec_rules.path_pointer``, escaping through the
``jsonpointer`` library, the one spelling the spec's messages use too), and re-exports the SSE
reader's ``[DONE]`` test and strict JSON parser so that the framing checks and
the reader share one idea of what a sentinel and valid JSON are.

Pure: it imports only the standard library, ``conformance.spec_rules`` and ``conformance.sse``.
"""

from __future__ import annotations

from typing import TypeGuard

from conformance.spec_rules import path_pointer as pointer
from conformance.sse import is_done, loads_strict

__all__ = ["is_done", "is_int", "loads_strict", "pointer"]


def is_int(value: object) -> TypeGuard[int]:
    """True for a JSON integer (a Python ``int`` that is not a ``bool``)."""
    return isinstance(value, int) and not isinstance(value, bool)
