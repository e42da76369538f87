"""nexhina-conformance: the contract-test and conformance suite for the Nexhina API.

Run it with ``nexhina-conformance run`` (see README.md); use it as a pytest plugin with
``pytest --pyargs conformance.suites --nexhina-base-url URL``.

Owns: the package's public API, `__all__` (a test pins it). Names outside it, and every
module not reached through it, may change between releases. The names are loaded lazily
(PEP 562): ``import conformance.checks.chat`` does not pull in the catalogue or settings.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

try:
    __version__ = version("nexhina-conformance")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

if TYPE_CHECKING:  # the same names, for type checkers (at run time `__getattr__` loads them)
    from conformance.config import Settings, describe, load_target_file, resolve
    from conformance.errors import (
        CatalogueError,
        ConfigError,
        ConformanceError,
        SpecError,
        TransportError,
    )
    from conformance.model import (
        Exchange,
        ExchangeOutcome,
        Findings,
        Level,
        Requirement,
        SSETranscript,
        Verdict,
        Violation,
    )
    from conformance.profiles import CORE_FEATURES, FEATURES, PROFILES, Profile
    from conformance.requirements import Catalogue, load_catalogue

#: Public name -> the module that defines it.
_HOME: dict[str, str] = {
    **dict.fromkeys(("Settings", "describe", "load_target_file", "resolve"), "conformance.config"),
    **dict.fromkeys(("CatalogueError", "ConfigError", "ConformanceError", "SpecError", "TransportError"),
                    "conformance.errors"),
    **dict.fromkeys(("Exchange", "ExchangeOutcome", "Findings", "Level", "Requirement", "SSETranscript",
                     "Verdict", "Violation"), "conformance.model"),
    **dict.fromkeys(("CORE_FEATURES", "FEATURES", "PROFILES", "Profile"), "conformance.profiles"),
    **dict.fromkeys(("Catalogue", "load_catalogue"), "conformance.requirements"),
}

__all__ = [
    "CORE_FEATURES",
    "FEATURES",
    "PROFILES",
    "Catalogue",
    "CatalogueError",
    "ConfigError",
    "ConformanceError",
    "Exchange",
    "ExchangeOutcome",
    "Findings",
    "Level",
    "Profile",
    "Requirement",
    "SSETranscript",
    "Settings",
    "SpecError",
    "TransportError",
    "Verdict",
    "Violation",
    "__version__",
    "describe",
    "load_catalogue",
    "load_target_file",
    "resolve",
]


def __getattr__(name: str) -> object:
    """Load a public name from its module on first use."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'conformance' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
