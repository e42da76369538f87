"""Run-unique markers: ``nxc-<run>-<script>.<n>``, the key that selects an upstream script.

The marker travels in content every gateway must forward (the last user message, the
Responses input, the embeddings input, a multipart text field), so it survives any
rewriting of headers or model names. Owns making (``MarkerFactory``) and finding
(``find_marker``) markers; pure, no I/O.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
from dataclasses import dataclass

#: ``nxc-`` + 8 hex digits of the run + ``-`` + a kebab script name + ``.`` + a case number.
MARKER_RE = re.compile(rb"nxc-(?P<run>[0-9a-f]{8})-(?P<script>[a-z0-9]+(?:-[a-z0-9]+)*)\.(?P<case>[0-9]+)")


@dataclass(frozen=True)
class Marker:
    """One parsed marker: the run it belongs to, the script it selects and its case number."""

    run: str
    script: str
    case: int

    def __str__(self) -> str:
        return f"nxc-{self.run}-{self.script}.{self.case}"


def new_run_id() -> str:
    """Eight random hex digits: different for every run, so records of two runs never mix."""
    return secrets.token_hex(4)


class MarkerFactory:
    """Makes the markers of one run: each call a new case number (thread-safe)."""

    def __init__(self, run: str) -> None:
        self.run = run
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def __call__(self, script: str) -> Marker:
        """A fresh marker selecting ``script``."""
        with self._lock:
            case = next(self._counter)
        return Marker(self.run, script, case)


def find_marker(body: bytes, run: str | None = None) -> Marker | None:
    """The last marker in ``body`` (of ``run`` when given), or None.

    The last one wins: the marker sits in the last user message, and an earlier turn of a
    conversation may quote another one.
    """
    found = None
    for match in MARKER_RE.finditer(body):
        if run is None or match["run"].decode() == run:
            found = match
    if found is None:
        return None
    return Marker(found["run"].decode(), found["script"].decode(), int(found["case"]))
