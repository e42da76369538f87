"""The run ledger: state one run shares across its xdist workers, behind a file lock.

Owns the whole-run request budget, the model rules the preflight learned (issue 19),
the count of requests per operation, the run's deadline
and the circuit breakers per (operation, streamed or not). The controller creates the ledger
file in a run directory before any test; workers open the same file (its path travels in the
xdist ``workerinput``). Every update takes an exclusive ``fcntl`` lock on the file, reads the
JSON document, changes it and writes it back: a few hundred microseconds per request, small
next to any round trip. `Ledger.memory` is the same logic without a file (one process).

Breaker rule: 2 consecutive *trouble* outcomes (no response in time, refused or reset before
an answer, a body cut at its deadline or stalled)
of one (operation, mode) open it for the rest of the run; any answer in between closes the
count. The transport asks `Ledger.breaker_open` before sending and reports each outcome
after any retry; requests marked scripted are never counted.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "BILLABLE",
    "BREAKER_THRESHOLD",
    "Ledger",
    "OperationKey",
    "billable_count",
    "operation_of",
]

#: Consecutive trouble outcomes of one (operation, mode) that open its breaker.
BREAKER_THRESHOLD = 2
#: Operations that make the target generate (a paid call on a real gateway).
BILLABLE: frozenset[str] = frozenset({
    "POST /chat/completions", "POST /responses", "POST /images/generations", "POST /audio/speech",
    "POST /video/generations",
})
#: How many recent trouble lines a breaker keeps for its message.
_KEEP = 2
_TEMPLATES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^/models/[^/]+$"), "/models/{model}"),
    (re.compile(r"^/video/generations/[^/]+$"), "/video/generations/{task_id}"),
    # Management paths with an object id (D102): one operation each, not one per id.
    (re.compile(r"^/api/(?:channel/test|token|channel|redemption)/\d+$"), ""),
    (re.compile(r"^/api/token/\d+/key$"), "/api/token/{id}/key"),
)


def operation_of(method: str, path: str) -> str:
    """``"POST /chat/completions"`` for a request path (query dropped, path ids templated)."""
    bare = path.split("?", 1)[0].split("#", 1)[0] or "/"
    for pattern, template in _TEMPLATES:
        if pattern.match(bare):
            bare = template or bare[:bare.rstrip("/").rfind("/")] + "/{id}"
            break
    return f"{method.upper()} {bare}"


def billable_count(per_operation: Mapping[str, int]) -> int:
    """How many of the counted requests were billable generation calls."""
    return sum(n for op, n in per_operation.items() if op in BILLABLE)


@dataclass(frozen=True)
class OperationKey:
    """The unit a breaker guards: one operation, streamed or not."""

    operation: str
    streamed: bool

    def __str__(self) -> str:
        return f"{self.operation} ({'streamed' if self.streamed else 'not streamed'})"


def _empty(max_requests: int, deadline: float | None) -> dict[str, Any]:
    return {"max_requests": max_requests, "deadline": deadline, "sent": 0, "refused": 0,
            "per_operation": {}, "breakers": {}}


class Ledger:
    """The shared state of one run (see the module docstring).

    Create it with `Ledger.create` (controller), `Ledger.open` (a worker) or `Ledger.memory`.
    """

    FILE = "ledger.json"

    def __init__(self, path: Path | None, state: dict[str, Any] | None = None) -> None:
        self._path = path
        self._state = state if state is not None else _empty(2000, None)
        self._thread_lock = threading.RLock()   # threads of one process; the file lock spans processes

    # ------------------------------------------------------------------ construction

    @classmethod
    def create(cls, directory: Path, *, max_requests: int, deadline: float | None) -> Ledger:
        """A fresh ledger file in ``directory`` (created if needed); replaces an old one."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / cls.FILE
        path.write_text(json.dumps(_empty(max_requests, deadline)), encoding="utf-8")
        return cls(path)

    @classmethod
    def open(cls, path: Path) -> Ledger:
        """The ledger another process created at ``path``."""
        return cls(path)

    @classmethod
    def memory(cls, *, max_requests: int, deadline: float | None = None) -> Ledger:
        """A ledger of one process only (no file)."""
        return cls(None, _empty(max_requests, deadline))

    @property
    def path(self) -> Path | None:
        """The shared file, or None for an in-memory ledger."""
        return self._path

    @contextlib.contextmanager
    def _locked(self, write: bool = True) -> Iterator[dict[str, Any]]:
        with self._thread_lock:
            if self._path is None:
                yield self._state
            else:
                with self._file_locked(self._path, write) as state:
                    yield state

    @staticmethod
    @contextlib.contextmanager
    def _file_locked(path: Path, write: bool) -> Iterator[dict[str, Any]]:
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
            with os.fdopen(os.dup(fd), "r+", encoding="utf-8") as handle:
                state: dict[str, Any] = json.load(handle)
                yield state
                if write:
                    handle.seek(0)
                    handle.write(json.dumps(state))
                    handle.truncate()
        finally:
            os.close(fd)   # closing releases the lock

    def snapshot(self) -> dict[str, Any]:
        """A copy of the whole state (for reports and tests)."""
        with self._locked(write=False) as state:
            copy: dict[str, Any] = json.loads(json.dumps(state))
        return copy

    # ------------------------------------------------------------------ shared model rules

    def set_model_rules(self, rules: Mapping[str, Any]) -> None:
        """Record the model rules the preflight learned (JSON, `conformance.model_rules.to_json`)."""
        with self._locked() as state:
            state["model_rules"] = dict(rules)

    def set_preflight_requests(self, count: int) -> None:
        """Record how many requests the preflight sent (its probes included)."""
        with self._locked() as state:
            state["preflight_requests"] = count

    def preflight_requests(self) -> int:
        """How many requests the preflight sent (0 before it ran)."""
        with self._locked(write=False) as state:
            return int(state.get("preflight_requests", 0))

    def model_rules(self) -> dict[str, Any]:
        """The model rules the preflight learned (empty when it learned none)."""
        with self._locked(write=False) as state:
            found: dict[str, Any] = json.loads(json.dumps(state.get("model_rules", {})))
        return found

    # ------------------------------------------------------------------ budget and deadline

    def take(self, operation: str) -> str | None:
        """Count one request of ``operation``; or say why not: ``"budget"`` spent, ``"deadline"`` passed."""
        with self._locked() as state:
            deadline = state.get("deadline")
            if deadline is not None and time.time() >= float(deadline):
                state["refused"] += 1
                return "deadline"
            if state["sent"] >= state["max_requests"]:
                state["refused"] += 1
                return "budget"
            state["sent"] += 1
            per = state["per_operation"]
            per[operation] = per.get(operation, 0) + 1
            return None

    def max_requests(self) -> int:
        """The run's request budget."""
        with self._locked(write=False) as state:
            return int(state["max_requests"])

    def remaining(self) -> int:
        """Requests the budget still allows."""
        with self._locked(write=False) as state:
            return max(0, int(state["max_requests"]) - int(state["sent"]))

    def spent(self) -> bool:
        """Whether the budget is used up (further requests would be refused)."""
        return self.remaining() == 0

    def past_deadline(self, now: float | None = None) -> bool:
        """Whether the run's wall-clock deadline (``time.time()`` based) has passed."""
        with self._locked(write=False) as state:
            deadline = state.get("deadline")
        return deadline is not None and (now if now is not None else time.time()) >= float(deadline)

    # ------------------------------------------------------------------ breakers

    def breaker_open(self, key: OperationKey) -> str | None:
        """The one-line reason when the breaker of ``key`` is open, else None."""
        with self._locked(write=False) as state:
            entry = state["breakers"].get(str(key))
        if not entry or not entry.get("open"):
            return None
        last = "; ".join(entry.get("last", []))
        return (f"circuit breaker open for {key}: {BREAKER_THRESHOLD} consecutive requests had no usable "
                f"answer (last: {last}); not sending")

    def outcome(self, key: OperationKey, trouble: str | None) -> None:
        """Record one unscripted outcome: ``trouble`` describes a failure, None an answer."""
        with self._locked() as state:
            entry = state["breakers"].setdefault(str(key), {"streak": 0, "open": False, "last": []})
            if trouble is None:
                if not entry["open"]:
                    entry["streak"] = 0
                    entry["last"] = []
                return
            entry["streak"] += 1
            entry["last"] = (entry["last"] + [trouble])[-_KEEP:]
            if entry["streak"] >= BREAKER_THRESHOLD:
                entry["open"] = True

    def open_breakers(self) -> dict[str, list[str]]:
        """Every open breaker with its last failures."""
        with self._locked(write=False) as state:
            return {k: list(v["last"]) for k, v in state["breakers"].items() if v.get("open")}
