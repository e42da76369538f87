"""Which requirements a check judged: the contract behind an earned PASS.

A check returns its violations; a requirement may only PASS where a check for it ran and
found nothing. :func:`judges` declares, on each check function, the ids it evaluates, and
wraps its result in a :class:`~conformance.model.Findings` that carries them to the
recorder. A check that already returns ``Findings`` (to narrow what it judged, e.g. when it
could not look) is left as it is.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import ParamSpec

from conformance.model import Findings, Violation

P = ParamSpec("P")


def judges(*ids: str, param: str | None = None) -> Callable[[Callable[P, Iterable[Violation]]], Callable[P, Findings]]:
    """Declare the ids a check evaluates; ``param`` names an argument that holds one more id.

    >>> @judges("chat.response.object")
    ... def check(body): return []
    >>> sorted(check({}).judged)
    ['chat.response.object']
    """

    def decorate(func: Callable[P, Iterable[Violation]]) -> Callable[P, Findings]:
        signature = inspect.signature(func) if param is not None else None

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Findings:
            result = func(*args, **kwargs)
            if isinstance(result, Findings):
                return result
            judged = set(ids)
            if signature is not None and param is not None:
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                value = bound.arguments.get(param)
                if isinstance(value, str):
                    judged.add(value)
            return Findings(result, judged=judged)

        return wrapper

    return decorate
