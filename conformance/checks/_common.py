"""Small helpers every check module shares, so each rule is written once.

This module owns:

- the "schema minus what dedicated checks own" preamble of the answer-schema checks
  (``schema_violations``, ``owned_by``);
- the integer test JSON Schema uses (``is_int``: a bool is not an integer);
- the JSON-pointer spelling of a path (``pointer``: ``spec_rules.path_pointer``, escaping
  through the ``jsonpointer`` library, the one spelling the spec's messages use too);
- the SSE reader's ``[DONE]`` test and strict JSON parser, re-exported so the framing checks and
  the reader share one idea of what a sentinel and valid JSON are.

Pure: of ours it imports only ``model``, ``spec``, ``spec_rules`` and ``sse``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TypeGuard

from conformance import spec
from conformance.model import Violation
from conformance.spec_rules import path_pointer as pointer
from conformance.sse import is_done, loads_strict

__all__ = ["OBJECT_MISSING", "is_done", "is_int", "loads_strict", "misses_object", "owned_by", "pointer",
           "schema_violations"]


#: The pattern of ``owned`` that gives the top-level ``object`` member to a dedicated check.
OBJECT_PLACE = r"^/object$"
#: How JSON Schema says the ``object`` member is missing (at ``/``, in the message).
OBJECT_MISSING = "'object' is a required property"


def is_int(value: object) -> TypeGuard[int]:
    """True for a JSON integer (a Python ``int`` that is not a ``bool``)."""
    return isinstance(value, int) and not isinstance(value, bool)


def owned_by(violation: Violation, owned: Iterable[re.Pattern[str]]) -> bool:
    """True when a dedicated check owns the place of ``violation`` (one of ``owned`` matches its ``where``)."""
    return any(pattern.match(violation.where or "") for pattern in owned)


def misses_object(violation: Violation) -> bool:
    """True for a schema violation saying the answer's top-level ``object`` member is missing.

    Its place is ``/`` (where JSON Schema reports a missing required member), so the
    ``^/object$`` patterns of ``owned`` cannot see it; the checks that own ``/object`` judge a
    missing member as a wrong one (D71).
    """
    return violation.where == "/" and OBJECT_MISSING in violation.expected


def schema_violations(body: Any, schema: str, requirement: str, owned: Iterable[re.Pattern[str]]) -> list[Violation]:
    """``body`` against component ``schema``, minus the places dedicated checks own (reported once, there)."""
    owned = tuple(owned)
    found = spec.validate(body, schema, requirement=requirement)
    if any(pattern.pattern == OBJECT_PLACE for pattern in owned):
        found = [v for v in found if not misses_object(v)]
    return [v for v in found if not owned_by(v, owned)]
