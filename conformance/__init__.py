"""nexhina-conformance: the contract-test and conformance suite for the Nexhina API.

Run it with ``nexhina-conformance run`` (see README.md); use it as a pytest plugin with
``pytest --pyargs conformance.suites --nexhina-base-url URL``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nexhina-conformance")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
