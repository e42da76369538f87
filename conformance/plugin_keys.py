"""The stash keys the plugin shares with the suites (public, so suites never import the plugin).

The plugin puts the run's resolved `Settings` under `SETTINGS` in ``pytest_configure`` (suites read it
at collection, before any fixture exists); the platform lane puts its run id and leftovers under
`PLATFORM_RUN` at teardown, and the plugin writes them to the reports.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.config import Settings

__all__ = ["PLATFORM_RUN", "SETTINGS"]

#: The run's resolved settings (set by the plugin's ``pytest_configure``).
SETTINGS = pytest.StashKey[Settings]()
#: The platform lane's run id and leftovers (set by its run_objects fixture at teardown).
PLATFORM_RUN = pytest.StashKey[dict[str, Any]]()
