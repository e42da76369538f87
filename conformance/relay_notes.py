"""What the report says about a relay beyond verdicts: the allowed rewrites it made, computed usage.

Owns the notes of D104: ``rewrites_made`` (which of the rewrites D41 allows a gateway made on
the way upstream, seen in one request pair), ``computed_usage`` (the client got usage the
upstream never reported: allowed by D43, noted), the per-process notes file the relay
suite writes into the report directory (``relay-notes-<worker>.json``) and ``note_lines``,
the summary lines made of all of them. Judges nothing (the checks do); no HTTP.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: The notes files of one run, one per process, in its report directory.
NOTES_GLOB = "relay-notes-*.json"


def rewrites_made(sent: Mapping[str, Any], received: Any) -> list[str]:
    """The allowed rewrites (D41) visible in what the client ``sent`` and the upstream ``received``."""
    if not isinstance(received, Mapping):
        return []
    made = []
    if "model" in sent and received.get("model") != sent["model"]:
        made.append(f"model mapped: {sent['model']} -> {received.get('model')}")
    options = received.get("stream_options")
    if (sent.get("stream") is True and isinstance(options, Mapping) and options.get("include_usage") is True
            and not (isinstance(sent.get("stream_options"), Mapping) and sent["stream_options"].get("include_usage"))):
        made.append("stream_options.include_usage added")
    if "max_tokens" in sent and "max_tokens" not in received and "max_completion_tokens" in received:
        made.append("max_tokens sent as max_completion_tokens")
    return made


def computed_usage(upstream_answer: Any, client_answer: Any) -> bool:
    """Whether the client's answer carries usage the upstream's answer did not report (D43)."""
    upstream_usage = upstream_answer.get("usage") if isinstance(upstream_answer, Mapping) else None
    client_usage = client_answer.get("usage") if isinstance(client_answer, Mapping) else None
    return upstream_usage is None and isinstance(client_usage, Mapping)


def write_notes(report_dir: Path, worker: str, notes: Iterable[str]) -> Path | None:
    """Write this process's notes (None when there are none)."""
    listed = list(notes)
    if not listed:
        return None
    path = report_dir / f"relay-notes-{worker}.json"
    path.write_text(json.dumps(listed, indent=2), encoding="utf-8")
    return path


def note_lines(report_dir: Path) -> list[str]:
    """Summary lines: each distinct note of the run's relay, with how often it was seen."""
    counts: Counter[str] = Counter()
    for path in sorted(report_dir.glob(NOTES_GLOB)):
        try:
            notes = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(notes, list):
            counts.update(str(n) for n in notes if isinstance(n, str))
    return [f"relay note: {note} ({n}x)" for note, n in sorted(counts.items())]
