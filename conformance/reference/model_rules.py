"""The reference's model with parameter rules: a reasoning model, as current providers serve them.

Owns `REASONING_MODEL` (served for chat when ``ReferenceConfig.ruled_models`` is on) and
`enforce`: that model refuses ``max_tokens`` (it takes ``max_completion_tokens``) and any
``temperature`` or ``top_p`` other than 1, with a 400 whose error names the parameter, as
the providers' reasoning models do. It proves the suite's model rules (issue 19, D72) both
ways: without rules the suite's own ``max_tokens`` fails nearly every chat test; declared in
the target file or learned by the preflight, every request adapts and a test about
``max_tokens`` is NOT_SUPPORTED.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from conformance.reference.api_error import ApiError

__all__ = ["REASONING_MODEL", "enforce"]

#: The chat model with parameter rules.
REASONING_MODEL: Final = "ref-reason"
#: Sampling parameters the reasoning model takes only at their default.
_FIXED: Final[Mapping[str, float]] = {"temperature": 1.0, "top_p": 1.0}


def enforce(model: str, body: Mapping[str, Any]) -> None:
    """Raise the 400 the reasoning model answers to a parameter it does not take."""
    if model != REASONING_MODEL:
        return
    if "max_tokens" in body:
        raise ApiError(400, "Unsupported parameter: 'max_tokens' is not supported with this model. "
                            "Use 'max_completion_tokens' instead.", param="max_tokens", code="unsupported_parameter")
    for name, default in _FIXED.items():
        value = body.get(name)
        if value is not None and value != default:
            raise ApiError(400, f"Unsupported value: '{name}' does not support {value!r} with this model. "
                                f"Only the default ({default:g}) value is supported.", param=name,
                           code="unsupported_value")
