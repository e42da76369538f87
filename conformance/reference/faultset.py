"""The set of faults switched on for one request to the reference."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FaultSet:
    """Names of active faults (``<requirement-id>`` or ``<requirement-id>@<variant>``)."""

    names: frozenset[str] = field(default_factory=frozenset)

    def on(self, name: str) -> bool:
        """True when the fault ``name`` is active."""
        return name in self.names

    def __bool__(self) -> bool:
        return bool(self.names)


NO_FAULTS = FaultSet()
