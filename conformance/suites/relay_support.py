"""The relay suite's notes fixture: rewrites and computed usage the report lists (D104).

Owns ``relay_notes`` and ``relay_media_notes`` (the media relay tests'), session lists the
relay tests add notes to (``conformance.relay_notes`` makes them); at the end of the session
this process's notes are written into the run's report directory, where the run's summary
gathers them. Judges nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.relay_notes import write_notes


@pytest.fixture(scope="session")
def relay_notes(pytestconfig: pytest.Config) -> Iterator[list[str]]:
    """Notes of this process's relay tests, written to ``relay-notes-<worker>.json`` at the end."""
    notes: list[str] = []
    yield notes
    _write(pytestconfig, "", notes)


@pytest.fixture(scope="session")
def relay_media_notes(pytestconfig: pytest.Config) -> Iterator[list[str]]:
    """Notes of this process's media relay tests, in ``relay-notes-<worker>-media.json`` (a file
    of their own: two modules' session fixtures must not overwrite each other's notes)."""
    notes: list[str] = []
    yield notes
    _write(pytestconfig, "-media", notes)


def _write(pytestconfig: pytest.Config, suffix: str, notes: list[str]) -> None:
    worker_input = getattr(pytestconfig, "workerinput", {})
    given = pytestconfig.getoption("nexhina_report_dir", None) or worker_input.get("nexhina_report_dir")
    if given and Path(str(given)).is_dir():
        write_notes(Path(str(given)), str(worker_input.get("workerid", "main")) + suffix, notes)
