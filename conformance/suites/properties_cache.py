"""The property suite's case cache: one operation's generated cases, kept for the next run (D126).

Which cases an operation's property test draws depends only on the spec, the seed, the example
count, the code that configures and samples the generation and the library versions (D34, D123):
never on an answer, a model, the target or the process. Building and drawing them is most of the
property phase's CPU (about 1.8 s of a full run on the 2-core machine; chat alone 1 s). So the
first run keeps, per operation, the sequence of cases Hypothesis handed over (each as it arrived,
before the suite capped it) and the coverage sample; a later run with the same key replays that
sequence instead of generating it. The requests, their order, the verdicts and the digest of
what was sent are the same either way (``tests/suites/test_properties_cache.py`` holds them equal).

Owns :func:`cache_root` (the user's cache directory of the tool: Hypothesis's files live there
too, D124), :func:`cache_key`, :class:`CaseCache` (load, save, prune) and the snapshot format of
one case (:func:`snapshot`, :func:`restore`). Files are pickles written by this module into the
user's own cache directory; a file that does not load (another format, truncated, another
library) is ignored and generated again. ``properties.case_cache = false`` (or
``NEXHINA_CASE_CACHE=0``) turns it off.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
import os
import pickle
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemathesis.core import NOT_SET
from schemathesis.generation.case import Case

from conformance.spec import SPEC_PATH

if TYPE_CHECKING:
    from conformance.config import Settings

logger = logging.getLogger("conformance.suites.properties")

#: Bumped whenever the file layout or the snapshot of a case changes.
FORMAT = 1
#: Files kept in the cache directory (oldest removed first): about 15 seed/example-count pairs.
MAX_FILES = 200
#: Libraries whose versions change what is generated.
_LIBRARIES = ("schemathesis", "hypothesis", "hypothesis-jsonschema", "jsonschema-rs")
#: Our modules that configure the generation or choose which generated cases are kept.
_GENERATION_MODULES = ("properties_schema.py", "properties_cases.py", "properties_cache.py")
_SAMPLING_MODULE = Path(__file__).resolve().parents[1] / "checks" / "properties_sampling.py"
#: Meta fields that track in-place changes with per-process hashes: rebuilt on restore.
_TRACKING = ("_dirty", "_last_validated_hashes", "_initial_hashes", "_initial_containers")
_NOT_SET_ID = "schemathesis.NOT_SET"
_OPERATION_ID = "schemathesis.operation"


def cache_root() -> Path:
    """The tool's directory in the user's cache (``$XDG_CACHE_HOME``, else ``~/.cache``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nexhina-conformance"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def cache_key(label: str, settings: Settings) -> str:
    """The key of one operation's cases: everything that decides which cases are drawn and kept."""
    here = Path(__file__).resolve().parent
    code = hashlib.sha256()
    for path in [*(here / name for name in _GENERATION_MODULES), _SAMPLING_MODULE, SPEC_PATH]:
        code.update(path.read_bytes())
    parts = {
        "format": FORMAT, "label": label, "seed": settings.properties.seed,
        "max_examples": settings.properties.max_examples, "code": code.hexdigest(),
        "python": list(sys.version_info[:2]), "libraries": {name: _version(name) for name in _LIBRARIES},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


# --------------------------------------------------------------------------- one case


class _Pickler(pickle.Pickler):
    """Keeps the operation out of a snapshot and Schemathesis' NOT_SET a singleton."""

    def __init__(self, file: io.BytesIO, operation: object) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._operation = operation

    def persistent_id(self, obj: Any) -> str | None:  # noqa: D102 - pickle's hook
        if obj is NOT_SET:
            return _NOT_SET_ID
        if obj is self._operation:
            return _OPERATION_ID
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, operation: object) -> None:
        super().__init__(file)
        self._operation = operation

    def persistent_load(self, pid: Any) -> Any:  # noqa: D102 - pickle's hook
        if pid == _NOT_SET_ID:
            return NOT_SET
        if pid == _OPERATION_ID:
            return self._operation
        raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")


def snapshot(case: Case[Any]) -> bytes:
    """One generated case as it arrived (its metadata as the suite first reads it), as bytes."""
    meta = case.meta            # revalidated now if it must be, as the suite's first look would
    if meta is not None:
        meta = copy.copy(meta)
        for name in _TRACKING:   # per-process hashes: the restored case tracks changes afresh
            setattr(meta, name, type(getattr(meta, name))())
    fields = {
        "method": case.method, "path": case.path, "id": case.id, "path_parameters": case.path_parameters,
        "headers": case.headers, "cookies": case.cookies, "query": case.query, "body": case.body,
        "media_type": case.media_type, "multipart_content_types": case.multipart_content_types, "meta": meta,
    }
    buffer = io.BytesIO()
    _Pickler(buffer, case.operation).dump(fields)
    return buffer.getvalue()


def restore(data: bytes, operation: Any) -> Case[Any]:
    """The case a :func:`snapshot` holds, for ``operation`` (the live Schemathesis operation)."""
    fields = _Unpickler(io.BytesIO(data), operation).load()
    return Case(operation, fields.pop("method"), fields.pop("path"), **fields)


# --------------------------------------------------------------------------- one operation's file


@dataclass(frozen=True)
class CachedCases:
    """What one operation's generation produced: the coverage sample, the number of unsent
    coverage cases, and the cases in the order Hypothesis handed them over."""

    plan: frozenset[str]
    unplanned: int
    cases: tuple[Case[Any], ...]


class CaseCache:
    """The cache file of one operation's cases under one key."""

    def __init__(self, key: str, directory: Path | None = None) -> None:
        self.directory = directory or cache_root() / "cases"
        self.path = self.directory / f"{key}.pickle"

    @classmethod
    def for_run(cls, label: str, settings: Settings) -> CaseCache | None:
        """The cache of ``label``'s cases in this run, or None when the run does not cache."""
        return cls(cache_key(label, settings)) if settings.properties.case_cache else None

    def load(self, operation: Any) -> CachedCases | None:
        """The cached cases, restored for ``operation`` (the live Schemathesis operation), or None
        (no file, or one that does not load or restore)."""
        try:
            raw = self.path.read_bytes()
        except OSError:
            return None
        try:
            stored = pickle.loads(raw)  # noqa: S301 - written by this module into the user's own cache
            if stored.get("format") != FORMAT:
                return None
            cases = tuple(restore(data, operation) for data in stored["cases"])
            return CachedCases(frozenset(stored["plan"]), int(stored["unplanned"]), cases)
        except Exception as exc:  # noqa: BLE001 - any broken file means: generate again
            logger.info("ignoring the case cache file %s: %s", self.path, exc)
            return None

    def save(self, plan: frozenset[str], unplanned: int, cases: Sequence[bytes]) -> None:
        """Write the file atomically (concurrent workers may write the same key); never raises."""
        stored = {"format": FORMAT, "plan": sorted(plan), "unplanned": unplanned, "cases": list(cases)}
        temporary: Path | None = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.directory, suffix=".tmp", delete=False) as handle:
                temporary = Path(handle.name)
                pickle.dump(stored, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, self.path)
            temporary = None
            self._prune()
        except OSError as exc:
            logger.info("cannot write the case cache file %s: %s", self.path, exc)
        finally:
            if temporary is not None:
                temporary.unlink(missing_ok=True)

    def _prune(self) -> None:
        files = sorted(self.directory.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in files[MAX_FILES:]:
            stale.unlink(missing_ok=True)
