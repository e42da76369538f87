"""Optional members sent as ``null``: which of a schema's null errors stand for a missing value (D66).

The official SDKs type optional fields as optional and accept ``null``, so a ``null`` where the
schema wants a value is accepted unless the schema requires the member. This module owns that
decision (``optional_null_paths``); ``conformance.spec`` applies it in ``validate`` and lists the
accepted nulls in ``optional_nulls``. Pure: it validates through the function it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jsonschema.exceptions import ValidationError

__all__ = ["optional_null_paths"]


def _without(instance: Any, paths: set[tuple[str | int, ...]], here: tuple[str | int, ...] = ()) -> Any:
    """A copy of ``instance`` without the object members at ``paths``."""
    if isinstance(instance, dict):
        return {k: _without(v, paths, (*here, k)) for k, v in instance.items() if (*here, k) not in paths}
    if isinstance(instance, list):
        return [_without(v, paths, (*here, i)) for i, v in enumerate(instance)]
    return instance


def optional_null_paths(
    instance: Any, errors: list[ValidationError], errors_of: Callable[[Any], list[ValidationError]]
) -> set[tuple[str | int, ...]]:
    """Paths of object members sent as null that the schema rejects but does not require (D66).

    A member whose null the schema rejects is dropped and the rest validated again: if the
    schema then misses it as required, the null stands for a required value and stays an error.

    Args:
        instance: the decoded JSON value.
        errors: the schema errors of ``instance``.
        errors_of: the same validation applied to another instance (the copy without the nulls).
    """
    nulls = {
        tuple(e.absolute_path)
        for e in errors
        if e.instance is None and e.absolute_path and isinstance(e.absolute_path[-1], str)
    }
    if not nulls:
        return set()
    required: set[tuple[str | int, ...]] = set()
    for error in errors_of(_without(instance, nulls)):
        if error.validator == "required" and isinstance(error.instance, dict):
            base = tuple(error.absolute_path)
            required |= {(*base, key) for key in error.validator_value if key not in error.instance}
    return nulls - required
