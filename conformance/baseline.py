"""The baseline file: requirement ids known to fail on a target, each with an optional reason.

Format (plain text, one entry a line)::

    # comments and blank lines are ignored
    chat.stream.done-sentinel   upstream proxy strips the sentinel (GW-123)
    errors.unknown-model-rejected
    gpt-4o-mini:chat.n-choices  that model ignores n (a model matrix entry: MODEL:requirement-id)

A listed failure does not fail the run; an unlisted one does; a listed requirement that now
passes fails the run as stale, so the list only ever shrinks.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from pathlib import Path

from conformance.errors import BaselineError

_ID = re.compile(r"^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$")


def parse_baseline(text: str, known_ids: Collection[str], *, source: str = "baseline") -> dict[str, str]:
    """Parse baseline text into ``{entry: reason}``; an entry is a requirement id or ``MODEL:id``.

    Raises:
        BaselineError: a malformed line, an unknown id (with the closest known ids) or a duplicate.
    """
    entries: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        entry, _, reason = line.partition(" ")
        model, colon, rid = entry.rpartition(":")
        where = f"{source}:{number}"
        if colon and not model:
            raise BaselineError(f"{where}: {entry!r} names no model; a model entry is 'MODEL:requirement-id'")
        if not _ID.match(rid):
            raise BaselineError(
                f"{where}: {rid!r} is not a requirement id; each line is '<requirement-id> [reason]', "
                "e.g. 'chat.stream.done-sentinel proxy strips it'"
            )
        if rid not in known_ids:
            close = difflib.get_close_matches(rid, list(known_ids), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise BaselineError(
                f"{where}: unknown requirement id {rid!r}{hint}; "
                "see `nexhina-conformance list requirements`"
            )
        if entry in entries:
            raise BaselineError(f"{where}: {entry!r} is listed twice")
        entries[entry] = reason.strip()
    return entries


def load_baseline(path: Path, known_ids: Collection[str]) -> dict[str, str]:
    """Read and parse a baseline file (BaselineError when unreadable or malformed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BaselineError(f"cannot read baseline file {path}: {exc.strerror}") from exc
    return parse_baseline(text, known_ids, source=str(path))
