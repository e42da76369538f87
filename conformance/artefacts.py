"""Files a run leaves beside its reports: the uploads its curl lines name, and DECISIONS.md.

A failing exchange's curl line names each uploaded file as ``uploads/<sha256>.<ext>``
relative to the report directory (D31); `save_uploads` writes those files there.
`copy_decisions` copies the decisions document the failure messages cite (D32).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from conformance.model import Exchange
from conformance.spec import openapi_dir

DECISIONS_FILE = "DECISIONS.md"


def decisions_path() -> Path:
    """The decisions document: the packaged copy, or the repository's ``openapi/`` one."""
    return openapi_dir() / DECISIONS_FILE


def copy_decisions(directory: Path) -> Path:
    """Copy DECISIONS.md into ``directory``; return the copy's path."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / DECISIONS_FILE
    shutil.copyfile(decisions_path(), target)
    return target


def save_uploads(directory: Path, exchanges: Iterable[Exchange]) -> list[Path]:
    """Write every file the exchanges' curl lines name under ``directory`` (each once)."""
    written: list[Path] = []
    for exchange in exchanges:
        for relative, data in exchange.uploads():
            path = directory / relative
            if path in written:
                continue
            if not path.exists():        # content-addressed: an existing file holds these bytes
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            written.append(path)
    return written
