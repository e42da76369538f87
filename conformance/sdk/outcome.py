"""The outcome of replaying one exchange through the SDK, and how it reads in a report."""

from __future__ import annotations

import enum
from dataclasses import dataclass

#: The pinned client the lane speaks for (pyproject pins ``openai`` to this version).
SDK_NAME = "openai-python"

_DETAIL_LIMIT = 240


class Outcome(str, enum.Enum):
    """What the typical caller experienced."""

    PARSES = "parses"
    RAISES = "raises"
    PARSES_DIFFERENTLY = "parses-differently"
    NOT_COVERED = "not-covered"


@dataclass(frozen=True, slots=True)
class PassResult:
    """One pass (lenient or strict) of the replay."""

    outcome: Outcome
    detail: str = ""

    def text(self) -> str:
        """``raises APIResponseValidationError: ...``, ``parsed without error``, ..."""
        if self.outcome is Outcome.PARSES:
            return "parsed without error" + (f" ({self.detail})" if self.detail else "")
        if self.outcome is Outcome.RAISES:
            return f"raises {self.detail}"
        if self.outcome is Outcome.PARSES_DIFFERENTLY:
            return f"parses differently: {self.detail}"
        return f"not covered ({self.detail})"


@dataclass(frozen=True, slots=True)
class ClientImpact:
    """The lenient pass (what users run; it decides) and the strict pass beside it."""

    version: str
    lenient: PassResult
    strict: PassResult | None = None

    @property
    def outcome(self) -> Outcome:
        """The deciding outcome: the lenient pass's."""
        return self.lenient.outcome

    def text(self) -> str:
        """One line for evidence: ``openai-python 3.51.0: raises X: ... (strict: ...)``."""
        line = f"{SDK_NAME} {self.version}: {self.lenient.text()}"
        if self.strict is not None and self.strict != self.lenient:
            line += f" (strict validation: {self.strict.text()})"
        return line


def clip(text: str, limit: int = _DETAIL_LIMIT) -> str:
    """A detail cut to one short line (SDK messages can quote whole bodies)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."
